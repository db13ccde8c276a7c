"""Pure texts of /dues, "I paid", the review list and the approved amount: facts -> str."""

from __future__ import annotations

from decimal import Decimal

from bot.buttons import button
from bot.i18n import Translator
from bot.render.text import Keyboard, clip, refusal_text
from bot.services.dues import (
    AmountProposal,
    AmountSet,
    Confirmed,
    Declared,
    DuesStatus,
    Payment,
    PendingPayment,
    Review,
)
from bot.services.events import Refusal

CATEGORY_WORDS = {
    "employed": "employed",
    "在职": "employed",
    "retired": "retired",
    "退休": "retired",
    "student": "student",
    "学生": "student",
}


def usage(tr: Translator) -> str:
    """How to use /dues and its secretary forms."""
    return tr.gettext(
        "Usage: /dues — your dues; /dues review — payments to confirm; "
        "/dues set NAME INCOME [retired|student] — compute a member's approved amount."
    )


def _payment_line(payment: Payment, tr: Translator) -> str:
    _ = tr.gettext
    if payment.confirmed:
        text = _("{month}: {amount} ✅ confirmed")
    else:
        text = _("{month}: {amount} declared on {day}, awaiting confirmation")
    return text.format(
        month=tr.month_name(payment.year, payment.month),
        amount=tr.money(payment.amount),
        day=tr.short_day(tr.local(payment.declared_at).date()),
    )


def status_text(status: DuesStatus, tr: Translator) -> str:
    """/dues: this month's amount, what is paid and what is owed this year."""
    _ = tr.gettext
    lines = [_("Your dues in {year}").format(year=status.year)]
    if status.amount > 0:
        lines.append(_("Approved monthly amount: {amount}").format(amount=tr.money(status.amount)))
    else:
        lines.append(refusal_text(Refusal.NO_AMOUNT, tr))
    lines += ["", _("Paid:")]
    lines += [f"  {_payment_line(p, tr)}" for p in status.paid] or ["  " + _("nothing yet")]
    lines += ["", _("Owed:")]
    if status.owed:
        months = ", ".join(tr.month_name(status.year, m) for m in status.owed)
        total = tr.money(status.amount * len(status.owed))
        lines.append("  " + _("{months} ({total})").format(months=months, total=total))
    else:
        lines.append("  " + _("nothing — thank you!"))
    if status.to_review:
        lines += [
            "",
            _("Payments awaiting your confirmation: {n}. Send /dues review.").format(
                n=status.to_review
            ),
        ]
    return "\n".join(lines)


def status_keyboard(status: DuesStatus, tr: Translator) -> Keyboard:
    """One "I paid" button per owed month, and one for all of them."""
    _ = tr.gettext
    if status.amount <= 0 or not status.owed:
        return []
    rows = [
        [
            (
                _("I paid {month} ({amount})").format(
                    month=tr.month_name(status.year, m), amount=tr.money(status.amount)
                ),
                button("pm", status.year, m),
            )
        ]
        for m in status.owed
    ]
    if len(status.owed) > 1:
        total = tr.money(status.amount * len(status.owed))
        rows.append(
            [
                (
                    _("I paid all owed months ({total})").format(total=total),
                    button("pa", status.year),
                )
            ]
        )
    return rows


def declared_toast(declared: Declared, tr: Translator) -> str:
    """The answer to an "I paid" tap."""
    _ = tr.gettext
    if declared.refusal is Refusal.ALREADY and declared.existing is not None:
        return _("Already recorded: {amount} for {month}.").format(
            amount=tr.money(declared.existing.amount),
            month=tr.month_name(declared.existing.year, declared.existing.month),
        )
    if declared.refusal is not None:
        return refusal_text(declared.refusal, tr)
    months = ", ".join(tr.month_name(p.year, p.month) for p in declared.recorded)
    total = sum((p.amount for p in declared.recorded), Decimal(0))
    return _(
        "Recorded: {amount} for {months}. The secretary or committee will confirm it."
    ).format(amount=tr.money(total), months=months)


