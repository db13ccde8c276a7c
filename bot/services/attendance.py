"""Meeting answers: Attend, Check in, make-up sessions (补课), and who was absent.

Every use case is one transaction. A member's attendance row is created with
`INSERT ... ON CONFLICT DO NOTHING` and then locked, so double or concurrent taps make one row
and one change: the unique constraint decides, on SQLite and PostgreSQL alike.

"Absent" is derived, not stored, by the shared rule of `scheduler.records` (every view uses it):
once check-in has closed, an expected member with neither a check-in nor leave is absent
(`find_absences`). Expected means in the item's audience and linked to the bot before the event
started (an unlinked member never had a button: "not reachable yet"), or holding an answer row,
and never before the branch's start or the member's joining. A pending leave request counts as
leave. A row in state ``absent`` exists only when the secretary marks it or records a make-up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.services.events import Event, Presser, Refusal, tap_target
from bot.services.upsert import insert_ignore
from scheduler.audience import in_audience
from scheduler.development.rules import PRE_MEMBER
from scheduler.kinds import ItemKind
from scheduler.plan import branch_plan
from scheduler.records import (
    CHECK_IN_OPENS,
    check_in_closes,
    meeting_record,
    member_since,
)
from storage import repositories as repo
from storage.db import Database
from storage.models import (
    Attendance,
    AttendanceState,
    Branch,
    Occurrence,
    OccurrenceStatus,
)

MAX_NOTE = 500
MEETING = ItemKind.MEETING
_EXCUSED = (AttendanceState.LEAVE_REQUESTED.value, AttendanceState.LEAVE_APPROVED.value)


@dataclass(frozen=True)
class Answer:
    """The outcome of a tap: refused (and why), or the member's state after it."""

    refusal: Refusal | None
    event: Event | None = None
    state: str | None = None
    checked_in_at: dt.datetime | None = None
    changed: bool = False

    @property
    def ok(self) -> bool:
        """Whether the tap was accepted."""
        return self.refusal is None

    @property
    def opens_at(self) -> dt.datetime | None:
        """When check-in opens for the event."""
        return self.event.starts_at - CHECK_IN_OPENS if self.event else None

    @property
    def closes_at(self) -> dt.datetime | None:
        """When check-in closes for the event."""
        return check_in_closes(self.event.starts_at) if self.event else None


def attendance_row(
    session: Session, occurrence_id: int, member_id: int, state: str, now: dt.datetime
) -> Attendance | None:
    """Create the member's row in `state` (None), or lock and return the existing row.

    A created row is not read back: the caller knows what it holds.
    """
    values: dict[str, object] = {
        "occurrence_id": occurrence_id,
        "member_id": member_id,
        "state": state,
        "updated_at": now,
    }
    if state == AttendanceState.PRESENT.value:
        values["checked_in_at"] = now
    if insert_ignore(session, Attendance, values, keys=["occurrence_id", "member_id"]):
        return None
    stmt = (
        select(Attendance)
        .where(Attendance.occurrence_id == occurrence_id, Attendance.member_id == member_id)
        .with_for_update()
    )
    return session.exec(stmt).one()


def meeting_for(
    session: Session, member_id: int | None, occurrence_id: int
) -> tuple[Presser, Event] | Refusal:
    """The presser and the meeting they tapped, or why the tap is refused."""
    return tap_target(session, member_id, occurrence_id, kind=MEETING)


def attend(db: Database, *, member_id: int | None, occurrence_id: int, now: dt.datetime) -> Answer:
    """Record that the member will attend (withdrawing any leave request), before the start."""
    with db.transaction() as session:
        found = meeting_for(session, member_id, occurrence_id)
        if isinstance(found, Refusal):
            return Answer(found)
        presser, event = found
        if now >= event.starts_at:
            return Answer(Refusal.STARTED, event)
        attending = AttendanceState.ATTENDING.value
        row = attendance_row(session, event.occurrence_id, presser.member_id, attending, now)
        if row is None:
            return Answer(None, event, attending, None, changed=True)
        if row.state == AttendanceState.PRESENT.value:
            return Answer(Refusal.CHECKED_IN, event, row.state, row.checked_in_at)
        if row.state == attending:
            return Answer(Refusal.ALREADY, event, row.state)
        row.state, row.leave_reason, row.decided_by, row.updated_at = attending, None, None, now
        session.add(row)
        return Answer(None, event, row.state, None, changed=True)


