"""/overdue: who is behind, in a constant number of queries whatever the branch's size.

Rules:

* Dues: a month is owed as `scheduler.records` decides for every view (its dues day has begun,
  on or after the branch's start and the member's joining), looking back at most twelve
  months. A declared but
  unconfirmed payment is listed apart and is not "unpaid". Three consecutive unpaid months
  are a warning; six are flagged as the rules' limit (six months unpaid without good reason
  counts as leaving the Party, and back payment normally reaches back at most six months).
  Members with no approved amount (0) are exempt.
* Talk records: each party group owes one record per quarter once the quarter's talk-records
  day has begun.
* Absences without leave: meetings of the last three months whose check-in has closed, where
  an expected member neither checked in nor asked for leave and has not made it up (the
  answers feature's rule, `bot.services.attendance.absences`).
* No heart-to-heart talk this year: not a participant of any of this year's talk records.
* Unreachable: the bot was refused (blocked, chat gone) or the member never linked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlmodel import Session, col, select

from bot.services.attendance import absences
from bot.services.branch_year import BranchYear, load_branch, members_and_groups
from scheduler.handins import Owed, handin_book
from scheduler.kinds import ItemKind
from scheduler.plan import Localized
from scheduler.records import (
    DuesMonth,
    branch_start,
    dues_months,
    member_since,
    owed_months,
)
from scheduler.recurrence import item_dates, local_to_utc
from storage import repositories as repo
from storage.db import Database
from storage.models import (
    DuesPayment,
    Member,
    Occurrence,
    Role,
    TalkParticipant,
    TalkRecord,
)

WARNING_MONTHS = 3
LIMIT_MONTHS = 6
ABSENCE_WINDOW_MONTHS = 3

Month = tuple[int, int]  # (year, month), local


@dataclass(frozen=True)
class DuesLag:
    """One member's unpaid (and declared but unconfirmed) months."""

    member_id: int
    name: str
    group_id: int | None
    amount: Decimal
    unpaid: tuple[Month, ...]
    declared: tuple[Month, ...]
    streak: int  # consecutive unpaid months up to the latest due month

    @property
    def owed(self) -> Decimal:
        """The approved amount times the unpaid months."""
        return self.amount * len(self.unpaid)

    @property
    def level(self) -> str:
        """'limit' at six consecutive unpaid months, 'warning' at three, else ''."""
        if self.streak >= LIMIT_MONTHS:
            return "limit"
        return "warning" if self.streak >= WARNING_MONTHS else ""


@dataclass(frozen=True)
class TalkGap:
    """A party group's quarters without talk records."""

    group_id: int
    quarters: tuple[int, ...]
    leaders: tuple[str, ...]


@dataclass(frozen=True)
class Missed:
    """One held meeting a member missed without leave."""

    occurrence_id: int
    title: Localized
    starts_at: dt.datetime
    made_up: bool = False  # listed still, marked as made up (补课)


@dataclass(frozen=True)
class Person:
    """A member named in a list, with why (for unreachable members)."""

    member_id: int
    name: str
    group_id: int | None
    reason: str = ""


@dataclass(frozen=True)
class AbsenceLag:
    """A member's meetings missed without leave in the window."""

    member_id: int
    name: str
    group_id: int | None
    missed: tuple[Missed, ...]

    @property
    def open(self) -> tuple[Missed, ...]:
        """The absences not made up."""
        return tuple(m for m in self.missed if not m.made_up)


