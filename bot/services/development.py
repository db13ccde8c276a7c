"""The development pipeline's use cases: record a step, list the pipeline, sections of views.

Telegram-free. The rules themselves are pure (scheduler.development.rules); this module loads
records, resolves names, checks a step against the rules, stores it with an audit entry and
keeps the person's roster status in step with their stage.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, func, select

from bot.services.inert import visible
from scheduler.development.reminders import (
    IN_PIPELINE,
    Person,
    imported_stage,
    load_people,
    to_record,
)
from scheduler.development.rules import (
    CURRENT,
    Deadline,
    Record,
    Refusal,
    Stage,
    Step,
    check,
    probation_end,
    quorum,
    stage_of,
    vote_kind,
)
from scheduler.quorum import QUORUM_ITEMS
from scheduler.recurrence import to_local, zone
from storage import repositories as repo
from storage.db import Database
from storage.models import Branch, DevelopmentRecord, Member, MemberStatus, Occurrence

MAX_NAME = 200
# The roster status a stage puts a person at.
STATUS_OF = {
    Stage.APPLICANT: MemberStatus.APPLICANT,
    Stage.ACTIVIST: MemberStatus.ACTIVIST,
    Stage.CANDIDATE: MemberStatus.CANDIDATE,
    Stage.PROBATIONARY: MemberStatus.PROBATIONARY,
    Stage.FULL: MemberStatus.FULL,
}
# The step a roster stage is imported as (its date is the roster's `stage_since`).
IMPORT_STEP = {
    Stage.APPLICANT: Step.APPLIED,
    Stage.ACTIVIST: Step.ACTIVIST,
    Stage.CANDIDATE: Step.CANDIDATE,
}


@dataclass(frozen=True)
class Recorded:
    """The outcome of /develop: the stored record, or why it was refused."""

    refusal: Refusal | None = None
    person: str = ""
    step: str = ""
    stage: Stage | None = None
    passed: bool | None = None  # a vote's outcome
    unknown: tuple[str, ...] = ()  # names not found among the branch's members


def _entitled(session: Session, branch_id: int) -> int:
    """Full members entitled to vote (probationary members and pre-members are not)."""
    stmt = select(func.count()).where(
        Member.branch_id == branch_id,
        col(Member.active).is_(True),
        Member.status == MemberStatus.FULL.value,
    )
    return int(session.exec(stmt).one())


def _records(session: Session, member_id: int) -> list[Record]:
    rows = session.exec(
        select(DevelopmentRecord).where(DevelopmentRecord.member_id == member_id)
    ).all()
    return sorted((to_record(r) for r in rows), key=lambda r: (r.on, r.id))


def record_step(
    db: Database,
    *,
    branch_id: int,
    actor_id: int | None,
    person: str,
    step: Step,
    on: dt.date,
    people: Sequence[str] = (),
    data: Mapping[str, Any] | None = None,
    reason: str | None = None,
    now: dt.datetime,
) -> Recorded:
    """Check a step against the rules and, if allowed, record it (audited)."""
    facts: dict[str, Any] = dict(data or {})
    person = visible(person)  # as the roster stores names: no zero-width or direction marks
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in person):
        return Recorded(unknown=(person,))
    with db.transaction() as session:
        member = repo.member_by_name(session, branch_id=branch_id, name=person)
        if member is None and step == Step.APPLIED and 0 < len(person) <= MAX_NAME:
            # A new applicant is added by recording the application; /invite links them.
            member = Member(branch_id=branch_id, name=person, status=MemberStatus.APPLICANT.value,
                            joined_on=_today(session, branch_id, now))  # fmt: skip
            session.add(member)
            session.flush()
        if member is None or not member.active:
            return Recorded(unknown=(person,))
        assert member.id is not None
        ids: list[int] = []
        missing: list[str] = []
        for name in people:
            found = repo.member_by_name(session, branch_id=branch_id, name=name)
            if found is None or not found.active or found.id is None:
                missing.append(name)
            elif found.status != MemberStatus.FULL.value:
                return Recorded(Refusal("full_members", {"name": name}), person=person)
            else:
                ids.append(found.id)
        if missing:
            return Recorded(unknown=tuple(missing))
        records = _records(session, member.id)
        entitled = _entitled(session, branch_id)
        if step == Step.VOTE:
            facts["kind"] = vote_kind(records, on)
            facts["entitled"] = entitled
            _met, passed = quorum(
                entitled,
                int(facts.get("for", 0)),
                int(facts.get("against", 0)),
                int(facts.get("abstain", 0)),
            )
            facts["passed"] = passed
        new = Record(id=max((r.id for r in records), default=0) + 1, step=step, on=on,
                     people=tuple(ids), data=facts, reason=reason)  # fmt: skip
        refusal = check(records, new, imported=imported_stage(member),
                        since=_since(records), entitled=entitled)  # fmt: skip
        if refusal is not None:
            return Recorded(refusal, person=person, step=step.value)
        row = DevelopmentRecord(
            branch_id=branch_id,
            member_id=member.id,
            step=step.value,
            on=on,
            people=json.dumps(ids),
            data=json.dumps(facts, ensure_ascii=False, sort_keys=True),
            reason=reason,
            recorded_by=actor_id,
            recorded_at=now,
        )
        session.add(row)
        session.flush()
        stage = stage_of([*records, to_record(row)], imported_stage(member))
        member.status = STATUS_OF[stage].value
        session.add(member)
        repo.add_audit(
            session,
            branch_id=branch_id,
            actor_id=actor_id,
            action="develop." + step.value,
            at=now,
            detail=json.dumps(
                {
                    "person": person,
                    "on": on.isoformat(),
                    "people": ids,
                    "data": facts,
                    "reason": reason,
                },
                ensure_ascii=False,
                sort_keys=True,
            ),
        )
        passed_vote = facts.get("passed") if step == Step.VOTE else None
        return Recorded(person=person, step=step.value, stage=stage, passed=passed_vote)


def _since(records: Sequence[Record]) -> dt.date | None:
    return None if not records else min(r.on for r in records)


def import_stage(
    session: Session, member: Member, *, since: dt.date | None, now: dt.datetime
) -> None:
    """A roster put a person at a stage before membership: record it once, as imported.

    Imported steps are facts from the branch's own files, not checked against the rules
    (contacts and earlier steps were recorded elsewhere). Importing the same stage and date
    again, or without a date, records nothing; another date is a correction.
    """
    stage = imported_stage(member)
    if stage is None or stage not in IMPORT_STEP or member.id is None:
        return
    step = IMPORT_STEP[stage]
    branch = session.get(Branch, member.branch_id)
    assert branch is not None
    day = since or to_local(now, zone(branch.timezone)).date()
    earlier = [r for r in _records(session, member.id) if r.step == step]
    if earlier and (since is None or max(earlier, key=lambda r: r.id).on == day):
        return  # a roster without the date (an exported one) keeps the recorded date
    session.add(
        DevelopmentRecord(
            branch_id=member.branch_id,
            member_id=member.id,
            step=step.value,
            on=day,
            data=json.dumps({"imported": True}),
            recorded_at=now,
        )
    )


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class PipelineEntry:
    """One person on /pipeline: stage, since when, next deadline, whether it is missed."""

    name: str
    stage: Stage
    since: dt.date | None
    next: Deadline | None
    overdue: bool
    probation_ends: dt.date | None = None
    contacts: tuple[str, ...] = ()
    introducers: tuple[str, ...] = ()
    records: tuple[Record, ...] = field(default_factory=tuple)
    member_id: int = 0


def _entries(session: Session, branch_id: int, today: dt.date) -> list[PipelineEntry]:
    people = load_people(session, [branch_id]).get(branch_id, [])
    names = {m.id: m.name for m in repo.list_members(session, branch_id=branch_id)}
    found = [_entry(p, today, names) for p in people]
    return [e for e in found if e.stage != Stage.FULL]


def _entry(p: Person, today: dt.date, names: Mapping[int | None, str]) -> PipelineEntry:
    stage = stage_of(p.records, imported_stage(p.member))
    nearest = p.deadlines[0] if p.deadlines else None
    late = [d for d in p.deadlines if d.overdue_from is not None and d.overdue_from <= today]
    nxt = late[0] if late else nearest
    steps = {Stage.APPLICANT: Step.APPLIED, Stage.ACTIVIST: Step.ACTIVIST,
             Stage.CANDIDATE: Step.CANDIDATE, Stage.PROBATIONARY: Step.APPROVED}  # fmt: skip
    current = [r for r in p.records if r.step == steps.get(stage)]
    since = max(current, key=lambda r: r.id).on if current else None
    if stage == Stage.PROBATIONARY:
        votes = [r for r in p.records if r.step == Step.VOTE and r.data.get("passed")]
        since = min((r.on for r in votes), default=since)

    def people(step: Step) -> tuple[str, ...]:
        chosen = [r for r in p.records if r.step == step]
        last = max(chosen, key=lambda r: r.id) if chosen else None
        return tuple(names.get(i, "?") for i in (last.people if last else ()))

    return PipelineEntry(
        name=p.member.name,
        stage=stage,
        since=since,
        next=nxt,
        overdue=bool(late),
        probation_ends=probation_end(p.records, CURRENT),
        contacts=people(Step.ACTIVIST),
        introducers=people(Step.CANDIDATE),
        records=p.records,
        member_id=p.member.id or 0,
    )


def _today(session: Session, branch_id: int, now: dt.datetime) -> dt.date:
    branch = session.get(Branch, branch_id)
    assert branch is not None
    return to_local(now, zone(branch.timezone)).date()


def pipeline(db: Database, *, branch_id: int, now: dt.datetime) -> list[PipelineEntry]:
    """Everyone in the pipeline by stage, overdue ones first, then by next deadline."""
    with db.read() as session:
        return pipeline_in(session, branch_id=branch_id, now=now)


def pipeline_in(session: Session, *, branch_id: int, now: dt.datetime) -> list[PipelineEntry]:
    """`pipeline` inside the caller's session."""
    return _ordered(_entries(session, branch_id, _today(session, branch_id, now)))


