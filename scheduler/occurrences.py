"""A branch's plan and its materialised occurrences (rows that can be moved and answered)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlmodel import Session, col, select

from scheduler.ics import Change
from scheduler.plan import Plan, branch_plan
from scheduler.records import branch_start
from scheduler.recurrence import occurrences, zone
from storage.models import Branch, Occurrence, OccurrenceStatus


def sync_occurrences(
    session: Session, branch: Branch, *, year: int, now: dt.datetime, plan: Plan | None = None
) -> list[Occurrence]:
    """Make the year's occurrence rows match the plan; keep moves, cancellations and answers.

    A row the secretary moved or cancelled (`changed_at` set) keeps its time and status. A future
    row whose item or date left the plan is cancelled, never deleted, so answers stay. Nothing
    before the branch's start is materialised: the branch did not exist for it.
    """
    assert branch.id is not None
    return sync_many(session, [(branch, plan or branch_plan(branch))], year=year, now=now)[
        branch.id
    ]


def sync_many(
    session: Session, branches: Sequence[tuple[Branch, Plan]], *, year: int, now: dt.datetime
) -> dict[int, list[Occurrence]]:
    """`sync_occurrences` for many branches at once: one read and one flush for all of them
    (the committee's export syncs every branch it shows), the plan's rows of each by branch."""
    ids = [b.id for b, _plan in branches if b.id is not None]
    stored: dict[int, dict[tuple[str, str], Occurrence]] = {i: {} for i in ids}
    if ids:
        stmt = select(Occurrence).where(
            col(Occurrence.branch_id).in_(ids), col(Occurrence.key).startswith(f"{year:04d}-")
        )
        for row in session.exec(stmt.order_by(col(Occurrence.starts_at))):
            stored[row.branch_id][(row.item_id, row.key)] = row
    found = {
        branch.id: _sync(session, branch, plan, stored[branch.id], year=year, now=now)
        for branch, plan in branches
        if branch.id is not None
    }
    session.flush()
    return found


def _sync(
    session: Session,
    branch: Branch,
    plan: Plan,
    existing: dict[tuple[str, str], Occurrence],
    *,
    year: int,
    now: dt.datetime,
) -> list[Occurrence]:
    assert branch.id is not None
    tz = zone(branch.timezone)
    start = branch_start(branch)
    rows: list[Occurrence] = []
    for occ in occurrences(plan, year, tz):
        if occ.local_date < start:
            existing.pop((occ.item_id, occ.key), None)  # an old row stays as it is
            continue
        row = existing.pop((occ.item_id, occ.key), None)
        if row is None:
            row = Occurrence(
                branch_id=branch.id,
                item_id=occ.item_id,
                key=occ.key,
                starts_at=occ.starts_at,
                ends_at=occ.ends_at,
                planned_starts_at=occ.starts_at,
            )
        elif row.changed_at is None:
            row.starts_at, row.ends_at, row.planned_starts_at = (
                occ.starts_at,
                occ.ends_at,
                occ.starts_at,
            )
            row.status = OccurrenceStatus.SCHEDULED.value
        session.add(row)
        rows.append(row)
    for orphan in existing.values():
        if orphan.starts_at > now and orphan.status != OccurrenceStatus.CANCELLED.value:
            orphan.status = OccurrenceStatus.CANCELLED.value
            orphan.changed_at = now
            session.add(orphan)
    return rows


def list_year(session: Session, *, branch_id: int, year: int) -> Sequence[Occurrence]:
    """The branch's occurrence rows whose planned local date is in `year`."""
    stmt = select(Occurrence).where(
        Occurrence.branch_id == branch_id, col(Occurrence.key).startswith(f"{year:04d}-")
    )
    return session.exec(stmt.order_by(col(Occurrence.starts_at))).all()


def changed_occurrences(
    session: Session, *, branch_id: int, year: int
) -> dict[tuple[str, str], Change]:
    """The year's moved and cancelled occurrences, as the .ics export needs them."""
    return {
        (o.item_id, o.key): Change(
            o.starts_at, o.ends_at, o.status == OccurrenceStatus.CANCELLED.value
        )
        for o in list_year(session, branch_id=branch_id, year=year)
        if o.changed_at is not None
    }
