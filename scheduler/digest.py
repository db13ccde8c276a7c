"""The weekly digest for the secretary and committee: loaded in bulk, built purely.

`digest_facts` reads one branch with a constant number of queries; `build_digest` turns those
facts into a `Digest` (no I/O), which `bot.render.digest` renders per reader. The /digest
command and the Monday 08:00 dispatch both use these two functions.

Contents: the next 7 days' events; last week's attendance per meeting; dues
completion for the current local month; party groups that have not handed in this quarter's
talk records; members who blocked the bot (or never started it) and members never linked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session, col, select

from scheduler.audience import in_audience
from scheduler.development.rules import PRE_MEMBER
from scheduler.due import local_day
from scheduler.handins import Owed, handin_book
from scheduler.kinds import ItemKind
from scheduler.plan import Localized, Plan, PlanItem, branch_plan
from scheduler.records import branch_start_instant, count, meeting_record, member_since
from storage.models import (
    Attendance,
    Branch,
    DuesPayment,
    Member,
    Occurrence,
    OccurrenceStatus,
    PartyGroup,
    TalkRecord,
)
from storage.sorting import natural_key

WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class DigestFacts:
    """Rows of one branch, as loaded for the digest."""

    branch: Branch
    plan: Plan
    now: dt.datetime
    occurrences: Sequence[Occurrence]
    members: Sequence[Member]
    answers: Sequence[Attendance]
    payments: Sequence[DuesPayment]
    groups: Sequence[PartyGroup]
    talk_group_ids: frozenset[int]
    handins: Sequence[Owed] = ()  # this year's quarters up to the current one


@dataclass(frozen=True)
class UpcomingEvent:
    """An event in the next 7 days."""

    occurrence_id: int
    title: Localized
    starts_at: dt.datetime
    cancelled: bool
    moved: bool


@dataclass(frozen=True)
class MeetingTally:
    """Attendance of one meeting of the last 7 days."""

    title: Localized
    starts_at: dt.datetime
    audience: int  # expected: present + attending + on leave + absent + no answer
    present: int  # checked in or marked present
    attending: int  # said they would come; check-in still open
    on_leave: int
    no_answer: int  # check-in still open
    absent: int = 0  # made up or not
    made_up: int = 0
    not_reachable: int = 0  # never linked before the meeting: not expected


@dataclass(frozen=True)
class DuesProgress:
    """Dues of the current local month."""

    year: int
    month: int
    members: int
    paid: int
    collected: Decimal
    expected: Decimal


@dataclass(frozen=True)
class TalksProgress:
    """This quarter's talk records."""

    year: int
    quarter: int
    deadline: dt.date
    groups: int
    missing: tuple[str, ...]


@dataclass(frozen=True)
class HandInProgress:
    """One quarter of an item each member hands in: this quarter's, or an earlier one's gaps."""

    title: Localized
    year: int
    quarter: int
    deadline: dt.date
    owed: int  # members who owe it
    missing: tuple[str, ...]
    current: bool  # this quarter (still open); else an earlier quarter with gaps


@dataclass(frozen=True)
class Unreachable:
    """A member the bot cannot message."""

    name: str
    reason: str | None  # None: never linked
    since: dt.datetime | None


@dataclass(frozen=True)
class Digest:
    """The weekly digest of one branch."""

    branch_name: str
    now: dt.datetime
    upcoming: tuple[UpcomingEvent, ...]
    attendance: tuple[MeetingTally, ...]
    dues: DuesProgress
    talks: TalksProgress
    blocked: tuple[Unreachable, ...]
    unlinked: tuple[Unreachable, ...]
    handins: tuple[HandInProgress, ...] = ()


def digest_facts(session: Session, branch: Branch, now: dt.datetime) -> DigestFacts:
    """Load what the digest needs for `branch` at `now` (6 queries, whatever its size)."""
    assert branch.id is not None
    today = local_day(now, branch.timezone)
    quarter = (today.month - 1) // 3 + 1
    occurrences = session.exec(
        select(Occurrence)
        .where(
            Occurrence.branch_id == branch.id,
            col(Occurrence.starts_at) >= now - WEEK,
            col(Occurrence.starts_at) < now + WEEK,
        )
        .order_by(col(Occurrence.starts_at))
    ).all()
    everyone = session.exec(
        select(Member)
        .where(Member.branch_id == branch.id, col(Member.active).is_(True))
        .order_by(col(Member.name))
    ).all()
    # Not yet members are not counted; they are listed only where a kind is owed by them.
    members = [m for m in everyone if m.status not in PRE_MEMBER]
    past = [o.id for o in occurrences if o.starts_at < now]
    answers = session.exec(select(Attendance).where(col(Attendance.occurrence_id).in_(past))).all()
    payments = session.exec(
        select(DuesPayment)
        .join(Member, col(Member.id) == col(DuesPayment.member_id))
        .where(
            Member.branch_id == branch.id,
            DuesPayment.year == today.year,
            DuesPayment.month == today.month,
        )
    ).all()
    groups = sorted(
        session.exec(select(PartyGroup).where(PartyGroup.branch_id == branch.id)).all(),
        key=lambda g: natural_key(g.name),
    )
    talks = session.exec(
        select(TalkRecord.group_id).where(
            TalkRecord.branch_id == branch.id,
            TalkRecord.year == today.year,
            TalkRecord.quarter == quarter,
        )
    ).all()
    plan = branch_plan(branch)
    return DigestFacts(
        branch=branch,
        plan=plan,
        now=now,
        occurrences=occurrences,
        members=members,
        answers=answers,
        payments=payments,
        groups=groups,
        talk_group_ids=frozenset(talks),
        handins=handin_book(session, plan, everyone, today.year, quarters=range(1, quarter + 1)),
    )


