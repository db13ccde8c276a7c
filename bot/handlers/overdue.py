"""/overdue [chart]: who is behind, a nudge button per party group, and a chart on request."""

from __future__ import annotations

import asyncio

from telegram import InputFile, Update

from bot.access import Need
from bot.buttons import VERSION, Button
from bot.context import BranchContext
from bot.handlers.gate import sender_of
from bot.handlers.pages import show
from bot.handlers.taps import on_button
from bot.render.development import development_lines
from bot.render.minutes import overdue_lines as minutes_lines
from bot.render.overdue import OVERDUE_VIEW, nudge_text, overdue_keyboard, overdue_text
from bot.render.plan import page
from bot.render.text import MAX_CAPTION, clip
from bot.services.charts import chart_data, render_png
from bot.services.development import development_section
from bot.services.minutes import unrecorded
from bot.services.nudges import NudgeError, nudge_group
from bot.services.overdue import build_overdue

CHART_WORDS = frozenset({"chart", "--chart", "图", "图表"})


async def overdue_command(update: Update, context: BranchContext) -> None:
    """List who is behind; with `chart` (or --chart) also send a picture of the year."""
    await _show(update, context, 0)
    if CHART_WORDS & {a.lower() for a in context.args or []}:
        await _send_chart(update, context)


OVERDUE_PATTERN = rf"^pg{VERSION}:{OVERDUE_VIEW}:\d{{1,4}}$"  # its page buttons


@on_button("pg", pattern=OVERDUE_PATTERN, need=Need.COMMITTEE, private_only=True, alert=True)
async def on_overdue_page(update: Update, context: BranchContext, button: Button) -> None:
    """Turn a page of /overdue (re-read from the database)."""
    await _show(update, context, button.args[1])


@on_button("nd", need=Need.COMMITTEE, private_only=True, alert=True)
async def on_nudge(update: Update, context: BranchContext, button: Button) -> None:
    """Queue a polite reminder to everyone behind in one party group (once a day, audited)."""
    sender = sender_of(context)
    assert update.callback_query is not None and sender.branch_id is not None
    try:
        result = nudge_group(context.db, branch_id=sender.branch_id, group_id=button.id,
                             actor_id=sender.member_id, now=context.clock.now())  # fmt: skip
    except NudgeError:
        text = context.tr.gettext("That party group is not in your branch; nobody was reminded.")
        await update.callback_query.answer(text, show_alert=True)
        return
    await update.callback_query.answer(nudge_text(result, context.tr), show_alert=True)


async def _show(update: Update, context: BranchContext, number: int) -> None:
    sender = sender_of(context)
    assert sender.branch_id is not None  # requires() admitted a member
    report = build_overdue(context.db, branch_id=sender.branch_id, now=context.clock.now())
    late = development_section(context.db, branch_id=sender.branch_id, now=context.clock.now())
    # Meetings past their record deadline, as scheduler.compliance judges them.
    meetings = unrecorded(context.db, branch_id=sender.branch_id, now=context.clock.now())
    body = "\n".join(
        [
            overdue_text(report, context.tr),
            *minutes_lines(meetings, context.tr),
            *development_lines(late, context.tr),
        ]
    )
    text, number, total = page(body, number)
    await show(update, text, overdue_keyboard(report, number, total, context.tr))


async def _send_chart(update: Update, context: BranchContext) -> None:
    """Draw in a worker thread: matplotlib takes a moment and must not stall the bot."""
    sender = sender_of(context)
    assert sender.branch_id is not None and update.effective_message is not None
    data = chart_data(context.db, branch_id=sender.branch_id, now=context.clock.now())
    chart = await asyncio.to_thread(render_png, data, context.tr)
    caption = context.tr.gettext("Dues and attendance, year to date")
    if chart.legend:
        caption += "\n" + chart.legend
    await update.effective_message.reply_photo(
        InputFile(chart.png, filename="overdue.png"), caption=clip(caption, MAX_CAPTION)
    )
