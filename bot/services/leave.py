"""Leave requests: asked before the event with a reason, decided by the secretary or committee.

Branch rules: leave is asked in advance and approved by the secretary or the committee. The tap
on "Request leave" only opens a conversation (the reason is the member's next private message);
the request exists once the reason is stored, and goes to every secretary and committee member
of the branch with Approve / Decline buttons. The first decision wins (the row is locked).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlmodel import Session, col, select

from bot.services import conversation
from bot.services.attendance import Answer, attendance_row, meeting_for
from bot.services.events import Event, Refusal, active_member, event_for
from storage import repositories as repo
from storage.db import Database
from storage.models import Attendance, AttendanceState, Branch, Delivery, Member, Role

MAX_REASON = 500
LEAVE_STATES = (AttendanceState.LEAVE_REQUESTED.value, AttendanceState.LEAVE_APPROVED.value)
DECIDERS = (Role.SECRETARY.value, Role.COMMITTEE.value)


def start_leave_request(
    db: Database,
    *,
    member_id: int | None,
    telegram_id: int,
    occurrence_id: int,
    now: dt.datetime,
    reply_to: tuple[int, int] | None = None,
) -> Answer:
    """Check that leave may be asked for, then wait for the reason (a conversation step).

    `reply_to` is the (chat id, message id) of the tapped reminder, edited once the reason is in.
    """
    with db.transaction() as session:
        found = meeting_for(session, member_id, occurrence_id)
        if isinstance(found, Refusal):
            return Answer(found)
        presser, event = found
        if now >= event.starts_at:
            return Answer(Refusal.STARTED, event)
        row = session.exec(
            select(Attendance).where(
                Attendance.occurrence_id == event.occurrence_id,
                Attendance.member_id == presser.member_id,
            )
        ).first()
        if row is not None and row.state == AttendanceState.PRESENT.value:
            return Answer(Refusal.CHECKED_IN, event, row.state, row.checked_in_at)
        if row is not None and row.state in LEAVE_STATES:
            return Answer(Refusal.LEAVE_PENDING, event, row.state)
        data: dict[str, object] = {"occurrence_id": event.occurrence_id}
        if reply_to is not None:
            data["chat_id"], data["message_id"] = reply_to
        conversation.begin(
            session,
            telegram_id=telegram_id,
            flow=conversation.LEAVE,
            step="reason",
            data=data,
            now=now,
        )
        return Answer(None, event, row.state if row else None)


@dataclass(frozen=True)
class Approver:
    """A secretary or committee member who may decide a leave request."""

    member_id: int
    telegram_id: int
    locale: str


@dataclass(frozen=True)
class LeaveRequest:
    """A stored leave request and who should decide it."""

    answer: Answer
    attendance_id: int | None = None
    member_name: str = ""
    reason: str = ""
    approvers: tuple[Approver, ...] = ()
    reminder: tuple[int, int] | None = None  # (chat id, message id) of the tapped reminder
    by_secretary: bool = False  # the secretary's own request goes to the committee


def request_leave(
    db: Database, *, member_id: int | None, telegram_id: int, reason: str, now: dt.datetime
) -> LeaveRequest:
    """Store the reason for the pending leave request; the conversation ends either way."""
    reason = reason.strip()
    with db.transaction() as session:
        flow = conversation.lock(session, telegram_id, now=now)
        if flow is None or flow.flow != conversation.LEAVE:
            return LeaveRequest(Answer(Refusal.UNKNOWN))
        if not reason or len(reason) > MAX_REASON:
            return LeaveRequest(Answer(Refusal.BAD_INPUT))  # the question stays open
        conversation.end(session, telegram_id)
        found = meeting_for(session, member_id, int(flow.data["occurrence_id"]))
        if isinstance(found, Refusal):
            return LeaveRequest(Answer(found))
        presser, event = found
        if now >= event.starts_at:
            return LeaveRequest(Answer(Refusal.STARTED, event))
        member = session.get(Member, presser.member_id)
        assert member is not None and member.id is not None
        requested = AttendanceState.LEAVE_REQUESTED.value
        existing = attendance_row(session, event.occurrence_id, member.id, requested, now)
        if existing is not None and existing.state == AttendanceState.PRESENT.value:
            return LeaveRequest(
                Answer(Refusal.CHECKED_IN, event, existing.state, existing.checked_in_at)
            )
        if existing is not None and existing.state in LEAVE_STATES:
            return LeaveRequest(Answer(Refusal.LEAVE_PENDING, event, existing.state))
        row = (
            existing
            or session.exec(
                select(Attendance).where(
                    Attendance.occurrence_id == event.occurrence_id,
                    Attendance.member_id == member.id,
                )
            ).one()
        )
        row.state, row.leave_reason = AttendanceState.LEAVE_REQUESTED.value, reason
        row.decided_by, row.updated_at = None, now
        session.add(row)
        session.flush()
        assert row.id is not None
        return LeaveRequest(
            Answer(None, event, row.state, changed=True),
            attendance_id=row.id,
            member_name=member.name,
            reason=reason,
            approvers=_approvers(session, member),
            reminder=_reminder(flow.data),
            by_secretary=member.role == Role.SECRETARY.value,
        )


def _reminder(data: dict[str, object]) -> tuple[int, int] | None:
    chat_id, message_id = data.get("chat_id"), data.get("message_id")
    if isinstance(chat_id, int) and isinstance(message_id, int):
        return chat_id, message_id
    return None


def _approvers(session: Session, member: Member) -> tuple[Approver, ...]:
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    stmt = select(Member).where(
        Member.branch_id == member.branch_id,
        col(Member.role).in_(DECIDERS),
        col(Member.active).is_(True),
        col(Member.telegram_id).is_not(None),
        col(Member.id) != member.id,
    )
    return tuple(
        Approver(m.id, m.telegram_id, m.locale or branch.locale)
        for m in session.exec(stmt.order_by(col(Member.id))).all()
        if m.id is not None and m.telegram_id is not None
    )


@dataclass(frozen=True)
class Decision:
    """The outcome of Approve / Decline on a leave request."""

    refusal: Refusal | None
    event: Event | None = None
    state: str | None = None
    member_name: str = ""
    member_telegram_id: int | None = None
    member_locale: str = "zh_CN"
    decider_name: str = ""
    reason: str = ""
    member_id: int | None = None
    cards: tuple[tuple[int, int], ...] = ()  # (chat, message) of reminders showing the request

    @property
    def approved(self) -> bool:
        """Whether the leave stands approved."""
        return self.state == AttendanceState.LEAVE_APPROVED.value


def decide_leave(
    db: Database, *, attendance_id: int, actor_id: int | None, approve: bool, now: dt.datetime
) -> Decision:
    """Approve or decline a pending leave request (secretary or committee of the branch)."""
    with db.transaction() as session:
        actor = active_member(session, actor_id)
        if actor is None:
            return Decision(Refusal.NOT_LINKED)
        row = session.exec(
            select(Attendance).where(Attendance.id == attendance_id).with_for_update()
        ).first()
        member = active_member(session, row.member_id) if row else None
        if row is None or member is None or member.branch_id != actor.branch_id:
            return Decision(Refusal.UNKNOWN)
        if actor.role not in DECIDERS:
            return Decision(Refusal.NOT_ALLOWED)
        if actor.id == member.id:
            return Decision(Refusal.OWN_REQUEST)
        event = event_for(session, row.occurrence_id, branch_id=actor.branch_id)
        if isinstance(event, Refusal):
            return Decision(event)
        if row.state != AttendanceState.LEAVE_REQUESTED.value:
            decider = active_member(session, row.decided_by)
            return _decision(Refusal.DECIDED, event, row, member, decider)
        new = AttendanceState.LEAVE_APPROVED if approve else AttendanceState.LEAVE_DECLINED
        row.state, row.decided_by, row.updated_at = new.value, actor.id, now
        session.add(row)
        repo.add_audit(
            session,
            branch_id=actor.branch_id,
            actor_id=actor.id,
            action=new.value,
            detail=f"attendance={row.id} occurrence={row.occurrence_id} member={member.id}",
            at=now,
        )
        decided = _decision(None, event, row, member, actor)
        return replace(decided, cards=_cards(session, row.occurrence_id, member))


def _cards(session: Session, occurrence_id: int, member: Member) -> tuple[tuple[int, int], ...]:
    """The reminder messages of this occurrence the member saw: theirs, and the group post."""
    rows = session.exec(
        select(Delivery.chat_id, Delivery.message_id).where(
            Delivery.occurrence_id == occurrence_id,
            Delivery.kind == "remind",
            col(Delivery.message_id).is_not(None),
            (col(Delivery.member_id) == member.id) | col(Delivery.member_id).is_(None),
        )
    ).all()
    return tuple((int(chat), int(message)) for chat, message in rows if message is not None)


def _decision(
    refusal: Refusal | None, event: Event, row: Attendance, member: Member, decider: Member | None
) -> Decision:
    return Decision(
        refusal,
        event=event,
        state=row.state,
        member_name=member.name,
        member_telegram_id=member.telegram_id,
        member_locale=member.locale or event.branch_locale,
        decider_name=decider.name if decider else "",
        reason=row.leave_reason or "",
        member_id=member.id,
    )
