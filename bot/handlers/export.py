"""/export (the registers as XLSX and the plan as .ics) and /me export (one's own records)."""

from __future__ import annotations

import asyncio

from telegram import InputFile, Update
from telegram.ext import filters

from bot.context import BranchContext
from bot.handlers.gate import refuse, sender_of
from bot.services.export import export_branch, export_member

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# "/me export" only; plain /me is the member overview (another feature's handler).
ME_EXPORT = filters.Regex(r"^/me(?:@\w+)?\s+(?:export|导出)\s*$")


async def export_command(update: Update, context: BranchContext) -> None:
    """Send the year's registers (XLSX) and the plan (.ics) as documents."""
    assert update.effective_message is not None
    sender = sender_of(context)
    assert sender.branch_id is not None  # requires() admitted a member
    # A 500-member year takes a moment to write: keep the event loop free meanwhile.
    export = await asyncio.to_thread(
        export_branch, context.db, branch_id=sender.branch_id, now=context.clock.now()
    )
    _ = context.tr.gettext
    await update.effective_message.reply_document(
        InputFile(export.xlsx, filename=export.xlsx_name),
        caption=_("Registers: dues, attendance, talk records and the annual plan."),
    )
    await update.effective_message.reply_document(
        InputFile(export.ics, filename=export.ics_name),
        caption=_("The annual plan as a calendar file (.ics)."),
    )


async def me_export_command(update: Update, context: BranchContext) -> None:
    """Send a member their own dues, attendance and talks of this year."""
    assert update.effective_message is not None
    sender = sender_of(context)
    assert sender.member_id is not None
    found = await asyncio.to_thread(
        export_member, context.db, member_id=sender.member_id, now=context.clock.now()
    )
    if found is None:
        await refuse(update, context, not_member=True)
        return
    name, data = found
    await update.effective_message.reply_document(
        InputFile(data, filename=name),
        caption=context.tr.gettext("Your own records of this year, for your files."),
    )
