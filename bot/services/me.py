"""/me: one member's upcoming events, dues this year and attendance this year."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlmodel import Session, col, select

from scheduler.audience import in_audience
from scheduler.development.rules import PRE_MEMBER
from scheduler.handins import Owed, handin_book
from scheduler.kinds import ItemKind, quarter_of
from scheduler.occurrences import sync_occurrences
from scheduler.plan import Localized, Plan, PlanError, branch_plan
from scheduler.records import (
    check_in_closes,
    count,
    dues_months,
    meeting_record,
    member_since,
    member_start,
)
from scheduler.recurrence import to_local, zone
from storage import repositories as repo
from storage.db import Database
from storage.models import (
    Attendance,
    AttendanceState,
    Branch,
    DuesPayment,
    Member,
    Occurrence,
    OccurrenceStatus,
    PartyGroup,
)

HORIZON = dt.timedelta(days=60)
MAX_EVENTS = 5


class DuesState(enum.Enum):
    """One month's dues of one member."""

    PAID = "paid"  # confirmed received
    DECLARED = "declared"  # the member said they paid; not confirmed yet
    OWED = "owed"
    NONE_DUE = "none_due"  # the member's approved amount is zero


@dataclass(frozen=True)
class MonthDues:
    """A month of the year and its dues state."""

    month: int
    state: DuesState
    amount: Decimal


@dataclass(frozen=True)
class UpcomingEvent:
    """An occurrence the member is expected at, and their answer so far."""

    starts_at: dt.datetime
    title: Localized
    answer: str | None


@dataclass(frozen=True)
class Tally:
    """Past meetings of the year: present, on leave, absent."""

    present: int = 0
    leave: int = 0
    absent: int = 0
    made_up: int = 0  # of the absences and leaves, those made up (补课)


@dataclass(frozen=True)
class MeView:
    """Everything /me shows."""

    name: str
    branch_name: str
    role: str
    group_name: str | None
    year: int
    dues_amount: Decimal
    events: list[UpcomingEvent]
    dues: list[MonthDues]
    attendance: Tally
    # This year's quarters, up to the current one, of what they hand in themselves.
    handins: list[Owed] = field(default_factory=list)


def my_overview(db: Database, *, telegram_id: int, now: dt.datetime) -> MeView | None:
    """The asker's overview in their branch's calendar year; None if they are not a member."""
    with db.transaction() as session:  # a write: sync_occurrences materialises the plan
        member = repo.member_by_telegram_id(session, telegram_id=telegram_id)
        if member is None or not member.active:
            return None
        branch = repo.get_branch(session, member.branch_id)
        assert branch is not None and member.id is not None
        local_now = to_local(now, zone(branch.timezone))
        year, month = local_now.year, local_now.month
        plan, occs = _occurrences(session, branch, year=year, now=now)
        rows = _answers(session, member.id, [o.id for o in occs if o.id is not None])
        answers = {
            occ_id: AttendanceState.PRESENT.value if row.checked_in_at else row.state
            for occ_id, row in rows.items()
        }
        group = session.get(PartyGroup, member.group_id) if member.group_id else None
        pre = member.status in PRE_MEMBER  # not yet a member: no members' events or meetings
        return MeView(
            name=member.name,
            branch_name=branch.name,
            role=member.role,
            group_name=group.name if group else None,
            year=year,
            dues_amount=member.dues_amount,
            events=[] if pre else _upcoming(plan, occs, member, answers, now=now),
            dues=_dues(session, member, branch, plan, year=year, through_month=month, now=now),
            attendance=Tally()
            if pre
            else _tally(plan, occs, member, rows, year=year, now=now, branch=branch),
            handins=[]
            if plan is None
            else handin_book(
                session,
                plan,
                [member],
                year,
                quarters=range(1, quarter_of(local_now.date())[1] + 1),
            ),
        )