def build_digest(facts: DigestFacts) -> Digest:
    """Summarise the facts (pure)."""
    items = {item.id: item for item in facts.plan.items}
    upcoming = tuple(
        UpcomingEvent(
            occurrence_id=o.id,
            title=items[o.item_id].title,
            starts_at=o.starts_at,
            cancelled=o.status == OccurrenceStatus.CANCELLED.value,
            moved=o.starts_at != o.planned_starts_at,
        )
        for o in facts.occurrences
        if o.starts_at >= facts.now and o.item_id in items and o.id is not None
    )
    return Digest(
        branch_name=facts.branch.name,
        now=facts.now,
        upcoming=upcoming,
        attendance=_attendance(facts, items),
        dues=_dues(facts),
        talks=_talks(facts),
        handins=_handins(facts),
        blocked=tuple(
            Unreachable(m.name, m.unreachable_reason, m.unreachable_since)
            for m in facts.members
            if m.telegram_id is not None and m.unreachable_reason
        ),
        unlinked=tuple(
            Unreachable(m.name, None, None) for m in facts.members if not m.telegram_id
        ),
    )


def _attendance(facts: DigestFacts, items: Mapping[str, PlanItem]) -> tuple[MeetingTally, ...]:
    """Last week's meetings, counted by the shared rule (`scheduler.records`) as every view."""
    answers = {(a.occurrence_id, a.member_id): a for a in facts.answers}
    start = branch_start_instant(facts.branch)
    since = {m.id: member_since(m, facts.branch) for m in facts.members}
    tallies = []
    for occ in facts.occurrences:
        item = items.get(occ.item_id)
        if item is None or item.kind != ItemKind.MEETING or occ.starts_at >= facts.now:
            continue
        if occ.status == OccurrenceStatus.CANCELLED.value or occ.id is None:
            continue
        if occ.starts_at < start:
            continue  # before the branch existed
        counted = count(
            meeting_record(
                answers.get((occ.id, m.id or 0)),
                m,
                starts_at=occ.starts_at,
                now=facts.now,
                since=since[m.id],
            )
            for m in facts.members
            if in_audience(item.audience, m.role, m.group_id) or (occ.id, m.id or 0) in answers
        )
        tallies.append(
            MeetingTally(
                title=item.title,
                starts_at=occ.starts_at,
                audience=counted.expected,
                present=counted.present,
                attending=counted.attending,
                on_leave=counted.on_leave,
                no_answer=counted.no_answer,
                absent=counted.absent,
                made_up=counted.made_up,
                not_reachable=counted.not_reachable,
            )
        )
    return tuple(tallies)


def _dues(facts: DigestFacts) -> DuesProgress:
    today = local_day(facts.now, facts.branch.timezone)
    paid_ids = {p.member_id for p in facts.payments}
    return DuesProgress(
        year=today.year,
        month=today.month,
        members=len(facts.members),
        paid=sum(1 for m in facts.members if m.id in paid_ids),
        collected=sum((p.amount for p in facts.payments), Decimal("0.00")),
        expected=sum((m.dues_amount for m in facts.members), Decimal("0.00")),
    )


def _handins(facts: DigestFacts) -> tuple[HandInProgress, ...]:
    """This quarter's progress of each hand-in item, and earlier quarters still missing some."""
    today = local_day(facts.now, facts.branch.timezone)
    by_quarter: dict[tuple[str, int], list[Owed]] = {}
    for owed in facts.handins:
        by_quarter.setdefault((owed.item.id, owed.quarter), []).append(owed)
    found = []
    for owing in by_quarter.values():
        first = owing[0]
        missing = tuple(o.name for o in owing if o.handed_in is None)
        current = first.deadline >= today
        if current or missing:
            found.append(
                HandInProgress(
                    first.item.title, first.year, first.quarter, first.deadline,
                    len(owing), missing, current,
                )
            )  # fmt: skip
    return tuple(found)


def _talks(facts: DigestFacts) -> TalksProgress:
    today = local_day(facts.now, facts.branch.timezone)
    quarter = (today.month - 1) // 3 + 1
    last_month = quarter * 3
    next_first = dt.date(today.year + (last_month == 12), last_month % 12 + 1, 1)
    return TalksProgress(
        year=today.year,
        quarter=quarter,
        deadline=next_first - dt.timedelta(days=1),
        groups=len(facts.groups),
        missing=tuple(g.name for g in facts.groups if g.id not in facts.talk_group_ids),
    )
