"""Quarterly talk records (谈话记录表), handed in by party group leaders in a few steps.

Steps: how many talks -> who took part (members of the group, toggled with buttons) -> a short
summary -> optionally a photo or document of the filled form (its Telegram file id). The step
and the answers so far live in the Conversation row, so a restart resumes where the leader was.
One record per group and quarter (unique): handing in again amends it, starting from what was
handed in — the participants chosen, the summary and the form are kept unless the leader
changes them. A record claiming talks with nobody taking part is refused. After the quarter's
end (local time) a submission or amendment is marked late, never refused.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from bot.services import conversation
from bot.services.conversation import Flow
from bot.services.events import Refusal, active_member, event_for_member
from bot.services.upsert import insert_ignore
from scheduler.kinds import ItemKind
from scheduler.recurrence import local_to_utc, to_local, zone
from storage.db import Database
from storage.models import Branch, Member, PartyGroup, Role, TalkParticipant, TalkRecord

COUNT, PEOPLE, SUMMARY, FILE = "count", "people", "summary", "file"
DONE_PEOPLE, SKIP_FILE, KEEP_SUMMARY = 1, 2, 3  # codes of the "td" (step done) button
MAX_TALKS = 999
MAX_SUMMARY = 2000
MAX_LISTED = 90  # Telegram allows about 100 buttons in one keyboard
_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter of a year."""

    year: int
    quarter: int

    @property
    def first_day(self) -> dt.date:
        """The quarter's first day."""
        return dt.date(self.year, 3 * self.quarter - 2, 1)

    @property
    def next_first_day(self) -> dt.date:
        """The day after the quarter's last day."""
        if self.quarter == 4:
            return dt.date(self.year + 1, 1, 1)
        return dt.date(self.year, 3 * self.quarter + 1, 1)

    @property
    def label(self) -> str:
        """'2026Q1'."""
        return f"{self.year}Q{self.quarter}"


