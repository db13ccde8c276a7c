"""Meeting records (会议记录): who records a meeting, and the asks to record it, for the ledger.

Why this shape: like the development deadlines (scheduler/development/reminders.py), the ask
to record a meeting is a second source of `PlannedReminder`s for the one delivery ledger. The
sweep calls `minutes_asks` once and hands what it returns to the same `due_reminders` → ledger
→ dispatcher path, so asks survive restarts, go out once, are rate limited like every other
message, and `branchbot preview` lists them.

* **Ask**: when an occurrence of a recorded item (`PlanItem.is_recorded`) ends, each person
  responsible for a scope with no record yet is asked privately (`responsible`).
* **Follow-up**: at 09:00 local on the last day of the record window (`record_within_days`
  after the local day the meeting ended), the same people, if still nothing is recorded.
* Both expire at `scheduler.compliance.record_deadline`: after it the meeting is listed in
  /overdue ("meetings not recorded"), judged by `scheduler.compliance`.
* Cancelled occurrences and occurrences before the branch's first day are never asked.

Keys are `m:<occurrence>:<scope>:<phase>@<UTC yyyymmddHHMM>:m<member>`, phase `ask` or
`follow`. The instant is the ask's own time, so an occurrence postponed from the recording flow
(it was not held) is asked again after its new end, while a sweep repeated at the same time
never plans a second row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from scheduler.compliance import record_deadline, record_window_last_day
from scheduler.due import PlannedReminder
from scheduler.plan import Plan, PlanError, PlanItem, branch_plan
from scheduler.records import branch_start
from scheduler.recurrence import local_to_utc, zone
from storage.models import (
    Branch,
    MeetingMinutes,
    Member,
    MemberStatus,
    Occurrence,
    OccurrenceStatus,
    PartyGroup,
    Role,
)

FOLLOW_UP_AT = dt.time(9, 0)
ASK, FOLLOW = "ask", "follow"
# The widest record window a plan may give (scheduler.plan: record_within_days 0..60), with
# room for zones: occurrences ending earlier than this before the sweep are never asked.
_LOOKBACK = dt.timedelta(days=63)
_LOOKAHEAD = dt.timedelta(days=1)  # asks falling due this soon wake the dispatcher


@dataclass(frozen=True)
class Person:
    """What the rule reads of a member: role, group, and whether they can be written to."""

    id: int
    name: str
    role: str
    group_id: int | None
    telegram_id: int | None = None
    reachable: bool = True


def person(member: Member) -> Person:
    """The rule's view of a stored member."""
    assert member.id is not None
    return Person(
        member.id,
        member.name,
        member.role,
        member.group_id,
        member.telegram_id,
        member.unreachable_reason is None,
    )


def scopes(item: PlanItem, groups: Sequence[int]) -> list[int]:
    """The records an occurrence owes: one per party group for a group meeting, else one (0)."""
    return list(groups) if item.per_group else [0]


def responsible(item: PlanItem, scope: int, people: Sequence[Person]) -> list[Person]:
    """Who is asked to record `item` for `scope` (recorder: secretary, committee, group leader).

    "committee": the committee members and the secretary (any one records it once);
    "group_leader": the leaders of the scope's party group, and the secretary when the group
    has no leader (or the meeting is not a party group meeting). With no secretary, the
    committee is asked instead, so a meeting is never asked of nobody.
    """
    secretaries = [p for p in people if p.role == Role.SECRETARY.value]
    committee = [p for p in people if p.role == Role.COMMITTEE.value]
    if item.recorder == "committee":
        return secretaries + committee
    if item.recorder == "group_leader" and scope:
        leaders = [p for p in people if p.role == Role.GROUP_LEADER.value and p.group_id == scope]
        if leaders:
            return leaders
    return secretaries or committee


def may_record(item: PlanItem, scope: int, who: Person) -> bool:
    """Whether `who` may record (or correct) `item` for `scope`.

    The secretary and committee members may record every meeting (they oversee the records and
    answer for them in /overdue); a group leader records their own group's meetings.
    """
    if who.role in (Role.SECRETARY.value, Role.COMMITTEE.value):
        return True
    return bool(scope) and who.role == Role.GROUP_LEADER.value and who.group_id == scope


def ask_key(occurrence_id: int, scope: int, phase: str, at: dt.datetime, member_id: int) -> str:
    """The ledger key of one ask (or follow-up) to one person."""
    return f"m:{occurrence_id}:{scope}:{phase}@{at.astimezone(dt.UTC):%Y%m%d%H%M}:m{member_id}"


def follow_up_at(ends_at: dt.datetime, within_days: int, branch: Branch) -> dt.datetime:
    """09:00 local on the last day of the record window."""
    tz = zone(branch.timezone)
    return local_to_utc(record_window_last_day(ends_at, within_days, tz), FOLLOW_UP_AT, tz)


