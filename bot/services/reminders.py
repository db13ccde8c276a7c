"""What a reminder message shows: the event, and the reader's own state (Telegram-free).

`build_reminder_view` is the one entry point for a single message: the dispatcher's notifier
uses its bulk twin `build_reminder_views` (a constant number of queries per batch), and the
answers engineer calls it after a tap to re-render the message being edited:

    with db.read() as session:
        view = build_reminder_view(session, occurrence_id=occ_id, member_id=me, now=now)
    text = reminders.reminder_text(view, tr)  # bot.render.reminders
    markup = keyboards.reminder_keyboard(view, tr)

For a group-chat message pass ``member_id=None``: the view then carries counts for the whole
audience instead of one member's state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from scheduler.acted import load_acted
from scheduler.audience import owes
from scheduler.due import Acted, OccurrenceFacts
from scheduler.kinds import ItemKind
from scheduler.notify import Kind
from scheduler.plan import Localized, PlanItem, branch_plan
from scheduler.recurrence import to_local, zone
from storage.models import (
    AttendanceState,
    Branch,
    Member,
    Occurrence,
    OccurrenceStatus,
)

CATCH_UP_AFTER = dt.timedelta(minutes=10)  # later than this, a reminder says it comes late
_LEAVE = frozenset({AttendanceState.LEAVE_REQUESTED.value, AttendanceState.LEAVE_APPROVED.value})
_COMING = frozenset({AttendanceState.ATTENDING.value, AttendanceState.PRESENT.value})


@dataclass(frozen=True)
class MemberState:
    """One member's answers for the reminded occurrence."""

    attendance: str | None = None  # AttendanceState value, None: no answer yet
    checked_in_at: dt.datetime | None = None
    paid: bool = False  # a dues payment is recorded for the occurrence's month
    talks_done: bool = False  # their party group handed in the quarter's talk records
    handed_in: bool = False  # they handed in their own hand-in for the quarter


@dataclass(frozen=True)
class GroupCounts:
    """For a group-chat message: how the whole audience stands."""

    audience: int
    attending: int
    on_leave: int
    checked_in: int
    paid: int


@dataclass(frozen=True)
class ReminderView:
    """Everything a reminder (or change notice) about one occurrence needs to be rendered."""

    kind: str  # remind | change | nudge
    item_kind: ItemKind
    occurrence_id: int
    title: Localized
    agenda: Localized | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    planned_starts_at: dt.datetime
    cancelled: bool
    due_at: dt.datetime  # when this message was due to go out
    now: dt.datetime
    locale: str
    timezone: str
    member_id: int | None = None
    member_name: str | None = None
    dues_amount: Decimal | None = None
    state: MemberState | None = None
    counts: GroupCounts | None = None
    old_starts_at: dt.datetime | None = None  # change notices: where it was before

    @property
    def late(self) -> dt.timedelta:
        """How much later than planned the message goes out."""
        return self.now - self.due_at

    @property
    def catching_up(self) -> bool:
        """Whether the message is a late catch-up (the bot was offline at its time)."""
        return self.late > CATCH_UP_AFTER and self.now < self.starts_at

    @property
    def until_start(self) -> dt.timedelta:
        """Time left before the event starts (negative once it has)."""
        return self.starts_at - self.now

    @property
    def on_event_day(self) -> bool:
        """Whether `now` is the event's local day (the Check in button is shown then)."""
        tz = zone(self.timezone)
        return to_local(self.now, tz).date() == to_local(self.starts_at, tz).date()

    @property
    def dues_month(self) -> tuple[int, int]:
        """(year, month) the dues item is for: its planned month."""
        return self.planned_starts_at_local.year, self.planned_starts_at_local.month

    @property
    def quarter(self) -> tuple[int, int]:
        """(year, quarter) the talk records are for."""
        local = self.planned_starts_at_local
        return local.year, (local.month - 1) // 3 + 1

    @property
    def planned_starts_at_local(self) -> dt.datetime:
        """The planned start in the branch's zone."""
        return to_local(self.planned_starts_at, zone(self.timezone))


@dataclass(frozen=True)
class ViewRequest:
    """One message to build a view for: `ref` is the caller's handle (e.g. a ledger row id)."""

    ref: int
    occurrence_id: int
    member_id: int | None
    due_at: dt.datetime
    kind: str = Kind.REMIND.value
    old_starts_at: dt.datetime | None = None


def build_reminder_view(
    session: Session,
    *,
    occurrence_id: int,
    member_id: int | None,
    now: dt.datetime,
    kind: str = Kind.REMIND.value,
    due_at: dt.datetime | None = None,
) -> ReminderView | None:
    """The view of one reminder as it stands now; None if the occurrence or plan item is gone."""
    request = ViewRequest(0, occurrence_id, member_id, due_at or now, kind)
    return build_reminder_views(session, [request], now=now).get(0)


