"""/attendance: pick an event, see its roster and quorum, and mark someone by hand (audited)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlmodel import Session, select

from bot.services.branch_year import (
    BranchYear,
    audience_of,
    ensure_year,
    load_branch,
    members_and_groups,
    occurrences_between,
)
from bot.services.changes import ChangeError, EventRef, find_occurrence
from bot.services.plan_report import attendance_by_occurrence
from bot.services.upsert import insert_ignore
from scheduler.kinds import ItemKind
from scheduler.plan import Localized
from scheduler.quorum import Quorum, needs_quorum, quorum
from scheduler.records import CHECK_IN_OPENS, Standing, meeting_record, member_since
from storage import repositories as repo
from storage.db import Database
from storage.models import Attendance, AttendanceState, MemberStatus, Occurrence, OccurrenceStatus
from storage.sorting import natural_key

# Hand marks a secretary may make (button state codes 1..3).
MARKS: dict[int, str] = {
    1: AttendanceState.PRESENT.value,
    2: AttendanceState.LEAVE_APPROVED.value,
    3: AttendanceState.ABSENT.value,
}
_ASKED = frozenset({AttendanceState.LEAVE_DECLINED.value})  # shown until check-in closes
PICK_WINDOW = dt.timedelta(days=45)
PICK_LIMIT = 10


class AttendanceError(ValueError):
    """A roster or mark refused: 'unknown_event', 'not_audience', 'cancelled', 'not_yet'."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class EventChoice:
    """A meeting offered in the /attendance picker."""

    occurrence_id: int
    title: Localized
    starts_at: dt.datetime
    cancelled: bool


@dataclass(frozen=True)
class RosterLine:
    """One expected member and their answer."""

    member_id: int
    name: str
    group: str
    full: bool
    state: str | None  # AttendanceState value, None: no answer
    leave_reason: str | None
    checked_in_at: dt.datetime | None
    made_up: bool = False
    by_hand: bool = False


@dataclass(frozen=True)
class Roster:
    """One event's roster, in group then name order."""

    occurrence_id: int
    title: Localized
    starts_at: dt.datetime
    cancelled: bool
    lines: list[RosterLine]
    quorum: Quorum | None


def list_events(db: Database, *, branch_id: int, now: dt.datetime) -> list[EventChoice]:
    """Recent and upcoming meetings, nearest to `now` first, then by time."""
    with db.transaction() as session:
        ctx = load_branch(session, branch_id, now=now)
        for year in sorted({(now - PICK_WINDOW).year, ctx.year, (now + PICK_WINDOW).year}):
            ensure_year(session, ctx, year)
        rows = occurrences_between(session, branch_id, now - PICK_WINDOW, now + PICK_WINDOW)
    meetings = [o for o in rows if (item := ctx.item(o.item_id)) and item.kind == ItemKind.MEETING]
    nearest = sorted(meetings, key=lambda o: abs(o.starts_at - now))[:PICK_LIMIT]
    return [
        EventChoice(o.id or 0, _title(ctx, o), o.starts_at, o.status == OccurrenceStatus.CANCELLED)
        for o in sorted(nearest, key=lambda o: o.starts_at)
    ]


def roster(db: Database, *, branch_id: int, event: EventRef, now: dt.datetime) -> Roster:
    """The roster of the event `event` names in this branch."""
    with db.transaction() as session:
        ctx = load_branch(session, branch_id, now=now)
        return _roster(session, ctx, _find(session, ctx, event))


