"""Membership dues: the approved monthly amount, "I paid", /dues, and confirming receipt.

Amounts are Decimal yuan, never floats. The approved amount (核定数额) is computed from a
declared monthly after-tax regular income with the official brackets; only the amount is
stored (Member.dues_amount), never the income. A payment is one row per member and month
(unique), declared by the member and later confirmed by the secretary or a committee member.
The bot tracks a branch's dues from the month it was set up (earlier months were on paper).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.services.events import Event, Refusal, active_member, event_for_member
from bot.services.inert import visible
from bot.services.upsert import insert_ignore
from scheduler.kinds import ItemKind
from scheduler.plan import branch_plan
from scheduler.records import branch_start, dues_months, member_start, owed_months
from scheduler.recurrence import to_local, zone
from storage import repositories as repo
from storage.db import Database
from storage.models import Branch, DuesPayment, Member, Role

CENT = Decimal("0.01")
STUDENT_AMOUNT = Decimal("0.20")
MAX_AMOUNT = Decimal("99999.99")
CATEGORIES = ("employed", "retired", "student")
# (upper bound of the monthly income inclusive, rate); None = no upper bound.
_BRACKETS: dict[str, tuple[tuple[Decimal | None, Decimal], ...]] = {
    "employed": (
        (Decimal(3000), Decimal("0.005")),
        (Decimal(5000), Decimal("0.01")),
        (Decimal(10000), Decimal("0.015")),
        (None, Decimal("0.02")),
    ),
    "retired": ((Decimal(5000), Decimal("0.005")), (None, Decimal("0.01"))),
}
_REVIEWERS = (Role.SECRETARY.value, Role.COMMITTEE.value)


def dues_rate(income: Decimal, category: str = "employed") -> Decimal:
    """The share of the monthly income paid as dues (0 for students: they pay a flat amount)."""
    if category == "student":
        return Decimal(0)
    for upper, rate in _BRACKETS[category]:
        if upper is None or income <= upper:
            return rate
    raise AssertionError("the last bracket has no upper bound")  # pragma: no cover


def dues_from_income(income: Decimal, category: str = "employed") -> Decimal:
    """The approved monthly dues for an after-tax monthly income: whole income x bracket rate.

    Employed: up to 3000 yuan 0.5%, to 5000 1%, to 10000 1.5%, above 2%. Retired: up to 5000
    0.5%, above 1%. Students: 0.20 yuan. Rounded to the fen, half up.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    if income < 0:
        raise ValueError("income cannot be negative")
    if category == "student":
        return STUDENT_AMOUNT
    return (income * dues_rate(income, category)).quantize(CENT, rounding=ROUND_HALF_UP)


def _local_month(branch: Branch, now: dt.datetime) -> tuple[int, int]:
    local = to_local(now, zone(branch.timezone))
    return local.year, local.month


def first_tracked_month(branch: Branch, year: int, member: Member | None = None) -> int:
    """The first month of `year` whose dues the bot tracks (the branch's or member's first)."""
    start = member_start(member, branch) if member is not None else branch_start(branch)
    if start.year > year:
        return 13
    return start.month if start.year == year else 1


@dataclass(frozen=True)
class Payment:
    """One month's payment of one member."""

    payment_id: int
    year: int
    month: int
    amount: Decimal
    declared_at: dt.datetime
    confirmed_at: dt.datetime | None

    @property
    def confirmed(self) -> bool:
        """Whether the secretary or committee has confirmed receipt."""
        return self.confirmed_at is not None


def _payment(row: DuesPayment) -> Payment:
    assert row.id is not None
    return Payment(row.id, row.year, row.month, row.amount, row.declared_at, row.confirmed_at)


@dataclass(frozen=True)
class DuesStatus:
    """A member's dues this year: the amount, what is paid, what is owed."""

    year: int
    month: int  # the current local month
    amount: Decimal
    first_month: int
    paid: tuple[Payment, ...] = ()
    owed: tuple[int, ...] = ()
    to_review: int = 0  # for the secretary and committee: payments awaiting confirmation