@dataclass
class OverdueReport:
    """Everything /overdue lists, each list sorted by group then name."""

    year: int
    groups: dict[int, str]
    dues: list[DuesLag] = field(default_factory=list)
    talks: list[TalkGap] = field(default_factory=list)
    absences: list[AbsenceLag] = field(default_factory=list)
    no_talk: list[Person] = field(default_factory=list)
    unreachable: list[Person] = field(default_factory=list)
    # Quarters past their deadline without the member's own hand-in, by item then quarter.
    handins: list[Owed] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nobody is behind."""
        return not (
            self.dues
            or self.talks
            or self.absences
            or self.no_talk
            or self.unreachable
            or self.handins
        )


def build_overdue(db: Database, *, branch_id: int, now: dt.datetime) -> OverdueReport:
    """Who of the branch is behind at `now`."""
    with db.read() as session:
        return overdue_in(session, load_branch(session, branch_id, now=now))


def overdue_in(session: Session, ctx: BranchYear) -> OverdueReport:
    """Who is behind, read inside an open session (used by /overdue, nudges and the chart)."""
    members, groups = members_and_groups(session, ctx.branch_id)
    report = OverdueReport(year=ctx.year, groups={i: g.name for i, g in groups.items()})
    report.dues = _dues(session, ctx, members)
    report.talks = _talk_gaps(session, ctx, members, groups)
    report.absences = absences_without_leave(session, ctx, members)
    report.no_talk = _no_talk(session, ctx, members)
    report.handins = [
        owed
        for owed in handin_book(session, ctx.plan, _everyone(session, ctx), ctx.year)
        if owed.handed_in is None and owed.deadline < ctx.today
    ]
    report.unreachable = [
        Person(m.id or 0, m.name, m.group_id, m.unreachable_reason or "")
        for m in members
        if m.unreachable_reason or m.telegram_id is None
    ]
    return report


def _everyone(session: Session, ctx: BranchYear) -> Sequence[Member]:
    """Every active person of the branch, those not yet members included (activists' reports)."""
    return repo.list_members(session, branch_id=ctx.branch_id)


def due_months(ctx: BranchYear) -> list[tuple[Month, dt.datetime]]:
    """The dues months that have fallen due at `ctx.now` (the shared rule), oldest first."""
    due = dues_months(
        ctx.plan,
        ctx.tz,
        since=branch_start(ctx.branch),
        now=ctx.now,
        years=(ctx.year - 1, ctx.year),
    )
    return [(d.month, d.due_at) for d in due][-12:]


def _dues(session: Session, ctx: BranchYear, members: Sequence[Member]) -> list[DuesLag]:
    due = due_months(ctx)
    if not due:
        return []
    first = due[0][0]
    rows = session.exec(
        select(
            DuesPayment.member_id, DuesPayment.year, DuesPayment.month, DuesPayment.confirmed_at
        )
        .join(Member, col(Member.id) == DuesPayment.member_id)
        .where(Member.branch_id == ctx.branch_id, col(DuesPayment.year) >= first[0])
    )
    paid: dict[int, dict[Month, bool]] = {}  # member -> month -> confirmed
    for member_id, year, month, confirmed_at in rows:
        paid.setdefault(member_id, {})[(year, month)] = confirmed_at is not None
    lags = []
    for member in members:
        if member.dues_amount <= 0 or member.id is None:
            continue
        joined = member_since(member, ctx.branch)
        months = [m for m, at in due if at >= joined]
        own = paid.get(member.id, {})
        unpaid = tuple(owed_months((DuesMonth(m, ctx.now) for m in months), own))
        declared = tuple(m for m in months if m in own and not own[m])
        if not unpaid and not declared:
            continue
        streak = 0
        for due_month in reversed(months):
            if due_month in own:
                break
            streak += 1
        lags.append(
            DuesLag(
                member.id,
                member.name,
                member.group_id,
                member.dues_amount,
                unpaid,
                declared,
                streak,
            )
        )
    return lags


def talk_quarters_due(ctx: BranchYear) -> list[int]:
    """This year's quarters whose talk-records day has begun."""
    items = [i for i in ctx.plan.items if i.kind == ItemKind.TALKS]
    if not items:
        # No talk-records item: a quarter is due once it has ended.
        ends = [dt.date(ctx.year + q // 4, q * 3 % 12 + 1, 1) for q in range(1, 5)]
        return [q for q, d in enumerate(ends, 1) if ctx.local_midnight(d) <= ctx.now]
    item = items[0]
    return sorted(
        {
            (day.month - 1) // 3 + 1
            for day in item_dates(item, ctx.year)
            if local_to_utc(day, item.time, ctx.tz) <= ctx.now
        }
    )


def _talk_gaps(
    session: Session, ctx: BranchYear, members: Sequence[Member], groups: Mapping[int, object]
) -> list[TalkGap]:
    quarters = talk_quarters_due(ctx)
    if not quarters:
        return []
    handed = set(
        session.exec(
            select(TalkRecord.group_id, TalkRecord.quarter).where(
                TalkRecord.branch_id == ctx.branch_id, TalkRecord.year == ctx.year
            )
        ).all()
    )
    populated = {m.group_id for m in members if m.group_id is not None}
    gaps = []
    for group_id in sorted(groups):
        missing = tuple(q for q in quarters if (group_id, q) not in handed)
        if group_id in populated and missing:
            leaders = tuple(
                m.name
                for m in members
                if m.group_id == group_id and m.role == Role.GROUP_LEADER.value
            )
            gaps.append(TalkGap(group_id, missing, leaders))
    return gaps


def absences_without_leave(
    session: Session, ctx: BranchYear, members: Sequence[Member]
) -> list[AbsenceLag]:
    """Members who missed held meetings of the last three months without leave.

    The absence rule is the answers feature's (`bot.services.attendance.absences`); an absence
    made up later stays listed, marked as made up.
    """
    today = ctx.today
    back = today.month - ABSENCE_WINDOW_MONTHS
    start_day = dt.date(today.year + (back - 1) // 12, (back - 1) % 12 + 1, min(today.day, 28))
    found = [
        a
        for a in absences(session, ctx.branch_id, ctx.local_midnight(start_day), ctx.now)
        if a.without_leave
    ]
    if not found:
        return []
    occ_ids = {a.occurrence_id for a in found}
    items = dict(
        session.exec(
            select(Occurrence.id, Occurrence.item_id).where(col(Occurrence.id).in_(occ_ids))
        ).all()
    )
    missed: dict[int, list[Missed]] = {}
    for a in sorted(found, key=lambda a: a.starts_at):
        item = ctx.item(items.get(a.occurrence_id, ""))
        title = item.title if item else Localized("?", "?")
        missed.setdefault(a.member_id, []).append(
            Missed(a.occurrence_id, title, a.starts_at, a.made_up)
        )
    return [
        AbsenceLag(m.id or 0, m.name, m.group_id, tuple(missed[m.id or 0]))
        for m in members
        if (m.id or 0) in missed
    ]


def _no_talk(session: Session, ctx: BranchYear, members: Sequence[Member]) -> list[Person]:
    talked = set(
        session.exec(
            select(TalkParticipant.member_id)
            .join(TalkRecord, col(TalkRecord.id) == TalkParticipant.record_id)
            .where(TalkRecord.branch_id == ctx.branch_id, TalkRecord.year == ctx.year)
        ).all()
    )
    return [Person(m.id or 0, m.name, m.group_id) for m in members if m.id not in talked]
