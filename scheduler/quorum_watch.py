"""Warn the secretary and committee 3 days before a general members' meeting short of quorum.

The warning is an ordinary ledger row (kind `nudge`, key `qw:<occurrence>:m<member>`), so it
goes out once through the same claim/send/settle path as every reminder. It says whether the
quorum is only not reached yet, or already impossible (too many full members on leave).
"Within 3 days" counts whole days of the branch's calendar: on Monday a Thursday meeting is 3
days away whatever its hour. Whether the quorum is at
risk is judged when the warning falls due: three days before the start (at the meeting's own
time of day, so members have had the day's 09:00 reminder to answer), from the answers so far.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pytz
from sqlmodel import Session, col, select

from scheduler.audience import LEADERSHIP, in_audience
from scheduler.due import PlannedReminder
from scheduler.plan import Plan, PlanItem
from scheduler.quorum import QUORUM_ITEMS, WARN_DAYS, Quorum, quorum
from scheduler.recurrence import to_local, zone
from storage.models import Attendance, Branch, Member, Occurrence, OccurrenceStatus

WARNING = dt.timedelta(days=WARN_DAYS)


@dataclass(frozen=True)
class AtRisk:
    """A general members' meeting whose answers so far fall short of its quorum."""

    occurrence: Occurrence
    item: PlanItem
    standing: Quorum
    secretaries: list[Member]  # the secretary and the committee: all are told


def quorum_key(occurrence_id: int, member_id: int) -> str:
    """The ledger key of one secretary's warning about one meeting."""
    return f"qw:{occurrence_id}:m{member_id}"


def _meetings(
    session: Session, branch_ids: Iterable[int], *, after: dt.datetime, until: dt.datetime
) -> Sequence[Occurrence]:
    """Scheduled occurrences that need a quorum, starting in (after, until]."""
    return session.exec(
        select(Occurrence).where(
            col(Occurrence.branch_id).in_(list(branch_ids)),
            col(Occurrence.item_id).in_(list(QUORUM_ITEMS)),
            Occurrence.status == OccurrenceStatus.SCHEDULED.value,
            Occurrence.starts_at > after,
            Occurrence.starts_at <= until,
        )
    ).all()


def meetings_at_risk(
    session: Session, plans: Mapping[int, Plan], *, now: dt.datetime
) -> list[AtRisk]:
    """Meetings starting within WARN_DAYS of `now` that are short of quorum (3 queries).

    The one loader behind the secretary's warning (below), the weekly digest and /digest.
    """
    zones = {
        b.id: zone(b.timezone)
        for b in session.exec(select(Branch).where(col(Branch.id).in_(list(plans)))).all()
    }
    occs = [
        o
        for o in _meetings(session, plans, after=now, until=now + WARNING + dt.timedelta(days=1))
        if o.branch_id in zones and _days_until(o.starts_at, now, zones[o.branch_id]) <= WARN_DAYS
    ]
    if not occs:
        return []
    members: dict[int, list[Member]] = defaultdict(list)
    for m in session.exec(
        select(Member).where(col(Member.branch_id).in_({o.branch_id for o in occs}))
    ).all():
        if m.active:
            members[m.branch_id].append(m)
    answers: dict[int, dict[int, Attendance]] = defaultdict(dict)
    for a in session.exec(
        select(Attendance).where(col(Attendance.occurrence_id).in_([o.id for o in occs]))
    ).all():
        answers[a.occurrence_id][a.member_id] = a
    found = []
    for occ in occs:
        assert occ.id is not None
        try:
            item = plans[occ.branch_id].item(occ.item_id)
        except KeyError:
            continue
        everyone = members[occ.branch_id]
        audience = [m for m in everyone if in_audience(item.audience, m.role, m.group_id)]
        standing = quorum(audience, answers[occ.id], starts_at=occ.starts_at, now=now)
        if not standing.reached:
            secretaries = [m for m in everyone if m.role in LEADERSHIP]
            found.append(AtRisk(occ, item, standing, secretaries))
    return found


def _days_until(starts_at: dt.datetime, now: dt.datetime, tz: pytz.BaseTzInfo) -> int:
    """Whole days of the branch's calendar from `now` to `starts_at`."""
    return (to_local(starts_at, tz).date() - to_local(now, tz).date()).days


def quorum_warnings(
    session: Session, plans: dict[int, Plan], *, now: dt.datetime, horizon: dt.timedelta
) -> tuple[list[PlannedReminder], list[dt.datetime]]:
    """Warnings due now (quorum at risk), and the instants of those still to come (4 queries)."""
    later = _meetings(session, plans, after=now + WARNING, until=now + WARNING + horizon)
    upcoming = [o.starts_at - WARNING for o in later]
    warnings = [
        _warning(risk, secretary)
        for risk in meetings_at_risk(session, plans, now=now)
        for secretary in risk.secretaries
        if secretary.id is not None
        and secretary.telegram_id is not None
        and secretary.unreachable_reason is None
    ]
    return warnings, upcoming


def _warning(risk: AtRisk, secretary: Member) -> PlannedReminder:
    occ, item, standing = risk.occurrence, risk.item, risk.standing
    assert occ.id is not None
    assert secretary.id is not None
    assert secretary.telegram_id is not None
    return PlannedReminder(
        key=quorum_key(occ.id, secretary.id),
        kind="nudge",
        branch_id=occ.branch_id,
        chat_id=secretary.telegram_id,
        at=occ.starts_at - WARNING,
        member_id=secretary.id,
        occurrence_id=occ.id,
        item_id=occ.item_id,
        item_kind=item.kind,
        expires_at=occ.starts_at,
        payload={
            "reason": "quorum",
            "starts_at": occ.starts_at.isoformat(),
            "title_zh_CN": item.title.zh_CN,
            "title_en": item.title.en,
            "counted": standing.counted,
            "needed": standing.needed,
            "entitled": standing.entitled,
            "on_leave": standing.on_leave,
            "impossible": standing.impossible,
        },
    )
