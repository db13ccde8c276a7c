"""Development deadlines as reminders: a separate source of planned rows for the same ledger.

Why this shape: every reminder of branchbot goes through one delivery ledger (one row per key,
`ON CONFLICT DO NOTHING`, claimed before sending). Plan reminders hang on occurrences, which a
person's deadlines are not, so rather than bend the occurrence model this module is a second
source of `PlannedReminder`s, like the quorum warning: the sweep calls
`development_reminders` once and hands what it returns to the same `due_reminders` → ledger →
dispatcher path. Nothing else in the dispatcher changes.

Keys are `dv:<person>:<deadline kind>:<anchor record>:<ordinal>:<phase>:m<recipient>`: one per
person × deadline × phase × recipient. The anchor is the record the deadline runs from, so a
corrected date (the same anchor) moves a reminder not sent yet and never repeats one already
sent, while a deadline that is met simply stops being planned. Deadlines are recomputed from
the records at every sweep, so they move with the records by construction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from scheduler.audience import LEADERSHIP
from scheduler.development.rules import Deadline, Record, Stage, Step, deadlines
from scheduler.due import PlannedReminder
from scheduler.recurrence import local_to_utc, zone
from storage.models import Branch, DevelopmentRecord, Member, MemberStatus

AT = dt.time(9, 0)  # reminders go out at 09:00 of the branch's day
LAST_PHASE_KEEPS = dt.timedelta(days=14)  # a last reminder is still worth sending this late
# Statuses whose people may have open deadlines.
IN_PIPELINE = frozenset(
    {Stage.APPLICANT.value, Stage.ACTIVIST.value, Stage.CANDIDATE.value, Stage.PROBATIONARY.value}
)


def to_record(row: DevelopmentRecord) -> Record:
    """The pure rules' view of a stored record."""
    assert row.id is not None
    return Record(
        id=row.id,
        step=Step(row.step),
        on=row.on,
        people=tuple(int(p) for p in json.loads(row.people or "[]")),
        data=json.loads(row.data or "{}"),
        reason=row.reason,
    )


def imported_stage(member: Member) -> Stage | None:
    """The stage a roster gave a person (their status), when it is one before membership."""
    try:
        stage = Stage(member.status)
    except ValueError:
        return None
    return stage if stage.value in IN_PIPELINE else None


@dataclass(frozen=True)
class Person:
    """A person in the pipeline with their records and open deadlines."""

    member: Member
    records: tuple[Record, ...]
    deadlines: tuple[Deadline, ...]


def load_people(session: Session, branch_ids: Sequence[int]) -> dict[int, list[Person]]:
    """Everyone of these branches in the pipeline, with their open deadlines (2 queries)."""
    if not branch_ids:
        return {}
    rows = session.exec(
        select(DevelopmentRecord).where(col(DevelopmentRecord.branch_id).in_(list(branch_ids)))
    ).all()
    by_person: dict[int, list[Record]] = defaultdict(list)
    for row in rows:
        by_person[row.member_id].append(to_record(row))
    members = session.exec(
        select(Member).where(
            col(Member.branch_id).in_(list(branch_ids)), col(Member.active).is_(True)
        )
    ).all()
    found: dict[int, list[Person]] = defaultdict(list)
    for m in members:
        assert m.id is not None
        if m.status not in IN_PIPELINE and m.id not in by_person:
            continue
        records = tuple(sorted(by_person.get(m.id, []), key=lambda r: (r.on, r.id)))
        open_ = deadlines(records, imported=imported_stage(m))
        found[m.branch_id].append(Person(m, records, tuple(open_)))
    return found


def reminder_key(person: int, d: Deadline, phase: str, recipient: int) -> str:
    """The ledger key of one phase of one deadline for one recipient."""
    return f"dv:{person}:{d.kind}:{d.anchor}:{d.ordinal}:{phase}:m{recipient}"


def development_reminders(
    session: Session, branches: Sequence[Branch], *, now: dt.datetime, since: dt.datetime
) -> tuple[list[PlannedReminder], list[dt.datetime]]:
    """Reminders of development deadlines due by `now`, and the instants of later ones."""
    zones = {b.id: zone(b.timezone) for b in branches if b.id is not None}
    people = load_people(session, list(zones))
    planned: list[PlannedReminder] = []
    upcoming: list[dt.datetime] = []
    for branch_id, persons in people.items():
        tz = zones[branch_id]
        everyone = _full_members(session, branch_id) if persons else []
        leaders = [m for m in everyone if m.role in LEADERSHIP]
        for person in persons:
            assert person.member.id is not None
            for d in person.deadlines:
                instants = [(phase, local_to_utc(day, AT, tz)) for phase, day in d.phases]
                for i, (phase, at) in enumerate(instants):
                    ends = instants[i + 1][1] if i + 1 < len(instants) else at + LAST_PHASE_KEEPS
                    if at > now:
                        upcoming.append(at)
                        continue
                    if ends <= since:
                        continue  # long past before the bot was watching: never planned
                    for who in _recipients(d, person, leaders, everyone):
                        planned.append(_reminder(person, d, phase, at, ends, who))
    return planned, upcoming


def _full_members(session: Session, branch_id: int) -> list[Member]:
    """The branch's full members: the leadership and everyone who can be a contact."""
    return list(
        session.exec(
            select(Member).where(
                Member.branch_id == branch_id,
                col(Member.active).is_(True),
                Member.status == MemberStatus.FULL.value,
            )
        ).all()
    )


def _recipients(
    d: Deadline, person: Person, leaders: list[Member], everyone: list[Member]
) -> list[Member]:
    """The secretary and committee; for examinations also the activist's two contacts."""
    chosen = {m.id: m for m in leaders}
    if d.kind == "exam":
        contacts = next((r.people for r in person.records if r.id == d.anchor), ())
        for m in everyone:
            if m.id in contacts:
                chosen[m.id] = m
    return [
        m
        for m in chosen.values()
        if m.id is not None and m.telegram_id is not None and m.unreachable_reason is None
    ]


def _reminder(
    person: Person, d: Deadline, phase: str, at: dt.datetime, ends: dt.datetime, who: Member
) -> PlannedReminder:
    assert person.member.id is not None and who.id is not None and who.telegram_id is not None
    return PlannedReminder(
        key=reminder_key(person.member.id, d, phase, who.id),
        kind="nudge",
        branch_id=person.member.branch_id,
        chat_id=who.telegram_id,
        at=at,
        member_id=who.id,
        expires_at=ends,
        payload={
            "reason": "development",
            "person": person.member.name,
            "deadline": d.kind,
            "phase": phase,
            "due": d.due.isoformat(),
            "ordinal": d.ordinal,
        },
    )
