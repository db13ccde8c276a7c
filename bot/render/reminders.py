"""Pure text of reminder messages and the buttons they carry: (ReminderView, Translator) -> str.

Plain text (no parse_mode), so member and branch names need no escaping. Used by the
dispatcher's notifier and, after a tap, by the answers feature to edit the message: both call
`reminder_text` and `reminder_buttons` (turned into a keyboard by `bot.keyboards`).
"""

from __future__ import annotations

import datetime as dt
from typing import assert_never

from bot.buttons import button
from bot.i18n import Translator
from bot.render.text import Keyboard
from bot.services.reminders import GroupCounts, ReminderView
from scheduler.kinds import BY_KIND, ItemKind, Period
from scheduler.records import CHECK_IN_CLOSES


def reminder_text(view: ReminderView, tr: Translator) -> str:
    """The whole message for a reminder or a change notice."""
    if view.kind == "change":
        return change_text(view, tr)
    lines = [_headline(view, tr), *_details(view, tr)]
    if view.catching_up:
        lines.append(catch_up_line(view, tr))
    lines += _state_lines(view, tr)
    return "\n".join(line for line in lines if line)


def change_text(view: ReminderView, tr: Translator) -> str:
    """A notice that an event the reader was reminded of was moved or cancelled."""
    _ = tr.gettext
    title = view.title.get(tr.locale_name)
    old = view.old_starts_at or view.planned_starts_at
    if view.cancelled:
        return _("Cancelled: {title} on {when} will not take place.").format(
            title=title, when=tr.when(old)
        )
    lines = [
        _("Moved: {title} now takes place on {when}.").format(
            title=title, when=tr.when(view.starts_at)
        ),
        _("It was planned for {when}.").format(when=tr.when(old)),
    ]
    return "\n".join(lines)


def catch_up_line(view: ReminderView, tr: Translator) -> str:
    """'Sent late' with how long is left, e.g. 'It starts in 2 hours.'."""
    _ = tr.gettext
    if not BY_KIND[view.item_kind].is_event:
        return _("This reminder comes late: the bot was offline at its time.")
    left = view.until_start
    return _("This reminder comes late (the bot was offline): {event} starts in {left}.").format(
        event=view.title.get(tr.locale_name), left=duration(left, tr)
    )


