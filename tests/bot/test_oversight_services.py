"""The committee's loader and scorecards: measures from rows, and statements that do not grow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlmodel import select

from bot.services.oversight import branch_cards, load_oversight
from scheduler.compliance import Verdict
from storage.db import Database
from storage.models import MeetingMinutes, Occurrence, OrgLevel
from tests.oversight_data import add_branch, add_unit, complete_record

NOW = dt.datetime(2026, 4, 6, 1, tzinfo=dt.UTC)  # Monday 09:00 Shanghai
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def people(prefix: str, n: int, base: int) -> list[tuple[str, int | None, str, str | None]]:
    found: list[tuple[str, int | None, str, str | None]] = [
        (f"{prefix} Secretary", base, "secretary", "Group 1")
    ]
    found += [
        (f"{prefix} Member {i:02d}", base + 1 + i, "member", f"Group {1 + i % 2}")
        for i in range(n)
    ]
    return found


def build(db: Database, branches: int, members: int) -> list[int]:
    committee = add_unit(db, "Party Committee")
    general = add_unit(db, "General Branch", level=OrgLevel.GENERAL_BRANCH, parent=committee)
    ids = []
    with db.transaction() as s:
        for i in range(branches):
            unit = general if i % 2 else committee
            built = add_branch(
                s,
                f"Branch {i:03d}",
                unit_id=unit,
                people=people(f"B{i}", members, 10_000 * (i + 1)),
            )
            complete_record(s, built.branch_id, months=[(2026, 3)], now=NOW)
            ids.append(built.branch_id)
    return ids


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def listener(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def test_a_complete_month_scores_100_and_gaps_are_named(db: Database) -> None:
    ids = build(db, 3, 4)
    # Branch 001 skips its committee meeting (recorded as not held); Branch 002 never records
    # its theme Party day.
    with db.transaction() as s:
        occ = s.exec(
            select(Occurrence).where(
                Occurrence.branch_id == ids[1],
                Occurrence.item_id == "committee_meeting",
                Occurrence.key == "2026-03-03",
            )
        ).one()
        minutes = s.exec(
            select(MeetingMinutes).where(MeetingMinutes.occurrence_id == occ.id)
        ).one()
        minutes.held, minutes.reason = False, "secretary away"
        s.add(minutes)
        occ = s.exec(
            select(Occurrence).where(
                Occurrence.branch_id == ids[2],
                Occurrence.item_id == "theme_party_day",
                Occurrence.key == "2026-03-27",
            )
        ).one()
        s.delete(
            s.exec(select(MeetingMinutes).where(MeetingMinutes.occurrence_id == occ.id)).one()
        )
    with db.read() as s:
        data = load_oversight(s, ids, first=MARCH[0], last=MARCH[1])
    cards = {c.branch_id: c for c in branch_cards(data, first=MARCH[0], last=MARCH[1], now=NOW)}
    fine = cards[ids[0]]
    assert fine.score.out_of_100 == 100.0
    assert fine.measures.attendance.value == 1.0 and fine.measures.dues.value == 1.0
    # Two groups owe a talk record each; full members owe no thought reports.
    assert fine.measures.talks.due == 2 and fine.measures.reports.due == 0
    assert fine.measures.unreachable == 0 and fine.measures.members == 5
    missed = [f for f in cards[ids[1]].findings if not f.verdict.held]
    assert [(f.slot.item_id, f.verdict, f.reason) for f in missed] == [
        ("committee_meeting", Verdict.MISSED, "secretary away")
    ]
    assert not cards[ids[1]].measures.meetings.baseline_met
    missed = [f for f in cards[ids[2]].findings if not f.verdict.held]
    assert [(f.slot.item_id, f.verdict) for f in missed] == [
        ("theme_party_day", Verdict.NOT_RECORDED)
    ]


def test_statements_do_not_grow_with_branches_or_members(db: Database) -> None:
    small = build(db, 2, 3)
    with counting(db) as seen, db.read() as s:
        load_oversight(s, small, first=MARCH[0], last=MARCH[1])
    few = len(seen)
    with db.transaction() as s:
        more = []
        for i in range(4):
            b = add_branch(
                s, f"More {i}", unit_id=None, people=people(f"M{i}", 12, 900_000 + 100 * i)
            )
            complete_record(s, b.branch_id, months=[(2026, 3)], now=NOW)
            more.append(b.branch_id)
    with counting(db) as seen, db.read() as s:
        data = load_oversight(s, small + more, first=MARCH[0], last=MARCH[1])
    assert len(seen) == few
    assert len(data.branches) == 6
