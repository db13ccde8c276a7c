"""What each member hands in once a quarter (a kind whose spec says `ActedBy.HAND_IN`).

One place for the concern: `load_handins` is the only reader of the hand-in tables (the
`match` names the table of each kind), and `handin_book` says, for each hand-in item of the plan,
each quarter and each member who owes it, what they handed in. The reminder engine (through
`scheduler.acted`), /overdue, the digest, /me and the registers all read it from here, so a new
hand-in kind needs its table in the `match` and nothing in those views.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import assert_never

from sqlalchemy import and_, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from scheduler.audience import owes
from scheduler.development.rules import Step
from scheduler.kinds import BY_KIND, ActedBy, ItemKind, quarter_of
from scheduler.plan import Plan, PlanItem
from scheduler.recurrence import item_dates
from storage.models import DevelopmentRecord, Member, MemberStatus, ThoughtReport


@dataclass(frozen=True)
class HandIn:
    """One member's hand-in of one quarter."""

    kind: ItemKind
    member_id: int
    year: int
    quarter: int
    at: dt.datetime  # when it was first handed in
    late: bool  # handed in after its quarter's deadline


def load_handins(
    session: Session,
    kinds: Iterable[ItemKind],
    quarters: Collection[tuple[int, int]],
    *,
    member_ids: Collection[int] | None = None,
    branch_ids: Collection[int] | None = None,
) -> list[HandIn]:
    """The hand-ins of these kinds for these (year, quarter)s: one query per hand-in kind.

    `member_ids` / `branch_ids`: only these members' / these branches' (None: everyone's)."""
    found: list[HandIn] = []
    if not quarters or (member_ids is not None and not member_ids):
        return found
    if branch_ids is not None and not branch_ids:
        return found
    for kind in sorted(set(kinds)):
        match kind:
            case ItemKind.MEETING | ItemKind.DUES | ItemKind.TALKS | ItemKind.PAPERWORK:
                continue  # not handed in by each member
            case ItemKind.THOUGHT_REPORTS:
                stmt = sa_select(
                    col(ThoughtReport.member_id),
                    col(ThoughtReport.year),
                    col(ThoughtReport.quarter),
                    col(ThoughtReport.handed_in_at),
                    col(ThoughtReport.late),
                ).where(
                    or_(
                        *(
                            and_(col(ThoughtReport.year) == y, col(ThoughtReport.quarter) == q)
                            for y, q in quarters
                        )
                    )
                )
                if member_ids is not None:
                    stmt = stmt.where(col(ThoughtReport.member_id).in_(list(member_ids)))
                if branch_ids is not None:
                    stmt = stmt.where(col(ThoughtReport.branch_id).in_(list(branch_ids)))
                found += [HandIn(kind, *row) for row in session.execute(stmt)]
            case _:
                assert_never(kind)
    return found


def handin_items(plan: Plan) -> list[PlanItem]:
    """The plan's items that each member owing them hands in."""
    return [i for i in plan.items if BY_KIND[i.kind].acted_by is ActedBy.HAND_IN]


@dataclass(frozen=True)
class Owed:
    """One member's hand-in of one quarter of a plan item: what they handed in, if anything."""

    item: PlanItem
    year: int
    quarter: int
    deadline: dt.date  # the item's local day in that quarter
    member_id: int
    name: str
    group_id: int | None
    handed_in: HandIn | None


def handin_book(
    session: Session,
    plan: Plan,
    members: Sequence[Member],
    year: int,
    *,
    quarters: Collection[int] | None = None,
) -> list[Owed]:
    """For each hand-in item, each of its quarters in `year` (or only `quarters`) and each
    active person who owed it on that quarter's deadline (by their status then: the recorded
    development steps, else their current status): what they handed in. Ordered by item,
    quarter, then `members`. Two queries; `book_of` is the same without them."""
    items = handin_items(plan)
    if not items:
        return []
    days = _days(items, year, quarters)
    history = _status_history(session, [m.id for m in members if m.id is not None])
    owing = {
        m.id or 0
        for item in items
        for m in members
        if m.id is not None
        and m.active
        and any(_owed_on(history, item, m, day) for it, day in days if it is item)
    }
    rows = load_handins(
        session,
        {i.kind for i in items},
        {quarter_of(day) for _, day in days},
        member_ids=owing,
    )
    return book_of(plan, members, year, history=history, handins=rows, quarters=quarters)


