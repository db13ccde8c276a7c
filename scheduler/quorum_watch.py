"""Warn the secretary 3 days before a general members' meeting whose quorum is at risk.

The warning is an ordinary ledger row (kind `nudge`, key `qw:<occurrence>:m<secretary>`), so it
goes out once through the same claim/send/settle path as every reminder. Whether the quorum is at
risk is judged when the warning falls due: three days before the start (at the meeting's own
time of day, so members have had the day's 09:00 reminder to answer), from the answers so far.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from sqlmodel import Session, col, select

from scheduler.audience import in_audience
from scheduler.due import PlannedReminder
from scheduler.plan import Plan
from scheduler.quorum import QUORUM_ITEMS, WARN_DAYS, quorum
from storage.models import Attendance, Member, Occurrence, OccurrenceStatus, Role

WARNING = dt.timedelta(days=WARN_DAYS)


def quorum_key(occurrence_id: int, member_id: int) -> str:
    """The ledger key of one secretary's warning about one meeting."""
    return f"qw:{occurrence_id}:m{member_id}"


def quorum_warnings(
    session: Session, plans: dict[int, Plan], *, now: dt.datetime, horizon: dt.timedelta
) -> tuple[list[PlannedReminder], list[dt.datetime]]:
    """Warnings due now (quorum at risk), and the instants of those still to come (3 queries)."""
    occs = session.exec(
        select(Occurrence).where(
            col(Occurrence.branch_id).in_(list(plans)),
            col(Occurrence.item_id).in_(list(QUORUM_ITEMS)),
            Occurrence.status == OccurrenceStatus.SCHEDULED.value,
            Occurrence.starts_at > now,
            Occurrence.starts_at <= now + WARNING + horizon,
        )
    ).all()
    due = [o for o in occs if o.starts_at - WARNING <= now]
    upcoming = [o.starts_at - WARNING for o in occs if o.starts_at - WARNING > now]
    if not due:
        return [], upcoming
    members: dict[int, list[Member]] = defaultdict(list)
    for m in session.exec(
        select(Member).where(col(Member.branch_id).in_({o.branch_id for o in due}))
    ).all():
        if m.active:
            members[m.branch_id].append(m)
    answers: dict[int, dict[int, Attendance]] = defaultdict(dict)
    for a in session.exec(
        select(Attendance).where(col(Attendance.occurrence_id).in_([o.id for o in due]))
    ).all():
        answers[a.occurrence_id][a.member_id] = a
    warnings = [
        warning
        for occ in due
        for warning in _warn(occ, plans[occ.branch_id], members[occ.branch_id], answers, now)
    ]
    return warnings, upcoming


def _warn(
    occ: Occurrence,
    plan: Plan,
    members: Sequence[Member],
    answers: dict[int, dict[int, Attendance]],
    now: dt.datetime,
) -> list[PlannedReminder]:
    assert occ.id is not None
    try:
        item = plan.item(occ.item_id)
    except KeyError:
        return []
    audience = [m for m in members if in_audience(item.audience, m.role, m.group_id)]
    standing = quorum(audience, answers.get(occ.id, {}), starts_at=occ.starts_at, now=now)
    if standing.reached:
        return []
    return [
        PlannedReminder(
            key=quorum_key(occ.id, s.id),
            kind="nudge",
            branch_id=occ.branch_id,
            chat_id=s.telegram_id,
            at=occ.starts_at - WARNING,
            member_id=s.id,
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
            },
        )
        for s in members
        if s.role == Role.SECRETARY.value
        and s.id is not None
        and s.telegram_id is not None
        and s.unreachable_reason is None
    ]
