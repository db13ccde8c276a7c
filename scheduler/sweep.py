"""Load what the due rules need, in bulk, and apply them: shared by the dispatcher and preview.

`load_facts` reads every branch's occurrences, members and answers with a constant number of
queries (never one per member or per branch), so a sweep over 10,000 members costs the same
handful of round trips as one over 10.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from scheduler.acted import load_acted
from scheduler.audience import OWED_BEYOND_MEMBERS
from scheduler.development.reminders import development_reminders
from scheduler.development.rules import PRE_MEMBER
from scheduler.due import (
    Acted,
    BranchFacts,
    MemberFacts,
    OccurrenceFacts,
    PlannedReminder,
    SeatFacts,
    Slot,
    digest_instants,
    digest_week,
    due_reminders,
    planned_digests,
    planned_oversight,
    planned_reminders,
    reminder_slots,
)
from scheduler.kinds import ItemKind
from scheduler.ledger import existing_keys
from scheduler.minutes import minutes_asks
from scheduler.orgtree import subtree
from scheduler.plan import Plan, branch_plan
from scheduler.quorum_watch import quorum_warnings
from scheduler.records import branch_start_instant
from storage.models import Branch, Member, Occurrence, OrgPerson, OrgUnit

_MARGIN = dt.timedelta(days=2)  # zone offsets and a rule's local time, with room to spare


QUORUM_LOOKAHEAD = dt.timedelta(hours=6)  # how far ahead the next quorum warning is looked for


def rule_span(plan: Plan) -> tuple[int, int]:
    """(most days before, most days after) an occurrence that any of its reminders fall."""
    offsets = [rule.offset_days for item in plan.items for rule in item.reminders] or [0]
    return max(0, -min(offsets)), max(0, max(offsets))


@dataclass(frozen=True)
class BranchView:
    """A branch with its parsed plan."""

    row: Branch
    plan: Plan

    @property
    def facts(self) -> BranchFacts:
        """The branch as the due rules see it."""
        assert self.row.id is not None
        return BranchFacts(
            id=self.row.id,
            timezone=self.row.timezone,
            delivery_mode=self.row.delivery_mode,
            group_chat_id=self.row.group_chat_id,
            # No digest before the branch existed, nor before its first day (a later
            # `import --since`): a digest instant before either is never sent.
            created_at=max(self.row.created_at, branch_start_instant(self.row)),
        )


@dataclass
class Facts:
    """Everything the due rules need for a set of branches and a time window."""

    branches: list[BranchView]
    occurrences: dict[int, list[OccurrenceFacts]] = field(default_factory=dict)
    members: dict[int, list[MemberFacts]] = field(default_factory=dict)
    acted: Acted = field(default_factory=Acted)
    seats: list[SeatFacts] = field(default_factory=list)  # committee digests' recipients


def load_facts(
    session: Session, branches: Sequence[Branch], *, start: dt.datetime, end: dt.datetime
) -> Facts:
    """Occurrences, members and answers for reminders falling in [start, end] (5 queries)."""
    views = [BranchView(b, branch_plan(b)) for b in branches]
    facts = Facts(branches=views)
    if not views:
        return facts
    ids = [v.facts.id for v in views]
    spans = [rule_span(v.plan) for v in views]
    low = start - dt.timedelta(days=max(after for _b, after in spans)) - _MARGIN
    high = end + dt.timedelta(days=max(before for before, _a in spans)) + _MARGIN
    occ_rows = session.exec(
        select(Occurrence).where(
            col(Occurrence.branch_id).in_(ids),
            col(Occurrence.starts_at) >= low,
            col(Occurrence.starts_at) <= high,
        )
    ).all()
    kinds = {(v.facts.id, item.id): item.kind for v in views for item in v.plan.items}
    by_kind: list[tuple[ItemKind, OccurrenceFacts]] = []
    for row in occ_rows:
        assert row.id is not None
        occ = OccurrenceFacts(
            id=row.id,
            branch_id=row.branch_id,
            item_id=row.item_id,
            key=row.key,
            starts_at=row.starts_at,
            status=row.status,
        )
        facts.occurrences.setdefault(row.branch_id, []).append(occ)
        kind = kinds.get((row.branch_id, row.item_id))
        if kind is not None:  # an item the plan no longer has gets no reminders
            by_kind.append((kind, occ))
    facts.members = _members(session, ids)
    facts.acted = load_acted(session, by_kind)
    facts.seats = load_seats(session, ids)
    return facts


def load_seats(session: Session, branch_ids: Sequence[int]) -> list[SeatFacts]:
    """The seat holders who get a committee digest and see one of `branch_ids` (3 queries):
    active, linked, and not refused by Telegram (one who blocked the bot gets nothing more)."""
    people = session.exec(
        select(OrgPerson).where(
            col(OrgPerson.active).is_(True),
            col(OrgPerson.telegram_id).is_not(None),
            col(OrgPerson.linked_at).is_not(None),
            col(OrgPerson.unreachable_reason).is_(None),
        )
    ).all()
    if not people:
        return []
    units = {u.id: u for u in session.exec(select(OrgUnit)).all() if u.id is not None}
    attached = session.execute(
        sa_select(col(Branch.id), col(Branch.org_unit_id)).where(
            col(Branch.org_unit_id).is_not(None)
        )
    ).all()
    wanted = set(branch_ids)
    found: list[SeatFacts] = []
    for person in sorted(people, key=lambda p: p.id or 0):
        unit = units.get(person.unit_id)
        if unit is None or unit.id is None or person.id is None or person.telegram_id is None:
            continue
        below = subtree(units.values(), [unit.id])
        seen = sorted(b for b, u in attached if u in below)
        if not seen or not wanted.intersection(seen):
            continue
        found.append(
            SeatFacts(person.id, unit.id, unit.timezone, unit.created_at, person.telegram_id,
                      seen[0])
        )  # fmt: skip
    return found


def _members(session: Session, branch_ids: Sequence[int]) -> dict[int, list[MemberFacts]]:
    stmt = sa_select(
        col(Member.id),
        col(Member.branch_id),
        col(Member.telegram_id),
        col(Member.role),
        col(Member.group_id),
        col(Member.unreachable_reason),
        col(Member.status),
    ).where(
        col(Member.branch_id).in_(branch_ids),
        col(Member.active).is_(True),
        # Not yet members get only what a kind names them for (activists' thought reports);
        # `scheduler.audience.owes` decides per item.
        col(Member.status).notin_(PRE_MEMBER - OWED_BEYOND_MEMBERS),
    )
    found: dict[int, list[MemberFacts]] = defaultdict(list)
    for mid, branch_id, telegram_id, role, group_id, unreachable, status in session.execute(stmt):
        assert mid is not None
        found[branch_id].append(
            MemberFacts(
                mid, branch_id, telegram_id, role, group_id,
                reachable=unreachable is None, status=status,
            )
        )  # fmt: skip
    for members in found.values():
        members.sort(key=lambda m: m.id)
    return found


@dataclass
class Due:
    """The outcome of one sweep: what to send, what to record as skipped, when to wake next."""

    send: list[PlannedReminder]
    skip: list[PlannedReminder]
    next_at: dt.datetime | None


def _slots(facts: Facts, view: BranchView) -> list[Slot]:
    return reminder_slots(view.facts, view.plan, facts.occurrences.get(view.facts.id, []))


def due_now(session: Session, facts: Facts, *, now: dt.datetime, since: dt.datetime) -> Due:
    """Apply the due rules at `now`; stale reminders that expired after `since` are skipped."""
    planned: list[PlannedReminder] = []
    upcoming: list[dt.datetime] = []
    for view in facts.branches:
        branch = view.facts
        members = facts.members.get(branch.id, [])
        live = []
        for slot in _slots(facts, view):
            if slot.at > now:
                upcoming.append(slot.at)
            elif slot.expires_at > now or slot.expires_at > since:
                live.append(slot)
        planned.extend(planned_reminders(branch, live, members, facts.acted))
        _week, digest_at = digest_week(now, branch.timezone)
        if digest_at <= now:
            planned.extend(planned_digests(branch, members, digest_at))
            upcoming.append(digest_at + dt.timedelta(days=7))
        else:
            upcoming.append(digest_at)
    planned.extend(planned_oversight(facts.seats, now))
    for seat in facts.seats:
        _week, monday = digest_week(now, seat.timezone)
        upcoming.append(monday + dt.timedelta(days=7) if monday <= now else monday)
    plans = {view.facts.id: view.plan for view in facts.branches}
    warnings, later = quorum_warnings(session, plans, now=now, horizon=QUORUM_LOOKAHEAD)
    planned.extend(warnings)
    upcoming.extend(later)
    rows = [view.row for view in facts.branches]
    pipeline, pipeline_later = development_reminders(session, rows, now=now, since=since)
    planned.extend(pipeline)
    upcoming.extend(pipeline_later)
    asks, asks_later = minutes_asks(session, rows, now=now, since=since)
    planned.extend(asks)
    upcoming.extend(asks_later)
    keys = existing_keys(
        session,
        occurrence_ids={p.occurrence_id for p in planned if p.occurrence_id is not None},
        keys=[p.key for p in planned if p.occurrence_id is None],
    )
    send, skip = due_reminders(planned, keys, now)
    return Due(send=send, skip=skip, next_at=min(upcoming, default=None))


@dataclass(frozen=True)
class PreviewLine:
    """One reminder or digest as `branchbot preview` prints it."""

    at: dt.datetime
    kind: str
    item_id: str | None
    occurrence_id: int | None
    direct: int
    group_chat: bool


def preview_lines(facts: Facts, *, start: dt.datetime, end: dt.datetime) -> list[PreviewLine]:
    """Every reminder and digest in [start, end), grouped per slot, by the dispatcher's rules."""
    lines: list[PreviewLine] = []
    for view in facts.branches:
        branch = view.facts
        members = facts.members.get(branch.id, [])
        for slot in _slots(facts, view):
            if not start <= slot.at < end:
                continue
            planned = planned_reminders(branch, [slot], members, facts.acted)
            if planned:
                lines.append(_line(planned, slot.item.id))
        for at in digest_instants(branch.timezone, start, end):
            digests = planned_digests(branch, members, at)
            if digests:
                lines.append(_line(digests, None))
    instants = {at for seat in facts.seats for at in digest_instants(seat.timezone, start, end)}
    for at in sorted(instants):
        digests = [p for p in planned_oversight(facts.seats, at) if p.at == at]
        if digests:
            lines.append(_line(digests, None))
    lines.sort(key=lambda line: (line.at, line.kind != "digest", line.occurrence_id or 0))
    return lines


def _line(planned: Iterable[PlannedReminder], item_id: str | None) -> PreviewLine:
    items = list(planned)
    first = items[0]
    return PreviewLine(
        at=first.at,
        kind=first.kind,
        item_id=item_id,
        occurrence_id=first.occurrence_id,
        direct=sum(1 for p in items if not p.to_group),
        group_chat=any(p.to_group for p in items),
    )
