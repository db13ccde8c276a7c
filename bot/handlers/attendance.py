"""Meeting buttons: Attend, Request leave, Check in; Approve / Decline leave; 补课 notes."""

from __future__ import annotations

from telegram import Message, Update

from bot.access import Need
from bot.buttons import Button
from bot.concurrency import off_the_loop
from bot.context import BranchContext
from bot.handlers.gate import sender_of
from bot.handlers.taps import (
    answer,
    edit,
    in_group,
    on_button,
    query_of,
    refresh_after_answer,
    refresh_for_member,
    refresh_message,
    send_private,
)
from bot.i18n import translator
from bot.render import meetings as text
from bot.render.text import refusal_text
from bot.services import attendance, conversation, leave, makeup
from bot.services.events import Refusal


@on_button("at", need=Need.MEMBER)
async def on_attend(update: Update, context: BranchContext, tapped: Button) -> None:
    """Record that the presser will attend (withdrawing a leave request)."""
    result = await off_the_loop(
        context.db,
        attendance.attend,
        context.db,
        member_id=sender_of(context).member_id,
        occurrence_id=tapped.id,
        now=context.clock.now(),
    )
    await answer(query_of(update), text.attend_toast(result, context.tr))
    if result.changed:
        await refresh_after_answer(update, context, result)


@on_button("ci", need=Need.MEMBER)
async def on_check_in(update: Update, context: BranchContext, tapped: Button) -> None:
    """Record a check-in tapped on a meeting reminder."""
    result = await off_the_loop(
        context.db,
        attendance.check_in,
        context.db,
        member_id=sender_of(context).member_id,
        occurrence_id=tapped.id,
        now=context.clock.now(),
    )
    await answer(query_of(update), text.check_in_toast(result, context.tr))
    if result.changed:
        await refresh_after_answer(update, context, result)


@on_button("lv", need=Need.MEMBER)
async def on_request_leave(update: Update, context: BranchContext, tapped: Button) -> None:
    """Ask the presser, privately, for the reason of their leave request."""
    sender, query, now = sender_of(context), query_of(update), context.clock.now()
    message = query.message
    result = leave.start_leave_request(
        context.db,
        member_id=sender.member_id,
        telegram_id=sender.telegram_id,
        occurrence_id=tapped.id,
        now=now,
        reply_to=(message.chat.id, message.message_id) if isinstance(message, Message) else None,
    )
    if result.event is None or not result.ok:
        await answer(query, text.leave_toast(result, context.tr, in_group=in_group(update)))
        return
    asked = await send_private(
        context, sender.telegram_id, text.reason_question(result.event, context.tr)
    )
    if asked is None:  # they never opened a private chat with the bot
        conversation.cancel(context.db, sender.telegram_id, now=now)
        await answer(query, text.start_private_chat(context.tr), alert=True)
        return
    await answer(query, text.leave_toast(result, context.tr, in_group=in_group(update)))


async def leave_reason(update: Update, context: BranchContext) -> None:
    """The member's reason (their next private message): store it, tell the approvers."""
    assert update.message is not None
    sender = sender_of(context)
    request = leave.request_leave(
        context.db,
        member_id=sender.member_id,
        telegram_id=sender.telegram_id,
        reason=update.message.text or "",
        now=context.clock.now(),
    )
    refusal = request.answer.refusal
    if refusal is not None:
        await update.message.reply_text(
            text.reason_retry(context.tr)
            if refusal is Refusal.BAD_INPUT
            else refusal_text(refusal, context.tr)
        )
        return
    await update.message.reply_text(text.leave_sent(request, context.tr))
    event = request.answer.event
    assert event is not None and request.attendance_id is not None
    for approver in request.approvers:
        tr = translator(approver.locale, event.branch_timezone)
        await send_private(
            context,
            approver.telegram_id,
            text.leave_request_text(request, tr),
            text.leave_request_keyboard(request.attendance_id, tr),
        )
    if request.reminder is not None:
        await refresh_message(context, *request.reminder, event.occurrence_id)


@on_button("la", "ld", need=Need.COMMITTEE)
async def on_decide_leave(update: Update, context: BranchContext, tapped: Button) -> None:
    """Approve or decline a leave request; the member is told the decision."""
    query = query_of(update)
    decision = leave.decide_leave(
        context.db,
        attendance_id=tapped.id,
        actor_id=sender_of(context).member_id,
        approve=tapped.action == "la",
        now=context.clock.now(),
    )
    await answer(query, text.decision_toast(decision, context.tr))
    if decision.refusal not in (None, Refusal.DECIDED) or decision.event is None:
        return
    original = query.message.text if isinstance(query.message, Message) else None
    await edit(
        query, "\n".join(filter(None, [original, text.decision_line(decision, context.tr)]))
    )
    if decision.refusal is None and decision.member_telegram_id is not None:
        tr = translator(decision.member_locale, decision.event.branch_timezone)
        await send_private(
            context, decision.member_telegram_id, text.decision_for_member(decision, tr)
        )
    if decision.refusal is None and decision.member_id is not None:
        # The member's reminder said "leave requested, awaiting approval": show the decision.
        for chat_id, message_id in decision.cards:
            await refresh_for_member(
                context, chat_id, message_id, decision.event.occurrence_id, decision.member_id
            )


@on_button("mu", need=Need.COMMITTEE)
async def on_make_up(update: Update, context: BranchContext, tapped: Button) -> None:
    """Ask the secretary for the note of a make-up session (补课)."""
    sender, query = sender_of(context), query_of(update)
    result = makeup.start_make_up(
        context.db,
        actor_id=sender.member_id,
        telegram_id=sender.telegram_id,
        occurrence_id=tapped.args[0],
        member_id=tapped.args[1],
        now=context.clock.now(),
    )
    if result.refusal is not None or result.event is None:
        await answer(query, refusal_text(result.refusal or Refusal.UNKNOWN, context.tr))
        return
    question = text.make_up_question(result.member_name, result.event, context.tr)
    asked = await send_private(context, sender.telegram_id, question)
    await answer(
        query,
        text.make_up_asked(context.tr) if asked else text.start_private_chat(context.tr),
        alert=not asked,
    )


async def make_up_note(update: Update, context: BranchContext) -> None:
    """The secretary's note for a make-up session: record it."""
    assert update.message is not None
    sender = sender_of(context)
    result = makeup.make_up_from_note(
        context.db,
        actor_id=sender.member_id,
        telegram_id=sender.telegram_id,
        note=update.message.text or "",
        now=context.clock.now(),
    )
    if result.refusal is None and result.event is not None:
        reply = text.make_up_done(result.member_name, result.event, context.tr)
    elif result.refusal is Refusal.BAD_INPUT:
        reply = text.note_retry(context.tr)
    else:
        reply = refusal_text(result.refusal or Refusal.UNKNOWN, context.tr)
    await update.message.reply_text(reply)
