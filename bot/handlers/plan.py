"""/plan [month|quarter|year]: the plan with times, agendas and attendance, paged."""

from __future__ import annotations

from telegram import Update

from bot.access import Need
from bot.buttons import VERSION, Button
from bot.context import BranchContext
from bot.handlers.gate import reply, sender_of
from bot.handlers.pages import show
from bot.handlers.taps import on_button
from bot.render.plan import page, plan_keyboard, plan_report_text
from bot.services.plan_report import build_plan_report

# "pg" view codes of /plan (other features page with their own codes).
VIEWS = {61: "month", 62: "quarter", 63: "year"}
_CODES = {period: code for code, period in VIEWS.items()}
_ALIASES = {
    "月": "month", "本月": "month", "季": "quarter", "季度": "quarter", "本季度": "quarter",
    "年": "year", "年度": "year", "全年": "year",
}  # fmt: skip


async def plan_command(update: Update, context: BranchContext) -> None:
    """Show the plan of this month, quarter or year."""
    word = (context.args or ["month"])[0].lower()
    period = _ALIASES.get(word, word)
    if period not in _CODES:
        await reply(update, context, context.tr.gettext("Usage: /plan [month|quarter|year]"))
        return
    await _show(update, context, _CODES[period], 0)


_VIEW_CODES = "|".join(str(code) for code in VIEWS)
PLAN_PATTERN = rf"^pg{VERSION}:(?:{_VIEW_CODES}):\d{{1,4}}$"  # the page buttons of every view


@on_button("pg", pattern=PLAN_PATTERN, need=Need.COMMITTEE, alert=True)
async def on_plan_page(update: Update, context: BranchContext, button: Button) -> None:
    """Turn a page of a /plan view (re-rendered from the database: stateless)."""
    await _show(update, context, button.args[0], button.args[1])


async def _show(update: Update, context: BranchContext, view: int, number: int) -> None:
    sender = sender_of(context)
    assert sender.branch_id is not None  # requires() admitted a member
    report = build_plan_report(
        context.db, branch_id=sender.branch_id, period=VIEWS[view], now=context.clock.now()
    )
    text, number, total = page(plan_report_text(report, context.tr), number)
    await show(update, text, plan_keyboard(view, number, total))