def _status(session: Session, member: Member, branch: Branch, now: dt.datetime) -> DuesStatus:
    year, month = _local_month(branch, now)
    first = first_tracked_month(branch, year, member)
    rows = session.exec(
        select(DuesPayment)
        .where(DuesPayment.member_id == member.id, DuesPayment.year == year)
        .order_by(col(DuesPayment.month))
    ).all()
    paid = tuple(_payment(r) for r in rows)
    # Owed as every view counts it: the month's dues day has begun (scheduler.records).
    due = dues_months(
        branch_plan(branch),
        zone(branch.timezone),
        since=member_start(member, branch),
        now=now,
        years=(year,),
    )
    owed = tuple(m for _y, m in owed_months(due, ((year, p.month) for p in paid)))
    review = _unconfirmed_count(session, branch) if member.role in _REVIEWERS else 0
    return DuesStatus(year, month, member.dues_amount, first, paid, owed, review)


def dues_status(db: Database, *, member_id: int | None, now: dt.datetime) -> DuesStatus | Refusal:
    """The member's dues this year (/dues)."""
    with db.read() as session:
        member = active_member(session, member_id)
        if member is None:
            return Refusal.NOT_LINKED
        branch = session.get(Branch, member.branch_id)
        assert branch is not None
        return _status(session, member, branch, now)


@dataclass(frozen=True)
class Declared:
    """The outcome of "I paid": refused, or the months recorded now (and the new status)."""

    refusal: Refusal | None
    recorded: tuple[Payment, ...] = ()
    existing: Payment | None = None  # the month's earlier declaration, on a second tap
    amount: Decimal = Decimal(0)
    event: Event | None = None
    status: DuesStatus | None = None


def _declare(
    session: Session, member: Member, year: int, month: int, now: dt.datetime
) -> Payment | None:
    """Record one month at the member's approved amount; None if already recorded."""
    values = {
        "member_id": member.id,
        "year": year,
        "month": month,
        "amount": member.dues_amount,
        "declared_at": now,
    }
    if not insert_ignore(session, DuesPayment, values, keys=["member_id", "year", "month"]):
        return None
    row = session.exec(
        select(DuesPayment).where(
            DuesPayment.member_id == member.id,
            DuesPayment.year == year,
            DuesPayment.month == month,
        )
    ).one()
    return _payment(row)


def _existing(session: Session, member_id: int, year: int, month: int) -> Payment | None:
    row = session.exec(
        select(DuesPayment).where(
            DuesPayment.member_id == member_id,
            DuesPayment.year == year,
            DuesPayment.month == month,
        )
    ).first()
    return _payment(row) if row else None


def declare_for_occurrence(
    db: Database, *, member_id: int | None, occurrence_id: int, now: dt.datetime
) -> Declared:
    """ "I paid ¥X" on a dues reminder: record that month at the member's approved amount."""
    with db.transaction() as session:
        member = active_member(session, member_id)
        event = event_for_member(session, occurrence_id, member, kind=ItemKind.DUES)
        if isinstance(event, Refusal):
            return Declared(event)
        assert member is not None and member.id is not None
        if member.dues_amount <= 0:
            return Declared(Refusal.NO_AMOUNT, event=event)
        year, month = event.local_date.year, event.local_date.month
        payment = _declare(session, member, year, month, now)
        if payment is None:
            existing = _existing(session, member.id, year, month)
            return Declared(
                Refusal.ALREADY, existing=existing, amount=member.dues_amount, event=event
            )
        return Declared(None, (payment,), amount=member.dues_amount, event=event)


