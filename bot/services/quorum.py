"""Quorum warnings: general members' meetings of the next three days whose answers fall short.

The rule is `scheduler.quorum`; the loader is `scheduler.quorum_watch.meetings_at_risk`, which the
reminder engine uses for the secretary's warning too. This adapts it to one branch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from scheduler.plan import Localized, branch_plan
from scheduler.quorum import Quorum
from scheduler.quorum_watch import meetings_at_risk
from storage import repositories as repo


@dataclass(frozen=True)
class QuorumWarning:
    """A general members' meeting soon, and where it stands against its quorum."""

    occurrence_id: int
    title: Localized
    starts_at: dt.datetime
    quorum: Quorum


def quorum_warnings(session: Session, branch_id: int, now: dt.datetime) -> list[QuorumWarning]:
    """General members' meetings starting within WARN_DAYS whose quorum is not reached yet."""
    branch = repo.get_branch(session, branch_id)
    if branch is None:
        return []
    return [
        QuorumWarning(r.occurrence.id or 0, r.item.title, r.occurrence.starts_at, r.standing)
        for r in meetings_at_risk(session, {branch_id: branch_plan(branch)}, now=now)
    ]
