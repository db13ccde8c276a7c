"""Registers are inert: whatever a member or secretary typed opens as text, never a formula."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook

from bot.services.export import export_branch, export_member
from bot.services.inert import csv_field, formula_like
from scheduler.plan import DEFAULT_PLAN_PATH
from storage.db import Database
from storage.models import Branch
from tests.bot.secretary_data import answer, branch, occ, pay, talk

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
HOSTILE = [
    '=HYPERLINK("http://x.example","点我")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "  =cmd|' /C calc'!A0",
    "\u3000=1",
]
CONTROLS = "\x01\x07=BELL()\x1b"  # XLSX cannot hold these controls: dropped, the rest inert


def _hostile_branch(db: Database) -> dict[str, int]:
    members = [
        (HOSTILE[0], 9001, "secretary", HOSTILE[1]),
        (HOSTILE[2], 1001, "member", HOSTILE[1]),
        (HOSTILE[3], 1003, "member", HOSTILE[4]),
        (HOSTILE[5], 1004, "member", HOSTILE[4]),
    ]
    ids = branch(db, locale="zh_CN", members=members)
    plan = DEFAULT_PLAN_PATH.read_text(encoding="utf-8")
    # Plan titles and agendas come from a file the secretary edits: hostile too.
    plan = plan.replace(
        'title = { zh_CN = "党小组会"', f"title = {{ zh_CN = {json.dumps(HOSTILE[6])}"
    )
    plan = plan.replace(
        'agenda = { zh_CN = "对党支部重要工作',
        f'agenda = {{ zh_CN = {json.dumps(HOSTILE[7])}, en = "x" }}\n#',
    )
    with db.transaction() as s:
        b = s.get(Branch, ids["branch"])
        assert b is not None
        b.plan_toml = plan
    meeting = occ(db, ids["branch"], "group_meeting", "2026-02-12")
    assert meeting.id is not None
    answer(db, meeting.id, ids[HOSTILE[2]], "leave_approved", reason=HOSTILE[0])
    answer(db, meeting.id, ids[HOSTILE[3]], "leave_requested", reason=HOSTILE[3])
    answer(db, meeting.id, ids[HOSTILE[5]], "leave_approved", reason=CONTROLS)
    pay(db, ids[HOSTILE[2]], 1)
    for quarter, summary in ((1, HOSTILE[4]), (2, HOSTILE[5])):
        talk(
            db,
            ids["branch"],
            ids[HOSTILE[1]],
            quarter,
            by=ids[HOSTILE[0]],
            participants=[ids[HOSTILE[2]], ids[HOSTILE[0]]],
            summary=summary,
        )
    return ids


def _text_cells(data: bytes) -> list[tuple[str, str, str]]:
    """(sheet, coordinate, value) of every text cell; fails on any formula cell."""
    wb = load_workbook(io.BytesIO(data))
    found = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    found.append((ws.title, cell.coordinate, cell.value))
                    if formula_like(cell.value):
                        assert cell.quotePrefix, (ws.title, cell.coordinate)
    return found


def test_no_register_cell_is_a_formula_and_each_shows_what_was_typed(db: Database) -> None:
    ids = _hostile_branch(db)
    cells = _text_cells(export_branch(db, branch_id=ids["branch"], now=NOW).xlsx)
    values = {v for _, _, v in cells}
    for typed in HOSTILE:
        # Shown exactly as typed, in some register (XML reads a bare CR back as LF).
        assert typed.replace("\r", "\n") in values, typed
    assert "=BELL()" in values
    sheets_with_hostile = {s for s, _, v in cells if formula_like(v)}
    assert sheets_with_hostile == {"党费缴纳登记表", "出勤", "谈话记录", "年度计划"}


def test_a_members_own_export_is_inert_too(db: Database) -> None:
    ids = _hostile_branch(db)
    result = export_member(db, member_id=ids[HOSTILE[2]], now=NOW)
    assert result is not None
    values = {v for _, _, v in _text_cells(result[1])}
    assert {HOSTILE[0], HOSTILE[1], HOSTILE[2], HOSTILE[4]} <= values


@pytest.mark.parametrize("typed", HOSTILE)
def test_csv_fields_get_a_leading_quote(typed: str) -> None:
    assert csv_field(typed) == "'" + typed


@pytest.mark.parametrize("typed", ["党员大会", "a-b", "1.5", "mail@example.org", "", " x"])
def test_ordinary_text_is_left_alone(typed: str) -> None:
    assert not formula_like(typed)
    assert csv_field(typed) == typed
