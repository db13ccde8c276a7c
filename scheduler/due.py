"""What is due: a pure function of (plan occurrences, members, answers, ledger keys, now).

No I/O and no wall clock. The dispatcher feeds it rows it loaded in bulk; `branchbot preview`
feeds it the same rows without the ledger, so both print and send from one set of rules.

Rules:

* Every plan item's reminder rules give one *slot* per occurrence: the rule's local day (the
  occurrence's local day plus the rule's offset) at the rule's local time, converted with the
  branch's zone (DST policy: scheduler.recurrence). Cancelled occurrences have no slots; a moved
  occurrence's slots follow its new start.
* Expiry: a meeting reminder is worth sending until the meeting starts (a late one says "starts
  in 2 hours"); a dues, talks or paperwork reminder until the end of the local deadline day, or
  of its own day for a follow-up after the deadline. A stale reminder is recorded as skipped.
* Recipients: active members in the item's audience (scheduler.audience), linked to Telegram and
  not marked unreachable, by direct message; and/or one message in the branch's group chat, per
  `Branch.delivery_mode`. Only items for everyone or for the party groups go to the group chat
  (the chat is the whole branch); items for the committee, group leaders or leading cadres are
  always direct, and a branch in `group` mode without a bound chat falls back to direct.
* `only_pending` rules go to those who have not acted: dues -> no payment recorded for that
  month; talks -> the leader's group has no talk record for that quarter; meetings -> no answer
  yet. Members on approved leave get no more reminders for that meeting, whatever the rule.
* The weekly digest is due on Monday 08:00 local to the secretary and committee, once per ISO
  week per recipient; it never goes stale (a late digest is still useful) and only the current
  week's is planned, so downtime never makes two arrive together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, assert_never

from scheduler.audience import GROUP_CHAT_AUDIENCES, LEADERSHIP, owes
from scheduler.kinds import BY_KIND, ActedBy, ItemKind, quarter_of
from scheduler.notify import Kind
from scheduler.plan import Plan, PlanItem, ReminderRule
from scheduler.recurrence import local_to_utc, to_local, zone
from storage.models import AttendanceState, DeliveryMode, OccurrenceStatus

DIGEST_TIME = dt.time(8, 0)  # Monday, branch-local
# Meeting answers after which an only_pending meeting reminder is no longer needed.
_ANSWERED = frozenset(
    {
        AttendanceState.ATTENDING.value,
        AttendanceState.PRESENT.value,
        AttendanceState.LEAVE_REQUESTED.value,
        AttendanceState.LEAVE_APPROVED.value,
    }
)


@dataclass(frozen=True)
class BranchFacts:
    """What the rules need to know about a branch."""

    id: int
    timezone: str
    delivery_mode: str = DeliveryMode.DIRECT.value
    group_chat_id: int | None = None
    created_at: dt.datetime | None = None  # no digest for a week before the branch existed

    @property
    def posts_to_group(self) -> bool:
        """Whether group-chat messages go out (the mode asks for them and a chat is bound)."""
        wanted = self.delivery_mode in (DeliveryMode.GROUP.value, DeliveryMode.BOTH.value)
        return wanted and self.group_chat_id is not None

    @property
    def direct_messages(self) -> bool:
        """Whether everyone-items also go by direct message."""
        return not self.posts_to_group or self.delivery_mode == DeliveryMode.BOTH.value


@dataclass(frozen=True)
class MemberFacts:
    """What the rules need to know about a member."""

    id: int
    branch_id: int
    telegram_id: int | None
    role: str
    group_id: int | None
    reachable: bool = True
    active: bool = True
    status: str = "full"  # storage MemberStatus value

    @property
    def can_be_messaged(self) -> bool:
        """Linked, active and not marked unreachable."""
        return self.active and self.reachable and self.telegram_id is not None


@dataclass(frozen=True)
class OccurrenceFacts:
    """An occurrence row as the rules see it."""

    id: int
    branch_id: int
    item_id: str
    key: str  # the planned local date, ISO: the month/quarter dues and talks belong to
    starts_at: dt.datetime
    status: str = OccurrenceStatus.SCHEDULED.value

    @property
    def planned_day(self) -> dt.date:
        """The planned local date (stable when the occurrence is moved)."""
        return dt.date.fromisoformat(self.key)


@dataclass(frozen=True)
class Acted:
    """What members have already done, for `only_pending` rules and leave."""

    paid: Collection[tuple[int, int, int]] = frozenset()  # (member, year, month)
    talks: Collection[tuple[int, int, int]] = frozenset()  # (group, year, quarter)
    answers: Mapping[tuple[int, int], str] = field(default_factory=dict)  # (occ, member)->state
    check_ins: Mapping[tuple[int, int], dt.datetime] = field(default_factory=dict)  # (occ, member)
    # (kind, member, year, quarter) of each member's own hand-in (scheduler/handins.py)
    handed_in: Collection[tuple[ItemKind, int, int, int]] = frozenset()


@dataclass(frozen=True)
class Slot:
    """One reminder rule of one occurrence, at its instant."""

    occurrence: OccurrenceFacts
    item: PlanItem
    rule_index: int
    rule: ReminderRule
    at: dt.datetime
    expires_at: dt.datetime

    @property
    def kind(self) -> ItemKind:
        """The plan item's kind."""
        return self.item.kind


