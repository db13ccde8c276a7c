"""Resolve a tapped occurrence for a member: the shared safety checks of every answer button.

A button carries only an occurrence id, and a modified client can send any id.
So every tap is checked here against the database: the occurrence exists in the presser's own
branch, its plan item still exists and has the right kind, it is not cancelled, and the presser
is in its audience. The member is always the presser (the gate resolves them from the
Telegram user id), so nobody can act for someone else.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from scheduler.audience import owes
from scheduler.kinds import ItemKind
from scheduler.plan import Localized, branch_plan, plan_from
from storage.models import Branch, Member, Occurrence, OccurrenceStatus


class Refusal(enum.StrEnum):
    """Why a tap or an answer wrote nothing."""

    NOT_LINKED = "not_linked"  # the presser is not an active member
    UNKNOWN = "unknown"  # no such occurrence (or record) in the presser's branch
    CANCELLED = "cancelled"
    WRONG_KIND = "wrong_kind"  # e.g. "check in" on a dues occurrence
    NOT_AUDIENCE = "not_audience"
    STARTED = "started"  # attend / leave after the start
    TOO_EARLY = "too_early"  # check-in before its window
    TOO_LATE = "too_late"  # check-in after its window
    ALREADY = "already"  # a double tap: nothing to change
    CHECKED_IN = "checked_in"  # attend / leave after checking in
    LEAVE_PENDING = "leave_pending"  # leave asked twice
    NOT_ALLOWED = "not_allowed"  # the role may not do this
    OWN_REQUEST = "own_request"  # deciding one's own leave
    DECIDED = "decided"  # someone already approved or declined
    BAD_INPUT = "bad_input"  # empty or overlong text, a number that is not one
    NO_AMOUNT = "no_amount"  # dues amount not set yet
    NOT_A_LEADER = "not_a_leader"  # /talks by someone who leads no group
    FUTURE = "future"  # a quarter or month that has not begun


@dataclass(frozen=True)
class Event:
    """An occurrence with what the answer handlers need to know about it."""

    occurrence_id: int
    branch_id: int
    item_id: str
    key: str
    kind: ItemKind
    audience: str
    title: Localized
    starts_at: dt.datetime
    ends_at: dt.datetime
    branch_locale: str
    branch_timezone: str

    @property
    def local_date(self) -> dt.date:
        """The planned local date (stable when the occurrence is moved)."""
        return dt.date.fromisoformat(self.key)


def active_member(session: Session, member_id: int | None) -> Member | None:
    """The active member with this id, or None."""
    if member_id is None:
        return None
    member = session.get(Member, member_id)
    return member if member is not None and member.active else None


def event_for(session: Session, occurrence_id: int, *, branch_id: int) -> Event | Refusal:
    """The occurrence as an Event if it exists in `branch_id` and is not cancelled."""
    occ = session.get(Occurrence, occurrence_id)
    if occ is None or occ.branch_id != branch_id or occ.id is None:
        return Refusal.UNKNOWN
    branch = session.get(Branch, occ.branch_id)
    assert branch is not None
    try:
        item = branch_plan(branch).item(occ.item_id)
    except KeyError:
        return Refusal.UNKNOWN
    if occ.status == OccurrenceStatus.CANCELLED.value:
        return Refusal.CANCELLED
    return Event(
        occurrence_id=occ.id,
        branch_id=occ.branch_id,
        item_id=occ.item_id,
        key=occ.key,
        kind=item.kind,
        audience=item.audience,
        title=item.title,
        starts_at=occ.starts_at,
        ends_at=occ.ends_at,
        branch_locale=branch.locale,
        branch_timezone=branch.timezone,
    )


def event_for_member(
    session: Session, occurrence_id: int, member: Member | None, *, kind: ItemKind
) -> Event | Refusal:
    """The occurrence as seen by `member` pressing a `kind` button, or why it is refused."""
    if member is None:
        return Refusal.NOT_LINKED
    event = event_for(session, occurrence_id, branch_id=member.branch_id)
    if isinstance(event, Refusal):
        return event
    return _judged(event, member.role, member.group_id, member.status, kind)


def _judged(
    event: Event, role: str, group_id: int | None, status: str, kind: ItemKind
) -> Event | Refusal:
    if event.kind != kind:
        return Refusal.WRONG_KIND
    if not owes(event.kind, event.audience, role, group_id, status):
        return Refusal.NOT_AUDIENCE
    return event


@dataclass(frozen=True)
class Presser:
    """The member behind a tap, as the answer rules need them."""

    member_id: int
    branch_id: int
    role: str
    group_id: int | None


_TAP = (
    sa_select(
        col(Member.branch_id),
        col(Member.role),
        col(Member.group_id),
        col(Member.status),
        col(Occurrence.id),
        col(Occurrence.item_id),
        col(Occurrence.key),
        col(Occurrence.status),
        col(Occurrence.starts_at),
        col(Occurrence.ends_at),
        col(Branch.name),
        col(Branch.plan_toml),
        col(Branch.locale),
        col(Branch.timezone),
    )
    .select_from(Occurrence)
    .join(Branch, col(Branch.id) == col(Occurrence.branch_id))
    .join(Member, col(Member.branch_id) == col(Occurrence.branch_id))
    .where(
        col(Occurrence.id) == bindparam("occurrence_id"),
        col(Member.id) == bindparam("member_id"),
        col(Member.active).is_(True),
    )
)


def tap_target(
    session: Session, member_id: int | None, occurrence_id: int, *, kind: ItemKind
) -> tuple[Presser, Event] | Refusal:
    """The presser and the tapped occurrence in one query (taps come in bursts), or a refusal.

    The query finds a row only when the member is active and the occurrence is in their own
    branch; otherwise the slower lookup says why.
    """
    if member_id is None:
        return Refusal.NOT_LINKED
    # One prebuilt Core statement on the session's connection: taps come in bursts, and this
    # skips both building ORM objects and re-adapting a fresh statement to the compiled cache.
    params = {"occurrence_id": occurrence_id, "member_id": member_id}
    row = session.connection().execute(_TAP, params).first()
    if row is None:
        member = active_member(session, member_id)
        refusal = event_for_member(session, occurrence_id, member, kind=kind)
        return refusal if isinstance(refusal, Refusal) else Refusal.UNKNOWN
    branch_id, role, group_id, member_status, _occ, item_id, key, status, starts, ends, *branch = (
        row
    )
    name, plan_toml, locale, timezone = branch
    plan = plan_from(plan_toml, name)
    try:
        item = plan.item(item_id)
    except KeyError:
        return Refusal.UNKNOWN
    if status == OccurrenceStatus.CANCELLED.value:
        return Refusal.CANCELLED
    event = Event(
        occurrence_id=occurrence_id,
        branch_id=branch_id,
        item_id=item_id,
        key=key,
        kind=item.kind,
        audience=item.audience,
        title=item.title,
        starts_at=starts,
        ends_at=ends,
        branch_locale=locale,
        branch_timezone=timezone,
    )
    judged = _judged(event, role, group_id, member_status, kind)
    if isinstance(judged, Refusal):
        return judged
    return Presser(member_id, branch_id, role, group_id), judged
