"""Members who leave the branch, and how long free text about members is kept.

A member leaves by transfer (组织关系转出) or is removed by the secretary. From then on they
receive nothing: the account is unlinked (Telegram id cleared), sends still queued for them are
skipped, their open conversation and unused invites are dropped, and their answers to future
events are deleted. Their name stays only where the registers need it: attendance, dues and
talk records of the past. Every removal is audited.

Leave reasons, make-up notes and talk-record summaries are personal data; a branch may keep
them for a number of days only (`Branch.retention_days`), after which the text is replaced by
"reason given" / "summary given" (`expire_free_text`, run by the daily job).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass

from sqlmodel import Session, col, delete, select, update

from bot.i18n import translator
from bot.services.events import Refusal, active_member
from bot.services.inert import visible
from storage import repositories as repo
from storage.db import Database
from storage.models import (
    Attendance,
    Branch,
    Conversation,
    Delivery,
    DeliveryStatus,
    Invite,
    Member,
    Occurrence,
    Role,
    TalkRecord,
)

MAX_RETENTION_DAYS = 3650


class LeaveHow(enum.StrEnum):
    """How a member left; the button codes are the list index + 1."""

    TRANSFER = "transfer"
    REMOVED = "removed"


HOW_CODES: tuple[LeaveHow, ...] = (LeaveHow.TRANSFER, LeaveHow.REMOVED)


@dataclass(frozen=True)
class Removal:
    """A member found for removal (before confirming), or the removal done, or why not."""

    refusal: Refusal | None
    member_id: int | None = None
    name: str = ""
    how: LeaveHow | None = None


def _secretary(session: Session, actor_id: int | None) -> Member | None:
    actor = active_member(session, actor_id)
    return actor if actor is not None and actor.role == Role.SECRETARY.value else None


def find_for_removal(db: Database, *, actor_id: int | None, name: str) -> Removal:
    """The active member of the secretary's branch called `name` (nothing changes)."""
    with db.read() as session:
        actor = _secretary(session, actor_id)
        if actor is None:
            return Removal(Refusal.NOT_ALLOWED)
        member = repo.member_by_name(session, branch_id=actor.branch_id, name=visible(name))
        if member is None or member.id is None or not member.active:
            return Removal(Refusal.UNKNOWN, name=visible(name))
        if member.id == actor.id:
            return Removal(Refusal.OWN_REQUEST, member.id, member.name)
        return Removal(None, member.id, member.name)


def remove_member(
    db: Database, *, actor_id: int | None, member_id: int, how: LeaveHow, now: dt.datetime
) -> Removal:
    """Record that a member left: unlink them, stop everything for them, audit it."""
    with db.transaction() as session:
        actor = _secretary(session, actor_id)
        if actor is None:
            return Removal(Refusal.NOT_ALLOWED)
        member = session.get(Member, member_id)
        if member is None or member.branch_id != actor.branch_id or member.id is None:
            return Removal(Refusal.UNKNOWN)
        if not member.active:
            return Removal(Refusal.ALREADY, member.id, member.name, how)
        if member.id == actor.id:
            return Removal(Refusal.OWN_REQUEST, member.id, member.name)
        telegram_id = member.telegram_id
        member.active, member.left_at, member.left_how = False, now, how.value
        member.telegram_id = member.linked_at = member.locale = None
        member.unreachable_reason = member.unreachable_since = None
        session.add(member)
        session.execute(
            update(Delivery)
            .where(
                col(Delivery.member_id) == member.id,
                col(Delivery.status).in_(
                    [DeliveryStatus.PENDING.value, DeliveryStatus.UNKNOWN.value]
                ),
            )
            .values(status=DeliveryStatus.SKIPPED.value, error="member left the branch")
        )
        session.execute(delete(Invite).where(col(Invite.member_id) == member.id))
        if telegram_id is not None:
            session.execute(
                delete(Conversation).where(col(Conversation.telegram_id) == telegram_id)
            )
        future = select(Occurrence.id).where(
            Occurrence.branch_id == member.branch_id, col(Occurrence.starts_at) > now
        )
        session.execute(
            delete(Attendance).where(
                col(Attendance.member_id) == member.id, col(Attendance.occurrence_id).in_(future)
            )
        )
        repo.add_audit(
            session,
            branch_id=member.branch_id,
            action="member.left",
            at=now,
            actor_id=actor.id,
            detail=json.dumps({"member_id": member.id, "how": how.value}),
        )
        return Removal(None, member.id, member.name, how)


@dataclass(frozen=True)
class Retention:
    """A branch's retention setting after /retention (or why it was not changed)."""

    refusal: Refusal | None
    days: int | None = None


def set_retention(
    db: Database, *, actor_id: int | None, days: int | None, now: dt.datetime
) -> Retention:
    """Set how many days reasons and summaries are kept (None: for good); audited."""
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        return Retention(Refusal.BAD_INPUT)
    with db.transaction() as session:
        actor = _secretary(session, actor_id)
        if actor is None:
            return Retention(Refusal.NOT_ALLOWED)
        branch = session.get(Branch, actor.branch_id)
        assert branch is not None
        branch.retention_days = days
        session.add(branch)
        repo.add_audit(
            session,
            branch_id=branch.id or 0,
            action="retention.set",
            at=now,
            actor_id=actor.id,
            detail=json.dumps({"days": days}),
        )
        return Retention(None, days)


def retention_of(db: Database, *, actor_id: int | None) -> Retention:
    """The current retention setting of the actor's branch (committee and secretary)."""
    with db.read() as session:
        actor = active_member(session, actor_id)
        if actor is None or actor.role not in (Role.SECRETARY.value, Role.COMMITTEE.value):
            return Retention(Refusal.NOT_ALLOWED)
        branch = session.get(Branch, actor.branch_id)
        return Retention(None, branch.retention_days if branch else None)


def expire_free_text(db: Database, *, now: dt.datetime) -> int:
    """Replace reasons, notes and summaries older than each branch's retention; return count.

    The age of a leave reason or make-up note is counted from the event's start, a summary's
    from when it was handed in. The replacement is in the branch's language.
    """
    changed = 0
    with db.transaction() as session:
        branches = session.exec(select(Branch).where(col(Branch.retention_days).is_not(None)))
        for branch in branches:
            assert branch.retention_days is not None and branch.id is not None
            cutoff = now - dt.timedelta(days=branch.retention_days)
            tr = translator(branch.locale, branch.timezone)
            reason, note = tr.gettext("reason given"), tr.gettext("note given")
            summary = tr.gettext("summary given")
            old = select(Occurrence.id).where(
                Occurrence.branch_id == branch.id, col(Occurrence.starts_at) < cutoff
            )
            for attendance in session.exec(
                select(Attendance).where(col(Attendance.occurrence_id).in_(old))
            ):
                touched = False
                if attendance.leave_reason and attendance.leave_reason != reason:
                    attendance.leave_reason, touched = reason, True
                if attendance.made_up_note and attendance.made_up_note != note:
                    attendance.made_up_note, touched = note, True
                if touched:
                    session.add(attendance)
                    changed += 1
            for record in session.exec(
                select(TalkRecord).where(
                    TalkRecord.branch_id == branch.id, col(TalkRecord.submitted_at) < cutoff
                )
            ):
                if record.summary and record.summary != summary:
                    record.summary = summary
                    session.add(record)
                    changed += 1
    return changed