def mark(
    db: Database,
    *,
    branch_id: int,
    actor_id: int | None,
    occurrence_id: int,
    member_id: int,
    code: int,
    now: dt.datetime,
) -> tuple[Roster, bool]:
    """Mark a member present, on leave or absent by hand; return the roster and if it changed."""
    state = MARKS[code]
    with db.transaction() as session:
        ctx = load_branch(session, branch_id, now=now)
        occ = _find(session, ctx, EventRef(occurrence_id=occurrence_id))
        if occ.status == OccurrenceStatus.CANCELLED.value:
            raise AttendanceError("cancelled")
        if state != AttendanceState.LEAVE_APPROVED.value and now < occ.starts_at - CHECK_IN_OPENS:
            raise AttendanceError("not_yet")
        members, _groups = members_and_groups(session, branch_id)
        if member_id not in {m.id for m in audience_of(ctx, occ, members)}:
            raise AttendanceError("not_audience")
        changed = _set_state(session, ctx, occ, member_id, state, actor_id)
        return _roster(session, ctx, occ), changed


def _find(session: Session, ctx: BranchYear, event: EventRef) -> Occurrence:
    try:
        return find_occurrence(session, ctx, event)
    except ChangeError:
        raise AttendanceError("unknown_event") from None


def _set_state(
    session: Session,
    ctx: BranchYear,
    occ: Occurrence,
    member_id: int,
    state: str,
    actor_id: int | None,
) -> bool:
    row = _answer(session, occ, member_id)
    before = row.state if row is not None else None
    if row is None:
        values = {
            "occurrence_id": occ.id,
            "member_id": member_id,
            "state": state,
            "decided_by": actor_id,
            "updated_at": ctx.now,
        }
        inserted = insert_ignore(session, Attendance, values, keys=["occurrence_id", "member_id"])
        row = None if inserted else _answer(session, occ, member_id)  # None: ours went in
    if row is not None:
        if row.state == state:
            return False
        before = row.state
        row.state, row.decided_by, row.updated_at = state, actor_id, ctx.now
        session.add(row)
    detail = {"occurrence": occ.id, "member": member_id, "from": before, "to": state}
    repo.add_audit(
        session,
        branch_id=ctx.branch_id,
        action="attendance.mark",
        at=ctx.now,
        actor_id=actor_id,
        detail=json.dumps(detail),
    )
    return True


def _answer(session: Session, occ: Occurrence, member_id: int) -> Attendance | None:
    stmt = select(Attendance).where(
        Attendance.occurrence_id == occ.id, Attendance.member_id == member_id
    )
    return session.exec(stmt).first()


def _roster(session: Session, ctx: BranchYear, occ: Occurrence) -> Roster:
    assert occ.id is not None
    members, groups = members_and_groups(session, ctx.branch_id)
    expected = audience_of(ctx, occ, members)
    answers = attendance_by_occurrence(session, [occ.id])[occ.id]
    lines = []
    for m in expected:
        a = answers.get(m.id or 0)
        record = meeting_record(
            a, m, starts_at=occ.starts_at, now=ctx.now, since=member_since(m, ctx.branch)
        )
        if record.standing == Standing.NOT_COUNTED:
            continue  # joined after this meeting
        lines.append(
            RosterLine(
                member_id=m.id or 0,
                name=m.name,
                group=groups[m.group_id].name if m.group_id in groups else "",
                full=m.status == MemberStatus.FULL.value,
                state=record.state,
                # A reason belongs to a leave: not shown once the member came after all.
                leave_reason=a.leave_reason
                if a and (record.on_leave or a.state in _ASKED)
                else None,
                checked_in_at=a.checked_in_at if a else None,
                made_up=record.made_up,
                by_hand=record.by_hand,
            )
        )
    lines.sort(key=lambda line: (line.group == "", natural_key(line.group), line.name))
    counted = quorum(expected, answers, starts_at=occ.starts_at, now=ctx.now)
    return Roster(
        occurrence_id=occ.id,
        title=_title(ctx, occ),
        starts_at=occ.starts_at,
        cancelled=occ.status == OccurrenceStatus.CANCELLED.value,
        lines=lines,
        quorum=counted if needs_quorum(occ.item_id) else None,
    )


def _title(ctx: BranchYear, occ: Occurrence) -> Localized:
    item = ctx.item(occ.item_id)
    return item.title if item is not None else Localized(occ.item_id, occ.item_id)