def pipelines_of(
    people: Mapping[int, Sequence[Person]],
    todays: Mapping[int, dt.date],
    names: Mapping[int | None, str],
) -> dict[int, list[PipelineEntry]]:
    """`pipeline_in` of many branches (branch id -> its local today) from people already read
    by `load_people` for all of them; `names`: the members' names by id (pure)."""
    return {
        branch_id: _ordered(
            [
                e
                for e in (_entry(p, today, names) for p in people.get(branch_id, []))
                if e.stage != Stage.FULL
            ]
        )
        for branch_id, today in todays.items()
    }


def _ordered(entries: list[PipelineEntry]) -> list[PipelineEntry]:
    order = list(Stage)
    far = dt.date.max
    return sorted(
        entries,
        key=lambda e: (not e.overdue, order.index(e.stage), e.next.due if e.next else far, e.name),
    )


def development_section(db: Database, *, branch_id: int, now: dt.datetime) -> list[PipelineEntry]:
    """The pipeline entries whose deadline has passed (the section of /overdue and the digest)."""
    with db.read() as session:
        return overdue_in(session, branch_id=branch_id, now=now)


def overdue_in(session: Session, *, branch_id: int, now: dt.datetime) -> list[PipelineEntry]:
    """`development_section` inside the caller's session."""
    return [e for e in pipeline_in(session, branch_id=branch_id, now=now) if e.overdue]


