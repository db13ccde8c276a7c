"""/plan: the plan of a month, quarter or year, with attendance of the events already held."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bot.services.branch_year import (
    BranchYear,
    audience_of,
    ensure_year,
    load_branch,
    members_and_groups,
    occurrences_between,
)
from scheduler.kinds import ItemKind
from scheduler.plan import Localized
from scheduler.records import count, meeting_record, member_since
from storage.db import Database
from storage.models import (
    Attendance,
    AttendanceState,
    Branch,
    Member,
    Occurrence,
    OccurrenceStatus,
)

PERIODS = ("month", "quarter", "year")
PRESENT = frozenset({AttendanceState.PRESENT.value})
ON_LEAVE = frozenset({AttendanceState.LEAVE_APPROVED.value, AttendanceState.LEAVE_REQUESTED.value})


@dataclass(frozen=True)
class Tally:
    """Who of an event's audience was there: present, on leave, absent."""

    audience: int
    present: int
    leave: int
    absent: int = 0  # check-in closed without a check-in or leave (made up or not)
    made_up: int = 0


@dataclass(frozen=True)
class PlanEntry:
    """One occurrence as /plan shows it."""

    occurrence_id: int
    item_id: str
    key: str
    kind: str
    audience: str
    title: Localized
    agenda: Localized | None
    starts_at: dt.datetime
    planned_starts_at: dt.datetime
    cancelled: bool
    tally: Tally | None  # meetings that have started only

    @property
    def moved(self) -> bool:
        """The secretary moved it away from its planned time."""
        return self.starts_at != self.planned_starts_at


@dataclass(frozen=True)
class PlanReport:
    """The plan of one period in the branch's zone."""

    period: str
    first: dt.date
    last: dt.date
    plan_name: Localized
    entries: list[PlanEntry]


def period_bounds(today: dt.date, period: str) -> tuple[dt.date, dt.date]:
    """The first and last local date of the month, quarter or year containing `today`."""
    if period == "year":
        return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    first_month = today.month if period == "month" else (today.month - 1) // 3 * 3 + 1
    span = 1 if period == "month" else 3
    first = dt.date(today.year, first_month, 1)
    end_month = first_month + span
    after = dt.date(today.year + (end_month > 12), (end_month - 1) % 12 + 1, 1)
    return first, after - dt.timedelta(days=1)


def attendance_by_occurrence(
    session: Session, occurrence_ids: Iterable[int]
) -> dict[int, dict[int, Attendance]]:
    """Every answer to these occurrences, by occurrence then member: one query."""
    ids = list(occurrence_ids)
    found: dict[int, dict[int, Attendance]] = {i: {} for i in ids}
    if not ids:
        return found
    rows = session.exec(select(Attendance).where(col(Attendance.occurrence_id).in_(ids)))
    for row in rows:
        found[row.occurrence_id][row.member_id] = row
    return found


@dataclass(frozen=True, slots=True)
class AnswerState:
    """The two columns of an answer that counting needs."""

    state: str
    checked_in_at: dt.datetime | None
    made_up_at: dt.datetime | None = None


def answer_states(
    session: Session, occurrence_ids: Iterable[int]
) -> dict[int, dict[int, AnswerState]]:
    """State and check-in of every answer to these occurrences: one query, columns only.

    A year of a 500-member branch is ~20 000 answers: plain tuples load several times faster
    than ORM objects.
    """
    ids = list(occurrence_ids)
    found: dict[int, dict[int, AnswerState]] = {i: {} for i in ids}
    if not ids:
        return found
    # five columns: SQLAlchemy's select (SQLModel's typed overloads stop at four)
    stmt = sa_select(
        col(Attendance.occurrence_id),
        col(Attendance.member_id),
        col(Attendance.state),
        col(Attendance.checked_in_at),
        col(Attendance.made_up_at),
    ).where(col(Attendance.occurrence_id).in_(ids))
    for occurrence_id, member_id, state, checked_in_at, made_up_at in session.execute(stmt):
        found[occurrence_id][member_id] = AnswerState(state, checked_in_at, made_up_at)
    return found


def tally(
    audience: Sequence[Member],
    answers: Mapping[int, AnswerState],
    starts_at: dt.datetime,
    *,
    branch: Branch,
    now: dt.datetime,
) -> Tally:
    """Count present, on leave and absent among those expected, by the shared rule.

    Not decided yet (check-in still open) counts as neither; members who were not reachable
    (never linked before the start) or not yet in the branch are not expected.
    """
    counted = count(
        meeting_record(
            answers.get(m.id or 0),
            m,
            starts_at=starts_at,
            now=now,
            since=member_since(m, branch),
        )
        for m in audience
    )
    return Tally(
        audience=counted.expected,
        present=counted.present,
        leave=counted.on_leave,
        absent=counted.absent,
        made_up=counted.made_up,
    )


def build_plan_report(
    db: Database, *, branch_id: int, period: str, now: dt.datetime
) -> PlanReport:
    """The plan of the current month, quarter or year, with attendance of held meetings."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    with db.transaction() as session:  # a write: the year's occurrence rows are kept in sync
        ctx = load_branch(session, branch_id, now=now)
        first, last = period_bounds(ctx.today, period)
        ensure_year(session, ctx, first.year)
        rows = occurrences_between(
            session,
            branch_id,
            ctx.local_midnight(first),
            ctx.local_midnight(last + dt.timedelta(days=1)),
        )
        members, _groups = members_and_groups(session, branch_id)
        held = [o.id for o in rows if _is_held_meeting(ctx, o) and o.id is not None]
        answers = answer_states(session, held)
        entries = [_entry(ctx, occ, members, answers) for occ in rows]
    return PlanReport(
        period=period, first=first, last=last, plan_name=ctx.plan.name, entries=entries
    )


def _is_held_meeting(ctx: BranchYear, occ: Occurrence) -> bool:
    item = ctx.item(occ.item_id)
    return (
        item is not None
        and item.kind == ItemKind.MEETING
        and occ.starts_at <= ctx.now
        and occ.status != OccurrenceStatus.CANCELLED.value
    )


def _entry(
    ctx: BranchYear,
    occ: Occurrence,
    members: Sequence[Member],
    answers: dict[int, dict[int, AnswerState]],
) -> PlanEntry:
    assert occ.id is not None
    item = ctx.item(occ.item_id)
    local_day = dt.date.fromisoformat(occ.key)
    held = occ.id in answers
    return PlanEntry(
        occurrence_id=occ.id,
        item_id=occ.item_id,
        key=occ.key,
        kind=item.kind if item else "meeting",
        audience=item.audience if item else "all",
        title=item.title if item else Localized(occ.item_id, occ.item_id),
        agenda=item.agenda_for(local_day) if item else None,
        starts_at=occ.starts_at,
        planned_starts_at=occ.planned_starts_at,
        cancelled=occ.status == OccurrenceStatus.CANCELLED.value,
        tally=tally(
            audience_of(ctx, occ, members),
            answers[occ.id],
            occ.starts_at,
            branch=ctx.branch,
            now=ctx.now,
        )
        if held
        else None,
    )
