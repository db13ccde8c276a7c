"""Multi-step flows: route a member's next private message to the flow they are in; /cancel.

The flow lives in the database, so routing reads it per message. The text handler only
matches people who ARE in a flow (`InFlow` asks the database), so it never swallows a
message meant for another feature. Also here: the one catch-all for callback data that no
feature produced (forged, stale or from an older version): it is answered politely and writes
nothing. Its pattern matches only unparseable data, so its place in group 0 does not matter.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import filters

from bot.buttons import Button, MalformedButton
from bot.context import BranchContext
from bot.handlers import attendance, minutes, talks
from bot.handlers.gate import sender_of
from bot.handlers.taps import answer, query_of
from bot.render import meetings as text
from bot.render.text import refusal_text
from bot.services import conversation
from bot.services import minutes as minutes_service
from bot.services import talks as talks_service
from bot.services.events import Refusal
from scheduler.clock import Clock
from storage.db import Database


class InFlow(filters.MessageFilter):
    """Messages from someone who is in the middle of a multi-step flow."""

    def __init__(self, db: Database, clock: Clock) -> None:
        super().__init__(name="InFlow")
        self.db, self.clock = db, clock

    def filter(self, message: Message) -> bool:
        """Whether the sender has a live flow."""
        user = message.from_user
        if user is None:
            return False
        return conversation.active(self.db, user.id, now=self.clock.now()) is not None


async def on_flow_text(update: Update, context: BranchContext) -> None:
    """A private text from someone in a flow: the answer to the question they were asked."""
    flow = conversation.active(context.db, sender_of(context).telegram_id, now=context.clock.now())
    if flow is None:
        return
    if flow.flow == conversation.LEAVE:
        await attendance.leave_reason(update, context)
    elif flow.flow == conversation.MAKE_UP:
        await attendance.make_up_note(update, context)
    elif flow.flow == conversation.TALKS:
        await talks.talks_text(update, context, flow.step)
    elif flow.flow == conversation.MINUTES:
        await minutes.minutes_text(update, context)
    else:  # a flow that asks no question (a pending preview waits for its buttons)
        await on_stray_text(update, context)


async def on_flow_file(update: Update, context: BranchContext) -> None:
    """A photo or document from someone in a flow (the talk-records form, meeting records)."""
    flow = conversation.active(context.db, sender_of(context).telegram_id, now=context.clock.now())
    if flow is None or update.message is None:
        return
    if flow.flow == conversation.TALKS and flow.step == talks_service.FILE:
        await talks.talks_file(update, context)
    elif flow.flow == conversation.MINUTES and flow.step == minutes_service.FILES:
        await minutes.minutes_file(update, context)
    else:
        await update.message.reply_text(text.not_expected(context.tr))


async def on_stray_text(update: Update, context: BranchContext) -> None:
    """A private text when no question is open: say what the bot understands."""
    if update.message is not None:
        await update.message.reply_text(text.stray_text_hint(context.tr))


async def cancel_command(update: Update, context: BranchContext) -> None:
    """/cancel: abort the flow in progress; what was already stored stays."""
    assert update.message is not None
    flow = conversation.cancel(context.db, sender_of(context).telegram_id, now=context.clock.now())
    await update.message.reply_text(text.cancelled_text(flow.flow if flow else None, context.tr))


async def on_unknown_button(update: Update, context: BranchContext) -> None:
    """Callback data this bot did not produce: answer politely, write nothing."""
    await answer(query_of(update), refusal_text(Refusal.UNKNOWN, context.tr))


def not_ours(data: object) -> bool:
    """Whether callback data is not a well-formed button of this bot."""
    if not isinstance(data, str):
        return True
    try:
        Button.parse(data)
    except MalformedButton:
        return True
    return False
