"""split_message: every chunk fits Telegram's limit, lines stay whole, nothing is lost."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.render.text import split_message

line_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=120
)


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@given(st.lists(line_text.filter(str.strip), min_size=1, max_size=200), st.integers(130, 4096))
def test_chunks_fit_and_rejoin_to_the_text(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    chunks = split_message(text, limit)
    assert all(1 <= units(c) <= limit for c in chunks)
    assert "\n".join(chunks) == text  # split only at line boundaries


@given(st.text(max_size=3000).filter(str.strip), st.integers(2, 500))
def test_overlong_lines_are_cut_and_nothing_is_lost(text: str, limit: int) -> None:
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    chunks = split_message(text, limit)
    assert all(units(c) <= limit for c in chunks)
    # Only line breaks are added and only blank chunks dropped: the visible text is all there.
    assert re.sub(r"\s", "", "".join(chunks)) == re.sub(r"\s", "", text)


def test_short_text_is_one_chunk() -> None:
    assert split_message("a\nb") == ["a\nb"]


def test_emoji_count_as_two_units() -> None:
    assert split_message("😀😀\n😀", limit=4) == ["😀😀", "😀"]


def test_blank_text_gives_no_chunks() -> None:
    assert split_message("\n\n") == []
