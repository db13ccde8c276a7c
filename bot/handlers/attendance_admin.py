"""/attendance [event]: pick a meeting, see its roster and quorum, mark someone by hand."""

from __future__ import annotations

from telegram import Update

from bot.access import Need
from bot.buttons import Button
from bot.context import BranchContext
from bot.handlers.gate import reply, sender_of
from bot.handlers.pages import show
from bot.handlers.taps import on_button
from bot.render.attendance import (
    OPEN_PANEL,
    SHOW_PAGE,
    attendance_error,
    page_of,
    panel_keyboard,
    panel_text,
    picker_keyboard,
    picker_text,
    roster_keyboard,
    roster_text,
)
from bot.services.attendance_admin import MARKS, AttendanceError, Roster, list_events, mark, roster
from bot.services.changes import ChangeError, EventRef, parse_event_ref


async def attendance_command(update: Update, context: BranchContext) -> None:
    """Without an argument, offer recent and upcoming meetings; with one, show its roster."""
    branch_id = _branch(context)
    if not context.args:
        events = list_events(context.db, branch_id=branch_id, now=context.clock.now())
        await show(update, picker_text(events, context.tr), picker_keyboard(events, context.tr))
        return
    try:
        event = parse_event_ref(context.args[0])
    except ChangeError:
        await reply(update, context, attendance_error("unknown_event", context.tr))
        return
    await _roster(update, context, event, member_id=0)


@on_button("ev", need=Need.COMMITTEE, private_only=True, alert=True)
async def on_pick(update: Update, context: BranchContext, button: Button) -> None:
    """Show the roster of the meeting picked from the list."""
    await _roster(update, context, EventRef(occurrence_id=button.id), member_id=0)


@on_button("mk", need=Need.COMMITTEE, private_only=True, alert=True)
async def on_mark(update: Update, context: BranchContext, button: Button) -> None:
    """Roster page turns, the per-member mark panel, and hand marks (audited)."""
    occurrence_id, member_id, code = button.args
    if code == SHOW_PAGE:
        await _roster(update, context, EventRef(occurrence_id=occurrence_id), member_id=member_id)
    elif code == OPEN_PANEL:
        await _roster(update, context, EventRef(occurrence_id=occurrence_id), panel=member_id)
    elif code in MARKS:
        await _mark(update, context, occurrence_id, member_id, code)
    else:
        await reply(update, context, context.tr.gettext("This button is no longer valid."))


async def _mark(
    update: Update, context: BranchContext, occurrence_id: int, member_id: int, code: int
) -> None:
    try:
        view, changed = mark(
            context.db,
            branch_id=_branch(context),
            actor_id=sender_of(context).member_id,
            occurrence_id=occurrence_id,
            member_id=member_id,
            code=code,
            now=context.clock.now(),
        )
    except AttendanceError as error:
        await reply(update, context, attendance_error(error.code, context.tr))
        return
    toast = context.tr.gettext("Marked.") if changed else context.tr.gettext("No change.")
    number = page_of(view, member_id)
    await show(
        update, roster_text(view, number, context.tr), roster_keyboard(view, number), toast=toast
    )


async def _roster(
    update: Update, context: BranchContext, event: EventRef, *, member_id: int = 0, panel: int = 0
) -> None:
    try:
        view: Roster = roster(
            context.db, branch_id=_branch(context), event=event, now=context.clock.now()
        )
    except AttendanceError as error:
        await reply(update, context, attendance_error(error.code, context.tr))
        return
    if panel:
        await show(
            update, panel_text(view, panel, context.tr), panel_keyboard(view, panel, context.tr)
        )
        return
    number = page_of(view, member_id)
    await show(update, roster_text(view, number, context.tr), roster_keyboard(view, number))


def _branch(context: BranchContext) -> int:
    branch_id = sender_of(context).branch_id
    assert branch_id is not None  # requires() admitted a member
    return branch_id
