"""/digest: the weekly digest now, for the secretary (the other secretary tools have their own
modules: plan, overdue, attendance_admin, changes, export)."""

from __future__ import annotations

from telegram import Update

from bot.context import BranchContext
from bot.handlers.gate import sender_of
from bot.render.digest import digest_with_quorum as digest_text
from bot.render.text import split_message
from bot.services.digest_now import digest_now


async def digest_command(update: Update, context: BranchContext) -> None:
    """The weekly digest now, to the asker only (with the quorum warning if one is due)."""
    assert update.effective_message is not None
    sender = sender_of(context)
    assert sender.branch_id is not None  # requires() admitted a member
    view = digest_now(context.db, branch_id=sender.branch_id, now=context.clock.now())
    for chunk in split_message(digest_text(view, context.tr)):
        await update.effective_message.reply_text(chunk)
