"""Quorum warnings: general members' meetings of the next three days whose answers fall short.

The rule itself is pure and lives in `scheduler.quorum` (so the reminder engine can use it
too); this loads what it needs for one branch in a constant number of queries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from bot.services.branch_year import audience_of, load_branch, members_and_groups
from bot.services.branch_year import occurrences_between as rows_between
from bot.services.plan_report import answer_states
from scheduler.plan import Localized
from scheduler.quorum import WARN_DAYS, Quorum, needs_quorum, quorum
from storage.models import OccurrenceStatus


@dataclass(frozen=True)
class QuorumWarning:
    """A general members' meeting soon, and where it stands against its quorum."""

    occurrence_id: int
    title: Localized
    starts_at: dt.datetime
    quorum: Quorum


def quorum_warnings(session: Session, branch_id: int, now: dt.datetime) -> list[QuorumWarning]:
    """General members' meetings starting within WARN_DAYS whose quorum is not reached yet."""
    ctx = load_branch(session, branch_id, now=now)
    soon = [
        o
        for o in rows_between(session, branch_id, now, now + dt.timedelta(days=WARN_DAYS))
        if needs_quorum(o.item_id) and o.status == OccurrenceStatus.SCHEDULED.value and o.id
    ]
    if not soon:
        return []
    members, _groups = members_and_groups(session, branch_id)
    answers = answer_states(session, [o.id for o in soon if o.id is not None])
    warnings = []
    for occ in soon:
        assert occ.id is not None
        counted = quorum(
            audience_of(ctx, occ, members), answers[occ.id], starts_at=occ.starts_at, now=now
        )
        item = ctx.item(occ.item_id)
        if not counted.reached and item is not None:
            warnings.append(QuorumWarning(occ.id, item.title, occ.starts_at, counted))
    return warnings