def declare_months(
    db: Database, *, member_id: int | None, year: int, month: int | None, now: dt.datetime
) -> Declared:
    """Record owed months of this year from /dues: one `month`, or every owed month (None)."""
    with db.transaction() as session:
        member = active_member(session, member_id)
        if member is None or member.id is None:
            return Declared(Refusal.NOT_LINKED)
        branch = session.get(Branch, member.branch_id)
        assert branch is not None
        status = _status(session, member, branch, now)
        if year != status.year or (month is not None and not 1 <= month <= 12):
            return Declared(Refusal.UNKNOWN, status=status)
        if month is not None and month > status.month:
            return Declared(Refusal.FUTURE, status=status)
        if month is not None and month < status.first_month:
            return Declared(Refusal.UNKNOWN, status=status)
        if member.dues_amount <= 0:
            return Declared(Refusal.NO_AMOUNT, status=status)
        months = status.owed if month is None else (month,)
        recorded = [
            p for m in months if (p := _declare(session, member, year, m, now)) is not None
        ]
        if not recorded:
            existing = _existing(session, member.id, year, month) if month is not None else None
            return Declared(
                Refusal.ALREADY, existing=existing, amount=member.dues_amount, status=status
            )
        return Declared(
            None,
            tuple(recorded),
            amount=member.dues_amount,
            status=_status(session, member, branch, now),
        )


# ---------------------------------------------------------------- confirming receipt


@dataclass(frozen=True)
class PendingPayment:
    """A declared payment awaiting confirmation, with whose it is."""

    payment: Payment
    member_name: str


@dataclass(frozen=True)
class Review:
    """Declared-but-unconfirmed payments of the branch, oldest first (at most `limit`)."""

    items: tuple[PendingPayment, ...] = ()
    total: int = 0


def _unconfirmed_count(session: Session, branch: Branch) -> int:
    stmt = (
        select(func.count())
        .select_from(DuesPayment)
        .join(Member, col(Member.id) == col(DuesPayment.member_id))
        .where(Member.branch_id == branch.id, col(DuesPayment.confirmed_at).is_(None))
    )
    return int(session.exec(stmt).one())


def review(db: Database, *, actor_id: int | None, limit: int = 20) -> Review | Refusal:
    """The payments the secretary or committee should confirm."""
    with db.read() as session:
        actor = active_member(session, actor_id)
        if actor is None:
            return Refusal.NOT_LINKED
        if actor.role not in _REVIEWERS:
            return Refusal.NOT_ALLOWED
        branch = session.get(Branch, actor.branch_id)
        assert branch is not None
        stmt = (
            select(DuesPayment, Member)
            .join(Member, col(Member.id) == col(DuesPayment.member_id))
            .where(Member.branch_id == branch.id, col(DuesPayment.confirmed_at).is_(None))
            # oldest month first; a member's months together and in order
            .order_by(
                col(DuesPayment.year),
                col(DuesPayment.month),
                col(Member.name),
                col(DuesPayment.id),
            )
            .limit(limit)
        )
        items = tuple(PendingPayment(_payment(p), m.name) for p, m in session.exec(stmt).all())
        return Review(items, _unconfirmed_count(session, branch))


def confirm_listed(
    db: Database, *, actor_id: int | None, up_to: int, now: dt.datetime, limit: int = 20
) -> list[Confirmed]:
    """ "Confirm all": every payment the review lists (ids up to `up_to`, the highest shown).

    A payment declared after the list was shown has a higher id and is left for the next look.
    """
    listing = review(db, actor_id=actor_id, limit=limit)
    if isinstance(listing, Refusal):
        return [Confirmed(listing)]
    return [
        confirm_payment(db, payment_id=item.payment.payment_id, actor_id=actor_id, now=now)
        for item in listing.items
        if item.payment.payment_id <= up_to
    ]


@dataclass(frozen=True)
class Confirmed:
    """The outcome of confirming receipt of a payment."""

    refusal: Refusal | None
    item: PendingPayment | None = None
    confirmed_by: str = ""


