"""/reschedule and /cancelevent: move or cancel one occurrence, and tell who was reminded.

An event is named by the id /plan and /attendance show ("#123" or "123") or by
"<item_id>@<YYYY-MM-DD>" (its planned local date, e.g. general_meeting@2026-03-13). A new date
and time are read in the branch's zone; a move keeps the duration. Members already reminded
get a `change` ledger row each (key ``c:<occurrence>:<n>:m<member>``, n counting this
occurrence's changes), and the group chat one (``c:<occurrence>:<n>:g``) if a group reminder
went out; the dispatcher sends them. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.services.branch_year import BranchYear, ensure_year, load_branch
from bot.services.upsert import insert_ignore
from scheduler.plan import Localized
from scheduler.recurrence import local_to_utc
from storage import repositories as repo
from storage.db import Database
from storage.models import Delivery, DeliveryStatus, Member, Occurrence, OccurrenceStatus

_REF = re.compile(r"^#?(\d{1,12})$")
_ITEM_REF = re.compile(r"^([a-z0-9_-]{1,32})@(\d{4}-\d{2}-\d{2})$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ChangeError(ValueError):
    """A change refused; `code` says why, `value` is the offending input if any."""

    def __init__(self, code: str, value: str = "") -> None:
        super().__init__(f"{code}: {value}")
        self.code, self.value = code, value


@dataclass(frozen=True)
class EventRef:
    """How a secretary named an occurrence: its id, or its item and planned local date."""

    occurrence_id: int | None = None
    item_id: str | None = None
    day: dt.date | None = None


@dataclass(frozen=True)
class ChangeResult:
    """What a move or cancellation did."""

    occurrence_id: int
    title: Localized
    old_starts_at: dt.datetime
    new_starts_at: dt.datetime | None  # None: cancelled
    told: int  # members who had been reminded and are now told
    group_told: bool


def parse_event_ref(text: str) -> EventRef:
    """Read "#123", "123" or "item@YYYY-MM-DD"; ChangeError('bad_event') otherwise."""
    text = text.strip()
    if match := _REF.match(text):
        return EventRef(occurrence_id=int(match[1]))
    if match := _ITEM_REF.match(text):
        try:
            return EventRef(item_id=match[1], day=dt.date.fromisoformat(match[2]))
        except ValueError:
            pass
    raise ChangeError("bad_event", text)


def parse_day(text: str) -> dt.date:
    """Read a date like 2026-03-20; ChangeError('bad_date') otherwise."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ChangeError("bad_date", text) from None


def parse_time(text: str) -> dt.time:
    """Read a 24-hour time like 15:00; ChangeError('bad_time') otherwise."""
    if match := _TIME.match(text.strip()):
        return dt.time(int(match[1]), int(match[2]))
    raise ChangeError("bad_time", text)


def find_occurrence(session: Session, ctx: BranchYear, ref: EventRef) -> Occurrence:
    """The occurrence `ref` names in this branch; ChangeError('unknown_event') otherwise.

    Another branch's occurrence is "unknown" too: its existence is not revealed.
    """
    occ: Occurrence | None = None
    if ref.occurrence_id is not None:
        occ = session.get(Occurrence, ref.occurrence_id)
    elif ref.item_id is not None and ref.day is not None and 1970 <= ref.day.year <= 2200:
        if ctx.item(ref.item_id) is not None:
            ensure_year(session, ctx, ref.day.year)
        occ = session.exec(
            select(Occurrence).where(
                Occurrence.branch_id == ctx.branch_id,
                Occurrence.item_id == ref.item_id,
                Occurrence.key == ref.day.isoformat(),
            )
        ).first()
    if occ is None or occ.branch_id != ctx.branch_id:
        raise ChangeError("unknown_event")
    return occ


def reschedule(
    db: Database,
    *,
    branch_id: int,
    actor_id: int | None,
    ref: EventRef,
    day: dt.date,
    at: dt.time,
    now: dt.datetime,
    not_held: bool = False,
) -> ChangeResult:
    """Move one occurrence to `day` `at` (branch-local), keeping its duration.

    `not_held`: the meeting's time has passed but it did not take place (said while recording
    it, bot/services/minutes.py), so it may still be moved to a later time.
    """
    with db.transaction() as session:
        ctx = load_branch(session, branch_id, now=now)
        occ = find_occurrence(session, ctx, ref)
        occ = _changeable(occ, now) if not not_held else _not_cancelled(occ)
        new_start = local_to_utc(day, at, ctx.tz)
        if new_start <= now:
            raise ChangeError("past", f"{day.isoformat()} {at:%H:%M}")
        if new_start == occ.starts_at:
            raise ChangeError("same")
        old_start = occ.starts_at
        occ.ends_at = new_start + (occ.ends_at - occ.starts_at)
        occ.starts_at, occ.changed_at = new_start, now
        session.add(occ)
        told, group = _tell_reminded(session, ctx, occ, old_start, cancelled=False)
        _audit(session, ctx, occ, actor_id, "occurrence.reschedule", old_start, new_start)
        return ChangeResult(occ.id or 0, _title(ctx, occ), old_start, new_start, told, group)


