"""The one definition of a member's record: each rule by name, as pure functions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from scheduler.plan import default_plan
from scheduler.records import (
    Standing,
    count,
    dues_months,
    meeting_record,
    owed_months,
)
from scheduler.recurrence import zone

START = dt.datetime(2026, 3, 13, 7, 0, tzinfo=dt.UTC)
AFTER = START + dt.timedelta(hours=3)
LINKED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Answer:
    state: str
    checked_in_at: dt.datetime | None = None
    made_up_at: dt.datetime | None = None


@dataclass(frozen=True)
class Person:
    linked_at: dt.datetime | None = LINKED


def standing(answer: Answer | None, *, person: Person = Person(), now: dt.datetime = AFTER,
             since: dt.datetime = LINKED) -> Standing:  # fmt: skip
    return meeting_record(answer, person, starts_at=START, now=now, since=since).standing


def test_leave_then_check_in_is_present() -> None:
    assert standing(Answer("present", checked_in_at=START)) == Standing.PRESENT
    assert standing(Answer("present")) == Standing.PRESENT  # a hand mark


def test_declined_leave_is_absent_once_check_in_closes() -> None:
    assert standing(Answer("leave_declined"), now=START) == Standing.LEAVE_DECLINED
    assert standing(Answer("leave_declined")) == Standing.ABSENT


def test_an_undecided_request_counts_as_leave() -> None:
    assert standing(Answer("leave_requested")) == Standing.LEAVE_REQUESTED
    assert count([meeting_record(Answer("leave_requested"), Person(), starts_at=START,
                                 now=AFTER, since=LINKED)]).on_leave == 1  # fmt: skip


def test_a_made_up_absence_stays_an_absence_marked_made_up() -> None:
    record = meeting_record(
        Answer("absent", made_up_at=AFTER), Person(), starts_at=START, now=AFTER, since=LINKED
    )
    assert (record.standing, record.made_up, record.by_hand) == (Standing.ABSENT, True, False)
    assert (count([record]).absent, count([record]).made_up) == (1, 1)


def test_never_linked_is_not_reachable_not_absent() -> None:
    assert standing(None, person=Person(None)) == Standing.NOT_REACHABLE
    assert standing(None, person=Person(START + dt.timedelta(days=1))) == Standing.NOT_REACHABLE
    assert count([meeting_record(None, Person(None), starts_at=START, now=AFTER,
                                 since=LINKED)]).expected == 0  # fmt: skip


def test_nothing_before_the_start_counts() -> None:
    assert standing(None, since=START + dt.timedelta(days=1)) == Standing.NOT_COUNTED


def test_a_month_is_owed_only_once_its_dues_day_has_begun() -> None:
    plan, tz = default_plan(), zone("Asia/Shanghai")
    jan_2 = dt.datetime(2026, 1, 2, 2, tzinfo=dt.UTC)
    assert dues_months(plan, tz, since=dt.date(2026, 1, 2), now=jan_2, years=(2026,)) == []
    mar_30 = dt.datetime(2026, 3, 30, 2, tzinfo=dt.UTC)
    due = dues_months(plan, tz, since=dt.date(2026, 1, 2), now=mar_30, years=(2026,))
    assert [d.month for d in due] == [(2026, 1), (2026, 2), (2026, 3)]
    assert owed_months(due, [(2026, 2)]) == [(2026, 1), (2026, 3)]


def test_a_branch_started_in_june_owes_nothing_before() -> None:
    plan, tz = default_plan(), zone("Asia/Shanghai")
    now = dt.datetime(2026, 8, 30, 2, tzinfo=dt.UTC)
    due = dues_months(plan, tz, since=dt.date(2026, 6, 15), now=now, years=(2026,))
    assert [d.month for d in due] == [(2026, 6), (2026, 7), (2026, 8)]
