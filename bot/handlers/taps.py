"""Shared plumbing of the answer buttons: parse, answer the tap, edit the tapped reminder.

Every callback query is answered exactly once (else the client shows a spinner), even when the
data is forged (a modified client can send anything): `parsed` turns malformed data into a toast.
After a tap, the tapped reminder is
re-rendered from the database with the reminder engine's own view, renderer and keyboard, so
it shows the presser's current state. In a group chat the group view (counts only, never a
reason or an amount) is used, and edits are coalesced: Telegram allows about 20 edits a minute
in a group, and a burst of taps must not spend that budget one edit per tap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import keyboards
from bot.access import Need
from bot.buttons import Button, MalformedButton
from bot.concurrency import answers_first
from bot.context import BranchContext
from bot.handlers import pages
from bot.i18n import translator
from bot.keyboards import markup
from bot.render import reminders as reminders_text
from bot.render.text import Keyboard, fit, refusal_text, split_message, toast
from bot.services.attendance import Answer
from bot.services.events import Refusal
from bot.services.reminders import MemberState, ReminderView, build_reminder_view
from bot.services.tap_views import Viewer

log = logging.getLogger(__name__)
GROUP_EDIT_INTERVAL = 3.0  # seconds between edits of one group chat's messages (20 a minute)


def query_of(update: Update) -> CallbackQuery:
    """The callback query of a button handler's update."""
    assert update.callback_query is not None
    return update.callback_query


async def parsed(update: Update, context: BranchContext, *actions: str) -> Button | None:
    """The tapped button, or None after telling the presser it is not valid."""
    query = query_of(update)
    try:
        tapped = Button.parse(query.data)
    except MalformedButton:
        tapped = None
    if tapped is None or tapped.action not in actions:
        await answer(query, refusal_text(Refusal.UNKNOWN, context.tr))
        return None
    return tapped


