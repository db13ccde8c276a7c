"""/export (the registers as XLSX and the plan as .ics), /me export (one's own records), and a
seat holder's /export: the committee's year as one workbook and a chart of the branch scores."""

from __future__ import annotations

import asyncio

from telegram import InputFile, Message, Update
from telegram.ext import filters

from bot.concurrency import off_the_loop
from bot.context import BranchContext, Services
from bot.handlers.gate import refuse, sender_of
from bot.render.text import MAX_CAPTION, clip
from bot.services.charts import render_scores
from bot.services.committee_export import export_committee, score_bars, seat_scope, year_cards
from bot.services.export import export_branch, export_member
from storage import repositories as repo
from storage.db import Database

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


# `/export committee [year]` (a branch secretary who also holds a seat above branches) and
# `/export chart [year]` (the score chart alone); someone in no branch needs no word.
COMMITTEE_WORDS = frozenset({"committee", "党委", "总支"})
CHART_WORDS = frozenset({"chart", "图表"})
COMMITTEE_EXPORT = filters.Regex(r"^/export(?:@\w+)?\s+(?:committee|党委|总支|chart|图表)(?:\s|$)")
EARLIEST_YEAR = 2000


class NotInBranch(filters.MessageFilter):
    """A message from someone who is no active member of any branch: their /export is the
    committee's (the gate then admits only seat holders and answers everyone else as before)."""

    def __init__(self, db: Database) -> None:
        super().__init__(name="NotInBranch")
        self.db = db

    def filter(self, message: Message) -> bool:
        """Whether the sender is in no branch."""
        user = message.from_user
        if user is None:
            return False
        with self.db.read() as session:
            member = repo.member_by_telegram_id(session, telegram_id=user.id)
        return member is None or not member.active


def committee_filter(services: Services) -> filters.BaseFilter:
    """Which /export messages are the committee's."""
    return COMMITTEE_EXPORT | NotInBranch(services.db)


async def committee_export_command(update: Update, context: BranchContext) -> None:
    """Send a seat holder the committee's year (XLSX) and the chart of the branches' scores."""
    assert update.effective_message is not None
    message = update.effective_message
    sender = sender_of(context)
    tr = context.tr
    _ = tr.gettext
    now = context.clock.now()
    this_year = tr.local(now).year
    year, chart_only = this_year, False
    for word in (w.casefold() for w in context.args or []):
        if word in COMMITTEE_WORDS:
            continue
        if word in CHART_WORDS:
            chart_only = True
        elif word.isdigit() and EARLIEST_YEAR <= int(word) <= this_year:
            year = int(word)
        else:
            await message.reply_text(
                _(
                    "Usage: /export [committee] [chart] [year], the year from {first} to {last}."
                ).format(first=EARLIEST_YEAR, last=this_year)
            )
            return
    scope = await off_the_loop(context.db, seat_scope, context.db, sender.seats or ())
    if not scope.branch_ids:
        await message.reply_text(_("No branch is attached to your committee yet."))
        return
    tz_name = str(tr.tz.zone)
    if chart_only:
        cards = await asyncio.to_thread(
            year_cards, context.db, scope.branch_ids, year=year, now=now, tz_name=tz_name
        )
    else:
        # 200 branches take a while to read and write: keep the event loop free meanwhile.
        export = await asyncio.to_thread(
            export_committee,
            context.db,
            scope.branch_ids,
            unit_name=scope.unit_name,
            year=year,
            now=now,
            locale=tr.locale_name,
            tz_name=tz_name,
        )
        cards = export.cards
        await message.reply_document(
            InputFile(export.xlsx, filename=export.xlsx_name),
            caption=_(
                "The committee's year {year}: each measure by branch and month, every required "
                "meeting's verdict, and each branch's registers."
            ).format(year=year),
        )
    chart = await asyncio.to_thread(render_scores, score_bars(cards), tr, period=str(year))
    caption = _("Branch scores of {year}, worst first.").format(year=year)
    if chart.legend:
        caption += "\n" + chart.legend
    await message.reply_photo(
        InputFile(chart.png, filename=f"scores-{year}.png"), caption=clip(caption, MAX_CAPTION)
    )