def all_asks(
    session: Session,
    branches: Sequence[Branch],
    *,
    start: dt.datetime,
    end: dt.datetime,
    ended_after: dt.datetime | None = None,
) -> list[PlannedReminder]:
    """Every ask and follow-up falling in [start, end) still owed as things are (4 queries).

    `ended_after`: only meetings that ended after it (default: early enough for every
    follow-up falling in the window).
    """
    plans: dict[int, Plan] = {}
    for b in branches:
        if b.id is None:
            continue
        try:
            plans[b.id] = branch_plan(b)
        except PlanError:
            continue  # the dispatcher logs a broken plan once; it gets no reminders at all
    if not plans:
        return []
    occs = session.exec(
        select(Occurrence).where(
            col(Occurrence.branch_id).in_(list(plans)),
            Occurrence.status == OccurrenceStatus.SCHEDULED.value,
            col(Occurrence.ends_at) >= (ended_after or start - _LOOKBACK),
            col(Occurrence.ends_at) < end,
        )
    ).all()
    occs = [o for o in occs if _item(plans, o) is not None]
    if not occs:
        return []
    recorded = set(
        session.execute(
            sa_select(col(MeetingMinutes.occurrence_id), col(MeetingMinutes.scope)).where(
                col(MeetingMinutes.occurrence_id).in_([o.id for o in occs])
            )
        ).all()
    )
    people: dict[int, list[Person]] = defaultdict(list)
    for m in session.exec(
        select(Member).where(
            col(Member.branch_id).in_(list(plans)),
            col(Member.active).is_(True),
            col(Member.status).in_([MemberStatus.FULL.value, MemberStatus.PROBATIONARY.value]),
        )
    ).all():
        people[m.branch_id].append(person(m))
    group_names = {
        g.id: g.name
        for g in session.exec(select(PartyGroup).where(col(PartyGroup.branch_id).in_(list(plans))))
    }
    by_id = {b.id: b for b in branches if b.id is not None}
    found: list[PlannedReminder] = []
    for occ in occs:
        item = _item(plans, occ)
        branch = by_id[occ.branch_id]
        assert item is not None and occ.id is not None
        if dt.date.fromisoformat(occ.key) < branch_start(branch):
            continue
        tz = zone(branch.timezone)
        deadline = record_deadline(occ.ends_at, item.record_within_days, tz)
        follow = follow_up_at(occ.ends_at, item.record_within_days, branch)
        phases = [(ASK, occ.ends_at)]
        if follow > occ.ends_at:
            phases.append((FOLLOW, follow))
        everyone = people.get(occ.branch_id, [])
        groups = sorted({p.group_id for p in everyone if p.group_id is not None})
        for scope in scopes(item, groups):
            if (occ.id, scope) in recorded:
                continue
            for phase, at in phases:
                if not start <= at < end:
                    continue
                for who in responsible(item, scope, everyone):
                    if who.telegram_id is None or not who.reachable:
                        continue
                    ask = _ask(occ, item, scope, phase, at, deadline, who)
                    if scope:  # which party group's meeting (a secretary may get several)
                        ask = dataclasses.replace(
                            ask, payload={**(ask.payload or {}), "group": group_names.get(scope)}
                        )
                    found.append(ask)
    return found


def minutes_asks(
    session: Session, branches: Sequence[Branch], *, now: dt.datetime, since: dt.datetime
) -> tuple[list[PlannedReminder], list[dt.datetime]]:
    """Asks due by `now` whose window had not closed by `since`, and the instants of later ones."""
    # A window still open at `since` closes at most _LOOKBACK after its meeting ended.
    early = since - _LOOKBACK
    planned = all_asks(session, branches, start=early, end=now + _LOOKAHEAD, ended_after=early)
    due = [p for p in planned if p.at <= now and (p.expires_at is None or p.expires_at > since)]
    later = sorted({p.at for p in planned if p.at > now})
    return due, later


def _item(plans: dict[int, Plan], occ: Occurrence) -> PlanItem | None:
    try:
        item = plans[occ.branch_id].item(occ.item_id)
    except KeyError:
        return None
    return item if item.is_recorded else None


def _ask(
    occ: Occurrence,
    item: PlanItem,
    scope: int,
    phase: str,
    at: dt.datetime,
    deadline: dt.datetime,
    who: Person,
) -> PlannedReminder:
    assert occ.id is not None and who.telegram_id is not None
    return PlannedReminder(
        key=ask_key(occ.id, scope, phase, at, who.id),
        kind="nudge",
        branch_id=occ.branch_id,
        chat_id=who.telegram_id,
        at=at,
        member_id=who.id,
        occurrence_id=occ.id,
        item_id=item.id,
        expires_at=deadline,
        payload={
            "reason": "minutes",
            "phase": phase,
            "occurrence": occ.id,
            "scope": scope,
            "title_en": item.title.en,
            "title_zh_CN": item.title.zh_CN,
            "starts_at": occ.starts_at.isoformat(),
            "deadline": deadline.isoformat(),
        },
    )