def build_reminder_views(
    session: Session, requests: Sequence[ViewRequest], *, now: dt.datetime
) -> dict[int, ReminderView]:
    """Views for many messages at once, by `ref` (7 queries, however many messages)."""
    occs = _occurrences(session, {r.occurrence_id for r in requests})
    branches = _branches(session, {o.branch_id for o in occs.values()})
    wanted_members = {r.member_id for r in requests if r.member_id is not None}
    group_branches = {
        occs[r.occurrence_id].branch_id
        for r in requests
        if r.member_id is None and r.occurrence_id in occs
    }
    members = _people(session, wanted_members, group_branches)
    kinds: list[tuple[ItemKind, OccurrenceFacts]] = []
    items: dict[int, PlanItem] = {}
    for row in occs.values():
        branch = branches.get(row.branch_id)
        if branch is None or row.id is None:
            continue
        try:
            items[row.id] = branch_plan(branch).item(row.item_id)
        except KeyError:
            continue
        facts = OccurrenceFacts(row.id, row.branch_id, row.item_id, row.key, row.starts_at)
        kinds.append((items[row.id].kind, facts))
    acted = load_acted(session, kinds, member_ids=list(members), branch_ids=list(branches))
    views: dict[int, ReminderView] = {}
    for r in requests:
        occ = occs.get(r.occurrence_id)
        branch = branches.get(occ.branch_id) if occ else None
        item = items.get(r.occurrence_id)
        if occ is None or branch is None or item is None:
            continue
        member = members.get(r.member_id) if r.member_id is not None else None
        local = to_local(occ.planned_starts_at, zone(branch.timezone))
        quarter = (local.year, (local.month - 1) // 3 + 1)
        base = ReminderView(
            kind=r.kind,
            item_kind=item.kind,
            occurrence_id=r.occurrence_id,
            title=item.title,
            agenda=item.agenda_for(local.date()),
            starts_at=occ.starts_at,
            ends_at=occ.ends_at,
            planned_starts_at=occ.planned_starts_at,
            cancelled=occ.status == OccurrenceStatus.CANCELLED.value,
            due_at=r.due_at,
            now=now,
            locale=(member.locale if member and member.locale else None) or branch.locale,
            timezone=branch.timezone,
            old_starts_at=r.old_starts_at,
        )
        if member is not None:
            views[r.ref] = _member_view(base, member, acted, (local, quarter))
        else:
            audience = [
                m
                for m in members.values()
                if m.branch_id == branch.id and m.active
                and owes(item.kind, item.audience, m.role, m.group_id, m.status)
            ]  # fmt: skip
            views[r.ref] = _group_view(base, audience, acted, local)
    return views


def _member_view(
    base: ReminderView,
    member: _Person,
    acted: Acted,
    when: tuple[dt.datetime, tuple[int, int]],
) -> ReminderView:
    local, (year, quarter) = when
    key = (base.occurrence_id, member.id)
    state = MemberState(
        attendance=acted.answers.get(key),
        checked_in_at=acted.check_ins.get(key),
        paid=(member.id, local.year, local.month) in acted.paid,
        talks_done=member.group_id is not None and (member.group_id, year, quarter) in acted.talks,
        handed_in=(base.item_kind, member.id, year, quarter) in acted.handed_in,
    )
    return replace(
        base,
        member_id=member.id,
        member_name=member.name,
        dues_amount=member.dues_amount,
        state=state,
    )


def _group_view(
    base: ReminderView, audience: Sequence[_Person], acted: Acted, local: dt.datetime
) -> ReminderView:
    keys = [(base.occurrence_id, m.id) for m in audience]
    states = [acted.answers.get(k) for k in keys]
    counts = GroupCounts(
        audience=len(audience),
        attending=sum(1 for s in states if s in _COMING),
        # one who checks in despite leave is present, not on leave (scheduler.records)
        on_leave=sum(
            1
            for k, s in zip(keys, states, strict=True)
            if s in _LEAVE and k not in acted.check_ins
        ),
        checked_in=sum(
            1
            for k, s in zip(keys, states, strict=True)
            if k in acted.check_ins or s == AttendanceState.PRESENT.value
        ),
        paid=sum(1 for m in audience if (m.id, local.year, local.month) in acted.paid),
    )
    return replace(base, counts=counts)


@dataclass(frozen=True)
class _Person:
    """The member columns a reminder needs (no ORM objects: a batch may hold thousands)."""

    id: int
    branch_id: int
    name: str
    locale: str | None
    dues_amount: Decimal
    role: str
    group_id: int | None
    active: bool
    status: str


def _people(
    session: Session, ids: Collection[int], branch_ids: Collection[int]
) -> dict[int, _Person]:
    """The members asked for, plus every member of branches that get a group message."""
    stmt = sa_select(
        col(Member.id),
        col(Member.branch_id),
        col(Member.name),
        col(Member.locale),
        col(Member.dues_amount),
        col(Member.role),
        col(Member.group_id),
        col(Member.active),
        col(Member.status),
    ).where(col(Member.id).in_(list(ids)) | col(Member.branch_id).in_(list(branch_ids)))
    return {row[0]: _Person(*row) for row in session.execute(stmt)}


def _occurrences(session: Session, ids: Iterable[int]) -> dict[int, Occurrence]:
    stmt = select(Occurrence).where(col(Occurrence.id).in_(list(ids)))
    return {o.id: o for o in session.exec(stmt) if o.id is not None}


def _branches(session: Session, ids: Iterable[int]) -> dict[int, Branch]:
    stmt = select(Branch).where(col(Branch.id).in_(list(ids)))
    return {b.id: b for b in session.exec(stmt) if b.id is not None}
