"""/dues and the dues buttons: I paid, several owed months at once, confirm receipt, amounts."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from telegram import Message, Update
from telegram.error import TelegramError

from bot.access import Need
from bot.buttons import Button
from bot.context import BranchContext
from bot.handlers.gate import sender_of
from bot.handlers.taps import answer, edit, on_button, query_of, refresh_reminder
from bot.keyboards import markup
from bot.render import dues as text
from bot.render.text import refusal_text
from bot.services import dues
from bot.services.events import Refusal

log = logging.getLogger(__name__)


async def dues_command(update: Update, context: BranchContext) -> None:
    """/dues, /dues review and /dues set NAME INCOME [retired|student]."""
    assert update.message is not None
    args = context.args or []
    if args[:1] == ["review"]:
        await _review(update, context)
    elif args[:1] == ["set"]:
        await _propose(update, context, args[1:])
    elif args:
        await update.message.reply_text(text.usage(context.tr))
    else:
        status = dues.dues_status(
            context.db, member_id=sender_of(context).member_id, now=context.clock.now()
        )
        if isinstance(status, dues.DuesStatus):
            await update.message.reply_text(
                text.status_text(status, context.tr),
                reply_markup=markup(text.status_keyboard(status, context.tr)),
            )
        else:
            await update.message.reply_text(refusal_text(status, context.tr))


async def _review(update: Update, context: BranchContext) -> None:
    """The declared payments awaiting confirmation (secretary and committee)."""
    assert update.message is not None
    listing = dues.review(context.db, actor_id=sender_of(context).member_id)
    if isinstance(listing, dues.Review):
        await update.message.reply_text(
            text.review_text(listing, context.tr),
            reply_markup=markup(text.review_keyboard(listing, context.tr)),
        )
    else:
        await update.message.reply_text(refusal_text(listing, context.tr))


def parse_set(args: list[str]) -> tuple[str, Decimal, str] | None:
    """NAME (may hold spaces) INCOME [category] from /dues set; None if malformed."""
    category = "employed"
    if args and args[-1].lower() in text.CATEGORY_WORDS:
        category = text.CATEGORY_WORDS[args[-1].lower()]
        args = args[:-1]
    if len(args) < 2:
        return None
    try:
        income = Decimal(args[-1].replace(",", "").replace("¥", ""))
    except InvalidOperation:
        return None
    if not income.is_finite() or income < 0 or income > Decimal(10) ** 7:
        return None
    return " ".join(args[:-1]), income, category


async def _propose(update: Update, context: BranchContext, args: list[str]) -> None:
    """Compute an approved amount from an income and offer to store it (the income is not)."""
    assert update.message is not None
    parsed_args = parse_set(args)
    if parsed_args is None:
        await update.message.reply_text(text.usage(context.tr))
        return
    name, income, category = parsed_args
    # The income is personal: the command that carries it is deleted at once (bots may delete
    # incoming messages in private chats), and the proposal does not repeat it.
    await _delete_quietly(update.message)
    proposal = dues.propose_amount(
        context.db,
        actor_id=sender_of(context).member_id,
        name=name,
        income=income,
        category=category,
    )
    await update.message.reply_text(
        text.proposal_text(proposal, income, context.tr),
        reply_markup=markup(text.proposal_keyboard(proposal, context.tr)),
    )


async def _delete_quietly(message: Message) -> None:
    try:
        await message.delete()
    except TelegramError:  # older than 48 hours, or already gone: nothing more we can do
        log.warning("could not delete a /dues set message")


@on_button("pd", need=Need.MEMBER)
async def on_paid(update: Update, context: BranchContext, tapped: Button) -> None:
    """ "I paid ¥X" on a dues reminder: record that month at the member's approved amount."""
    declared = dues.declare_for_occurrence(
        context.db,
        member_id=sender_of(context).member_id,
        occurrence_id=tapped.id,
        now=context.clock.now(),
    )
    await answer(query_of(update), text.declared_toast(declared, context.tr))
    if declared.refusal is None:
        await refresh_reminder(update, context, tapped.id)


@on_button("pm", "pa", need=Need.MEMBER)
async def on_pay_months(update: Update, context: BranchContext, tapped: Button) -> None:
    """An owed month (or all of them) confirmed from /dues; the /dues message is re-rendered."""
    declared = dues.declare_months(
        context.db,
        member_id=sender_of(context).member_id,
        year=tapped.args[0],
        month=tapped.args[1] if tapped.action == "pm" else None,
        now=context.clock.now(),
    )
    query = query_of(update)
    await answer(query, text.declared_toast(declared, context.tr))
    if declared.refusal is None and declared.status is not None:
        status = declared.status
        await edit(
            query, text.status_text(status, context.tr), text.status_keyboard(status, context.tr)
        )


@on_button("dc", need=Need.COMMITTEE)
async def on_confirm_payment(update: Update, context: BranchContext, tapped: Button) -> None:
    """Confirm receipt of a declared payment; the review list is re-rendered."""
    actor_id = sender_of(context).member_id
    confirmed = dues.confirm_payment(
        context.db, payment_id=tapped.id, actor_id=actor_id, now=context.clock.now()
    )
    query = query_of(update)
    await answer(query, text.confirmed_toast(confirmed, context.tr))
    listing = dues.review(context.db, actor_id=actor_id)
    if isinstance(listing, dues.Review):
        await edit(
            query, text.review_text(listing, context.tr), text.review_keyboard(listing, context.tr)
        )


@on_button("da", need=Need.COMMITTEE)
async def on_confirm_all(update: Update, context: BranchContext, tapped: Button) -> None:
    """Confirm every payment the review listed; the list is re-rendered."""
    actor_id = sender_of(context).member_id
    results = dues.confirm_listed(
        context.db, actor_id=actor_id, up_to=tapped.id, now=context.clock.now()
    )
    query = query_of(update)
    refused = next((r.refusal for r in results if r.refusal not in (None, Refusal.ALREADY)), None)
    if refused is not None:
        await answer(query, refusal_text(refused, context.tr))
        return
    await answer(
        query, text.confirmed_all_toast(sum(r.refusal is None for r in results), context.tr)
    )
    listing = dues.review(context.db, actor_id=actor_id)
    if isinstance(listing, dues.Review):
        await edit(
            query, text.review_text(listing, context.tr), text.review_keyboard(listing, context.tr)
        )


@on_button("ds", need=Need.SECRETARY)
async def on_set_amount(update: Update, context: BranchContext, tapped: Button) -> None:
    """Store the approved amount the secretary confirmed (it travels in fen in the button)."""
    member_id, fen = tapped.args
    result = dues.set_amount(
        context.db,
        actor_id=sender_of(context).member_id,
        member_id=member_id,
        amount=Decimal(fen) / 100,
        now=context.clock.now(),
    )
    reply = text.amount_set_text(result, context.tr)
    await answer(query_of(update), reply)
    if result.refusal is None:
        await edit(query_of(update), reply)
