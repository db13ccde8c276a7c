"""Natural order for names people give groups: 第二 before 第十, "Group 2" before "Group 10".

Runs of digits and of Chinese numerals (一 … 九十九, 〇/零, 两) compare as numbers, the rest as
text, so 第一党小组, 第二党小组, 第三党小组 … 第十一党小组 sort as people count them.
"""

from __future__ import annotations

import re

_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}  # fmt: skip
_UNITS = {"十": 10, "百": 100, "千": 1000}
_RUN = re.compile(r"(\d+|[〇零一二两三四五六七八九十百千]+)")


def chinese_number(text: str) -> int:
    """The value of a run of Chinese numerals: 十一 -> 11, 二十 -> 20, 一百零五 -> 105."""
    total, digit = 0, 0
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        else:
            total += (digit or 1) * _UNITS[ch]
            digit = 0
    return total + digit


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key comparing numbers (Arabic or Chinese) by value and the rest as text."""
    parts: list[tuple[int, int | str]] = []
    for piece in _RUN.split(name):
        if not piece:
            continue
        if piece.isdigit():
            parts.append((0, int(piece)))
        elif _RUN.fullmatch(piece):
            parts.append((0, chinese_number(piece)))
        else:
            parts.append((1, piece.casefold()))
    return tuple(parts)