def review_text(review: Review, tr: Translator) -> str:
    """/dues review: declared payments awaiting confirmation."""
    _ = tr.gettext
    if not review.items:
        return _("No payments await confirmation.")
    lines = [_("Payments awaiting confirmation: {n}").format(n=review.total)]
    lines += [f"• {_pending_line(item, tr)}" for item in review.items]
    if review.total > len(review.items):
        lines.append(_("… and {n} more after these.").format(n=review.total - len(review.items)))
    return "\n".join(lines)


def _pending_line(item: PendingPayment, tr: Translator) -> str:
    return tr.gettext("{name} — {month} — {amount} (declared {day})").format(
        name=clip(item.member_name, 40),
        month=tr.month_name(item.payment.year, item.payment.month),
        amount=tr.money(item.payment.amount),
        day=tr.short_day(tr.local(item.payment.declared_at).date()),
    )


def review_keyboard(review: Review, tr: Translator) -> Keyboard:
    """One Confirm button per listed payment, and Confirm all when there are several."""
    _ = tr.gettext
    rows: Keyboard = [
        [
            (
                _("✓ {name}, {month}").format(
                    name=item.member_name[:30],
                    month=tr.month_name(item.payment.year, item.payment.month),
                ),
                button("dc", item.payment.payment_id),
            )
        ]
        for item in review.items
    ]
    if len(review.items) > 1:
        highest = max(item.payment.payment_id for item in review.items)
        label = _("✓ Confirm all {n} listed").format(n=len(review.items))
        rows.append([(label, button("da", highest))])
    return rows


def confirmed_all_toast(done: int, tr: Translator) -> str:
    """The answer to Confirm all."""
    return tr.ngettext("{n} payment confirmed.", "{n} payments confirmed.", done).format(n=done)


def confirmed_toast(confirmed: Confirmed, tr: Translator) -> str:
    """The answer to a Confirm receipt tap."""
    _ = tr.gettext
    if confirmed.refusal is Refusal.ALREADY:
        return _("Already confirmed by {name}.").format(name=confirmed.confirmed_by)
    if confirmed.refusal is not None:
        return refusal_text(confirmed.refusal, tr)
    assert confirmed.item is not None
    return _("Confirmed: {name}, {month}.").format(
        name=confirmed.item.member_name,
        month=tr.month_name(confirmed.item.payment.year, confirmed.item.payment.month),
    )


def proposal_text(proposal: AmountProposal, income: Decimal, tr: Translator) -> str:
    """The computed approved amount, before the secretary confirms it."""
    _ = tr.gettext
    if proposal.refusal is Refusal.UNKNOWN:
        return _("There is no member called {name} in your branch.").format(
            name=proposal.member_name
        )
    if proposal.refusal is not None:
        return refusal_text(proposal.refusal, tr)
    if proposal.category == "student":
        basis = _("student: a flat {amount}").format(amount=tr.money(proposal.amount))
    else:
        # The income itself is not repeated: it must not linger in the chat.
        basis = _("{rate}% of the monthly income").format(rate=f"{proposal.rate * 100:g}")
    return _(
        "{name}: approved monthly dues {amount} ({basis}). Currently {current}. "
        "Tap Confirm to store the amount; the income is not stored."
    ).format(
        name=proposal.member_name,
        amount=tr.money(proposal.amount),
        basis=basis,
        current=tr.money(proposal.current),
    )


def proposal_keyboard(proposal: AmountProposal, tr: Translator) -> Keyboard:
    """Confirm the computed amount (the amount travels in fen in the button)."""
    if proposal.refusal is not None or proposal.member_id is None:
        return []
    fen = int(proposal.amount * 100)
    label = tr.gettext("Confirm {amount}").format(amount=tr.money(proposal.amount))
    return [[(label, button("ds", proposal.member_id, fen))]]


def amount_set_text(result: AmountSet, tr: Translator) -> str:
    """The answer once the approved amount is stored (or why not)."""
    _ = tr.gettext
    if result.refusal in (None, Refusal.ALREADY):
        return _("Saved: {name}'s approved monthly dues are {amount}.").format(
            name=result.member_name, amount=tr.money(result.amount)
        )
    assert result.refusal is not None
    return refusal_text(result.refusal, tr)