def confirm_payment(
    db: Database, *, payment_id: int, actor_id: int | None, now: dt.datetime
) -> Confirmed:
    """Confirm that a declared payment was received (secretary or committee of the branch)."""
    with db.transaction() as session:
        actor = active_member(session, actor_id)
        if actor is None:
            return Confirmed(Refusal.NOT_LINKED)
        row = session.exec(
            select(DuesPayment).where(DuesPayment.id == payment_id).with_for_update()
        ).first()
        member = session.get(Member, row.member_id) if row else None
        if row is None or member is None or member.branch_id != actor.branch_id:
            return Confirmed(Refusal.UNKNOWN)
        if actor.role not in _REVIEWERS:
            return Confirmed(Refusal.NOT_ALLOWED)
        if row.confirmed_at is not None:
            by = session.get(Member, row.confirmed_by) if row.confirmed_by else None
            item = PendingPayment(_payment(row), member.name)
            return Confirmed(Refusal.ALREADY, item, by.name if by else "")
        row.confirmed_at, row.confirmed_by = now, actor.id
        session.add(row)
        repo.add_audit(
            session,
            branch_id=actor.branch_id,
            actor_id=actor.id,
            action="dues_confirmed",
            detail=f"payment={row.id} member={member.id} month={row.year}-{row.month:02d}",
            at=now,
        )
        return Confirmed(None, PendingPayment(_payment(row), member.name), actor.name)


# ---------------------------------------------------------------- the approved amount


@dataclass(frozen=True)
class AmountProposal:
    """A computed approved amount for a member, awaiting the secretary's confirmation."""

    refusal: Refusal | None
    member_id: int | None = None
    member_name: str = ""
    amount: Decimal = Decimal(0)
    rate: Decimal = Decimal(0)
    category: str = "employed"
    current: Decimal = Decimal(0)
    candidates: tuple[str, ...] = field(default_factory=tuple)


def propose_amount(
    db: Database, *, actor_id: int | None, name: str, income: Decimal, category: str
) -> AmountProposal:
    """Compute a member's approved amount from an income (nothing is stored)."""
    with db.read() as session:
        actor = active_member(session, actor_id)
        if actor is None:
            return AmountProposal(Refusal.NOT_LINKED)
        if actor.role != Role.SECRETARY.value:
            return AmountProposal(Refusal.NOT_ALLOWED)
        member = repo.member_by_name(session, branch_id=actor.branch_id, name=visible(name))
        if member is None or member.id is None:
            return AmountProposal(Refusal.UNKNOWN, member_name=visible(name))
        amount = dues_from_income(income, category)
        if amount > MAX_AMOUNT:
            return AmountProposal(Refusal.BAD_INPUT, member_name=member.name)
        return AmountProposal(
            None,
            member.id,
            member.name,
            amount,
            dues_rate(income, category),
            category,
            member.dues_amount,
        )


@dataclass(frozen=True)
class AmountSet:
    """The outcome of confirming an approved amount."""

    refusal: Refusal | None
    member_name: str = ""
    amount: Decimal = Decimal(0)


def set_amount(
    db: Database, *, actor_id: int | None, member_id: int, amount: Decimal, now: dt.datetime
) -> AmountSet:
    """Store a member's approved monthly amount (the secretary of their branch), audited."""
    with db.transaction() as session:
        actor = active_member(session, actor_id)
        if actor is None:
            return AmountSet(Refusal.NOT_LINKED)
        member = session.get(Member, member_id)
        if member is None or member.branch_id != actor.branch_id:
            return AmountSet(Refusal.UNKNOWN)
        if actor.role != Role.SECRETARY.value:
            return AmountSet(Refusal.NOT_ALLOWED)
        if not Decimal(0) < amount <= MAX_AMOUNT:
            return AmountSet(Refusal.BAD_INPUT, member.name)
        if member.dues_amount == amount:
            return AmountSet(Refusal.ALREADY, member.name, amount)
        old = member.dues_amount
        member.dues_amount = amount
        session.add(member)
        repo.add_audit(
            session,
            branch_id=actor.branch_id,
            actor_id=actor.id,
            action="dues_amount_set",
            detail=f"member={member.id} from={old} to={amount}",
            at=now,
        )
        return AmountSet(None, member.name, amount)
