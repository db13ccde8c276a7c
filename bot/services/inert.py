"""Text a member typed stays text in every file the bot writes (registers, CSV).

Spreadsheet programs treat a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage
return, after any leading spaces) as a formula: a leave reason `=HYPERLINK("http://…","点我")`
would become a live link in the secretary's register. OWASP's "CSV Injection" advice:
https://owasp.org/www-community/attacks/CSV_Injection

For XLSX the cell is stored as a string with Excel's "quote prefix" flag (the same as typing a
leading `'`): it displays exactly what was typed, and stays text when the cell is edited. For CSV
there is no cell type, so the field gets a leading `'`.
"""

from __future__ import annotations

import re
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# Leading whitespace (other than the tab and CR that are themselves triggers), then a trigger.
_FORMULA_LIKE = re.compile(r"^[^\S\t\r]*[=+\-@\t\r]")


def formula_like(text: str) -> bool:
    """True when a spreadsheet program could read `text` as a formula."""
    return _FORMULA_LIKE.match(text) is not None


def inert_cell(ws: Any, value: object) -> WriteOnlyCell:
    """A cell for a write-only sheet; text in it is inert: stored as a string, shown as typed.

    Every cell of every register is made here (bot.services.registers). Control characters
    that XLSX cannot hold (openpyxl raises on them) are dropped; tab, LF and CR stay. Numbers,
    dates and None are stored as they are.
    """
    if not isinstance(value, str):
        return WriteOnlyCell(ws, value=value)
    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"  # openpyxl would store "=…" as a formula
    if formula_like(text):
        cell.quotePrefix = True
    return cell


# Control characters, zero-width characters and bidirectional controls: in a name they break
# lines, reorder the rest of a message (U+202E) or make two equal-looking names differ.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)


def visible(text: str) -> str:
    """A name as one visible line: no control, zero-width or bidi-control characters.

    Names are cleaned where they come in (roster, /invite) and where they are looked up
    (/dues set), so what a secretary types matches what is stored.
    """
    return " ".join(_INVISIBLE.sub(lambda m: " " if m[0] in "\t\n\r" else "", text).split())


def csv_field(value: object) -> object:
    """A CSV field that opens as text: a formula-like string gets a leading `'`."""
    if isinstance(value, str) and formula_like(value):
        return "'" + value
    return value