def quarter_of(day: dt.date) -> Quarter:
    """The quarter `day` falls in."""
    return Quarter(day.year, (day.month - 1) // 3 + 1)


def parse_quarter(text: str) -> Quarter | None:
    """'2026Q1', '2026-Q1' or '2026 q1' as a Quarter; None if it is not one."""
    match = _QUARTER.match(text)
    return Quarter(int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class Saved:
    """A handed-in record."""

    record_id: int
    talks: int
    participants: int
    late: bool
    amended: bool
    has_file: bool


@dataclass(frozen=True)
class TalksState:
    """Where a group leader is in /talks, with what the next prompt needs."""

    refusal: Refusal | None
    step: str | None = None
    quarter: Quarter | None = None
    group_name: str = ""
    count: int | None = None
    members: tuple[tuple[int, str], ...] = ()  # the group's members (id, name), for toggling
    selected: frozenset[int] = frozenset()
    late: bool = False  # handing in now would be late
    amending: bool = False  # the quarter already has a record
    resumed: bool = False
    saved: Saved | None = None
    # What the earlier record holds, when amending (kept unless changed).
    previous_count: int | None = None
    previous_summary: str | None = None
    previous_file: bool = False
    no_participants: bool = False  # Done with talks counted but nobody chosen


@dataclass(frozen=True)
class _Leader:
    member: Member
    branch: Branch
    group: PartyGroup


def _leader(session: Session, member_id: int | None) -> _Leader | Refusal:
    member = active_member(session, member_id)
    if member is None:
        return Refusal.NOT_LINKED
    if member.role != Role.GROUP_LEADER.value or member.group_id is None:
        return Refusal.NOT_A_LEADER
    group = session.get(PartyGroup, member.group_id)
    branch = session.get(Branch, member.branch_id)
    if group is None or branch is None or group.branch_id != branch.id:
        return Refusal.NOT_A_LEADER
    return _Leader(member, branch, group)


def _quarter_end(branch: Branch, quarter: Quarter) -> dt.datetime:
    return local_to_utc(quarter.next_first_day, dt.time(0, 0), zone(branch.timezone))


def _today(branch: Branch, now: dt.datetime) -> dt.date:
    return to_local(now, zone(branch.timezone)).date()


def _members(session: Session, group: PartyGroup) -> tuple[tuple[int, str], ...]:
    stmt = select(Member).where(Member.group_id == group.id, col(Member.active).is_(True))
    rows = session.exec(stmt.order_by(col(Member.name))).all()
    return tuple((m.id, m.name) for m in rows if m.id is not None)[:MAX_LISTED]


def _record(session: Session, group_id: int, quarter: Quarter) -> TalkRecord | None:
    return session.exec(
        select(TalkRecord).where(
            TalkRecord.group_id == group_id,
            TalkRecord.year == quarter.year,
            TalkRecord.quarter == quarter.quarter,
        )
    ).first()


def _previous(session: Session, group: PartyGroup, quarter: Quarter) -> dict[str, Any]:
    """An amendment starts from what was handed in: participants, count, summary, form."""
    assert group.id is not None
    record = _record(session, group.id, quarter)
    if record is None or record.id is None:
        return {}
    people = session.exec(
        select(TalkParticipant.member_id).where(TalkParticipant.record_id == record.id)
    ).all()
    return {
        "selected": sorted(people),
        "previous_count": record.talks,
        "previous_summary": record.summary,
        "previous_file": record.file_id,
    }


def _state(
    session: Session,
    leader: _Leader,
    flow: Flow,
    now: dt.datetime,
    *,
    refusal: Refusal | None = None,
    resumed: bool = False,
) -> TalksState:
    quarter = Quarter(int(flow.data["year"]), int(flow.data["quarter"]))
    assert leader.group.id is not None
    count = flow.data.get("count")
    return TalksState(
        refusal,
        step=flow.step,
        quarter=quarter,
        group_name=leader.group.name,
        count=int(count) if count is not None else None,
        members=_members(session, leader.group) if flow.step == PEOPLE else (),
        selected=frozenset(int(i) for i in flow.data.get("selected", [])),
        late=now >= _quarter_end(leader.branch, quarter),
        amending=_record(session, leader.group.id, quarter) is not None,
        resumed=resumed,
        previous_count=flow.data.get("previous_count"),
        previous_summary=flow.data.get("previous_summary"),
        previous_file=bool(flow.data.get("previous_file")),
    )


def start(
    db: Database,
    *,
    member_id: int | None,
    telegram_id: int,
    quarter: Quarter | None,
    now: dt.datetime,
) -> TalksState:
    """Begin (or resume) handing in a quarter's talk records; default: the current quarter."""
    with db.transaction() as session:
        leader = _leader(session, member_id)
        if isinstance(leader, Refusal):
            return TalksState(leader)
        flow = conversation.lock(session, telegram_id, now=now)
        if flow is not None and flow.flow == conversation.TALKS:
            same = Quarter(int(flow.data["year"]), int(flow.data["quarter"]))
            if quarter is None or quarter == same:
                return _state(session, leader, flow, now, resumed=True)
        current = quarter_of(_today(leader.branch, now))
        wanted = quarter or current
        if wanted > current:
            return TalksState(Refusal.FUTURE, quarter=wanted)
        data: dict[str, Any] = {
            "year": wanted.year,
            "quarter": wanted.quarter,
            "group_id": leader.group.id,
        }
        data |= _previous(session, leader.group, wanted)
        flow = conversation.begin(
            session,
            telegram_id=telegram_id,
            flow=conversation.TALKS,
            step=COUNT,
            data=data,
            now=now,
        )
        return _state(session, leader, flow, now)


def start_for_occurrence(
    db: Database, *, member_id: int | None, telegram_id: int, occurrence_id: int, now: dt.datetime
) -> TalksState:
    """The "Hand in talk records" button of a reminder: start the flow for its quarter."""
    with db.read() as session:
        member = active_member(session, member_id)
        event = event_for_member(session, occurrence_id, member, kind=ItemKind.TALKS)
    if isinstance(event, Refusal):
        return TalksState(event)
    quarter = quarter_of(event.local_date)
    return start(db, member_id=member_id, telegram_id=telegram_id, quarter=quarter, now=now)


def resume(
    db: Database, *, member_id: int | None, telegram_id: int, now: dt.datetime
) -> TalksState:
    """The leader's flow as it stands (to repeat the current question)."""
    with db.read() as session:
        leader = _leader(session, member_id)
        flow = conversation.current(session, telegram_id, now=now)
        if isinstance(leader, Refusal):
            return TalksState(leader)
        if flow is None or flow.flow != conversation.TALKS:
            return TalksState(Refusal.UNKNOWN)
        return _state(session, leader, flow, now, resumed=True)


@contextlib.contextmanager
def _at_step(
    db: Database, member_id: int | None, telegram_id: int, step: str, now: dt.datetime
) -> Iterator[tuple[Session, _Leader, Flow] | TalksState]:
    """One step's transaction: the leader and their flow, locked, if the flow is at `step`."""
    with db.transaction() as session:
        leader = _leader(session, member_id)
        flow = conversation.lock(session, telegram_id, now=now)
        if isinstance(leader, Refusal):
            yield TalksState(leader)
        elif flow is None or flow.flow != conversation.TALKS:
            yield TalksState(Refusal.UNKNOWN)
        elif flow.data.get("group_id") != leader.group.id:
            conversation.end(session, telegram_id)  # their group changed: start again
            yield TalksState(Refusal.NOT_A_LEADER)
        elif flow.step != step:
            yield _state(session, leader, flow, now, refusal=Refusal.ALREADY)
        else:
            yield session, leader, flow


def _advance(
    session: Session, leader: _Leader, flow: Flow, now: dt.datetime, step: str, **data: object
) -> TalksState:
    moved = conversation.advance(session, flow, step=step, data={**flow.data, **data}, now=now)
    return _state(session, leader, moved, now)


def answer_count(
    db: Database, *, member_id: int | None, telegram_id: int, text: str, now: dt.datetime
) -> TalksState:
    """Step 1: the number of talks this quarter."""
    with _at_step(db, member_id, telegram_id, COUNT, now) as at:
        if isinstance(at, TalksState):
            return at
        session, leader, flow = at
        value = text.strip()
        if not value.isdecimal() or not 0 <= int(value) <= MAX_TALKS:
            return _state(session, leader, flow, now, refusal=Refusal.BAD_INPUT)
        selected = flow.data.get("selected", [])  # an amendment keeps who was chosen
        return _advance(session, leader, flow, now, PEOPLE, count=int(value), selected=selected)


def toggle(
    db: Database, *, member_id: int | None, telegram_id: int, participant_id: int, now: dt.datetime
) -> TalksState:
    """Step 2: add or remove one member of the group from the participants."""
    with _at_step(db, member_id, telegram_id, PEOPLE, now) as at:
        if isinstance(at, TalksState):
            return at
        session, leader, flow = at
        if participant_id not in {m for m, _name in _members(session, leader.group)}:
            return _state(session, leader, flow, now, refusal=Refusal.UNKNOWN)
        selected = {int(i) for i in flow.data.get("selected", [])} ^ {participant_id}
        return _advance(session, leader, flow, now, PEOPLE, selected=sorted(selected))


def people_done(
    db: Database, *, member_id: int | None, telegram_id: int, now: dt.datetime
) -> TalksState:
    """Step 2 done: ask for the summary; talks need at least one participant."""
    with _at_step(db, member_id, telegram_id, PEOPLE, now) as at:
        if isinstance(at, TalksState):
            return at
        session, leader, flow = at
        if int(flow.data.get("count") or 0) > 0 and not flow.data.get("selected"):
            state = _state(session, leader, flow, now, refusal=Refusal.BAD_INPUT)
            return replace(state, no_participants=True)
        return _advance(session, leader, flow, now, SUMMARY)


def keep_summary(
    db: Database, *, member_id: int | None, telegram_id: int, now: dt.datetime
) -> TalksState:
    """Step 3 when amending: keep the summary handed in before."""
    with _at_step(db, member_id, telegram_id, SUMMARY, now) as at:
        if isinstance(at, TalksState):
            return at
        session, leader, flow = at
        summary = flow.data.get("previous_summary")
        if not summary:
            return _state(session, leader, flow, now, refusal=Refusal.BAD_INPUT)
        return _advance(session, leader, flow, now, FILE, summary=summary)


def answer_summary(
    db: Database, *, member_id: int | None, telegram_id: int, text: str, now: dt.datetime
) -> TalksState:
    """Step 3: a short summary of the talks."""
    with _at_step(db, member_id, telegram_id, SUMMARY, now) as at:
        if isinstance(at, TalksState):
            return at
        session, leader, flow = at
        summary = text.strip()
        if not summary or len(summary) > MAX_SUMMARY:
            return _state(session, leader, flow, now, refusal=Refusal.BAD_INPUT)
        return _advance(session, leader, flow, now, FILE, summary=summary)


def attach(
    db: Database, *, member_id: int | None, telegram_id: int, file_id: str | None, now: dt.datetime
) -> TalksState:
    """Step 4: the photo or document of the filled form; saves the record.

    None (Skip) keeps the form handed in before, if any: skipping never deletes a file.
    """
    with _at_step(db, member_id, telegram_id, FILE, now) as at:
        if isinstance(at, TalksState):
            return at
        session, leader, flow = at
        state = _state(session, leader, flow, now)
        kept = flow.data.get("previous_file")
        saved = _save(session, leader, flow.data, file_id or kept, now)
        conversation.end(session, telegram_id)
        return replace(state, step=None, saved=saved)


def _save(
    session: Session, leader: _Leader, data: dict[str, Any], file_id: str | None, now: dt.datetime
) -> Saved:
    """Insert or amend the group's record for the quarter, with its participants."""
    quarter = Quarter(int(data["year"]), int(data["quarter"]))
    assert leader.group.id is not None and leader.branch.id is not None
    values = {
        "branch_id": leader.branch.id,
        "group_id": leader.group.id,
        "submitted_by": leader.member.id,
        "year": quarter.year,
        "quarter": quarter.quarter,
        "talks": int(data["count"]),
        "summary": str(data["summary"]),
        "file_id": file_id,
        "submitted_at": now,
        "late": now >= _quarter_end(leader.branch, quarter),
    }
    created = insert_ignore(session, TalkRecord, values, keys=["group_id", "year", "quarter"])
    record = session.exec(
        select(TalkRecord)
        .where(
            TalkRecord.group_id == leader.group.id,
            TalkRecord.year == quarter.year,
            TalkRecord.quarter == quarter.quarter,
        )
        .with_for_update()
    ).one()
    if not created:
        for key, value in values.items():
            setattr(record, key, value)
        session.add(record)
    assert record.id is not None
    session.exec(delete(TalkParticipant).where(col(TalkParticipant.record_id) == record.id))
    group = {m for m, _name in _members(session, leader.group)}
    people = sorted({int(i) for i in data.get("selected", [])} & group)
    session.add_all(TalkParticipant(record_id=record.id, member_id=m) for m in people)
    return Saved(
        record.id, record.talks, len(people), record.late, not created, file_id is not None
    )


def talks_per_member(session: Session, branch_id: int, year: int) -> dict[int, int]:
    """How many quarterly talk records of `year` each member of the branch took part in."""
    stmt = (
        select(TalkParticipant.member_id, func.count())
        .join(TalkRecord, col(TalkRecord.id) == col(TalkParticipant.record_id))
        .where(TalkRecord.branch_id == branch_id, TalkRecord.year == year)
        .group_by(col(TalkParticipant.member_id))
    )
    return {int(member_id): int(n) for member_id, n in session.exec(stmt).all()}