def duration(delta: dt.timedelta, tr: Translator) -> str:
    """A rounded duration: '3 days', '2 hours', '45 minutes'."""
    minutes = max(1, int(delta.total_seconds() // 60))
    if minutes >= 48 * 60:
        days = minutes // (24 * 60)
        return tr.ngettext("{n} day", "{n} days", days).format(n=days)
    if minutes >= 60:
        hours = minutes // 60
        return tr.ngettext("{n} hour", "{n} hours", hours).format(n=hours)
    return tr.ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)


def _headline(view: ReminderView, tr: Translator) -> str:
    _ = tr.gettext
    title = view.title.get(tr.locale_name)
    period = BY_KIND[view.item_kind].period
    match period:
        case Period.EVENT:
            return _("Reminder: {title}").format(title=title)
        case Period.MONTH:
            year, month = view.dues_month
            return _("Reminder: {title} ({month})").format(
                title=title, month=tr.month_name(year, month)
            )
        case Period.QUARTER:
            year, quarter = view.quarter
            return _("Reminder: {title} (Q{quarter} {year})").format(
                title=title, quarter=quarter, year=year
            )
        case _:
            assert_never(period)


def _details(view: ReminderView, tr: Translator) -> list[str]:
    _ = tr.gettext
    lines = []
    if BY_KIND[view.item_kind].is_event:
        lines.append(
            _("When: {day} {start}–{end}").format(
                day=tr.day(tr.local(view.starts_at).date()),
                start=tr.clock(view.starts_at),
                end=tr.clock(view.ends_at),
            )
        )
    else:
        lines.append(_("Deadline: {day}").format(day=tr.day(tr.local(view.starts_at).date())))
    if view.item_kind == ItemKind.DUES and view.dues_amount is not None:
        lines.append(
            _("Your approved monthly dues: {amount}").format(amount=tr.money(view.dues_amount))
        )
    if view.agenda is not None:
        lines.append(_("Agenda: {agenda}").format(agenda=view.agenda.get(tr.locale_name)))
    return lines


def _state_lines(view: ReminderView, tr: Translator) -> list[str]:
    if view.counts is not None:
        return _group_lines(view, view.counts, tr)
    if view.state is None:
        return []
    _ = tr.gettext
    state = view.state
    kind = view.item_kind
    match kind:
        case ItemKind.MEETING:
            return [_meeting_state(view, tr)]
        case ItemKind.DUES:
            return [_("You have paid this month's dues.") if state.paid else _("Not paid yet.")]
        case ItemKind.TALKS:
            done = _("Your party group has handed in its talk records for this quarter.")
            return [done if state.talks_done else _("Not handed in yet.")]
        case ItemKind.PAPERWORK:
            return []  # nothing records it
        case ItemKind.THOUGHT_REPORTS:
            done = _("You have handed in your thought report for this quarter.")
            return [done if state.handed_in else _("Not handed in yet.")]
        case _:
            assert_never(kind)


def _group_lines(view: ReminderView, c: GroupCounts, tr: Translator) -> list[str]:
    """How the whole audience stands, for the one message in the group chat."""
    _ = tr.gettext
    kind = view.item_kind
    match kind:
        case ItemKind.MEETING:
            lines = [
                _("Attending: {attending} of {total}; on leave: {leave}.").format(
                    attending=c.attending, total=c.audience, leave=c.on_leave
                )
            ]
            if c.checked_in or view.on_event_day:
                lines.append(
                    _("Checked in: {n} of {total}.").format(n=c.checked_in, total=c.audience)
                )
            return lines
        case ItemKind.DUES:
            return [_("Paid so far: {paid} of {total}.").format(paid=c.paid, total=c.audience)]
        case ItemKind.TALKS | ItemKind.PAPERWORK | ItemKind.THOUGHT_REPORTS:
            return []  # talk records are per party group, paperwork is not recorded, and
            # thought reports are never posted to the group chat
        case _:
            assert_never(kind)


def _meeting_state(view: ReminderView, tr: Translator) -> str:
    _ = tr.gettext
    state = view.state
    assert state is not None
    if state.checked_in_at is not None:
        return _("You checked in at {time}.").format(time=tr.clock(state.checked_in_at))
    match state.attendance:
        case "attending":
            return _("Your answer: attending.")
        case "leave_requested":
            return _("Your answer: leave requested, waiting for approval.")
        case "leave_approved":
            return _("Your answer: leave approved.")
        case "leave_declined":
            return _("Your leave request was declined; please attend.")
    return _("Please tell us whether you will attend.")


def reminder_buttons(view: ReminderView, tr: Translator) -> Keyboard:
    """The inline buttons of a reminder (rows), empty when there is nothing left to do."""
    if view.cancelled:
        return []
    occ = view.occurrence_id
    kind = view.item_kind
    match kind:
        case ItemKind.MEETING:
            if view.now >= view.starts_at + CHECK_IN_CLOSES:
                return []  # the meeting is over; dues and talk records may still come late
            attend = (tr.pgettext("button", "Attend"), button("at", occ))
            leave = (tr.pgettext("button", "Request leave"), button("lv", occ))
            rows = [[attend, leave]]
            if view.on_event_day:
                rows.append([(tr.pgettext("button", "Check in"), button("ci", occ))])
            return rows
        case ItemKind.DUES:
            if view.state is not None and view.state.paid:
                return []
            if view.dues_amount is not None and view.counts is None:
                label = tr.pgettext("button", "I paid {amount}").format(
                    amount=tr.money(view.dues_amount)
                )
            else:
                label = tr.pgettext("button", "I paid")
            return [[(label, button("pd", occ))]]
        case ItemKind.TALKS:
            if view.state is not None and view.state.talks_done:
                return []
            return [[(tr.pgettext("button", "Hand in talk records"), button("tk", occ))]]
        case ItemKind.PAPERWORK:
            return []  # handed in on paper
        case ItemKind.THOUGHT_REPORTS:
            if view.state is not None and view.state.handed_in:
                return []  # amended with /report until the quarter ends
            return [[(tr.pgettext("button", "Hand in thought report"), button("hi", occ))]]
        case _:
            assert_never(kind)