@dataclass(frozen=True)
class PlannedReminder:
    """One message that the plan says should go out to one recipient."""

    key: str
    kind: str
    branch_id: int
    chat_id: int
    at: dt.datetime
    member_id: int | None = None
    occurrence_id: int | None = None
    rule_index: int | None = None
    item_id: str | None = None
    item_kind: str | None = None  # meeting, dues, talks, paperwork
    expires_at: dt.datetime | None = None
    # Facts the message needs beyond the occurrence (stored in the ledger row's payload).
    payload: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)

    @property
    def to_group(self) -> bool:
        """Whether this is the one message in the branch's group chat (a committee digest has
        no member either: it goes to a seat holder)."""
        return self.member_id is None and self.kind != Kind.OVERSIGHT.value

    def is_stale(self, now: dt.datetime) -> bool:
        """Whether it is too late to be worth sending."""
        return self.expires_at is not None and now >= self.expires_at


def remind_key(occurrence_id: int, rule_index: int, member_id: int | None) -> str:
    """The ledger key of a reminder: per member, or `g` for the group chat."""
    who = "g" if member_id is None else f"m{member_id}"
    return f"r:{occurrence_id}:{rule_index}:{who}"


def digest_key(branch_id: int, week: tuple[int, int], member_id: int) -> str:
    """The ledger key of one recipient's digest for an ISO (year, week)."""
    return f"d:{branch_id}:{week[0]}-W{week[1]:02d}:m{member_id}"


def local_day(instant: dt.datetime, tz_name: str) -> dt.date:
    """The branch-local date of an instant."""
    return to_local(instant, zone(tz_name)).date()


def reminder_slots(
    branch: BranchFacts, plan: Plan, occurrences: Iterable[OccurrenceFacts]
) -> list[Slot]:
    """Every reminder slot of the branch's scheduled occurrences, by instant."""
    tz = zone(branch.timezone)
    items = {item.id: item for item in plan.items}
    slots = []
    for occ in occurrences:
        item = items.get(occ.item_id)
        if item is None or occ.status != OccurrenceStatus.SCHEDULED.value:
            continue
        day = to_local(occ.starts_at, tz).date()
        for index, rule in enumerate(item.reminders):
            rule_day = day + dt.timedelta(days=rule.offset_days)
            at = local_to_utc(rule_day, rule.at, tz)
            if BY_KIND[item.kind].is_event:
                expires = occ.starts_at
            else:
                last_day = max(day, rule_day)
                expires = local_to_utc(last_day + dt.timedelta(days=1), dt.time(0, 0), tz)
            if at < expires:
                slots.append(Slot(occ, item, index, rule, at, expires))
    slots.sort(key=lambda s: (s.at, s.occurrence.id, s.rule_index))
    return slots


