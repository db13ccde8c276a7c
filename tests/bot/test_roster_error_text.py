"""A refused roster's English text (what `branchbot import` prints) is word for word as it was
before its reasons became structured; each reason still knows its line and its fields."""

from __future__ import annotations

import pytest

from bot.services.roster import RosterError, parse_roster, read_roster

HEADER = "name,telegram_id,role,group,dues_amount,status\n"


def _refusal(text: str | bytes, source: str = "r.csv") -> RosterError:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(RosterError) as info:
        parse_roster(data, source=source)
    return info.value


def test_bad_lines_read_as_they_always_have() -> None:
    error = _refusal(
        HEADER
        + "张三,abc,member,,12.50,full\n"
        + "李四,,chief,,1.234,full\n"
        + "O'Neil,,member,,x,\n"
        + "O'Neil,,member,,1,full\n"
        + "王五,7,member,,1\n"
    )
    assert str(error) == (
        "r.csv: line 2: telegram_id 'abc' is not a Telegram user id (a positive number); "
        "line 3: role 'chief' is not one of member|group_leader|committee|secretary; "
        "line 4: dues_amount 'x' is not a number of yuan (e.g. 12.50); "
        "line 6: expected 6 fields, found 5"
    )
    assert [p.line for p in error.problems] == [2, 3, 4, 6]
    assert error.problems[0].fields == {"raw": "abc"}  # the cell as written, not a repr


def test_duplicates_and_the_header_read_as_they_always_have() -> None:
    error = _refusal(HEADER + "O'Neil,5,member,,1,full\nO'Neil,5,member,,2,full\n")
    assert str(error) == (
        "r.csv: line 3: telegram_id 5 repeats line 2; "
        """line 3: name "O'Neil" repeats line 2"""
    )
    assert str(_refusal("name,telegram_id,role\n")) == (
        "r.csv: line 1: missing column(s) group, dues_amount, status"
    )
    assert str(_refusal(HEADER + "张三,1,member,,,full\n")) == (
        "r.csv: line 2: dues_amount is empty: give the monthly amount, or 0 if exempt"
    )


def test_file_level_refusals_read_as_they_always_have() -> None:
    assert str(_refusal((HEADER + "鈴木花子,1,member,営業部,1,full\n").encode("shift_jis"))) == (
        "r.csv: cannot tell the text encoding safely (tried UTF-8, UTF-8 with BOM, "
        "GB18030/GBK); save it as CSV UTF-8 and import again"
    )
    assert str(_refusal(b"\xff\xfen\x00")) == (
        "r.csv: UTF-16 text is not supported; save as CSV in one of: "
        "UTF-8, UTF-8 with BOM, GB18030/GBK"
    )
    with pytest.raises(RosterError) as info:
        read_roster(b"not a zip", "roster.xlsx")
    assert str(info.value) == "roster.xlsx: not an Excel .xlsx workbook"
    assert info.value.problems[0].line is None