def _occurrences(
    session: Session, branch: Branch, *, year: int, now: dt.datetime
) -> tuple[Plan | None, list[Occurrence]]:
    """This year's and next year's occurrences, materialised; none if the plan is unusable."""
    try:
        plan = branch_plan(branch)
    except PlanError:
        return None, []
    occs: list[Occurrence] = []
    for y in (year, year + 1):
        occs += sync_occurrences(session, branch, year=y, now=now, plan=plan)
    return plan, sorted(occs, key=lambda o: o.starts_at)


def _answers(
    session: Session, member_id: int, occurrence_ids: Sequence[int]
) -> dict[int, Attendance]:
    stmt = select(Attendance).where(
        Attendance.member_id == member_id, col(Attendance.occurrence_id).in_(occurrence_ids)
    )
    return {row.occurrence_id: row for row in session.exec(stmt)}


def _audience_of(plan: Plan | None, occ: Occurrence) -> tuple[str, str, Localized] | None:
    """(audience, kind, title) of the occurrence's plan item; None if it left the plan."""
    if plan is None:
        return None
    try:
        item = plan.item(occ.item_id)
    except KeyError:
        return None
    return item.audience, item.kind, item.title


def _upcoming(
    plan: Plan | None,
    occs: Sequence[Occurrence],
    member: Member,
    answers: dict[int, str],
    *,
    now: dt.datetime,
) -> list[UpcomingEvent]:
    events: list[UpcomingEvent] = []
    for occ in occs:
        facts = _audience_of(plan, occ)
        if occ.status != OccurrenceStatus.SCHEDULED.value or facts is None:
            continue
        if not now <= occ.starts_at <= now + HORIZON:
            continue
        if in_audience(facts[0], member.role, member.group_id):
            events.append(UpcomingEvent(occ.starts_at, facts[2], answers.get(occ.id or 0)))
    return events[:MAX_EVENTS]


def _tally(
    plan: Plan | None,
    occs: Sequence[Occurrence],
    member: Member,
    answers: dict[int, Attendance],
    *,
    year: int,
    now: dt.datetime,
    branch: Branch,
) -> Tally:
    """Count held meetings of `year` by the shared rule (`scheduler.records`)."""
    since = member_since(member, branch)
    records = []
    for occ in occs:
        facts = _audience_of(plan, occ)
        if occ.status != OccurrenceStatus.SCHEDULED.value or now < check_in_closes(occ.starts_at):
            continue
        if not occ.key.startswith(f"{year:04d}-") or facts is None or facts[1] != ItemKind.MEETING:
            continue
        answer = answers.get(occ.id or 0)
        if answer is None and not in_audience(facts[0], member.role, member.group_id):
            continue
        records.append(
            meeting_record(answer, member, starts_at=occ.starts_at, now=now, since=since)
        )
    counted = count(records)
    return Tally(counted.present, counted.on_leave, counted.absent, counted.made_up)


def _dues(
    session: Session,
    member: Member,
    branch: Branch,
    plan: Plan | None,
    *,
    year: int,
    through_month: int,
    now: dt.datetime,
) -> list[MonthDues]:
    """The months of `year` from the member's first, each paid, declared, owed or not due."""
    stmt = select(DuesPayment).where(DuesPayment.member_id == member.id, DuesPayment.year == year)
    payments = {p.month: p for p in session.exec(stmt)}
    start = member_start(member, branch)
    due = (
        {
            d.month[1]
            for d in dues_months(plan, zone(branch.timezone), since=start, now=now, years=(year,))
        }
        if plan is not None
        else set()
    )
    first = 1 if start.year < year else start.month if start.year == year else through_month + 1
    months: list[MonthDues] = []
    for month in range(first, through_month + 1):
        paid = payments.get(month)
        if paid is not None:
            state = DuesState.PAID if paid.confirmed_at else DuesState.DECLARED
            months.append(MonthDues(month, state, paid.amount))
        elif member.dues_amount > 0 and month in due:
            months.append(MonthDues(month, DuesState.OWED, member.dues_amount))
        elif member.dues_amount <= 0:
            months.append(MonthDues(month, DuesState.NONE_DUE, Decimal("0.00")))
    return months
