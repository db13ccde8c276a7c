"""Committees, general branches and branches with a complete record, for the oversight tests
and the scale benchmark (bench/committee.py): rows are inserted directly, as the meeting-record
flow and the org commands would leave them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlmodel import Session, col, select

from scheduler.kinds import quarter_of
from scheduler.occurrences import sync_occurrences
from scheduler.plan import branch_plan
from scheduler.recurrence import to_local, zone
from storage.db import Database
from storage.models import (
    Attendance,
    AttendanceState,
    Branch,
    DuesPayment,
    MeetingMinutes,
    Member,
    Occurrence,
    OrgLevel,
    OrgPerson,
    OrgUnit,
    PartyGroup,
    TalkRecord,
    ThoughtReport,
)

CREATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def add_unit(
    db: Database,
    name: str,
    *,
    level: OrgLevel = OrgLevel.COMMITTEE,
    parent: int | None = None,
    locale: str = "en",
    score_toml: str | None = None,
) -> int:
    """An org unit; its id."""
    with db.transaction() as s:
        unit = OrgUnit(
            name=name,
            level=level.value,
            parent_id=parent,
            locale=locale,
            score_toml=score_toml,
            created_at=CREATED,
        )
        s.add(unit)
        s.flush()
        assert unit.id is not None
        return unit.id


def add_seat(
    db: Database, unit_id: int, name: str, telegram_id: int, *, locale: str | None = None
) -> int:
    """A linked seat holder at a unit; their OrgPerson id."""
    with db.transaction() as s:
        person = OrgPerson(
            unit_id=unit_id, name=name, telegram_id=telegram_id, locale=locale, linked_at=CREATED
        )
        s.add(person)
        s.flush()
        assert person.id is not None
        return person.id


@dataclass
class Built:
    """What `add_branch` made."""

    branch_id: int
    members: dict[str, int] = field(default_factory=dict)  # name -> id
    telegram: dict[str, int] = field(default_factory=dict)  # name -> telegram id


def add_branch(
    session: Session,
    name: str,
    *,
    unit_id: int | None,
    people: Sequence[tuple[str, int | None, str, str | None]],
    locale: str = "en",
    starts_on: dt.date | None = None,
    created_at: dt.datetime = CREATED,
) -> Built:
    """A branch with members (name, telegram id, role, group name), linked when they have an id."""
    branch = Branch(
        name=name,
        locale=locale,
        created_at=created_at,
        org_unit_id=unit_id,
        starts_on=starts_on,
    )
    session.add(branch)
    session.flush()
    assert branch.id is not None
    built = Built(branch.id)
    groups: dict[str, int] = {}
    for member_name, telegram_id, role, group in people:
        if group and group not in groups:
            pg = PartyGroup(branch_id=branch.id, name=group)
            session.add(pg)
            session.flush()
            assert pg.id is not None
            groups[group] = pg.id
        m = Member(
            branch_id=branch.id,
            name=member_name,
            telegram_id=telegram_id,
            role=role,
            group_id=groups.get(group) if group else None,
            dues_amount=Decimal("10.00"),
            linked_at=created_at if telegram_id else None,
        )
        session.add(m)
        session.flush()
        assert m.id is not None
        built.members[member_name] = m.id
        if telegram_id is not None:
            built.telegram[member_name] = telegram_id
    return built


def complete_record(
    session: Session,
    branch_id: int,
    *,
    months: Iterable[tuple[int, int]],
    now: dt.datetime,
    skip: Iterable[tuple[str, str]] = (),
    not_held: dict[tuple[str, str], str] | None = None,
    paid_share: float = 1.0,
) -> None:
    """Everything the branch owed in `months` done on time: every required meeting held and
    recorded the day it ended, everyone present at members' meetings, dues declared on the
    dues day, each group's talk record and every member's thought report of each quarter.

    `skip`: (item id, ISO key) meetings left unrecorded; `not_held`: recorded as not held,
    with the reason. `paid_share`: the share of members (by name order) paying their dues.
    """
    branch = session.get(Branch, branch_id)
    assert branch is not None
    plan = branch_plan(branch)
    wanted = set(months)
    years = sorted({y for y, _ in wanted})
    rows: list[Occurrence] = []
    for year in years:
        rows += sync_occurrences(session, branch, year=year, now=now, plan=plan)
    members = session.exec(
        select(Member)
        .where(Member.branch_id == branch_id, col(Member.active).is_(True))
        .order_by(col(Member.name))
    ).all()
    groups = sorted({m.group_id for m in members if m.group_id is not None})
    skipped, not_held = set(skip), dict(not_held or {})
    items = {i.id: i for i in plan.items}
    for occ in rows:
        day = dt.date.fromisoformat(occ.key)
        item = items.get(occ.item_id)
        if item is None or (day.year, day.month) not in wanted or not item.is_required:
            continue
        if (occ.item_id, occ.key) in skipped:
            continue
        assert occ.id is not None
        scopes = groups if item.per_group else [0]
        for scope in scopes:
            reason = not_held.get((occ.item_id, occ.key))
            session.add(
                MeetingMinutes(
                    branch_id=branch_id,
                    occurrence_id=occ.id,
                    scope=scope,
                    group_id=scope or None,
                    held=reason is None,
                    reason=reason,
                    topic="topic",
                    recorded_at=occ.ends_at + dt.timedelta(hours=1),
                )
            )
        if occ.item_id == "general_meeting" and (occ.item_id, occ.key) not in not_held:
            for m in members:
                assert m.id is not None
                session.add(
                    Attendance(
                        occurrence_id=occ.id,
                        member_id=m.id,
                        state=AttendanceState.PRESENT.value,
                        checked_in_at=occ.starts_at,
                        updated_at=occ.starts_at,
                    )
                )
    payers = members[: round(len(members) * paid_share)]
    for year, month in sorted(wanted):
        declared = dt.datetime(year, month, 20, 2, tzinfo=dt.UTC)
        for m in payers:
            assert m.id is not None
            session.add(
                DuesPayment(
                    member_id=m.id,
                    year=year,
                    month=month,
                    amount=m.dues_amount,
                    declared_at=declared,
                )
            )
    quarters = sorted({quarter_of(dt.date(y, mo, 1)) for y, mo in wanted})
    leader = members[0].id if members else None
    for year, quarter in quarters:
        at = dt.datetime(year, quarter * 3, 25, 2, tzinfo=dt.UTC)
        for g in groups:
            assert leader is not None
            session.add(
                TalkRecord(
                    branch_id=branch_id,
                    group_id=g,
                    submitted_by=leader,
                    year=year,
                    quarter=quarter,
                    talks=3,
                    submitted_at=at,
                )
            )
        for m in members:
            assert m.id is not None
            session.add(
                ThoughtReport(
                    branch_id=branch_id,
                    member_id=m.id,
                    year=year,
                    quarter=quarter,
                    text="report",
                    handed_in_at=at,
                )
            )
    session.flush()


def local_day(at: dt.datetime) -> dt.date:
    """The Shanghai day of an instant."""
    return to_local(at, zone("Asia/Shanghai")).date()
