"""Dues: the official brackets, "I paid", /dues status, confirming receipt, the approved amount."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from bot.services import dues
from bot.services.dues import dues_from_income
from bot.services.events import Refusal
from storage.db import Database
from storage.models import AuditEntry, DuesPayment, Member
from tests.bot.answers_fixtures import World, cancel_occurrence, count, seed

NOW = dt.datetime(2026, 3, 27, 2, 0, tzinfo=dt.UTC)  # dues day, 10:00 Shanghai


@pytest.mark.parametrize(
    ("income", "category", "amount"),
    [
        ("0", "employed", "0.00"),
        ("3000", "employed", "15.00"),
        ("3000.01", "employed", "30.00"),
        ("2999.99", "employed", "15.00"),  # 14.99995 rounds half up
        ("5000", "employed", "50.00"),
        ("5000.01", "employed", "75.00"),
        ("10000", "employed", "150.00"),
        ("10000.01", "employed", "200.00"),
        ("12345.67", "employed", "246.91"),
        ("5000", "retired", "25.00"),
        ("5000.01", "retired", "50.00"),
        ("8000", "student", "0.20"),
    ],
)
def test_official_brackets(income: str, category: str, amount: str) -> None:
    result = dues_from_income(Decimal(income), category)
    assert isinstance(result, Decimal)
    assert result == Decimal(amount) and result.as_tuple().exponent == -2


@given(st.decimals(min_value=0, max_value=10**6, places=2))
def test_amount_is_a_whole_fen_and_grows_with_income(income: Decimal) -> None:
    amount = dues_from_income(income)
    assert amount.as_tuple().exponent == -2
    assert dues_from_income(income + Decimal("1000.00")) >= amount


def test_negative_income_and_unknown_category_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        dues_from_income(Decimal(-1))
    with pytest.raises(ValueError, match="category"):
        dues_from_income(Decimal(100), "pensioner")


def _paid(db: Database, w: World, member: str = "Member Li") -> dues.Declared:
    return dues.declare_for_occurrence(db, member_id=w.ids[member], occurrence_id=w.dues, now=NOW)


def test_i_paid_records_that_month_at_the_approved_amount(db: Database) -> None:
    w = seed(db)
    declared = _paid(db, w)
    assert declared.refusal is None
    (payment,) = declared.recorded
    assert (payment.year, payment.month, payment.amount) == (2026, 3, Decimal("12.50"))
    assert not payment.confirmed


def test_second_i_paid_records_nothing_more(db: Database) -> None:
    w = seed(db)
    _paid(db, w)
    again = _paid(db, w)
    assert again.refusal is Refusal.ALREADY and again.existing is not None
    assert count(db, DuesPayment) == 1


def test_i_paid_without_an_approved_amount_is_refused(db: Database) -> None:
    w = seed(db)
    with db.transaction() as s:
        member = s.get(Member, w.ids["Member Li"])
        assert member is not None
        member.dues_amount = Decimal("0.00")
        s.add(member)
    assert _paid(db, w).refusal is Refusal.NO_AMOUNT
    assert count(db, DuesPayment) == 0


def test_i_paid_on_a_meeting_or_cancelled_dues_day_is_refused(db: Database) -> None:
    w = seed(db)
    wrong = dues.declare_for_occurrence(
        db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=NOW
    )
    cancel_occurrence(db, w.dues)
    assert wrong.refusal is Refusal.WRONG_KIND
    assert _paid(db, w).refusal is Refusal.CANCELLED
    assert count(db, DuesPayment) == 0


def test_status_lists_paid_and_owed_months_of_this_year(db: Database) -> None:
    w = seed(db)
    _paid(db, w)
    status = dues.dues_status(db, member_id=w.ids["Member Li"], now=NOW)
    assert isinstance(status, dues.DuesStatus)
    assert (status.year, status.month, status.amount) == (2026, 3, Decimal("12.50"))
    assert [p.month for p in status.paid] == [3]
    assert status.owed == (1, 2)


def test_several_owed_months_are_declared_at_once(db: Database) -> None:
    w = seed(db)
    declared = dues.declare_months(
        db, member_id=w.ids["Member Li"], year=2026, month=None, now=NOW
    )
    assert [p.month for p in declared.recorded] == [1, 2, 3]
    assert declared.status is not None and declared.status.owed == ()
    again = dues.declare_months(db, member_id=w.ids["Member Li"], year=2026, month=None, now=NOW)
    assert again.refusal is Refusal.ALREADY
    assert count(db, DuesPayment) == 3


@pytest.mark.parametrize(
    ("year", "month", "refusal"),
    [(2026, 4, Refusal.FUTURE), (2025, 12, Refusal.UNKNOWN), (2026, 13, Refusal.UNKNOWN)],
)
def test_months_outside_this_years_owed_range_are_refused(
    db: Database, year: int, month: int, refusal: Refusal
) -> None:
    w = seed(db)
    declared = dues.declare_months(
        db, member_id=w.ids["Member Li"], year=year, month=month, now=NOW
    )
    assert declared.refusal is refusal
    assert count(db, DuesPayment) == 0


def test_tracking_starts_in_the_branchs_first_month(db: Database) -> None:
    w = seed(db, now=dt.datetime(2026, 2, 10, tzinfo=dt.UTC))
    status = dues.dues_status(db, member_id=w.ids["Member Li"], now=NOW)
    assert isinstance(status, dues.DuesStatus)
    assert status.owed == (2, 3)
    early = dues.declare_months(db, member_id=w.ids["Member Li"], year=2026, month=1, now=NOW)
    assert early.refusal is Refusal.UNKNOWN


def test_committee_confirms_receipt_once_and_it_is_audited(db: Database) -> None:
    w = seed(db)
    (payment,) = _paid(db, w).recorded
    listing = dues.review(db, actor_id=w.ids["Committee Zhao"])
    assert isinstance(listing, dues.Review)
    assert [(i.member_name, i.payment.month) for i in listing.items] == [("Member Li", 3)]
    first = dues.confirm_payment(
        db, payment_id=payment.payment_id, actor_id=w.ids["Committee Zhao"], now=NOW
    )
    second = dues.confirm_payment(
        db, payment_id=payment.payment_id, actor_id=w.ids["Secretary Wang"], now=NOW
    )
    assert first.refusal is None and first.confirmed_by == "Committee Zhao"
    assert second.refusal is Refusal.ALREADY and second.confirmed_by == "Committee Zhao"
    assert count(db, AuditEntry, action="dues_confirmed") == 1
    after = dues.review(db, actor_id=w.ids["Secretary Wang"])
    assert isinstance(after, dues.Review) and after.total == 0


def test_members_and_other_branches_cannot_confirm(db: Database) -> None:
    w = seed(db)
    other = seed(db, name="二支部", members=[("Other Ma", 3001, "secretary", "G")])
    (payment,) = _paid(db, w).recorded
    by_member = dues.confirm_payment(
        db, payment_id=payment.payment_id, actor_id=w.ids["Member Sun"], now=NOW
    )
    by_stranger = dues.confirm_payment(
        db, payment_id=payment.payment_id, actor_id=other.ids["Other Ma"], now=NOW
    )
    assert by_member.refusal is Refusal.NOT_ALLOWED
    assert by_stranger.refusal is Refusal.UNKNOWN
    assert dues.review(db, actor_id=w.ids["Member Sun"]) is Refusal.NOT_ALLOWED
    assert count(db, DuesPayment, confirmed_by=None) == 1


def test_secretary_sets_the_approved_amount_and_only_the_amount_is_stored(db: Database) -> None:
    w = seed(db)
    proposal = dues.propose_amount(
        db,
        actor_id=w.ids["Secretary Wang"],
        name="Member Li",
        income=Decimal("6000"),
        category="employed",
    )
    assert proposal.refusal is None and proposal.amount == Decimal("90.00")
    assert proposal.member_id == w.ids["Member Li"]
    done = dues.set_amount(
        db,
        actor_id=w.ids["Secretary Wang"],
        member_id=w.ids["Member Li"],
        amount=proposal.amount,
        now=NOW,
    )
    assert done.refusal is None
    with db.read() as s:
        member = s.get(Member, w.ids["Member Li"])
        assert member is not None and member.dues_amount == Decimal("90.00")
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "dues_amount_set")).one()
    assert "6000" not in audit.detail  # the income is never stored


def test_only_the_secretary_sets_amounts(db: Database) -> None:
    w = seed(db)
    proposal = dues.propose_amount(
        db,
        actor_id=w.ids["Committee Zhao"],
        name="Member Li",
        income=Decimal("6000"),
        category="employed",
    )
    done = dues.set_amount(
        db,
        actor_id=w.ids["Committee Zhao"],
        member_id=w.ids["Member Li"],
        amount=Decimal("1"),
        now=NOW,
    )
    unknown = dues.propose_amount(
        db,
        actor_id=w.ids["Secretary Wang"],
        name="Nobody",
        income=Decimal("6000"),
        category="employed",
    )
    assert proposal.refusal is Refusal.NOT_ALLOWED
    assert done.refusal is Refusal.NOT_ALLOWED
    assert unknown.refusal is Refusal.UNKNOWN
    assert count(db, AuditEntry) == 0