def my_stage(db: Database, *, member_id: int, now: dt.datetime) -> PipelineEntry | None:
    """A person's own stage and next step (for /me), or None for a full member."""
    with db.read() as session:
        member = session.get(Member, member_id)
        if member is None or (
            member.status not in IN_PIPELINE
            and not session.exec(
                select(DevelopmentRecord.id).where(DevelopmentRecord.member_id == member_id)
            ).first()
        ):
            return None
        today = _today(session, member.branch_id, now)
        found = [e for e in _entries(session, member.branch_id, today) if e.name == member.name]
    return found[0] if found else None


# --------------------------------------------------------------------------- meetings


@dataclass(frozen=True)
class AgendaItem:
    """A pipeline item due at a members' meeting: an admission or a conversion to vote on."""

    name: str
    kind: str  # admission | conversion
    due: dt.date  # pre-review passed on / probation ends on


def meeting_agenda(
    session: Session, occurrence_ids: Sequence[int]
) -> dict[int, tuple[AgendaItem, ...]]:
    """For general members' meetings among these occurrences, the pipeline votes due at them.

    An admission is due once the pre-review passed; a conversion once probation ends within a
    month of the meeting (the branch discusses it in time, before the end).
    """
    occs = session.exec(
        select(Occurrence).where(
            col(Occurrence.id).in_(list(occurrence_ids)),
            col(Occurrence.item_id).in_(list(QUORUM_ITEMS)),
        )
    ).all()
    if not occs:
        return {}
    people = load_people(session, list({o.branch_id for o in occs}))
    zones = {
        b.id: zone(b.timezone)
        for b in session.exec(select(Branch).where(col(Branch.id).in_(list(people)))).all()
    }
    found: dict[int, tuple[AgendaItem, ...]] = {}
    for occ in occs:
        if occ.id is None or occ.branch_id not in zones:
            continue
        day = to_local(occ.starts_at, zones[occ.branch_id]).date()
        items = []
        for p in people.get(occ.branch_id, []):
            for d in p.deadlines:
                if d.kind == "vote" and d.due <= day:
                    items.append(AgendaItem(p.member.name, "admission", d.due))
                elif d.kind == "conversion" and dict(d.phases)["ahead"] <= day:
                    items.append(AgendaItem(p.member.name, "conversion", d.due))
        if items:
            found[occ.id] = tuple(sorted(items, key=lambda i: (i.kind, i.name)))
    return found