def _pending(slot: Slot, member: MemberFacts, acted: Acted) -> bool:
    """Whether `member` still needs this slot's reminder."""
    occ = slot.occurrence
    if slot.kind == ItemKind.MEETING:
        state = acted.answers.get((occ.id, member.id))
        if state == AttendanceState.LEAVE_APPROVED.value:
            return False
        return not (slot.rule.only_pending and state in _ANSWERED)
    if not slot.rule.only_pending:
        return True
    return not has_acted(slot.kind, occ, member, acted)


def has_acted(kind: ItemKind, occ: OccurrenceFacts, member: MemberFacts, acted: Acted) -> bool:
    """Whether `member` has done what an occurrence of `kind` asks (the rows in `acted`)."""
    day = occ.planned_day
    acted_by = BY_KIND[kind].acted_by
    match acted_by:
        case ActedBy.ANSWER:
            return acted.answers.get((occ.id, member.id)) in _ANSWERED
        case ActedBy.PAYMENT:
            return (member.id, day.year, day.month) in acted.paid
        case ActedBy.GROUP_RECORD:
            return (
                member.group_id is not None and (member.group_id, *quarter_of(day)) in acted.talks
            )
        case ActedBy.HAND_IN:
            return (kind, member.id, *quarter_of(day)) in acted.handed_in
        case ActedBy.NOTHING:
            return False  # nothing records it, so everyone in the audience is reminded
        case _:
            assert_never(acted_by)


def slot_audience(
    slot: Slot, members: Iterable[MemberFacts], acted: Acted
) -> tuple[list[MemberFacts], bool]:
    """(direct recipients, whether any audience member at all still needs it)."""
    wanted = [
        m
        for m in members
        if m.active
        and owes(slot.kind, slot.item.audience, m.role, m.group_id, m.status)
        and _pending(slot, m, acted)
    ]
    return [m for m in wanted if m.can_be_messaged], bool(wanted)


def planned_reminders(
    branch: BranchFacts, slots: Iterable[Slot], members: Sequence[MemberFacts], acted: Acted
) -> list[PlannedReminder]:
    """The messages the slots stand for: direct messages and/or one group-chat message."""
    planned: list[PlannedReminder] = []
    for slot in slots:
        direct, anyone = slot_audience(slot, members, acted)
        # A kind for some member statuses only (probationary members' reports) concerns too
        # few of the chat's readers to be posted there.
        group = (
            branch.posts_to_group
            and slot.item.audience in GROUP_CHAT_AUDIENCES
            and BY_KIND[slot.kind].statuses is None
        )
        occ_id = slot.occurrence.id
        base = PlannedReminder(
            key=remind_key(occ_id, slot.rule_index, None),
            kind=Kind.REMIND.value,
            branch_id=branch.id,
            chat_id=branch.group_chat_id or 0,
            at=slot.at,
            occurrence_id=occ_id,
            rule_index=slot.rule_index,
            item_id=slot.item.id,
            item_kind=slot.kind,
            expires_at=slot.expires_at,
        )
        if group and anyone:
            planned.append(base)
        if group and not branch.direct_messages:
            continue
        for m in direct:
            assert m.telegram_id is not None
            key = remind_key(occ_id, slot.rule_index, m.id)
            planned.append(replace(base, key=key, chat_id=m.telegram_id, member_id=m.id))
    return planned


def digest_week(now: dt.datetime, tz_name: str) -> tuple[tuple[int, int], dt.datetime]:
    """The ISO (year, week) of `now` in the branch's zone, and that week's digest instant."""
    today = local_day(now, tz_name)
    year, week, weekday = today.isocalendar()
    monday = today - dt.timedelta(days=weekday - 1)
    return (year, week), local_to_utc(monday, DIGEST_TIME, zone(tz_name))