def cancel(
    db: Database, *, branch_id: int, actor_id: int | None, ref: EventRef, now: dt.datetime
) -> ChangeResult:
    """Cancel one occurrence; answers are kept, pending reminders are skipped."""
    with db.transaction() as session:
        ctx = load_branch(session, branch_id, now=now)
        occ = _changeable(find_occurrence(session, ctx, ref), now)
        occ.status, occ.changed_at = OccurrenceStatus.CANCELLED.value, now
        session.add(occ)
        told, group = _tell_reminded(session, ctx, occ, occ.starts_at, cancelled=True)
        _audit(session, ctx, occ, actor_id, "occurrence.cancel", occ.starts_at, None)
        return ChangeResult(occ.id or 0, _title(ctx, occ), occ.starts_at, None, told, group)


def _changeable(occ: Occurrence, now: dt.datetime) -> Occurrence:
    if occ.status == OccurrenceStatus.CANCELLED.value:
        raise ChangeError("cancelled")
    if occ.starts_at <= now:
        raise ChangeError("held")
    return occ


def _not_cancelled(occ: Occurrence) -> Occurrence:
    if occ.status == OccurrenceStatus.CANCELLED.value:
        raise ChangeError("cancelled")
    return occ


def _title(ctx: BranchYear, occ: Occurrence) -> Localized:
    item = ctx.item(occ.item_id)
    return item.title if item is not None else Localized(occ.item_id, occ.item_id)


def _tell_reminded(
    session: Session, ctx: BranchYear, occ: Occurrence, old_start: dt.datetime, *, cancelled: bool
) -> tuple[int, bool]:
    """Queue a `change` row for everyone already reminded; settle pending reminders."""
    rows = session.exec(
        select(Delivery).where(
            Delivery.occurrence_id == occ.id, col(Delivery.kind).in_(("remind", "change"))
        )
    ).all()
    sent = [r for r in rows if r.kind == "remind" and r.status == DeliveryStatus.SENT.value]
    n = 1 + max((int(r.key.split(":")[2]) for r in rows if r.kind == "change"), default=0)
    payload = json.dumps(
        {
            "old_starts_at": old_start.isoformat(),
            "new_starts_at": None if cancelled else occ.starts_at.isoformat(),
            "cancelled": cancelled,
        }
    )
    member_ids = {r.member_id for r in sent if r.member_id is not None}
    members = (
        session.exec(select(Member).where(col(Member.id).in_(member_ids))).all()
        if member_ids
        else []
    )
    told = 0
    for member in members:
        if member.telegram_id is not None:
            told += _queue(
                session,
                ctx,
                occ,
                f"c:{occ.id}:{n}:m{member.id}",
                member.telegram_id,
                member_id=member.id,
                payload=payload,
            )
    group_chat = ctx.branch.group_chat_id
    group = group_chat is not None and any(r.member_id is None for r in sent)
    if group and group_chat is not None:
        _queue(session, ctx, occ, f"c:{occ.id}:{n}:g", group_chat, member_id=None, payload=payload)
    _settle_pending(session, occ, [r for r in rows if r.kind == "remind"], cancelled=cancelled)
    return told, group


def _settle_pending(
    session: Session, occ: Occurrence, reminders: list[Delivery], *, cancelled: bool
) -> None:
    """Pending reminders of a cancelled occurrence are skipped."""
    if not cancelled:
        return
    for row in reminders:
        if row.status == DeliveryStatus.PENDING.value:
            row.status, row.error = DeliveryStatus.SKIPPED.value, "occurrence cancelled"
            session.add(row)


def _queue(
    session: Session,
    ctx: BranchYear,
    occ: Occurrence,
    key: str,
    chat_id: int,
    *,
    member_id: int | None,
    payload: str,
) -> int:
    values = {
        "key": key,
        "branch_id": ctx.branch_id,
        "kind": "change",
        "occurrence_id": occ.id,
        "member_id": member_id,
        "chat_id": chat_id,
        "due_at": ctx.now,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "payload": payload,
    }
    return int(insert_ignore(session, Delivery, values, keys=["key"]))


def _audit(
    session: Session,
    ctx: BranchYear,
    occ: Occurrence,
    actor_id: int | None,
    action: str,
    old: dt.datetime,
    new: dt.datetime | None,
) -> None:
    detail = {
        "occurrence": occ.id,
        "item": occ.item_id,
        "key": occ.key,
        "old_starts_at": old.isoformat(),
        "new_starts_at": new.isoformat() if new else None,
    }
    repo.add_audit(
        session,
        branch_id=ctx.branch_id,
        action=action,
        at=ctx.now,
        actor_id=actor_id,
        detail=json.dumps(detail),
    )
