"""Small Telegram helpers the secretary tools share: keyboards, paged views, stale buttons."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest

from bot.buttons import Button, MalformedButton
from bot.context import BranchContext
from bot.keyboards import markup
from bot.render.text import Keyboard, fit

log = logging.getLogger(__name__)


async def show(update: Update, text: str, rows: Keyboard, *, toast: str | None = None) -> None:
    """Reply with a view, or, for a button tap, edit the tapped message into it."""
    query = update.callback_query
    if query is None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(fit(text), reply_markup=markup(rows))
        return
    # Answer first: the client shows a spinner until we do, and
    # Telegram drops an answer that comes later than about 15 seconds.
    await query.answer(toast)
    try:
        await query.edit_message_text(fit(text), reply_markup=markup(rows))
    except BadRequest as exc:
        # A double tap re-renders the same view: Telegram says "message is not modified".
        if "not modified" not in str(exc).lower():
            raise
        log.debug("view unchanged after a repeated tap")


async def tapped(update: Update, context: BranchContext) -> Button | None:
    """The tapped button, or None after telling the presser it is no longer valid."""
    query = update.callback_query
    assert query is not None  # guaranteed by the CallbackQueryHandler
    try:
        return Button.parse(query.data)
    except MalformedButton:
        await query.answer(context.tr.gettext("This button is no longer valid."), show_alert=True)
        return None