def check_in(
    db: Database, *, member_id: int | None, occurrence_id: int, now: dt.datetime
) -> Answer:
    """Record the member's check-in time, from 30 minutes before the start to 2 hours after."""
    with db.transaction() as session:
        found = meeting_for(session, member_id, occurrence_id)
        if isinstance(found, Refusal):
            return Answer(found)
        presser, event = found
        if now < event.starts_at - CHECK_IN_OPENS:
            return Answer(Refusal.TOO_EARLY, event)
        if now > check_in_closes(event.starts_at):
            return Answer(Refusal.TOO_LATE, event)
        present = AttendanceState.PRESENT.value
        row = attendance_row(session, event.occurrence_id, presser.member_id, present, now)
        if row is None:
            return Answer(None, event, present, now, changed=True)
        if row.checked_in_at is not None:
            return Answer(Refusal.ALREADY, event, row.state, row.checked_in_at)
        row.state, row.checked_in_at, row.updated_at = present, now, now
        session.add(row)
        return Answer(None, event, row.state, now, changed=True)


# ---------------------------------------------------------------- absences (for /overdue)


@dataclass(frozen=True)
class MeetingFacts:
    """A past meeting occurrence, as the absence rule needs it."""

    occurrence_id: int
    audience: str
    starts_at: dt.datetime
    closes_at: dt.datetime


@dataclass(frozen=True)
class MemberFacts:
    """A member, as the absence rule needs them."""

    member_id: int
    role: str
    group_id: int | None
    linked_at: dt.datetime | None
    since: dt.datetime | None = None  # the first instant that counts (branch start, joining)


@dataclass(frozen=True)
class AnswerFacts:
    """A member's stored answer to one occurrence."""

    state: str
    checked_in_at: dt.datetime | None
    made_up_at: dt.datetime | None
    made_up_note: str | None


@dataclass(frozen=True)
class Absence:
    """A member who missed a meeting (without check-in), on leave or not."""

    occurrence_id: int
    member_id: int
    starts_at: dt.datetime
    state: str | None  # the stored answer, None if they never answered
    made_up_at: dt.datetime | None = None
    made_up_note: str | None = None

    @property
    def on_leave(self) -> bool:
        """Whether the member had asked for leave (approved, or still undecided)."""
        return self.state in _EXCUSED

    @property
    def without_leave(self) -> bool:
        """An absence without leave (what /overdue lists)."""
        return not self.on_leave

    @property
    def made_up(self) -> bool:
        """Whether the secretary has recorded a make-up session (补课)."""
        return self.made_up_at is not None


def find_absences(
    meetings: Iterable[MeetingFacts],
    members: Sequence[MemberFacts],
    answers: Mapping[tuple[int, int], AnswerFacts],
    *,
    until: dt.datetime,
) -> list[Absence]:
    """Members absent from, or on leave at, meetings whose check-in closed by `until` (pure).

    The standing of each member is `scheduler.records.meeting_record`'s, as in every view.
    """
    found: list[Absence] = []
    for meeting in meetings:
        if meeting.closes_at > until:
            continue
        for member in members:
            answer = answers.get((meeting.occurrence_id, member.member_id))
            if answer is None and not in_audience(meeting.audience, member.role, member.group_id):
                continue
            record = meeting_record(
                answer,
                member,
                starts_at=meeting.starts_at,
                now=until,
                since=member.since or meeting.starts_at,
            )
            if not (record.absent or record.on_leave):
                continue
            found.append(
                Absence(
                    meeting.occurrence_id,
                    member.member_id,
                    meeting.starts_at,
                    answer.state if answer else None,
                    answer.made_up_at if answer else None,
                    answer.made_up_note if answer else None,
                )
            )
    return found


def absences(
    session: Session, branch_id: int, since: dt.datetime, until: dt.datetime
) -> list[Absence]:
    """Absences from the branch's meetings starting in [since, until) whose check-in closed.

    Four queries whatever the branch's size: branch, occurrences, members, answers.
    """
    branch = session.get(Branch, branch_id)
    if branch is None:
        return []
    plan = branch_plan(branch)
    kinds = {item.id: item for item in plan.items if item.kind == MEETING}
    occs = session.exec(
        select(Occurrence).where(
            Occurrence.branch_id == branch_id,
            Occurrence.status == OccurrenceStatus.SCHEDULED.value,
            col(Occurrence.starts_at) >= since,
            col(Occurrence.starts_at) < until,
            col(Occurrence.item_id).in_(list(kinds)),
        )
    ).all()
    meetings = [
        MeetingFacts(o.id, kinds[o.item_id].audience, o.starts_at, check_in_closes(o.starts_at))
        for o in occs
        if o.id is not None
    ]
    members = [
        MemberFacts(m.id, m.role, m.group_id, m.linked_at, member_since(m, branch))
        for m in repo.list_members(session, branch_id=branch_id)
        if m.id is not None and m.status not in PRE_MEMBER
    ]
    rows = (
        session.exec(
            select(Attendance).where(
                col(Attendance.occurrence_id).in_([m.occurrence_id for m in meetings])
            )
        ).all()
        if meetings
        else []
    )
    answers = {
        (r.occurrence_id, r.member_id): AnswerFacts(
            r.state, r.checked_in_at, r.made_up_at, r.made_up_note
        )
        for r in rows
    }
    return find_absences(meetings, members, answers, until=until)
