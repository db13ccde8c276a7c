"""/talks: a party group leader hands in the quarter's talk records, one step at a time.

The flow's state is in the database (bot/services/conversation.py), so every step below reads
it afresh: after a restart the leader answers the question they were asked and goes on.
"""

from __future__ import annotations

from telegram import Message, Update

from bot.access import Need
from bot.buttons import Button
from bot.context import BranchContext
from bot.handlers.gate import sender_of
from bot.handlers.taps import answer, edit, on_button, query_of, send_private
from bot.keyboards import markup
from bot.render import talks as text
from bot.render.meetings import start_private_chat
from bot.render.privacy import file_refusal
from bot.render.text import refusal_text
from bot.services import talks
from bot.services.events import Refusal
from bot.services.files import SentFile, check_form_file
from bot.services.talks import TalksState


async def _show(message: Message, state: TalksState, context: BranchContext) -> None:
    """Reply with the step's question (or the confirmation once saved)."""
    if state.saved is not None:
        await message.reply_text(text.saved_text(state, context.tr))
        return
    rows = text.keyboard(state, context.tr) if state.refusal in (None, Refusal.BAD_INPUT) else []
    await message.reply_text(text.prompt(state, context.tr), reply_markup=markup(rows))


async def talks_command(update: Update, context: BranchContext) -> None:
    """/talks [2026Q1]: begin (or resume) handing in a quarter's talk records."""
    assert update.message is not None
    args = context.args or []
    quarter = talks.parse_quarter("".join(args)) if args else None
    if args and quarter is None:
        await update.message.reply_text(text.usage(context.tr))
        return
    sender = sender_of(context)
    state = talks.start(
        context.db,
        member_id=sender.member_id,
        telegram_id=sender.telegram_id,
        quarter=quarter,
        now=context.clock.now(),
    )
    await _show(update.message, state, context)


@on_button("tk", need=Need.GROUP_LEADER)
async def on_talks_button(update: Update, context: BranchContext, tapped: Button) -> None:
    """ "Hand in talk records" on a reminder: start the flow privately for its quarter."""
    sender = sender_of(context)
    state = talks.start_for_occurrence(
        context.db,
        member_id=sender.member_id,
        telegram_id=sender.telegram_id,
        occurrence_id=tapped.id,
        now=context.clock.now(),
    )
    query = query_of(update)
    if state.refusal is not None:
        await answer(query, refusal_text(state.refusal, context.tr))
        return
    rows = text.keyboard(state, context.tr)
    sent = await send_private(context, sender.telegram_id, text.prompt(state, context.tr), rows)
    await answer(query, None if sent else start_private_chat(context.tr), alert=sent is None)


async def talks_text(update: Update, context: BranchContext, step: str) -> None:
    """A text answer in the flow: the number of talks or the summary."""
    message = update.message
    assert message is not None
    sender, now, answer_text = sender_of(context), context.clock.now(), message.text or ""
    member_id, telegram_id = sender.member_id, sender.telegram_id
    if step == talks.COUNT:
        state = talks.answer_count(
            context.db, member_id=member_id, telegram_id=telegram_id, text=answer_text, now=now
        )
    elif step == talks.SUMMARY:
        state = talks.answer_summary(
            context.db, member_id=member_id, telegram_id=telegram_id, text=answer_text, now=now
        )
    else:  # a text where a button or a file is expected: ask that question again
        state = talks.resume(context.db, member_id=member_id, telegram_id=telegram_id, now=now)
    await _show(message, state, context)


async def talks_file(update: Update, context: BranchContext) -> None:
    """The photo or document of the filled form: saves the record."""
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
    if problem is not None:  # refused: the flow still waits for the form
        await message.reply_text(file_refusal(problem, sent.size, context.tr))
        return
    sender = sender_of(context)
    state = talks.attach(
        context.db,
        member_id=sender.member_id,
        telegram_id=sender.telegram_id,
        file_id=sent.file_id,
        now=context.clock.now(),
    )
    await _show(message, state, context)


@on_button("tm", need=Need.GROUP_LEADER)
async def on_toggle(update: Update, context: BranchContext, tapped: Button) -> None:
    """Add or remove a participant; the keyboard shows who is chosen."""
    sender, query = sender_of(context), query_of(update)
    state = talks.toggle(
        context.db,
        member_id=sender.member_id,
        telegram_id=sender.telegram_id,
        participant_id=tapped.id,
        now=context.clock.now(),
    )
    await answer(query, text.toggle_toast(state, context.tr))
    if state.refusal is None:
        await edit(query, text.prompt(state, context.tr), text.keyboard(state, context.tr))


@on_button("td", need=Need.GROUP_LEADER)
async def on_step_done(update: Update, context: BranchContext, tapped: Button) -> None:
    """Done choosing participants, or Skip the form: go to the next step."""
    sender, query, now = sender_of(context), query_of(update), context.clock.now()
    member_id, telegram_id = sender.member_id, sender.telegram_id
    if tapped.id == talks.DONE_PEOPLE:
        state = talks.people_done(
            context.db, member_id=member_id, telegram_id=telegram_id, now=now
        )
    elif tapped.id == talks.KEEP_SUMMARY:
        state = talks.keep_summary(
            context.db, member_id=member_id, telegram_id=telegram_id, now=now
        )
    elif tapped.id == talks.SKIP_FILE:
        state = talks.attach(
            context.db, member_id=member_id, telegram_id=telegram_id, file_id=None, now=now
        )
    else:
        state = TalksState(Refusal.UNKNOWN)
    if state.no_participants:
        await answer(query, text.prompt(state, context.tr).splitlines()[0], alert=True)
        return
    if state.refusal is not None:
        await answer(query, refusal_text(state.refusal, context.tr))
        return
    await answer(query, text.step_toast(state, context.tr))
    body = text.saved_text(state, context.tr) if state.saved else text.prompt(state, context.tr)
    await edit(query, body, text.keyboard(state, context.tr) if not state.saved else None)
