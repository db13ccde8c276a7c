"""Pure text of /attendance (picker, roster, quorum, hand marks) and /reschedule, /cancelevent."""

from __future__ import annotations

from bot.buttons import button
from bot.i18n import N_, Translator
from bot.render.plan import STATE_MARK, day_label, state_label
from bot.render.text import Keyboard, clip
from bot.services.attendance_admin import EventChoice, Roster, RosterLine
from bot.services.changes import ChangeResult
from scheduler.quorum import Quorum

ROSTER_PAGE = 12  # members per roster page (each gets a button)
REASON_PREVIEW = 60  # characters of a leave reason on the roster; the mark panel shows it all
SHOW_PAGE, OPEN_PANEL = 0, 4  # "mk" state codes that do not mark; 1..3 mark


def picker_text(events: list[EventChoice], tr: Translator) -> str:
    """The prompt above the event buttons."""
    _ = tr.gettext
    if not events:
        return _("No meetings in the six weeks around today. Use /attendance #ID for another one.")
    return _("Pick a meeting (or send /attendance #ID):")


def picker_keyboard(events: list[EventChoice], tr: Translator) -> Keyboard:
    """One button per meeting."""
    return [
        [
            (
                _event_label(e, tr),
                button("ev", e.occurrence_id),
            )
        ]
        for e in events
    ]


def _event_label(event: EventChoice, tr: Translator) -> str:
    mark = "❌ " if event.cancelled else ""
    return f"{mark}{day_label(event.starts_at, tr)} {event.title.get(tr.locale_name)}"[:60]


def quorum_lines(q: Quorum, tr: Translator) -> list[str]:
    """Where a general members' meeting stands against its quorum."""
    _ = tr.gettext
    if q.by_check_in:
        text = _("Quorum: {needed} of {entitled} full members needed; {counted} checked in.")
    else:
        text = _(
            "Quorum: {needed} of {entitled} full members needed; {counted} said they will attend."
        )
    lines = [text.format(needed=q.needed, entitled=q.entitled, counted=q.counted)]
    if q.reached:
        lines.append(_("✅ Quorum reached."))
    elif q.impossible:
        lines.append(
            _("⛔ The quorum cannot be reached: {n} full members are on leave.").format(
                n=q.on_leave
            )
        )
    else:
        lines.append(
            _("⚠ Quorum at risk: {missing} more needed.").format(missing=q.needed - q.counted)
        )
    return lines


def _heading(roster: Roster, tr: Translator) -> list[str]:
    _ = tr.gettext
    lines = [
        _("{title} · {when} (#{id})").format(
            title=roster.title.get(tr.locale_name),
            when=tr.when(roster.starts_at),
            id=roster.occurrence_id,
        )
    ]
    if roster.cancelled:
        lines.append(_("❌ cancelled"))
    if roster.quorum is not None:
        lines += quorum_lines(roster.quorum, tr)
    return lines


def line_text(line: RosterLine, tr: Translator, *, reason_limit: int = REASON_PREVIEW) -> str:
    """A member's state: mark, name, state, check-in time or (the start of) the leave reason."""
    _ = tr.gettext
    text = f"{STATE_MARK.get(line.state or '', '❔')} {line.name} — {state_label(line.state, tr)}"
    if line.checked_in_at is not None:
        text += " " + _("(checked in {time})").format(time=tr.clock(line.checked_in_at))
    elif line.by_hand:
        text += " " + _("(marked by hand)")
    if line.leave_reason:
        reason = clip(line.leave_reason, reason_limit)
        text += " " + _("reason: {reason}").format(reason=reason)
    if line.made_up:
        text += " " + _("(made up)")
    if not line.full:
        text += " " + _("(probationary)")
    return text


def page_of(roster: Roster, member_id: int) -> int:
    """The roster page that shows `member_id` (the first page if absent)."""
    for index, line in enumerate(roster.lines):
        if line.member_id == member_id:
            return index // ROSTER_PAGE
    return 0