def digest_instants(tz_name: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Every digest instant (Monday 08:00 local) in [start, end)."""
    first = local_day(start, tz_name)
    monday = first - dt.timedelta(days=first.weekday())
    tz = zone(tz_name)
    found: list[dt.datetime] = []
    while True:
        at = local_to_utc(monday, DIGEST_TIME, tz)
        if at >= end:
            return found
        if at >= start:
            found.append(at)
        monday += dt.timedelta(days=7)


def digest_recipients(members: Iterable[MemberFacts]) -> list[MemberFacts]:
    """Who gets the weekly digest: the secretary and committee members who can be messaged."""
    return [m for m in members if m.role in LEADERSHIP and m.can_be_messaged]


def oversight_key(unit_id: int, week: tuple[int, int], person_id: int) -> str:
    """The ledger key of one seat holder's weekly digest of a unit for an ISO (year, week)."""
    return f"o:{unit_id}:{week[0]}-W{week[1]:02d}:p{person_id}"


@dataclass(frozen=True)
class SeatFacts:
    """A linked, reachable seat holder at a committee or general branch, and its unit."""

    person_id: int
    unit_id: int
    timezone: str  # the unit's
    created_at: dt.datetime  # the unit's: no digest for a week before it existed
    telegram_id: int
    # The ledger row's branch (its column is NOT NULL): the first branch below the unit. The
    # row is the seat holder's, not the branch's; `payload` names the person and the unit.
    branch_id: int


def planned_oversight(seats: Iterable[SeatFacts], at: dt.datetime) -> list[PlannedReminder]:
    """The committee digests of the ISO week containing `at` (local to each unit), one per seat
    holder, at the same Monday 08:00 as the branch digest. Never stale, like the branch's."""
    planned: list[PlannedReminder] = []
    for seat in seats:
        week, monday = digest_week(at, seat.timezone)
        if monday > at or monday < seat.created_at:
            continue
        planned.append(
            PlannedReminder(
                key=oversight_key(seat.unit_id, week, seat.person_id),
                kind=Kind.OVERSIGHT.value,
                branch_id=seat.branch_id,
                chat_id=seat.telegram_id,
                at=monday,
                payload={"person": seat.person_id, "unit": seat.unit_id},
            )
        )
    return planned


def planned_digests(
    branch: BranchFacts, members: Iterable[MemberFacts], at: dt.datetime
) -> list[PlannedReminder]:
    """The digest messages of the ISO week that contains `at` (local).

    None for a digest instant before the branch existed: its first digest is the next Monday's.
    """
    week, _monday = digest_week(at, branch.timezone)
    planned: list[PlannedReminder] = []
    if branch.created_at is not None and at < branch.created_at:
        return planned
    for m in digest_recipients(members):
        assert m.telegram_id is not None
        key = digest_key(branch.id, week, m.id)
        planned.append(
            PlannedReminder(
                key=key, kind=Kind.DIGEST.value, branch_id=branch.id, chat_id=m.telegram_id,
                at=at, member_id=m.id,
            )
        )  # fmt: skip
    return planned


def due_reminders(
    planned: Iterable[PlannedReminder], ledger_keys: Collection[str], now: dt.datetime
) -> tuple[list[PlannedReminder], list[PlannedReminder]]:
    """Split what has come due and is not in the ledger into (to send, to record as skipped)."""
    send: list[PlannedReminder] = []
    skip: list[PlannedReminder] = []
    for reminder in planned:
        if reminder.at > now or reminder.key in ledger_keys:
            continue
        (skip if reminder.is_stale(now) else send).append(reminder)
    return supersede(send, skip)


SUPERSEDED = "superseded_by"


def supersede(
    send: list[PlannedReminder], skip: list[PlannedReminder]
) -> tuple[list[PlannedReminder], list[PlannedReminder]]:
    """Of several reminders of one occurrence due at once for one chat, send only the latest.

    After downtime across both reminders of a meeting, the member gets the day's reminder once;
    the earlier one is recorded as skipped, superseded by it (its key in the payload).
    """
    latest: dict[tuple[int, int], PlannedReminder] = {}
    for r in send:
        if r.kind != Kind.REMIND.value or r.occurrence_id is None:
            continue
        key = (r.occurrence_id, r.chat_id)
        if key not in latest or r.at > latest[key].at:
            latest[key] = r
    kept: list[PlannedReminder] = []
    for r in send:
        best = latest.get((r.occurrence_id or 0, r.chat_id))
        if best is None or best is r or r.kind != Kind.REMIND.value:
            kept.append(r)
        else:
            payload = {**(r.payload or {}), SUPERSEDED: best.key}
            skip.append(replace(r, payload=payload))
    return kept, skip
