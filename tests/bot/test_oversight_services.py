"""The committee's loader and scorecards: measures from rows, and statements that do not grow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlmodel import col, select

from bot.access import Seat
from bot.services.oversight import branch_cards, branches_in, load_oversight, unit_digest
from scheduler.compliance import Span, Verdict
from storage.db import Database
from storage.models import (
    Attendance,
    DuesPayment,
    MeetingMinutes,
    Member,
    Occurrence,
    OrgLevel,
    ThoughtReport,
)
from tests.oversight_data import add_branch, add_seat, add_unit, complete_record

NOW = dt.datetime(2026, 4, 6, 1, tzinfo=dt.UTC)  # Monday 09:00 Shanghai
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
MARCH_END = dt.datetime(2026, 3, 31, 2, tzinfo=dt.UTC)  # Tue 10:00 Shanghai


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


def test_branches_and_the_digest_take_as_many_statements_for_6_branches_as_for_2(
    db: Database,
) -> None:
    committee = add_unit(db, "Committee")
    seats = [Seat(committee, add_seat(db, committee, "Hu", 7001), "secretary")]

    def add(names: list[str], size: int, base: int) -> None:
        with db.transaction() as s:
            for i, name in enumerate(names):
                b = add_branch(
                    s, name, unit_id=committee, people=people(name, size, base + 100 * i)
                )
                complete_record(s, b.branch_id, months=[(2026, 3)], now=NOW)

    def statements() -> tuple[int, int, int]:
        with counting(db) as seen, db.read() as s:
            view = branches_in(s, seats=seats, span=Span.MONTH, now=NOW)
        listed = len(seen)
        with counting(db) as seen, db.read() as s:
            digest = unit_digest(s, unit_id=committee, now=NOW)
        assert digest is not None and len(digest.cards) == len(view.cards)
        return listed, len(seen), len(view.cards)

    add(["A", "B"], 2, 10_000)
    listed, digest, shown = statements()
    assert shown == 2
    add(["C", "D", "E", "F"], 15, 20_000)
    assert statements() == (listed, digest, 6)


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


def test_seats_at_two_units_see_the_union_and_each_committee_scores_with_its_weights(
    db: Database,
) -> None:
    # Meetings only: a committee that gives every point to the meeting rate.
    weights = "baseline = 0\n[weights]\nmeetings = 100\nattendance = 0\ndues = 0\nhandins = 0\n"
    weights += "reachable = 0\n"
    strict = add_unit(db, "Strict Committee", score_toml=weights)
    below = add_unit(db, "Its General Branch", level=OrgLevel.GENERAL_BRANCH, parent=strict)
    other = add_unit(db, "Other Committee")
    person = add_seat(db, below, "Hu", 7001)
    with db.transaction() as s:
        mine = add_branch(s, "Mine", unit_id=below, people=people("Mine", 2, 10_000))
        theirs = add_branch(s, "Theirs", unit_id=other, people=people("Theirs", 2, 20_000))
        for b in (mine, theirs):
            complete_record(s, b.branch_id, months=[(2026, 3)], now=NOW,
                            skip=[("theme_party_day", "2026-03-27")])  # fmt: skip
    seats = [Seat(below, person, "secretary")]
    with db.read() as s:
        view = branches_in(s, seats=seats, span=Span.MONTH, now=MARCH_END)
    assert [c.name for c in view.cards] == ["Mine"]
    # 5 of 6 slots on time, all 100 points on the meeting rate: 83.3 (a general branch uses
    # its committee's weights).
    assert view.cards[0].score.out_of_100 == 83.3
    seats.append(Seat(other, add_seat(db, other, "Hu", 7001), "secretary"))
    with db.read() as s:
        view = branches_in(s, seats=seats, span=Span.MONTH, now=MARCH_END)
    scores = {c.name: c.score.out_of_100 for c in view.cards}
    # The other committee keeps the defaults: the baseline (40) is lost, 20 x 5/6 is earned.
    assert scores == {"Mine": 83.3, "Theirs": 56.7}


def test_a_year_loaded_once_gives_each_month_without_a_query(db: Database) -> None:
    ids = build(db, 1, 3)
    year = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    with db.read() as s:
        data = load_oversight(s, ids, first=year[0], last=year[1])
    with counting(db) as seen:
        march = branch_cards(data, first=MARCH[0], last=MARCH[1], now=NOW)
        february = branch_cards(
            data, first=dt.date(2026, 2, 1), last=dt.date(2026, 2, 28), now=NOW
        )
    assert seen == []
    assert march[0].score.out_of_100 == 100.0
    # February was never recorded in this data: every required meeting is "not recorded".
    assert february[0].measures.meetings.on_time == 0
    assert february[0].measures.meetings.not_recorded == len(february[0].findings) > 0


def test_thought_reports_owed_by_probationary_members_count_when_their_deadline_passed(
    db: Database,
) -> None:
    [branch_id] = build(db, 1, 3)
    with db.transaction() as s:
        members = s.exec(select(Member).where(Member.branch_id == branch_id)).all()
        probationary = sorted(members, key=lambda m: m.name)[:2]
        for m in probationary:
            m.status = "probationary"
            s.add(m)
        s.delete(
            s.exec(
                select(ThoughtReport).where(ThoughtReport.member_id == probationary[0].id)
            ).one()
        )
    with db.read() as s:
        data = load_oversight(s, [branch_id], first=MARCH[0], last=MARCH[1])
    [card] = branch_cards(data, first=MARCH[0], last=MARCH[1], now=NOW)
    assert (card.measures.reports.done, card.measures.reports.due) == (1, 2)
    assert card.measures.members == 4  # probationary members are members
    # Before the deadline (Mar 31) nothing is owed yet.
    [card] = branch_cards(data, first=MARCH[0], last=MARCH[1], now=MARCH_END)
    assert card.measures.reports.due == 0


def test_leave_counts_as_not_attending_and_late_dues_as_not_on_time(db: Database) -> None:
    [branch_id] = build(db, 1, 4)  # five members
    with db.transaction() as s:
        answers = s.exec(select(Attendance).order_by(col(Attendance.member_id))).all()
        answers[0].state, answers[0].checked_in_at = "leave_approved", None
        answers[1].state, answers[1].checked_in_at = "absent", None
        s.add_all(answers[:2])
        payments = s.exec(select(DuesPayment).order_by(col(DuesPayment.member_id))).all()
        payments[0].declared_at = dt.datetime(2026, 4, 2, 2, tzinfo=dt.UTC)  # after March
        s.add(payments[0])
        s.delete(payments[1])  # never paid
    with db.read() as s:
        data = load_oversight(s, [branch_id], first=MARCH[0], last=MARCH[1])
    [card] = branch_cards(data, first=MARCH[0], last=MARCH[1], now=NOW)
    assert (card.measures.attendance.done, card.measures.attendance.due) == (3, 5)
    assert (card.measures.dues.done, card.measures.dues.due) == (3, 5)
    assert card.score.out_of_100 == round(40 + 20 + 15 * 3 / 5 + 10 * 3 / 5 + 10 + 5, 1)