def roster_text(roster: Roster, number: int, tr: Translator) -> str:
    """One page of the roster under the heading and quorum, by group."""
    _ = tr.gettext
    lines = _heading(roster, tr)
    counts: dict[str, int] = {}
    for line in roster.lines:
        key = state_label(line.state, tr)
        counts[key] = counts.get(key, 0) + 1
    lines.append(" · ".join(f"{k} {v}" for k, v in counts.items()) or _("Nobody is expected."))
    group = None
    for line in roster.lines[number * ROSTER_PAGE : (number + 1) * ROSTER_PAGE]:
        if line.group != group:
            group = line.group
            lines += ["", f"[{group or _('(no party group)')}]"]
        lines.append("  " + line_text(line, tr))
    pages = max(1, -(-len(roster.lines) // ROSTER_PAGE))
    if pages > 1:
        lines += ["", _("Page {page} of {pages}").format(page=number + 1, pages=pages)]
    lines += (
        ["", _("Tap a name to mark that member by hand.")]
        if roster.lines and not roster.cancelled
        else []
    )
    return "\n".join(lines)


def roster_keyboard(roster: Roster, number: int) -> Keyboard:
    """A button per member of the page (opens the mark panel) and the page buttons."""
    occ = roster.occurrence_id
    shown = roster.lines[number * ROSTER_PAGE : (number + 1) * ROSTER_PAGE]
    rows: Keyboard = []
    if not roster.cancelled:
        names = [
            (f"✎ {line.name}"[:40], button("mk", occ, line.member_id, OPEN_PANEL))
            for line in shown
        ]
        rows = [names[i : i + 2] for i in range(0, len(names), 2)]
    nav = []
    start, end = number * ROSTER_PAGE, (number + 1) * ROSTER_PAGE
    if start > 0:
        nav.append(("◀", button("mk", occ, roster.lines[start - 1].member_id, SHOW_PAGE)))
    if end < len(roster.lines):
        nav.append(("▶", button("mk", occ, roster.lines[end].member_id, SHOW_PAGE)))
    return [*rows, nav] if nav else rows


def panel_text(roster: Roster, member_id: int, tr: Translator) -> str:
    """The hand-mark panel of one member."""
    _ = tr.gettext
    line = next((x for x in roster.lines if x.member_id == member_id), None)
    lines = _heading(roster, tr)
    if line is not None:
        # The whole reason, as far as one message allows (names are at most 200 characters).
        lines += [
            "",
            line_text(line, tr, reason_limit=3000),
            _("Mark {name} as:").format(name=line.name),
        ]
    return "\n".join(lines)


_MAKE_UP_STATES = frozenset({"absent", "leave_approved", "leave_requested"})


def panel_keyboard(roster: Roster, member_id: int, tr: Translator) -> Keyboard:
    """Present / on leave / absent, a make-up session (补课) if missed, back to the roster."""
    occ = roster.occurrence_id
    rows: Keyboard = [
        [
            ("✅ " + state_label("present", tr), button("mk", occ, member_id, 1)),
            ("🟡 " + state_label("leave_approved", tr), button("mk", occ, member_id, 2)),
            ("❌ " + state_label("absent", tr), button("mk", occ, member_id, 3)),
        ]
    ]
    line = next((x for x in roster.lines if x.member_id == member_id), None)
    if line is not None and line.state in _MAKE_UP_STATES:
        label = "📚 " + tr.gettext("Record a make-up session (补课)")
        rows.append([(label, button("mu", occ, member_id))])
    rows.append(
        [("◀ " + tr.gettext("Back to the roster"), button("mk", occ, member_id, SHOW_PAGE))]
    )
    return rows


ATTENDANCE_ERRORS = {
    "unknown_event": N_("There is no such event in your branch. Send /attendance to pick one."),
    "not_audience": N_("That member is not expected at this event."),
    "cancelled": N_("This event is cancelled; nothing was marked."),
    "not_yet": N_("Present and absent can be marked from 30 minutes before the start."),
}


def attendance_error(code: str, tr: Translator) -> str:
    """Why a roster or a mark was refused."""
    return tr.gettext(ATTENDANCE_ERRORS.get(code, ATTENDANCE_ERRORS["unknown_event"]))


def change_text(result: ChangeResult, tr: Translator) -> str:
    """What /reschedule or /cancelevent did, and who will be told."""
    _ = tr.gettext
    title = result.title.get(tr.locale_name)
    if result.new_starts_at is None:
        lines = [
            _("Cancelled: {title} on {when} (#{id}).").format(
                title=title, when=tr.when(result.old_starts_at), id=result.occurrence_id
            )
        ]
    else:
        lines = [
            _("Moved: {title} (#{id}) from {old} to {new}.").format(
                title=title,
                id=result.occurrence_id,
                old=tr.when(result.old_starts_at),
                new=tr.when(result.new_starts_at),
            )
        ]
        lines.append(_("Reminders follow the new time."))
    if result.told:
        lines.append(
            tr.ngettext(
                "{n} member who had been reminded will be told.",
                "{n} members who had been reminded will be told.",
                result.told,
            ).format(n=result.told)
        )
    else:
        lines.append(_("Nobody had been reminded yet, so nobody needs to be told."))
    if result.group_told:
        lines.append(_("The group chat will be told too."))
    return "\n".join(lines)


def change_error(code: str, value: str, tr: Translator) -> str:
    """Why a move or cancellation was refused; nothing was changed."""
    _ = tr.gettext
    messages = {
        "usage_reschedule": _(
            "Usage: /reschedule EVENT DATE TIME, e.g. /reschedule #12 2026-03-20 15:00 "
            "(EVENT is the #id shown by /plan, or item@planned-date)."
        ),
        "usage_cancel": _(
            "Usage: /cancelevent EVENT, e.g. /cancelevent #12 "
            "(EVENT is the #id shown by /plan, or item@planned-date)."
        ),
        "bad_event": _(
            "“{value}” is not an event: use the #id shown by /plan, or item@YYYY-MM-DD."
        ),
        "bad_date": _("“{value}” is not a date: use YYYY-MM-DD, e.g. 2026-03-20."),
        "bad_time": _("“{value}” is not a time: use 24-hour HH:MM, e.g. 15:00."),
        "unknown_event": _("There is no such event in your branch. See /plan for the ids."),
        "past": _("{value} is in the past: pick a later date and time."),
        "same": _("The event is already at that time; nothing changed."),
        "cancelled": _("That event is cancelled; nothing changed."),
        "held": _("That event has already started; it can no longer be moved or cancelled."),
    }
    return messages.get(code, messages["unknown_event"]).format(value=value) + (
        "" if code.startswith("usage") or code == "same" else "\n" + _("Nothing was changed.")
    )
