"""/report: a member hands in this quarter's thought report (思想汇报) as text, a photo or a
document; `/report TEXT` hands it in at once. Their party group leader and the secretary are
told, each in their own language.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import filters

from bot.access import Need
from bot.buttons import Button
from bot.context import BranchContext
from bot.handlers.gate import sender_of
from bot.handlers.taps import answer, on_button, query_of, send_private
from bot.i18n import translator
from bot.render import handins as text
from bot.render.meetings import start_private_chat
from bot.render.privacy import file_refusal
from bot.render.text import refusal_text
from bot.services import conversation, reports
from bot.services.events import Refusal
from bot.services.files import SentFile, check_form_file
from scheduler.clock import Clock
from storage.db import Database


class InReport(filters.MessageFilter):
    """Messages from someone whose thought report the bot is waiting for."""

    def __init__(self, db: Database, clock: Clock) -> None:
        super().__init__(name="InReport")
        self.db, self.clock = db, clock

    def filter(self, message: Message) -> bool:
        """Whether the sender's live flow is the report."""
        user = message.from_user
        if user is None:
            return False
        flow = conversation.active(self.db, user.id, now=self.clock.now())
        return flow is not None and flow.flow == reports.FLOW


def _refusal(refusal: reports.ReportRefusal, context: BranchContext) -> str:
    match refusal:
        case reports.ReportRefusal.NOT_OWED:
            return text.not_owed(context.tr)
        case reports.ReportRefusal.CLOSED:
            return text.closed(context.tr)
        case reports.ReportRefusal.EMPTY:
            return text.empty(context.tr)
        case reports.ReportRefusal.UNKNOWN:
            return refusal_text(Refusal.UNKNOWN, context.tr)


def _prompt(quarter: reports.Quarter, context: BranchContext) -> str:
    return text.prompt(quarter.title, quarter.year, quarter.quarter, quarter.deadline, context.tr)


async def report_command(update: Update, context: BranchContext) -> None:
    """/report: wait for the report; /report TEXT: hand it in now."""
    assert update.message is not None
    sender, now = sender_of(context), context.clock.now()
    words = (update.message.text or "").split(maxsplit=1)
    if len(words) > 1:
        await _hand_in(update.message, context, reports.Content(text=words[1].strip()))
        return
    quarter = reports.begin(
        context.db, member_id=sender.member_id, telegram_id=sender.telegram_id, now=now
    )
    if isinstance(quarter, reports.ReportRefusal):
        await update.message.reply_text(_refusal(quarter, context))
        return
    await update.message.reply_text(_prompt(quarter, context))


@on_button("hi", need=Need.PERSON)
async def on_report_button(update: Update, context: BranchContext, tapped: Button) -> None:
    """ "Hand in thought report" on a reminder: ask for it privately, for that quarter."""
    sender = sender_of(context)
    quarter = reports.begin(
        context.db,
        member_id=sender.member_id,
        telegram_id=sender.telegram_id,
        now=context.clock.now(),
        occurrence_id=tapped.id,
    )
    query = query_of(update)
    if isinstance(quarter, reports.ReportRefusal):
        await answer(query, _refusal(quarter, context), alert=True)
        return
    sent = await send_private(context, sender.telegram_id, _prompt(quarter, context))
    await answer(query, None if sent else start_private_chat(context.tr), alert=sent is None)


async def on_report_message(update: Update, context: BranchContext) -> None:
    """The awaited report: a text, a photo or a document (images and PDFs, as forms are)."""
    message = update.message
    if message is None:
        return
    if message.photo or message.document is not None:
        if message.photo:
            largest = message.photo[-1]
            sent = SentFile(largest.file_id, photo=True, size=largest.file_size)
        else:
            doc = message.document
            assert doc is not None
            sent = SentFile(doc.file_id, False, doc.mime_type, doc.file_size, doc.file_name)
        problem = check_form_file(sent)
        if problem is not None:  # refused: still waiting for the report
            await message.reply_text(file_refusal(problem, sent.size, context.tr))
            return
        content = reports.Content(file_id=sent.file_id, photo=sent.photo)
    else:
        content = reports.Content(text=message.text or "")
    await _hand_in(message, context, content)


async def _hand_in(message: Message, context: BranchContext, content: reports.Content) -> None:
    sender = sender_of(context)
    done = reports.hand_in(
        context.db,
        member_id=sender.member_id,
        telegram_id=sender.telegram_id,
        content=content,
        now=context.clock.now(),
    )
    if isinstance(done, reports.ReportRefusal):
        await message.reply_text(_refusal(done, context))
        return
    q = done.quarter
    await message.reply_text(
        text.saved(q.title, q.year, q.quarter, q.deadline, context.tr, late=done.late,
                   amended=done.amended, command="report")
    )  # fmt: skip
    for person in done.recipients:
        tr = translator(person.locale, done.timezone)
        body = text.notice(done.member_name, q.title, q.year, q.quarter, tr, late=done.late,
                           amended=done.amended, text=done.content.text)  # fmt: skip
        await _tell(context, person.telegram_id, body, done.content)


async def _tell(context: BranchContext, chat_id: int, body: str, content: reports.Content) -> None:
    """Send the notice; a photo or document goes with it by its Telegram file id."""
    if content.file_id is None:
        await send_private(context, chat_id, body)
        return
    try:
        if content.photo:
            await context.bot.send_photo(chat_id, content.file_id, caption=body[:1024])
        else:
            await context.bot.send_document(chat_id, content.file_id, caption=body[:1024])
    except (Forbidden, BadRequest):
        await send_private(context, chat_id, body)  # an unreachable file: the notice alone
