"""/minutes and the meeting-record flow (会议记录): the ask's button, the steps, files.

The flow's state is in the database (bot/services/minutes.py, bot/services/conversation.py),
so every step reads it afresh: after a restart the person answers the question they were
asked and goes on. Every button names what it acts on and is re-checked there: a forged or
stale one (a step already passed) is refused with a toast and writes nothing.
"""

from __future__ import annotations

from telegram import Message, Update

from bot.access import Need
from bot.buttons import Button
from bot.concurrency import off_the_loop
from bot.context import BranchContext
from bot.handlers.gate import sender_of
from bot.handlers.taps import answer, edit, on_button, query_of, send_private
from bot.keyboards import markup
from bot.render import minutes as text
from bot.render.attendance import page_of, roster_keyboard, roster_text
from bot.render.meetings import start_private_chat
from bot.render.privacy import file_refusal
from bot.render.text import refusal_text
from bot.services import minutes
from bot.services.attendance_admin import AttendanceError, roster
from bot.services.changes import EventRef
from bot.services.events import Refusal
from bot.services.files import SentFile, check_form_file
from bot.services.minutes import MinutesState


async def _reply(message: Message, state: MinutesState, context: BranchContext) -> None:
    await message.reply_text(
        text.prompt(state, context.tr), reply_markup=markup(text.keyboard(state, context.tr))
    )


async def minutes_command(update: Update, context: BranchContext) -> None:
    """/minutes: the meetings of the last two months to record, and the records made."""
    assert update.message is not None
    sender = sender_of(context)
    found = await off_the_loop(
        context.db,
        minutes.listing,
        context.db,
        member_id=sender.member_id,
        now=context.clock.now(),
    )
    if isinstance(found, Refusal):
        await update.message.reply_text(refusal_text(found, context.tr))
        return
    await update.message.reply_text(
        text.list_text(found, context.tr),
        reply_markup=markup(text.list_keyboard(found, context.tr)),
    )


@on_button("mr", need=Need.RECORDER, private_only=True)
async def on_record(update: Update, context: BranchContext, tapped: Button) -> None:
    """ "Record the meeting" (the ask, or a meeting picked in /minutes): start privately."""
    sender, query = sender_of(context), query_of(update)
    occurrence_id, scope = tapped.args
    state = await off_the_loop(
        context.db,
        minutes.start,
        context.db,
        member_id=sender.member_id,
        telegram_id=sender.telegram_id,
        occurrence_id=occurrence_id,
        scope=scope,
        now=context.clock.now(),
    )
    if state.refusal is not None:
        await answer(query, text.prompt(state, context.tr), alert=True)
        return
    rows = text.keyboard(state, context.tr)
    sent = await send_private(context, sender.telegram_id, text.prompt(state, context.tr), rows)
    await answer(query, None if sent else start_private_chat(context.tr), alert=sent is None)


@on_button("mc", need=Need.RECORDER, private_only=True)
async def on_choice(update: Update, context: BranchContext, tapped: Button) -> None:
    """A choice of the flow: held or not, postponed or cancelled, a name, Done, Save."""
    sender, query = sender_of(context), query_of(update)
    choice, value = tapped.args
    state = await off_the_loop(
        context.db,
        minutes.choose,
        context.db,
        member_id=sender.member_id,
        telegram_id=sender.telegram_id,
        choice=choice,
        value=value,
        now=context.clock.now(),
    )
    if state.refusal is not None:
        await answer(query, text.prompt(state, context.tr), alert=True)
        return
    if state.show_roster:
        await answer(query)
        await _send_roster(context, state)
        return
    await answer(query)
    await edit(query, text.prompt(state, context.tr), text.keyboard(state, context.tr))


async def _send_roster(context: BranchContext, state: MinutesState) -> None:
    """The /attendance roster of the meeting, as a new message: the review stays to Save."""
    sender = sender_of(context)
    assert sender.branch_id is not None
    try:
        view = await off_the_loop(
            context.db,
            roster,
            context.db,
            branch_id=sender.branch_id,
            event=EventRef(occurrence_id=state.occurrence_id),
            now=context.clock.now(),
        )
    except AttendanceError:
        return
    number = page_of(view, 0)
    await send_private(
        context,
        sender.telegram_id,
        roster_text(view, number, context.tr),
        roster_keyboard(view, number),
    )


async def minutes_text(update: Update, context: BranchContext) -> None:
    """A typed answer of the flow: the new time, the reason, the topic, a name, the summary."""
    message = update.message
    assert message is not None
    sender, now = sender_of(context), context.clock.now()
    if await off_the_loop(context.db, minutes.needs_time, context.db, sender.telegram_id, now=now):
        state = await off_the_loop(
            context.db,
            minutes.postpone,
            context.db,
            member_id=sender.member_id,
            telegram_id=sender.telegram_id,
            text=message.text or "",
            now=now,
        )
    else:
        state = await off_the_loop(
            context.db,
            minutes.answer_text,
            context.db,
            member_id=sender.member_id,
            telegram_id=sender.telegram_id,
            text=message.text or "",
            now=now,
        )
    await _reply(message, state, context)


async def minutes_file(update: Update, context: BranchContext) -> None:
    """A photo or document of the minutes or the sign-in sheet."""
    message = update.message
    assert message is not None
    if message.photo:
        largest = message.photo[-1]
        sent = SentFile(largest.file_id, photo=True, size=largest.file_size)
    elif message.document is not None:
        doc = message.document
        sent = SentFile(doc.file_id, False, doc.mime_type, doc.file_size, doc.file_name)
    else:
        return
    problem = check_form_file(sent)
    if problem is not None:  # refused: the flow still waits for files
        await message.reply_text(file_refusal(problem, sent.size, context.tr))
        return
    sender = sender_of(context)
    state = await off_the_loop(
        context.db,
        minutes.add_file,
        context.db,
        member_id=sender.member_id,
        telegram_id=sender.telegram_id,
        file_id=sent.file_id,
        photo=sent.photo,
        now=context.clock.now(),
    )
    await message.reply_text(
        text.file_toast(state, context.tr), reply_markup=markup(text.keyboard(state, context.tr))
    )
