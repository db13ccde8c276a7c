"""The one global error handler: log with the traceback, tell the admins briefly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError

from bot.context import BranchContext
from bot.logging_setup import redact

log = logging.getLogger(__name__)
MAX_ADMIN_TEXT = 3500  # well under Telegram's 4096 characters


async def report_error(update: object, context: BranchContext) -> None:
    """Log an unhandled error; tell the person something went wrong and the admins what."""
    if update is None and isinstance(context.error, NetworkError):
        # python-telegram-bot reports a failed getUpdates here, with no update, on every retry
        # while the Bot API is unreachable: one line each, not a traceback, and no admin report
        # (it could not be sent anyway). Polling goes on by itself.
        log.warning("Bot API unreachable while polling: %s", redact(str(context.error)))
        return
    log.error("unhandled error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(
                context.tr.gettext(
                    "Sorry, something went wrong. The administrators have been told."
                )
            )
        except TelegramError:
            log.warning("could not tell the user about the error")
    # Redacted here, explicitly: str() of many exceptions is not built from their args
    # (SQLAlchemy appends the statement's parameters, UnicodeDecodeError its bytes), so what the
    # log call scrubbed does not cover it. Sent without a parse mode: no HTML escaping.
    secrets = context.services.settings.secret_values()
    summary = redact(f"{type(context.error).__name__}: {context.error}", secrets)[:MAX_ADMIN_TEXT]
    for admin in context.services.settings.admin_telegram_ids:
        try:
            await context.bot.send_message(admin, f"branchbot error: {summary}")
        except Forbidden:
            log.warning("admin %s has not started the bot; error not forwarded", admin)
        except TelegramError:
            log.warning("could not forward the error to an admin")
