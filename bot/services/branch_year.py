"""What every secretary tool starts from: a branch, its plan, zone and year, and its occurrences.

Loaded with a constant number of queries whatever the branch's size: the secretary tools read
members, answers and payments in bulk and join them in Python, never one query per member.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pytz
from sqlmodel import Session, col, select

from scheduler.audience import in_audience
from scheduler.development.rules import PRE_MEMBER
from scheduler.occurrences import sync_occurrences
from scheduler.plan import Plan, PlanItem, branch_plan
from scheduler.records import branch_start_instant
from scheduler.recurrence import local_to_utc, to_local, zone
from storage import repositories as repo
from storage.models import Branch, Member, Occurrence, PartyGroup


class NoSuchBranch(LookupError):
    """The branch asked for does not exist."""


@dataclass(frozen=True)
class BranchYear:
    """A branch with its plan and zone, seen at `now`."""

    branch: Branch
    plan: Plan
    tz: pytz.BaseTzInfo
    now: dt.datetime

    @property
    def branch_id(self) -> int:
        """The branch's id."""
        assert self.branch.id is not None
        return self.branch.id

    @property
    def locale(self) -> str:
        """The branch's language."""
        return self.branch.locale

    @property
    def today(self) -> dt.date:
        """The branch's local date at `now`."""
        return to_local(self.now, self.tz).date()

    @property
    def year(self) -> int:
        """The branch's local year at `now`."""
        return self.today.year

    def item(self, item_id: str) -> PlanItem | None:
        """The plan item `item_id`, or None if the plan no longer has it."""
        try:
            return self.plan.item(item_id)
        except KeyError:
            return None

    def local_midnight(self, day: dt.date) -> dt.datetime:
        """The UTC instant of local midnight starting `day`."""
        return local_to_utc(day, dt.time(0, 0), self.tz)


def load_branch(session: Session, branch_id: int, *, now: dt.datetime) -> BranchYear:
    """The branch `branch_id` with its plan; NoSuchBranch if it is gone."""
    branch = repo.get_branch(session, branch_id)
    if branch is None:
        raise NoSuchBranch(branch_id)
    return BranchYear(branch=branch, plan=branch_plan(branch), tz=zone(branch.timezone), now=now)


def ensure_year(session: Session, ctx: BranchYear, year: int) -> list[Occurrence]:
    """The year's occurrence rows, created or refreshed from the plan (moves are kept)."""
    return sync_occurrences(session, ctx.branch, year=year, now=ctx.now, plan=ctx.plan)


def members_and_groups(
    session: Session, branch_id: int
) -> tuple[Sequence[Member], dict[int, PartyGroup]]:
    """The branch's active members (by name) and its groups by id: two queries."""
    found = repo.list_members(session, branch_id=branch_id)
    members = [m for m in found if m.status not in PRE_MEMBER]  # not yet members: not counted
    groups = {g.id: g for g in repo.list_groups(session, branch_id=branch_id) if g.id is not None}
    return members, groups


def occurrences_between(
    session: Session, branch_id: int, start: dt.datetime, end: dt.datetime
) -> Sequence[Occurrence]:
    """The branch's occurrence rows starting in [start, end), by start; none before its start."""
    branch = session.get(Branch, branch_id)
    if branch is not None:
        start = max(start, branch_start_instant(branch))
    stmt = (
        select(Occurrence)
        .where(
            Occurrence.branch_id == branch_id,
            col(Occurrence.starts_at) >= start,
            col(Occurrence.starts_at) < end,
        )
        .order_by(col(Occurrence.starts_at), col(Occurrence.id))
    )
    return session.exec(stmt).all()


def audience_of(ctx: BranchYear, occ: Occurrence, members: Iterable[Member]) -> list[Member]:
    """The members expected at `occ`, from already loaded members (no query)."""
    item = ctx.item(occ.item_id)
    audience = item.audience if item is not None else "all"
    return [
        m
        for m in members
        if m.status not in PRE_MEMBER and in_audience(audience, m.role, m.group_id)
    ]
