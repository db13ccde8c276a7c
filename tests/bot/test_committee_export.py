"""The committee's export: /export for a seat holder, `branchbot export --committee`, the score
chart, hostile names, and a statement count that does not grow with branches or members."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import event

from bot.cli import main
from bot.i18n import translator
from bot.services.charts import ScoreBar, render_scores
from bot.services.committee_export import (
    PERCENT,
    CommitteeExport,
    export_committee,
    sheet_name,
    unit_scope,
)
from bot.services.inert import formula_like
from storage.db import Database
from storage.models import OrgLevel
from tests.fakes import updates
from tests.fakes.clock import FrozenClock
from tests.harness import Harness
from tests.oversight_data import add_branch, add_seat, add_unit, complete_record

NOW = dt.datetime(2026, 4, 6, 1, tzinfo=dt.UTC)  # Monday 09:00 Shanghai: Jan..Apr begun
Q1 = [(2026, 1), (2026, 2), (2026, 3)]
COMMITTEE_SEAT, GENERAL_SEAT, BOTH = 7001, 7002, 7003
HOSTILE_NAMES = ("=cmd|' /C calc'!A0", "[x]:*?/\\", "第一党支部" + "很长的名字" * 30)
FORBIDDEN = set("[]:*?/\\")

Person = tuple[str, int | None, str, str | None]


def _people(prefix: str, n: int, *, secretary: int | None = None) -> list[Person]:
    found: list[Person] = [(f"{prefix} Secretary", secretary, "secretary", "Group 1")]
    found += [(f"{prefix} Member {i}", None, "member", f"Group {1 + i % 2}") for i in range(n)]
    return found


def _committee(db: Database, names: tuple[str, str, str] = ("Alpha", "Beta", "Gamma")) -> dict:
    """A committee with Alpha directly below it and Beta, Gamma through a general branch; a
    complete first quarter, except that Beta leaves its March committee meeting unrecorded."""
    committee = add_unit(db, "Party Committee")
    general = add_unit(db, "General Branch", level=OrgLevel.GENERAL_BRANCH, parent=committee)
    add_seat(db, committee, "Committee Secretary", COMMITTEE_SEAT)
    add_seat(db, general, "General Secretary", GENERAL_SEAT)
    add_seat(db, committee, "Organiser Both", BOTH)
    ids = {}
    with db.transaction() as s:
        for n, (name, unit) in enumerate(zip(names, (committee, general, general), strict=True)):
            built = add_branch(
                s,
                name,
                unit_id=unit,
                people=_people(f"B{n}", 3, secretary=BOTH if n == 0 else None),
            )
            skip = [("committee_meeting", "2026-03-03")] if n == 1 else []
            complete_record(s, built.branch_id, months=Q1, now=NOW, skip=skip)
            ids[name] = built.branch_id
    return {"committee": committee, "general": general, "branches": ids}


def _book(data: bytes) -> dict[str, Worksheet]:
    wb = load_workbook(io.BytesIO(data))
    return {ws.title: ws for ws in wb.worksheets}  # type: ignore[misc]


def _rows(ws: Worksheet) -> dict[str, dict[str, object]]:
    header = [c.value for c in ws[1]]
    found = {}
    for row in ws.iter_rows(min_row=2):
        values = dict(zip(header, (c.value for c in row), strict=True))
        found[str(values["Branch"])] = values
    return found


def _export(db: Database, unit: str = "Party Committee") -> CommitteeExport:
    found = unit_scope(db, unit)
    assert found is not None
    scope, _unit = found
    return export_committee(
        db, scope.branch_ids, unit_name=scope.unit_name, year=2026, now=NOW,
        locale="en", tz_name="Asia/Shanghai",
    )  # fmt: skip


# ------------------------------------------------------------------------ the workbook (tier 2)


def test_measure_sheets_have_a_row_per_branch_and_a_column_per_month(db: Database) -> None:
    _committee(db)
    sheets = _book(_export(db).xlsx)
    for title in ("Meetings on time", "Meeting attendance", "Dues on time",
                  "Talks and reports handed in", "Unreachable members",
                  "Development deadlines missed", "Score", "Compliance"):  # fmt: skip
        assert title in sheets
    meetings = sheets["Meetings on time"]
    rows = _rows(meetings)
    assert list(rows) == ["Alpha", "Beta", "Gamma"]  # none first, then the general branch
    assert rows["Alpha"]["General branch"] is None
    assert rows["Beta"]["General branch"] == "General Branch"
    # Beta missed its March committee meeting: below 100% in March only.
    assert rows["Beta"]["Month 1"] == rows["Beta"]["Month 2"] == 1.0
    assert isinstance(rows["Beta"]["Month 3"], float) and rows["Beta"]["Month 3"] < 1.0
    assert rows["Alpha"]["Month 3"] == rows["Gamma"]["Month 3"] == 1.0
    assert rows["Beta"]["Year 2026"] < rows["Alpha"]["Year 2026"]  # type: ignore[operator]
    for month in range(5, 13):  # not begun: empty
        assert all(r[f"Month {month}"] is None for r in rows.values())
    assert meetings["E3"].number_format == PERCENT  # Month 3 of Beta: a number, not text
    scores = _rows(sheets["Score"])
    assert scores["Beta"]["Month 3"] < scores["Alpha"]["Month 3"]  # type: ignore[operator]
    compliance = [[c.value for c in row] for row in sheets["Compliance"].iter_rows(min_row=2)]
    missed = [r for r in compliance if r[0] == "Beta" and r[3] == "2026-03" and r[6] != "on time"]
    assert [(r[2], r[6]) for r in missed] == [("Branch committee meeting", "not recorded")]
    # Each branch's registers follow, named after its row and the branch.
    assert {"1 Alpha·Dues register", "2 Beta·Attendance", "3 Gamma·Annual plan"} <= set(sheets)
    # The 三会一课 records are among them: Beta's March committee meeting is not there.
    records = [[c.value for c in row] for row in sheets["2 Beta·Meeting records"].iter_rows()]
    committee_meetings = [r for r in records if r[1] == "Branch committee meeting"]
    assert len(committee_meetings) == 2  # January and February


def test_a_general_branch_sees_only_its_branches(db: Database) -> None:
    _committee(db)
    sheets = _book(_export(db, "General Branch").xlsx)
    assert list(_rows(sheets["Score"])) == ["Beta", "Gamma"]
    assert not any("Alpha" in title for title in sheets)


def test_hostile_names_give_a_valid_workbook_with_inert_cells_and_a_chart(db: Database) -> None:
    _committee(db, HOSTILE_NAMES)
    export = _export(db)
    wb = load_workbook(io.BytesIO(export.xlsx))
    titles = [ws.title for ws in wb.worksheets]
    assert len(titles) == len({t.casefold() for t in titles})
    assert all(len(t) <= 31 and not FORBIDDEN & set(t) for t in titles)
    values = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate)
                if isinstance(cell.value, str):
                    values.add(cell.value)
                    if formula_like(cell.value):
                        assert cell.quotePrefix, (ws.title, cell.coordinate)
    assert set(HOSTILE_NAMES) <= values  # shown exactly as typed
    png = render_scores(
        [ScoreBar(c.name, c.score.out_of_100, True) for c in export.cards],
        translator("en", "Asia/Shanghai"),
        period="2026",
    ).png
    assert png.startswith(b"\x89PNG")


def test_sheet_names_are_cut_cleaned_and_unique() -> None:
    taken = {"1 a·dues"}
    assert sheet_name("1 a", "Dues", taken) == "1 a·Dues (2)"
    long = sheet_name("12 " + "x" * 60, "Dues register")
    assert len(long) == 31 and long.endswith("·Dues register")
    assert sheet_name("3 [x]:*?/\\", "出勤") == "3 x ·出勤".replace("x ", "x")


def test_two_hundred_branches_chart_is_capped_and_says_how_many_more() -> None:
    bars = [ScoreBar(f"Branch {i:03d}", i / 2, i % 3 != 0) for i in range(200)]
    chart = render_scores(bars, translator("en", "Asia/Shanghai"), period="2026")
    few = render_scores(bars[:5], translator("en", "Asia/Shanghai"), period="2026")
    assert chart.png.startswith(b"\x89PNG")
    assert len(chart.png) > len(few.png)  # taller, but capped: 40 bars drawn


@contextmanager
def _counting(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def listener(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def _statements(db: Database, branches: int, members: int) -> int:
    committee = add_unit(db, f"Committee {branches}")
    with db.transaction() as s:
        for n in range(branches):
            built = add_branch(
                s, f"C{branches} Branch {n}", unit_id=committee,
                people=_people(f"C{branches}B{n}", members),
            )  # fmt: skip
            complete_record(s, built.branch_id, months=Q1, now=NOW)
    _export(db, f"Committee {branches}")  # the year's rows exist from here on
    with _counting(db) as seen:
        _export(db, f"Committee {branches}")
    return len(seen)


def test_statement_count_does_not_grow_with_branches_or_members(db: Database) -> None:
    small = _statements(db, 2, 2)
    large = _statements(db, 5, 6)
    assert small == large
    assert small < 40


# ----------------------------------------------------------------------------------- the CLI


def test_cli_writes_the_committee_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'bb.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    (tmp_path / "clock").write_text(NOW.isoformat())
    monkeypatch.setenv("BRANCHBOT_CLOCK_FILE", str(tmp_path / "clock"))
    assert main(["init"]) == 0
    _committee(Database(url))
    out = tmp_path / "committee.xlsx"
    assert main(["export", "--committee", "General Branch", "--out", str(out)]) == 0
    assert list(_rows(_book(out.read_bytes())["Score"])) == ["Beta", "Gamma"]
    assert "2026" in capsys.readouterr().out
    assert main(["export", "--committee", "Nobody", "--out", str(tmp_path / "x.xlsx")]) == 1
    assert "no committee or general branch named" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # --branch or --committee, not both
        main(["export", "--branch", "Alpha", "--committee", "X", "--out", str(out)])


# ----------------------------------------------------------------------- through the bot (tier 3)


@pytest.fixture
def at_now(clock: FrozenClock) -> FrozenClock:
    clock.set(NOW)
    return clock


async def test_seat_holder_export_sends_the_workbook_and_the_chart(
    harness: Harness, at_now: FrozenClock
) -> None:
    _committee(harness.db)
    await harness.feed(updates.command("export", user_id=COMMITTEE_SEAT))
    [document] = harness.api.sent("sendDocument")
    assert document["chat_id"] == COMMITTEE_SEAT
    assert document["document"].filename == "Party_Committee-2026.xlsx"
    sheets = _book(document["document"].content)
    assert list(_rows(sheets["Meetings on time"])) == ["Alpha", "Beta", "Gamma"]
    [photo] = harness.api.sent("sendPhoto")
    assert photo["photo"].content.startswith(b"\x89PNG")


async def test_general_branch_seat_gets_its_branches_and_chart_alone(
    harness: Harness, at_now: FrozenClock
) -> None:
    _committee(harness.db)
    await harness.feed(updates.command("export", "2026", user_id=GENERAL_SEAT))
    [document] = harness.api.sent("sendDocument")
    assert list(_rows(_book(document["document"].content)["Score"])) == ["Beta", "Gamma"]
    await harness.feed(updates.command("export", "chart", user_id=GENERAL_SEAT))
    assert len(harness.api.sent("sendDocument")) == 1  # the chart alone
    assert len(harness.api.sent("sendPhoto")) == 2


async def test_a_branch_secretary_with_a_seat_gets_both_exports(
    harness: Harness, at_now: FrozenClock
) -> None:
    _committee(harness.db)
    await harness.feed(updates.command("export", user_id=BOTH))
    xlsx, ics = harness.api.sent("sendDocument")  # the branch's own export, as before
    assert xlsx["document"].filename == "Alpha-2026.xlsx"
    assert ics["document"].filename == "Alpha-2026.ics"
    await harness.feed(updates.command("export", "committee", user_id=BOTH))
    committee = harness.api.sent("sendDocument")[-1]
    assert list(_rows(_book(committee["document"].content)["Score"])) == ["Alpha", "Beta", "Gamma"]


async def test_bad_year_is_answered_and_a_stranger_is_refused(
    harness: Harness, at_now: FrozenClock
) -> None:
    _committee(harness.db)
    await harness.feed(updates.command("export", "1999", user_id=COMMITTEE_SEAT))
    assert "Usage: /export" in harness.last_reply(COMMITTEE_SEAT)
    await harness.feed(updates.command("export", "committee", user_id=4242))
    assert harness.api.sent("sendDocument") == []