TapHandler = Callable[[Update, BranchContext, Button], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ButtonAction:
    """One button action: its callback codes, who may tap it, and what a tap does.

    Made by `on_button`; `bot.handlers.table` registers it. The codes give both the callback
    pattern and the check of the parsed button, so an action's code is written once.
    """

    codes: tuple[str, ...]
    need: Need
    run: TapHandler
    private_only: bool = False
    # A custom callback pattern (paged views share one action code and differ by view).
    custom_pattern: str | None = None
    # Secretary tools answer a stale button with an alert rather than a toast.
    alert: bool = False

    @property
    def pattern(self) -> str:
        """The callback-data regex of this action."""
        return self.custom_pattern or Button.pattern(*self.codes)

    async def __call__(self, update: Update, context: BranchContext) -> None:
        """Parse the tapped button (a malformed one gets a toast) and run the action."""
        if self.alert:
            tapped = await pages.tapped(update, context)
        else:
            tapped = await parsed(update, context, *self.codes)
        if tapped is not None:
            await self.run(update, context, tapped)


def on_button(
    *codes: str,
    need: Need,
    private_only: bool = False,
    pattern: str | None = None,
    alert: bool = False,
) -> Callable[[TapHandler], ButtonAction]:
    """Declare a button action: `@on_button("at", need=Need.MEMBER)` over `(update, context,
    tapped)`; the handler runs only for a well-formed button of these codes."""

    def decorate(run: TapHandler) -> ButtonAction:
        return ButtonAction(codes, need, run, private_only, pattern, alert)

    return decorate


async def answer(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a tap (a toast); a query Telegram already forgot is logged, not raised."""
    try:
        await query.answer(toast(text) if text else None, show_alert=alert)
    except BadRequest as exc:
        # "query is too old": the member will tap again, and taps are idempotent.
        log.warning("could not answer a callback query: %s", exc)


def in_group(update: Update) -> bool:
    """Whether the tap came from a group chat."""
    chat = update.effective_chat
    return chat is not None and chat.type != ChatType.PRIVATE


async def edit(query: CallbackQuery, text: str, rows: Keyboard | None = None) -> None:
    """Edit the tapped message; an unchanged message (a double tap) is not an error."""
    await answers_first()  # a burst's answers go out before its edits
    try:
        await query.edit_message_text(fit(text), reply_markup=markup(rows or []))
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.warning("could not edit a message: %s", exc)


async def send_private(
    context: BranchContext, chat_id: int, text: str, rows: Keyboard | None = None
) -> Message | None:
    """Write to someone privately; None if they blocked the bot or never started it."""
    try:
        return await context.bot.send_message(chat_id, text, reply_markup=markup(rows or []))
    except (Forbidden, BadRequest) as exc:
        log.info("cannot write to %s privately: %s", chat_id, exc)
        return None


async def refresh_after_answer(update: Update, context: BranchContext, answer: Answer) -> None:
    """Edit the tapped meeting reminder after Attend / Check in (cheap in a burst)."""
    message = query_of(update).message
    sender = context.sender
    if answer.event is None or not isinstance(message, Message):
        return
    await answers_first()  # a burst's answers go out before its edits
    if in_group(update) or sender is None or sender.member_id is None:
        await refresh_reminder(update, context, answer.event.occurrence_id)
        return
    views = context.services.tap_views
    view = views.meeting_view(
        context.db,
        occurrence_id=answer.event.occurrence_id,
        viewer=Viewer(sender.member_id, sender.name or "", sender.tr.locale_name),
        state=MemberState(attendance=answer.state, checked_in_at=answer.checked_in_at),
        now=context.clock.now(),
    )
    if view is not None:
        await _edit_view(context, message.chat.id, message.message_id, view)


async def refresh_reminder(update: Update, context: BranchContext, occurrence_id: int) -> None:
    """Re-render the tapped reminder with the presser's (or, in a group, everyone's) state."""
    message = query_of(update).message
    if isinstance(message, Message):  # else too old to be edited
        await answers_first()  # a burst's answers go out before its edits
        await refresh_message(context, message.chat.id, message.message_id, occurrence_id)


async def refresh_message(
    context: BranchContext, chat_id: int, message_id: int, occurrence_id: int
) -> None:
    """Re-render one reminder message: the sender's view privately, the group view in a group."""
    if chat_id < 0:
        await _refresh_group(context, chat_id, message_id, occurrence_id)
        return
    sender = context.sender
    await _render(
        context, chat_id, message_id, occurrence_id, sender.member_id if sender else None
    )


async def refresh_for_member(
    context: BranchContext, chat_id: int, message_id: int, occurrence_id: int, member_id: int
) -> None:
    """Re-render a reminder card as `member_id` sees it (e.g. after someone decided for them)."""
    if chat_id < 0:
        await _refresh_group(context, chat_id, message_id, occurrence_id)
        return
    await _render(context, chat_id, message_id, occurrence_id, member_id)


async def _render(
    context: BranchContext,
    chat_id: int,
    message_id: int,
    occurrence_id: int,
    member_id: int | None,
) -> None:
    with context.db.read() as session:
        view = build_reminder_view(
            session, occurrence_id=occurrence_id, member_id=member_id, now=context.clock.now()
        )
    if view is not None:
        await _edit_view(context, chat_id, message_id, view)


async def _edit_view(
    context: BranchContext, chat_id: int, message_id: int, view: ReminderView
) -> None:
    tr = translator(view.locale, view.timezone)
    try:
        # A reminder longer than one message was sent split, its buttons on the last part:
        # that is the part tapped, so that is the part re-rendered.
        await context.bot.edit_message_text(
            split_message(reminders_text.reminder_text(view, tr))[-1],
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=keyboards.reminder_keyboard(view, tr),
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.warning("could not edit a reminder: %s", exc)
    except TelegramError as exc:
        log.warning("could not edit a reminder: %s", exc)


async def _refresh_group(
    context: BranchContext, chat_id: int, message_id: int, occurrence_id: int
) -> None:
    """Edit a group's reminder now if the group was not edited lately, else once, a bit later."""
    edits = context.services.group_edits
    key = (chat_id, message_id)
    if key in edits.pending:
        return  # an edit is already on its way and will show this tap too
    now = asyncio.get_running_loop().time()
    ready = edits.last.get(chat_id, now - GROUP_EDIT_INTERVAL) + GROUP_EDIT_INTERVAL
    if ready <= now:
        edits.last[chat_id] = now
        await _render(context, chat_id, message_id, occurrence_id, None)
        return
    edits.last[chat_id] = ready
    edits.pending.add(key)

    async def later() -> None:
        await asyncio.sleep(ready - now)
        edits.pending.discard(key)
        await _render(context, chat_id, message_id, occurrence_id, None)

    context.application.create_task(later(), name=f"group-edit-{key}")


def labels(rows: Sequence[Sequence[tuple[str, str]]]) -> list[str]:
    """The labels of plain keyboard rows (for logs and tests)."""
    return [label for row in rows for label, _data in row]
