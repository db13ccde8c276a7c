"""/compliance (a branch's own required meetings) and /branches (the committee's scorecards),
with the committee's read-only look into one branch."""

from __future__ import annotations

from telegram import Update

from bot.access import Need
from bot.buttons import VERSION, Button
from bot.concurrency import in_worker, off_the_loop
from bot.context import BranchContext
from bot.handlers.gate import reply, sender_of, with_seats
from bot.handlers.pages import show
from bot.handlers.taps import on_button
from bot.render.compliance import COMPLIANCE_VIEWS, VIEW_OF, compliance_text
from bot.render.development import development_lines
from bot.render.oversight import (
    BRANCHES_VIEWS,
    MEETINGS,
    SPAN_CODES,
    Reach,
    branches_keyboard,
    branches_text,
    opened_keyboard,
    opened_meetings_text,
    opened_overdue_text,
    page_count,
)
from bot.render.plan import page, pager
from bot.render.text import Keyboard
from bot.services.development import development_section
from bot.services.overdue import build_overdue
from bot.services.oversight import NotVisible, check_visible, compliance_view
from scheduler.compliance import Span

_WORDS = {
    "month": Span.MONTH, "月": Span.MONTH, "本月": Span.MONTH,
    "quarter": Span.QUARTER, "季": Span.QUARTER, "季度": Span.QUARTER, "本季度": Span.QUARTER,
    "year": Span.YEAR, "年": Span.YEAR, "年度": Span.YEAR, "全年": Span.YEAR,
}  # fmt: skip
# The period before the current one: `/branches last month`, `/branches month last`, 上月.
_LAST = frozenset({"last", "previous", "prev", "上", "上个", "上一"})
_LAST_OF = {
    "上月": Span.MONTH, "上个月": Span.MONTH,
    "上季": Span.QUARTER, "上季度": Span.QUARTER, "上个季度": Span.QUARTER,
    "去年": Span.YEAR, "上年": Span.YEAR, "上一年": Span.YEAR,
}  # fmt: skip


def _span(context: BranchContext) -> Reach | None:
    """The period asked for (default: this month), and 1 for the one before it ("last");
    None for words we do not know."""
    words = [w.lower() for w in context.args or []]
    if not words:
        return Span.MONTH, 0
    if len(words) == 1 and words[0] in _LAST_OF:
        return _LAST_OF[words[0]], 1
    back = sum(1 for w in words if w in _LAST)
    spans = [_WORDS[w] for w in words if w in _WORDS]
    if back > 1 or len(spans) > 1 or back + len(spans) != len(words):
        return None
    return (spans[0] if spans else Span.MONTH), back


async def compliance_command(update: Update, context: BranchContext) -> None:
    """The branch's required meetings of this month, quarter or year, each with its verdict."""
    span = _span(context)
    if span is None:
        usage = context.tr.gettext("Usage: /compliance [month|quarter|year] [last]")
        await reply(update, context, usage)
        return
    await _compliance(update, context, span, 0)


_COMPLIANCE_CODES = "|".join(str(code) for code in COMPLIANCE_VIEWS)
COMPLIANCE_PATTERN = rf"^pg{VERSION}:(?:{_COMPLIANCE_CODES}):\d{{1,4}}$"


@on_button("pg", pattern=COMPLIANCE_PATTERN, need=Need.COMMITTEE, private_only=True, alert=True)
async def on_compliance_page(update: Update, context: BranchContext, button: Button) -> None:
    """Turn a page of /compliance (re-read from the database)."""
    await _compliance(update, context, COMPLIANCE_VIEWS[button.args[0]], button.args[1])


async def _compliance(update: Update, context: BranchContext, span: Reach, number: int) -> None:
    sender = sender_of(context)
    assert sender.branch_id is not None  # requires() admitted a member of the committee
    branch_id, now = sender.branch_id, context.clock.now()
    view = await in_worker(
        compliance_view, context.db, branch_id=branch_id, span=span[0], back=span[1], now=now
    )
    text, number, total = page(compliance_text(view, context.tr), number)
    nav = pager(lambda p: Button("pg", (VIEW_OF[span], p)).encode(), number, total)
    rows: Keyboard = [nav] if nav else []
    await show(update, text, rows)


async def branches_command(update: Update, context: BranchContext) -> None:
    """The scorecard of every branch below the person's seats, worst first."""
    span = _span(context)
    if span is None:
        usage = context.tr.gettext("Usage: /branches [month|quarter|year] [last]")
        await reply(update, context, usage)
        return
    await _branches(update, context, span, 0, fresh=True)


_BRANCHES_CODES = "|".join(str(code) for code in BRANCHES_VIEWS)
BRANCHES_PATTERN = rf"^pg{VERSION}:(?:{_BRANCHES_CODES}):\d{{1,4}}$"


@on_button("pg", pattern=BRANCHES_PATTERN, need=Need.ORG, private_only=True, alert=True)
async def on_branches_page(update: Update, context: BranchContext, button: Button) -> None:
    """Turn a page of /branches, or come back to it from a branch (re-read)."""
    await _branches(update, context, BRANCHES_VIEWS[button.args[0]], button.args[1], fresh=False)


async def _branches(
    update: Update, context: BranchContext, span: Reach, number: int, *, fresh: bool
) -> None:
    sender = await with_seats(context)
    view = await in_worker(
        context.services.reports.branches, context.db, seats=sender.seats or (), span=span[0],
        back=span[1], now=context.clock.now(), fresh=fresh,
    )  # fmt: skip
    number = max(0, min(number, page_count(view) - 1))
    tr = context.tr
    await show(update, branches_text(view, number, tr), branches_keyboard(view, number, tr))


@on_button("ob", need=Need.ORG, private_only=True, alert=True)
async def on_open_branch(update: Update, context: BranchContext, button: Button) -> None:
    """One branch from /branches, read-only: its meetings or who is behind there."""
    assert update.callback_query is not None
    branch_id, span_code, which, number = button.args
    tr = context.tr
    if span_code >= len(SPAN_CODES) or which > 1:
        await update.callback_query.answer(tr.gettext("This button is no longer valid."),
                                           show_alert=True)  # fmt: skip
        return
    sender = await with_seats(context)
    try:
        name = await off_the_loop(context.db, check_visible, context.db,
                                  seats=sender.seats or (), branch_id=branch_id)  # fmt: skip
    except NotVisible:
        text = tr.gettext("That branch is not below your seats; nothing is shown.")
        await update.callback_query.answer(text, show_alert=True)
        return
    span, now = SPAN_CODES[span_code], context.clock.now()
    if which == MEETINGS:
        view = await in_worker(compliance_view, context.db, branch_id=branch_id, span=span[0],
                               back=span[1], now=now)  # fmt: skip
        body = opened_meetings_text(view, tr)
    else:
        report = await in_worker(build_overdue, context.db, branch_id=branch_id, now=now)
        late = await in_worker(development_section, context.db, branch_id=branch_id, now=now)
        body = "\n".join([opened_overdue_text(report, name, tr), *development_lines(late, tr)])
    text, number, total = page(body, number)
    await show(update, text, opened_keyboard(branch_id, span, which, number, total, tr))
