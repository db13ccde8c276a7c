"""Make-up sessions (补课): a member absent from (or on leave at) a meeting makes it up later.

The secretary or a committee member records it with a short note: a button (``mu``:
occurrence, member) opens a conversation, and the next private message is the note. The
attendance row keeps its state (absent, leave...) and gains ``made_up_at`` and the note, so
`attendance.absences` still lists the absence, marked as made up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, select

from bot.services import conversation
from bot.services.attendance import MEETING, attendance_row
from bot.services.events import Event, Refusal, active_member, event_for
from scheduler.records import check_in_closes
from storage import repositories as repo
from storage.db import Database
from storage.models import Attendance, AttendanceState, Member, Role

MAX_NOTE = 500
_RECORDERS = (Role.SECRETARY.value, Role.COMMITTEE.value)


@dataclass(frozen=True)
class MakeUp:
    """The outcome of a make-up step: refused (and why), or the member and meeting."""

    refusal: Refusal | None
    member_name: str = ""
    event: Event | None = None


def _check(
    session: Session, actor_id: int | None, occurrence_id: int, member_id: int, now: dt.datetime
) -> tuple[Member, Member, Event] | MakeUp:
    """The recorder, the member and the meeting, if a make-up may be recorded now."""
    actor = active_member(session, actor_id)
    if actor is None:
        return MakeUp(Refusal.NOT_LINKED)
    if actor.role not in _RECORDERS:
        return MakeUp(Refusal.NOT_ALLOWED)
    member = session.get(Member, member_id)
    event = event_for(session, occurrence_id, branch_id=actor.branch_id)
    if member is None or member.branch_id != actor.branch_id or isinstance(event, Refusal):
        return MakeUp(Refusal.UNKNOWN)
    if event.kind != MEETING:
        return MakeUp(Refusal.WRONG_KIND, member.name, event)
    if now < check_in_closes(event.starts_at):
        return MakeUp(Refusal.FUTURE, member.name, event)
    row = session.exec(
        select(Attendance).where(
            Attendance.occurrence_id == occurrence_id, Attendance.member_id == member_id
        )
    ).first()
    if row is not None and row.state == AttendanceState.PRESENT.value:
        return MakeUp(Refusal.CHECKED_IN, member.name, event)
    return actor, member, event


def start_make_up(
    db: Database,
    *,
    actor_id: int | None,
    telegram_id: int,
    occurrence_id: int,
    member_id: int,
    now: dt.datetime,
) -> MakeUp:
    """Check that a make-up may be recorded, then wait for the note (a conversation step)."""
    with db.transaction() as session:
        found = _check(session, actor_id, occurrence_id, member_id, now)
        if isinstance(found, MakeUp):
            return found
        _actor, member, event = found
        data = {"occurrence_id": occurrence_id, "member_id": member_id}
        conversation.begin(
            session,
            telegram_id=telegram_id,
            flow=conversation.MAKE_UP,
            step="note",
            data=data,
            now=now,
        )
        return MakeUp(None, member.name, event)


def record_make_up(
    db: Database,
    *,
    actor_id: int | None,
    occurrence_id: int,
    member_id: int,
    note: str,
    now: dt.datetime,
) -> MakeUp:
    """Record that the member made up the meeting, with a note; audited."""
    with db.transaction() as session:
        return _record(session, actor_id, occurrence_id, member_id, note.strip(), now)


def make_up_from_note(
    db: Database, *, actor_id: int | None, telegram_id: int, note: str, now: dt.datetime
) -> MakeUp:
    """The note sent in the make-up conversation: record it and end the conversation."""
    with db.transaction() as session:
        flow = conversation.lock(session, telegram_id, now=now)
        if flow is None or flow.flow != conversation.MAKE_UP:
            return MakeUp(Refusal.UNKNOWN)
        note = note.strip()
        if not note or len(note) > MAX_NOTE:
            return MakeUp(Refusal.BAD_INPUT)  # the question stays open
        conversation.end(session, telegram_id)
        occurrence_id, member_id = int(flow.data["occurrence_id"]), int(flow.data["member_id"])
        return _record(session, actor_id, occurrence_id, member_id, note, now)


def _record(
    session: Session,
    actor_id: int | None,
    occurrence_id: int,
    member_id: int,
    note: str,
    now: dt.datetime,
) -> MakeUp:
    found = _check(session, actor_id, occurrence_id, member_id, now)
    if isinstance(found, MakeUp):
        return found
    actor, member, event = found
    if not note or len(note) > MAX_NOTE:
        return MakeUp(Refusal.BAD_INPUT, member.name, event)
    attendance_row(session, occurrence_id, member_id, AttendanceState.ABSENT.value, now)
    row = session.exec(
        select(Attendance)
        .where(Attendance.occurrence_id == occurrence_id, Attendance.member_id == member_id)
        .with_for_update()
    ).one()
    row.made_up_at, row.made_up_note, row.updated_at = now, note, now
    session.add(row)
    repo.add_audit(
        session,
        branch_id=actor.branch_id,
        actor_id=actor.id,
        action="made_up",
        detail=f"occurrence={occurrence_id} member={member_id} note={note}",
        at=now,
    )
    return MakeUp(None, member.name, event)
