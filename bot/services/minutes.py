"""Meeting records (会议记录): record that a meeting was held, or why not, in a few taps.

The steps (the flow lives in the Conversation row, so a restart resumes at the same step):

    held? ── Held ──> topic ─> host ─> recorder ─> summary ─> attachments ─> review ─> Save
         └─ Not held ─> Postponed ─> new date and time (the occurrence is moved: /reschedule's
                    │                use case, so the reminded get the usual "moved" notice and
                    │                the ask comes again after the new end)
                    └─> Cancelled ─> why (typed, required) ─> saved as not held

A party group meeting's occurrence is shared by every group, so moving it for one group would
move it for all: for group meetings the flow offers only Cancelled. Cancelling here never
cancels the occurrence and never tells anyone (the meeting's time has passed); it records that
the meeting was not held, which `scheduler.compliance` counts as missed.

One record per occurrence and scope (`uq_minutes_scope`): the insert is `ON CONFLICT DO
NOTHING`, so a double tap or two responsible people saving at once leave one record, and the
second is told who recorded it. Recording a meeting that already has a record is a correction:
it keeps `recorded_at` (compliance reads it), sets `amended_at` / `amended_by` and audits each
field's old and new value. Who is present is not copied: it is the meeting's attendance, read
through `scheduler.records` (the review shows it; /attendance corrects it, audited there).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.services import conversation
from bot.services.branch_year import BranchYear, audience_of, load_branch, members_and_groups
from bot.services.changes import ChangeError, EventRef, parse_day, parse_time, reschedule
from bot.services.conversation import Flow
from bot.services.events import Refusal, active_member
from bot.services.plan_report import attendance_by_occurrence
from bot.services.upsert import insert_ignore
from scheduler.compliance import Verdict, branch_compliance, record_deadline
from scheduler.minutes import may_record, person, responsible, scopes
from scheduler.plan import Localized, PlanItem
from scheduler.records import branch_start, meeting_record, member_since
from storage import repositories as repo
from storage.db import Database
from storage.models import (
    Attendance,
    MeetingMinutes,
    Member,
    MinutesAttachment,
    Occurrence,
    OccurrenceStatus,
    PartyGroup,
    Role,
)

# Steps of the flow.
HELD, NOT_HELD, WHEN, REASON = "held", "not_held", "when", "reason"
TOPIC, HOST, RECORDER, SUMMARY, FILES, REVIEW = (
    "topic", "host", "recorder", "summary", "files", "review"
)  # fmt: skip
# Choices of the "mc" button (its first argument; the second is a member id or 0).
C_HELD, C_NOT_HELD, C_POSTPONE, C_CANCELLED = 1, 2, 3, 4
C_KEEP_TOPIC, C_HOST, C_RECORDER, C_FILES_DONE, C_SAVE = 5, 6, 7, 8, 9
C_ATTENDANCE = 10  # open the hand-mark roster of /attendance beside the review
C_KEEP_SUMMARY = 11  # a correction keeps the summary recorded before
_CHOICE_STEP = {
    C_HELD: HELD, C_NOT_HELD: HELD, C_POSTPONE: NOT_HELD, C_CANCELLED: NOT_HELD,
    C_KEEP_TOPIC: TOPIC, C_HOST: HOST, C_RECORDER: RECORDER, C_FILES_DONE: FILES,
    C_SAVE: REVIEW, C_ATTENDANCE: REVIEW, C_KEEP_SUMMARY: SUMMARY,
}  # fmt: skip
MAX_TOPIC = 500
MAX_SUMMARY = 3000
MAX_REASON = 1000
MAX_FILES = 10
MAX_PEOPLE = 24  # host and recorder buttons: the leadership first, then by name
UNRECORDED_DAYS = 92  # /overdue looks back this far for meetings not recorded
LIST_DAYS = 62  # /minutes lists the meetings that ended in this many days
MAX_LISTED = 20
# What an attachment shows, assumed from the order they are sent: the minutes, then the
# sign-in sheet (签到表), then anything else.
WHAT_ORDER = ("minutes", "sign_in")
_WHEN = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})[ T]+(\d{1,2}:\d{2})\s*$")
_LEADERSHIP = (Role.SECRETARY.value, Role.COMMITTEE.value, Role.GROUP_LEADER.value)


@dataclass(frozen=True)
class Attendees:
    """Who was present, on leave and absent, by the shared rule (scheduler.records)."""

    present: tuple[str, ...] = ()
    on_leave: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


@dataclass(frozen=True)
class MinutesState:
    """Where someone is in recording one meeting, with what the next prompt needs."""

    refusal: Refusal | None = None
    problem: str | None = None  # a typed answer refused: too_long, empty, no_member, ...
    step: str | None = None
    occurrence_id: int = 0
    scope: int = 0
    title: Localized = field(default_factory=lambda: Localized("", ""))
    starts_at: dt.datetime | None = None
    group_name: str = ""
    per_group: bool = False
    amending: bool = False
    resumed: bool = False
    agenda: Localized | None = None
    topic: str = ""
    host: str = ""
    recorder: str = ""
    summary: str = ""
    files: int = 0
    people: tuple[tuple[int, str], ...] = ()
    attendees: Attendees = Attendees()
    can_mark: bool = False  # may open the hand-mark roster (/attendance)
    saved: str | None = None  # held | not_held | postponed
    already_by: str | None = None  # someone else recorded it first
    new_starts_at: dt.datetime | None = None
    changes: tuple[str, ...] = ()  # fields a correction changed
    show_roster: bool = False  # Correct attendance was tapped: open /attendance's roster


@dataclass(frozen=True)
class Listed:
    """One meeting (and scope) in /minutes."""

    occurrence_id: int
    scope: int
    title: Localized
    starts_at: dt.datetime
    group_name: str
    deadline: dt.datetime
    recorded: bool
    held: bool | None
    overdue: bool


@dataclass(frozen=True)
class Unrecorded:
    """A meeting past its record deadline with nothing recorded (for /overdue)."""

    title: Localized
    starts_at: dt.datetime
    group_name: str
    deadline: dt.datetime
    responsible: tuple[str, ...]


# ---------------------------------------------------------------------------- shared reads


def attendees(
    ctx: BranchYear,
    occ: Occurrence,
    members: Sequence[Member],
    answers: Mapping[int, Attendance],
    scope: int,
) -> Attendees:
    """Present / on leave / absent at `occ` (for a group meeting, that group's members only)."""
    expected = audience_of(ctx, occ, [m for m in members if m.active])
    if scope:
        expected = [m for m in expected if m.group_id == scope]
    present: list[str] = []
    leave: list[str] = []
    absent: list[str] = []
    for m in sorted(expected, key=lambda m: m.name):
        record = meeting_record(
            answers.get(m.id or 0),
            m,
            starts_at=occ.starts_at,
            now=ctx.now,
            since=member_since(m, ctx.branch),
        )
        if record.present:
            present.append(m.name)
        elif record.on_leave:
            leave.append(m.name)
        elif record.absent:
            absent.append(m.name)
    return Attendees(tuple(present), tuple(leave), tuple(absent))


def _groups_meeting(members: Sequence[Member]) -> list[int]:
    """The party groups that meet: those with at least one member (as the asks see them)."""
    return sorted({m.group_id for m in members if m.group_id is not None})


# ---------------------------------------------------------------------------- the flow


@dataclass(frozen=True)
class _Ctx:
    member: Member
    ctx: BranchYear
    occ: Occurrence
    item: PlanItem
    scope: int


def _target(
    session: Session, member_id: int | None, occurrence_id: int, scope: int, now: dt.datetime
) -> _Ctx | Refusal:
    """The meeting a button or flow names, re-checked: branch, kind, scope and role."""
    member = active_member(session, member_id)
    if member is None:
        return Refusal.NOT_LINKED
    occ = session.get(Occurrence, occurrence_id)
    if occ is None or occ.branch_id != member.branch_id:
        return Refusal.UNKNOWN
    ctx = load_branch(session, member.branch_id, now=now)
    item = ctx.item(occ.item_id)
    if item is None or not item.is_recorded:
        return Refusal.WRONG_KIND
    if occ.status == OccurrenceStatus.CANCELLED.value:
        return Refusal.CANCELLED
    if occ.ends_at > now:
        return Refusal.FUTURE
    if scope != 0 and not item.per_group:
        return Refusal.UNKNOWN
    if item.per_group:
        groups = {g.id for g in repo.list_groups(session, branch_id=member.branch_id)}
        if scope not in groups:
            return Refusal.UNKNOWN
    if not may_record(item, scope, person(member)):
        return Refusal.NOT_ALLOWED
    return _Ctx(member, ctx, occ, item, scope)


def _existing(session: Session, occurrence_id: int, scope: int) -> MeetingMinutes | None:
    return session.exec(
        select(MeetingMinutes).where(
            MeetingMinutes.occurrence_id == occurrence_id, MeetingMinutes.scope == scope
        )
    ).first()


def _people(session: Session, branch_id: int, scope: int) -> list[Member]:
    """Hosts and recorders to offer: the secretary first, the leadership, then by name."""
    members, _groups = members_and_groups(session, branch_id)
    order = {Role.SECRETARY.value: 0, Role.COMMITTEE.value: 1, Role.GROUP_LEADER.value: 2}

    def rank(m: Member) -> tuple[int, int, str]:
        own_group = 0 if scope and m.group_id == scope else 1
        return (order.get(m.role, 3), own_group, m.name)

    return sorted(members, key=rank)


def _name(session: Session, member_id: object) -> str:
    if not isinstance(member_id, int):
        return ""
    member = session.get(Member, member_id)
    return member.name if member is not None else ""


def _state(
    session: Session, t: _Ctx, flow: Flow, *, refusal: Refusal | None = None, **extra: Any
) -> MinutesState:
    data = flow.data
    group = session.get(PartyGroup, t.scope) if t.scope else None
    people: tuple[tuple[int, str], ...] = ()
    if flow.step in (HOST, RECORDER):
        people = tuple(
            (m.id, m.name)
            for m in _people(session, t.ctx.branch_id, t.scope)[:MAX_PEOPLE]
            if m.id is not None
        )
    seen = Attendees()
    if flow.step == REVIEW:
        members, _groups = members_and_groups(session, t.ctx.branch_id)
        assert t.occ.id is not None
        answers = attendance_by_occurrence(session, [t.occ.id])[t.occ.id]
        seen = attendees(t.ctx, t.occ, members, answers, t.scope)
    return MinutesState(
        refusal,
        step=flow.step,
        occurrence_id=t.occ.id or 0,
        scope=t.scope,
        title=t.item.title,
        starts_at=t.occ.starts_at,
        group_name=group.name if group else "",
        per_group=t.item.per_group,
        amending=bool(data.get("minutes_id")),
        agenda=t.item.agenda_for(dt.date.fromisoformat(t.occ.key)),
        topic=str(data.get("topic") or ""),
        host=_name(session, data.get("host")),
        recorder=_name(session, data.get("recorder")),
        summary=str(data.get("summary") or ""),
        files=len(data.get("files") or []) + int(data.get("kept_files") or 0),
        people=people,
        attendees=seen,
        can_mark=t.member.role in (Role.SECRETARY.value, Role.COMMITTEE.value),
        **extra,
    )


def start(
    db: Database,
    *,
    member_id: int | None,
    telegram_id: int,
    occurrence_id: int,
    scope: int,
    now: dt.datetime,
) -> MinutesState:
    """Begin recording (or correcting) one meeting; resume if already at it."""
    with db.transaction() as session:
        t = _target(session, member_id, occurrence_id, scope, now)
        if isinstance(t, Refusal):
            return MinutesState(t)
        flow = conversation.lock(session, telegram_id, now=now)
        if (
            flow is not None
            and flow.flow == conversation.MINUTES
            and flow.data.get("occ") == occurrence_id
            and flow.data.get("scope") == scope
        ):
            return _state(session, t, flow, resumed=True)
        data: dict[str, Any] = {"occ": occurrence_id, "scope": scope, "files": []}
        old = _existing(session, occurrence_id, scope)
        if old is not None and old.id is not None:
            kept = session.exec(
                select(func.count()).where(MinutesAttachment.minutes_id == old.id)
            ).one()
            data |= {
                "minutes_id": old.id,
                "topic": old.topic or None,
                "host": old.host_id,
                "recorder": old.recorder_id,
                "summary": old.summary or None,
                "kept_files": int(kept),
            }
        flow = conversation.begin(
            session,
            telegram_id=telegram_id,
            flow=conversation.MINUTES,
            step=HELD,
            data=data,
            now=now,
        )
        return _state(session, t, flow)


def resume(
    db: Database, *, member_id: int | None, telegram_id: int, now: dt.datetime
) -> MinutesState:
    """The flow as it stands (to repeat the current question)."""
    with _at_step(db, member_id, telegram_id, None, now) as at:
        if isinstance(at, MinutesState):
            return at
        session, t, flow = at
        return _state(session, t, flow, resumed=True)


@contextlib.contextmanager
def _at_step(
    db: Database, member_id: int | None, telegram_id: int, step: str | None, now: dt.datetime
) -> Iterator[tuple[Session, _Ctx, Flow] | MinutesState]:
    """One step's transaction: the meeting re-checked and the flow locked, if at `step`."""
    with db.transaction() as session:
        flow = conversation.lock(session, telegram_id, now=now)
        if flow is None or flow.flow != conversation.MINUTES:
            yield MinutesState(Refusal.UNKNOWN)
            return
        t = _target(session, member_id, int(flow.data["occ"]), int(flow.data["scope"]), now)
        if isinstance(t, Refusal):
            conversation.end(session, telegram_id)  # the meeting or the role changed
            yield MinutesState(t)
        elif step is not None and flow.step != step:
            yield _state(session, t, flow, refusal=Refusal.UNKNOWN)
        else:
            yield session, t, flow


def _advance(session: Session, t: _Ctx, flow: Flow, step: str, **data: Any) -> MinutesState:
    moved = conversation.advance(
        session, flow, step=step, data={**flow.data, **data}, now=t.ctx.now
    )
    return _state(session, t, moved)


def choose(
    db: Database,
    *,
    member_id: int | None,
    telegram_id: int,
    choice: int,
    value: int,
    now: dt.datetime,
) -> MinutesState:
    """A button of the flow; a button of an earlier step (stale) is refused."""
    step = _CHOICE_STEP.get(choice)
    if step is None:
        return MinutesState(Refusal.UNKNOWN)
    with _at_step(db, member_id, telegram_id, step, now) as at:
        if isinstance(at, MinutesState):
            return at
        session, t, flow = at
        match choice:
            case 1:  # C_HELD
                return _advance(session, t, flow, TOPIC)
            case 2:  # C_NOT_HELD
                return _advance(session, t, flow, NOT_HELD)
            case 3:  # C_POSTPONE: a group meeting's occurrence is every group's, and a
                # meeting already recorded is corrected, not moved
                if t.item.per_group or flow.data.get("minutes_id"):
                    return _state(session, t, flow, refusal=Refusal.NOT_ALLOWED)
                return _advance(session, t, flow, WHEN)
            case 4:  # C_CANCELLED
                return _advance(session, t, flow, REASON)
            case 5:  # C_KEEP_TOPIC
                agenda = t.item.agenda_for(dt.date.fromisoformat(t.occ.key))
                kept = flow.data.get("topic") or (agenda.get(t.ctx.locale) if agenda else "")
                if not kept:
                    return _state(session, t, flow, refusal=Refusal.BAD_INPUT)
                return _advance(session, t, flow, HOST, topic=kept)
            case 6 | 7:  # C_HOST, C_RECORDER
                if value not in {m.id for m in _people(session, t.ctx.branch_id, t.scope)}:
                    return _state(session, t, flow, refusal=Refusal.UNKNOWN)
                if choice == C_HOST:
                    return _advance(session, t, flow, RECORDER, host=value)
                return _advance(session, t, flow, SUMMARY, recorder=value)
            case 8:  # C_FILES_DONE
                return _advance(session, t, flow, REVIEW)
            case 11:  # C_KEEP_SUMMARY
                if not flow.data.get("summary"):
                    return _state(session, t, flow, refusal=Refusal.BAD_INPUT)
                return _advance(session, t, flow, FILES)
            case 10:  # C_ATTENDANCE: only who may mark by hand (the hand marks are audited)
                if t.member.role not in (Role.SECRETARY.value, Role.COMMITTEE.value):
                    return _state(session, t, flow, refusal=Refusal.NOT_ALLOWED)
                return _state(session, t, flow, show_roster=True)
            case _:  # C_SAVE
                return _save(session, t, flow, held=True)


def answer_text(
    db: Database, *, member_id: int | None, telegram_id: int, text: str, now: dt.datetime
) -> MinutesState:
    """A typed answer: the new time, the reason, the topic, a name, or the summary."""
    with _at_step(db, member_id, telegram_id, None, now) as at:
        if isinstance(at, MinutesState):
            return at
        session, t, flow = at
        value = text.strip()
        step = flow.step
        if step == WHEN:
            return _state(session, t, flow)  # handled by `postpone`, outside a transaction
        if step == REASON:
            if not value or len(value) > MAX_REASON:
                return _state(session, t, flow, problem="empty" if not value else "too_long")
            return _save(session, t, flow, held=False, reason=value)
        if step == TOPIC:
            if not value or len(value) > MAX_TOPIC:
                return _state(session, t, flow, problem="empty" if not value else "too_long")
            return _advance(session, t, flow, HOST, topic=value)
        if step in (HOST, RECORDER):
            found = [m for m in _people(session, t.ctx.branch_id, t.scope) if m.name == value]
            if not found:
                return _state(session, t, flow, problem="no_member")
            if step == HOST:
                return _advance(session, t, flow, RECORDER, host=found[0].id)
            return _advance(session, t, flow, SUMMARY, recorder=found[0].id)
        if step == SUMMARY:
            if not value or len(value) > MAX_SUMMARY:
                return _state(session, t, flow, problem="empty" if not value else "too_long")
            return _advance(session, t, flow, FILES, summary=value)
        # A text where a button or a file is expected: ask that question again.
        return _state(session, t, flow, problem="use_buttons")


def needs_time(db: Database, telegram_id: int, *, now: dt.datetime) -> bool:
    """Whether the person's flow waits for a postponed meeting's new date and time."""
    flow = conversation.active(db, telegram_id, now=now)
    return flow is not None and flow.flow == conversation.MINUTES and flow.step == WHEN


def postpone(
    db: Database, *, member_id: int | None, telegram_id: int, text: str, now: dt.datetime
) -> MinutesState:
    """The new date and time of a meeting not held: move it with /reschedule's use case."""
    with _at_step(db, member_id, telegram_id, WHEN, now) as at:
        if isinstance(at, MinutesState):
            return at
        session, t, flow = at
        state = _state(session, t, flow)
        branch_id, occ_id = t.ctx.branch_id, t.occ.id
    match = _WHEN.match(text)
    try:
        if match is None:
            raise ChangeError("bad_when", text)
        day, at_time = parse_day(match[1]), parse_time(match[2])
        moved = reschedule(
            db,
            branch_id=branch_id,
            actor_id=member_id,
            ref=EventRef(occurrence_id=occ_id),
            day=day,
            at=at_time,
            now=now,
            not_held=True,
        )
    except ChangeError as error:
        return replace(state, problem=error.code)
    conversation.cancel(db, telegram_id, now=now)
    return replace(state, step=None, saved="postponed", new_starts_at=moved.new_starts_at)


def add_file(
    db: Database,
    *,
    member_id: int | None,
    telegram_id: int,
    file_id: str,
    photo: bool,
    now: dt.datetime,
) -> MinutesState:
    """A photo or document of the minutes or the sign-in sheet (kept as its Telegram file id)."""
    with _at_step(db, member_id, telegram_id, FILES, now) as at:
        if isinstance(at, MinutesState):
            return at
        session, t, flow = at
        files = list(flow.data.get("files") or [])
        if len(files) >= MAX_FILES:
            return _state(session, t, flow, problem="too_many")
        what = WHAT_ORDER[len(files)] if len(files) < len(WHAT_ORDER) else "other"
        files.append([file_id, photo, what])
        return _advance(session, t, flow, FILES, files=files)


def in_files_step(db: Database, telegram_id: int, *, now: dt.datetime) -> bool:
    """Whether the person's flow waits for attachments."""
    flow = conversation.active(db, telegram_id, now=now)
    return flow is not None and flow.flow == conversation.MINUTES and flow.step == FILES


_FIELDS = ("held", "reason", "topic", "host_id", "recorder_id", "summary")


def _save(session: Session, t: _Ctx, flow: Flow, *, held: bool, reason: str = "") -> MinutesState:
    """Write the record (or its correction), its attachments and an audit entry."""
    data = flow.data
    assert t.occ.id is not None and t.member.id is not None
    state = _state(session, t, flow)
    now = t.ctx.now
    values: dict[str, Any] = {
        "held": held,
        "reason": None if held else reason,
        "topic": str(data.get("topic") or "") if held else "",
        "host_id": data.get("host") if held else None,
        "recorder_id": data.get("recorder") if held else None,
        "summary": str(data.get("summary") or "") if held else "",
    }
    detail: dict[str, Any] = {"occurrence": t.occ.id, "scope": t.scope, "item": t.item.id}
    if data.get("minutes_id"):
        row = session.exec(
            select(MeetingMinutes)
            .where(MeetingMinutes.id == int(data["minutes_id"]))
            .with_for_update()
        ).first()
        if row is None:
            conversation.end(session, flow.telegram_id)
            return MinutesState(Refusal.UNKNOWN)
        changed = {
            name: [getattr(row, name), value]
            for name, value in values.items()
            if getattr(row, name) != value
        }
        for name, (_old, new) in changed.items():
            setattr(row, name, new)
        row.amended_at, row.amended_by = now, t.member.id
        session.add(row)
        action = "minutes.amend"
        detail["changes"] = changed
        names = tuple(changed)
    else:
        created = insert_ignore(
            session,
            MeetingMinutes,
            {
                **values,
                "branch_id": t.ctx.branch_id,
                "occurrence_id": t.occ.id,
                "scope": t.scope,
                "group_id": t.scope or None,
                "recorded_by": t.member.id,
                "recorded_at": now,
            },
            keys=["occurrence_id", "scope"],
        )
        found = _existing(session, t.occ.id, t.scope)
        assert found is not None
        row = found
        if not created:  # a double tap, or another responsible person was faster
            conversation.end(session, flow.telegram_id)
            by = _name(session, row.recorded_by)
            return replace(state, refusal=Refusal.ALREADY, already_by=by)
        action = "minutes.record"
        detail |= {"held": held}
        names = ()
    assert row.id is not None
    files = [] if not held else list(data.get("files") or [])
    session.add_all(
        MinutesAttachment(
            minutes_id=row.id,
            file_id=str(file_id)[:256],
            photo=bool(photo),
            what=str(what),
            added_by=t.member.id,
            added_at=now,
        )
        for file_id, photo, what in files
    )
    if files:
        detail["attachments"] = len(files)
    repo.add_audit(
        session,
        branch_id=t.ctx.branch_id,
        action=action,
        at=now,
        actor_id=t.member.id,
        detail=json.dumps(detail, ensure_ascii=False, default=str),
    )
    conversation.end(session, flow.telegram_id)
    return replace(
        state, step=None, saved="held" if held else "not_held", changes=names, files=state.files
    )


# ---------------------------------------------------------------------------- /minutes


def listing(db: Database, *, member_id: int | None, now: dt.datetime) -> list[Listed] | Refusal:
    """The meetings of the last two months the member may record, newest first (4 queries)."""
    with db.read() as session:
        member = active_member(session, member_id)
        if member is None:
            return Refusal.NOT_LINKED
        who = person(member)
        ctx = load_branch(session, member.branch_id, now=now)
        members, groups = members_and_groups(session, member.branch_id)
        occs = session.exec(
            select(Occurrence)
            .where(
                Occurrence.branch_id == member.branch_id,
                Occurrence.status == OccurrenceStatus.SCHEDULED.value,
                col(Occurrence.ends_at) <= now,
                col(Occurrence.ends_at) >= now - dt.timedelta(days=LIST_DAYS),
            )
            .order_by(col(Occurrence.starts_at).desc())
        ).all()
        ids = [o.id for o in occs if o.id is not None]
        records = {
            (r.occurrence_id, r.scope): r
            for r in (
                session.exec(
                    select(MeetingMinutes).where(col(MeetingMinutes.occurrence_id).in_(ids))
                ).all()
                if ids
                else []
            )
        }
    found: list[Listed] = []
    start = branch_start(ctx.branch)
    for occ in occs:
        item = ctx.item(occ.item_id)
        if item is None or not item.is_recorded or dt.date.fromisoformat(occ.key) < start:
            continue
        deadline = record_deadline(occ.ends_at, item.record_within_days, ctx.tz)
        for scope in scopes(item, _groups_meeting(members)):
            if not may_record(item, scope, who):
                continue
            record = records.get((occ.id or 0, scope))
            found.append(
                Listed(
                    occ.id or 0,
                    scope,
                    item.title,
                    occ.starts_at,
                    groups[scope].name if scope in groups else "",
                    deadline,
                    record is not None,
                    record.held if record is not None else None,
                    record is None and now >= deadline,
                )
            )
    # Those still to record first, then the records made.
    found.sort(key=lambda x: (x.recorded, -x.starts_at.timestamp()))
    return found[:MAX_LISTED]


# ---------------------------------------------------------------------------- /overdue


def unrecorded(db: Database, *, branch_id: int, now: dt.datetime) -> list[Unrecorded]:
    """Meetings of the last three months past their record deadline with no record.

    The verdict is `scheduler.compliance`'s (not recorded), so /overdue and the committee's
    scorecards cannot disagree.
    """
    with db.read() as session:
        ctx = load_branch(session, branch_id, now=now)
        members, groups = members_and_groups(session, branch_id)
        first = ctx.today - dt.timedelta(days=UNRECORDED_DAYS)
        rows = session.exec(
            select(Occurrence).where(
                Occurrence.branch_id == branch_id,
                col(Occurrence.key) >= first.isoformat(),
                col(Occurrence.key) <= ctx.today.isoformat(),
            )
        ).all()
        ids = [o.id for o in rows if o.id is not None]
        records = {
            (r.occurrence_id, r.scope): r
            for r in (
                session.exec(
                    select(MeetingMinutes).where(col(MeetingMinutes.occurrence_id).in_(ids))
                ).all()
                if ids
                else []
            )
        }
    findings = branch_compliance(
        ctx.plan,
        rows,
        records,
        groups=_groups_meeting(members),
        tz=ctx.tz,
        first=first,
        last=ctx.today,
        start=branch_start(ctx.branch),
        now=now,
    )
    people = [person(m) for m in members]
    found: list[Unrecorded] = []
    for f in findings:
        if f.verdict is not Verdict.NOT_RECORDED or f.slot.starts_at is None:
            continue
        item = ctx.item(f.slot.item_id)
        if item is None or f.deadline is None:
            continue
        who = responsible(item, f.slot.scope, people)
        group = groups.get(f.slot.scope)
        found.append(
            Unrecorded(
                item.title,
                f.slot.starts_at,
                group.name if group else "",
                f.deadline,
                tuple(p.name for p in who),
            )
        )
    return found


# ---------------------------------------------------------------------------- the register


@dataclass(frozen=True)
class RegisterRow:
    """One meeting record as the register sheet shows it."""

    starts_at: dt.datetime
    title: Localized
    group_name: str
    record: MeetingMinutes
    host: str
    recorder: str
    attendees: Attendees
    attachments: int


@dataclass
class MinutesBook:
    """A year's meeting records with their attachment counts (two queries)."""

    records: list[MeetingMinutes] = field(default_factory=list)
    attachments: dict[int, int] = field(default_factory=dict)


def minutes_book(session: Session, branch_id: int, occurrence_ids: Sequence[int]) -> MinutesBook:
    """The records of these occurrences and how many files each keeps: two queries in all."""
    if not occurrence_ids:
        return MinutesBook()
    records = list(
        session.exec(
            select(MeetingMinutes).where(
                MeetingMinutes.branch_id == branch_id,
                col(MeetingMinutes.occurrence_id).in_(list(occurrence_ids)),
            )
        ).all()
    )
    ids = [r.id for r in records if r.id is not None]
    counts: dict[int, int] = {}
    if ids:
        stmt = (
            select(MinutesAttachment.minutes_id, func.count())
            .where(col(MinutesAttachment.minutes_id).in_(ids))
            .group_by(col(MinutesAttachment.minutes_id))
        )
        counts = {int(i): int(n) for i, n in session.exec(stmt).all()}
    return MinutesBook(records, counts)


def register_rows(
    ctx: BranchYear,
    book: MinutesBook,
    occurrences: Sequence[Occurrence],
    members: Sequence[Member],
    groups: Mapping[int, PartyGroup],
    answers: Mapping[int, Mapping[int, Attendance]],
) -> list[RegisterRow]:
    """Every record of the loaded occurrences, by meeting time then party group (no query)."""
    occs = {o.id: o for o in occurrences}
    names = {m.id: m.name for m in members}
    rows: list[RegisterRow] = []
    for record in book.records:
        occ = occs.get(record.occurrence_id)
        item = ctx.item(occ.item_id) if occ is not None else None
        if occ is None or item is None:
            continue
        group = groups.get(record.scope)
        seen = (
            attendees(ctx, occ, members, answers.get(record.occurrence_id, {}), record.scope)
            if record.held
            else Attendees()
        )
        rows.append(
            RegisterRow(
                occ.starts_at,
                item.title,
                group.name if group else "",
                record,
                names.get(record.host_id, "") if record.host_id else "",
                names.get(record.recorder_id, "") if record.recorder_id else "",
                seen,
                book.attachments.get(record.id or 0, 0),
            )
        )
    rows.sort(key=lambda r: (r.starts_at, r.group_name))
    return rows
