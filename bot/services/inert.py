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

# Leading whitespace (other than the tab and CR that are themselves triggers), then a trigger.
_FORMULA_LIKE = re.compile(r"^[^\S\t\r]*[=+\-@\t\r]")


def formula_like(text: str) -> bool:
    """True when a spreadsheet program could read `text` as a formula."""
    return _FORMULA_LIKE.match(text) is not None


def inert(cell: Any) -> Any:
    """Make an openpyxl cell holding text inert: stored as a string, shown as typed.

    Every text cell of every register goes through here (bot.services.registers). Other values
    (numbers, dates, None) are returned untouched.
    """
    if isinstance(cell.value, str):
        cell.data_type = "s"  # openpyxl would store "=…" as a formula
        if formula_like(cell.value):
            cell.quotePrefix = True
    return cell


def csv_field(value: object) -> object:
    """A CSV field that opens as text: a formula-like string gets a leading `'`."""
    if isinstance(value, str) and formula_like(value):
        return "'" + value
    return value