def book_of(
    plan: Plan,
    members: Sequence[Member],
    year: int,
    *,
    history: Mapping[int, Sequence[tuple[dt.date, str]]],
    handins: Iterable[HandIn],
    quarters: Collection[int] | None = None,
) -> list[Owed]:
    """`handin_book` over rows already loaded (pure): `history` as `status_history` gives it,
    `handins` as `load_handins` does (other members' and other quarters' rows are ignored)."""
    items = handin_items(plan)
    days = _days(items, year, quarters)
    by_key = {(h.kind, h.member_id, h.year, h.quarter): h for h in handins}
    book = []
    for item, day in days:
        q = quarter_of(day)[1]
        for m in members:
            if m.id is None or not m.active or not _owed_on(history, item, m, day):
                continue
            found = by_key.get((item.kind, m.id, year, q))
            book.append(Owed(item, year, q, day, m.id, m.name, m.group_id, found))
    return book


def _days(
    items: Sequence[PlanItem], year: int, quarters: Collection[int] | None
) -> list[tuple[PlanItem, dt.date]]:
    return [
        (item, day)
        for item in items
        for day in item_dates(item, year)
        if quarters is None or quarter_of(day)[1] in quarters
    ]


def _owed_on(
    history: Mapping[int, Sequence[tuple[dt.date, str]]], item: PlanItem, m: Member, day: dt.date
) -> bool:
    status = _status_on(history.get(m.id or 0, []), day, m.status)
    return status is not None and owes(item.kind, item.audience, m.role, m.group_id, status)


# The status a recorded development step puts a person in, from its day on.
_STATUS_FROM = {
    Step.APPLIED: MemberStatus.APPLICANT.value,
    Step.ACTIVIST: MemberStatus.ACTIVIST.value,
    Step.CANDIDATE: MemberStatus.CANDIDATE.value,
    Step.APPROVED: MemberStatus.PROBATIONARY.value,
    Step.CONVERTED: MemberStatus.FULL.value,
}
_STEPS = frozenset(s.value for s in Step)


def _status_history(
    session: Session, member_ids: Sequence[int]
) -> dict[int, list[tuple[dt.date, str]]]:
    """Each person's recorded changes of status (development steps), in order: one query."""
    if not member_ids:
        return {}
    stmt = (
        sa_select(
            col(DevelopmentRecord.member_id),
            col(DevelopmentRecord.on),
            col(DevelopmentRecord.step),
        )
        .where(col(DevelopmentRecord.member_id).in_(list(member_ids)))
        .order_by(col(DevelopmentRecord.on), col(DevelopmentRecord.id))
    )
    return status_history((member_id, on, step) for member_id, on, step in session.execute(stmt))


def status_history(
    records: Iterable[tuple[int, dt.date, str]],
) -> dict[int, list[tuple[dt.date, str]]]:
    """Each person's changes of status from (member id, day, step) rows already loaded, in
    the order given (by day, then id): what `_status_history` reads, without the query."""
    found: dict[int, list[tuple[dt.date, str]]] = {}
    for member_id, on, step in records:
        status = _STATUS_FROM.get(Step(step)) if step in _STEPS else None
        if status is not None:
            found.setdefault(member_id, []).append((on, status))
    return found


def _status_on(history: Sequence[tuple[dt.date, str]], day: dt.date, current: str) -> str | None:
    """The status on `day`: the last recorded change by then; with no records, the current one;
    None before the first record (they were not yet in the branch's pipeline)."""
    if not history:
        return current
    status = None
    for on, changed in history:
        if on <= day:
            status = changed
    return status
