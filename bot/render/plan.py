"""Pure text views of the secretary tools: (view model, Translator) -> text and button specs.

Buttons are returned as rows of (label, callback data); the handlers turn them into Telegram
keyboards. Long answers are split into pages on line boundaries, never cut.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TypeVar

from bot.buttons import button
from bot.i18n import Translator
from bot.render.plan_year import audience_label
from bot.render.text import Keyboard, split_message
from bot.services.plan_report import PlanEntry, PlanReport
from scheduler.records import NOT_REACHABLE
from storage.sorting import natural_key

PAGE_LIMIT = 4000
_T = TypeVar("_T")

STATE_MARK = {
    "attending": "🙋",
    "leave_requested": "📝",
    "leave_approved": "🟡",
    "leave_declined": "⛔",
    "present": "✅",
    "absent": "❌",
    NOT_REACHABLE: "📵",
}


def state_label(state: str | None, tr: Translator) -> str:
    """An attendance state in the reader's language (the answers' wording); None: no answer."""
    match state:
        case None:
            return tr.pgettext("answer", "no answer")
        case "attending":
            return tr.pgettext("answer", "attending")
        case "leave_requested":
            return tr.pgettext("answer", "leave requested")
        case "leave_approved":
            return tr.pgettext("answer", "on leave")
        case "leave_declined":
            return tr.pgettext("answer", "leave declined")
        case "present":
            return tr.pgettext("answer", "present")
        case "not_reachable":
            return tr.pgettext("answer", "not reachable yet")
    return tr.pgettext("answer", "absent")


def yes_no(value: bool, tr: Translator) -> str:
    """'yes' or 'no' in the reader's language (register cells)."""
    return tr.pgettext("register", "yes") if value else tr.pgettext("register", "no")


def page(text: str, number: int) -> tuple[str, int, int]:
    """Page `number` (0-based, clamped) of a long text, with its number and the page count."""
    pages = split_message(text, PAGE_LIMIT) or [text]
    number = max(0, min(number, len(pages) - 1))
    return pages[number], number, len(pages)


def pager(make: Callable[[int], str], number: int, total: int) -> list[tuple[str, str]]:
    """◀ / ▶ buttons around page `number` of `total`; `make` encodes a page's callback data."""
    row = []
    if number > 0:
        row.append((f"◀ {number}/{total}", make(number - 1)))
    if number + 1 < total:
        row.append((f"{number + 2}/{total} ▶", make(number + 1)))
    return row


def grouped(
    items: Iterable[_T],
    group_of: Callable[[_T], int | None],
    groups: dict[int, str],
    tr: Translator,
) -> list[tuple[str, list[_T]]]:
    """Items under their party group's name (by name), members without a group last."""
    buckets: dict[int | None, list[_T]] = {}
    for item in items:
        buckets.setdefault(group_of(item), []).append(item)
    order = sorted(
        (k for k in buckets if k is not None), key=lambda k: natural_key(groups.get(k, ""))
    )
    named = [(groups.get(k, "?"), buckets[k]) for k in order]
    if None in buckets:
        named.append((tr.gettext("(no party group)"), buckets[None]))
    return named


# ----------------------------------------------------------------------------------- /plan


def period_label(report: PlanReport, tr: Translator) -> str:
    """'March 2026', 'Q1 2026' or '2026' in the reader's language."""
    _ = tr.gettext
    if report.period == "month":
        return tr.month_name(report.first.year, report.first.month)
    if report.period == "quarter":
        quarter = (report.first.month - 1) // 3 + 1
        return _("Q{quarter} {year}").format(quarter=quarter, year=report.first.year)
    return _("year {year}").format(year=report.first.year)


def plan_entry_lines(entry: PlanEntry, tr: Translator) -> list[str]:
    """One occurrence: id, time, title and audience; then its agenda, state and attendance."""
    _ = tr.gettext
    lines = [
        _("#{id}  {when}  {title} ({audience})").format(
            id=entry.occurrence_id,
            when=tr.when(entry.starts_at),
            title=entry.title.get(tr.locale_name),
            audience=audience_label(entry.audience, tr),
        )
    ]
    if entry.cancelled:
        lines.append("    " + _("❌ cancelled"))
    elif entry.moved:
        lines.append(
            "    "
            + _("↪ moved (planned for {when})").format(when=tr.when(entry.planned_starts_at))
        )
    if entry.agenda is not None:
        lines.append(
            "    " + _("Agenda: {agenda}").format(agenda=entry.agenda.get(tr.locale_name))
        )
    if entry.tally is not None:
        t = entry.tally
        lines.append(
            "    "
            + _(
                "Attendance: present {present}, on leave {leave}, absent {absent} (of {audience})"
            ).format(present=t.present, leave=t.leave, absent=t.absent, audience=t.audience)
        )
    return lines


def plan_report_text(report: PlanReport, tr: Translator) -> str:
    """The plan of the period, grouped by month, in the reader's zone."""
    _ = tr.gettext
    lines = [
        _("{name} — {period}").format(
            name=report.plan_name.get(tr.locale_name), period=period_label(report, tr)
        ),
        _("Time zone: {zone}").format(zone=tr.tz.zone),
    ]
    month = None
    for entry in report.entries:
        local = tr.local(entry.starts_at)
        if (local.year, local.month) != month:
            month = (local.year, local.month)
            lines += ["", f"== {tr.month_name(local.year, local.month)} =="]
        lines += plan_entry_lines(entry, tr)
    if not report.entries:
        lines += ["", _("Nothing is planned in this period.")]
    lines += ["", _("Move or cancel one: /reschedule #ID DATE TIME, /cancelevent #ID")]
    return "\n".join(lines)


def plan_keyboard(view: int, number: int, total: int) -> Keyboard:
    """Page buttons of a /plan view."""
    row = pager(lambda p: button("pg", view, p), number, total)
    return [row] if row else []


def day_label(instant: dt.datetime, tr: Translator) -> str:
    """A short local date and time for buttons, e.g. '3月13日 周五 15:00'."""
    return f"{tr.short_day(tr.local(instant).date())} {tr.clock(instant)}"
