"""Texts and buttons of meeting records (会议记录): the ask, the flow, /minutes, /overdue lines.

Pure functions of view models (bot.services.minutes) and ledger payloads; plain text (no
parse mode), so names and topics are shown as typed and can never become markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from bot.buttons import button
from bot.i18n import N_, Translator
from bot.render.text import Keyboard, refusal_text
from bot.services import minutes as m
from bot.services.events import Refusal
from bot.services.minutes import Attendees, Listed, MinutesState, Unrecorded

_PROBLEMS = {
    "empty": N_("Please send some text."),
    "too_long": N_("That is too long; please shorten it."),
    "no_member": N_(
        "Nobody of the branch has exactly that name. Tap a name or type it as on the roster."
    ),
    "use_buttons": N_("Please use the buttons below, or /cancel."),
    "too_many": N_("That is enough files for one meeting; tap Done."),
    "bad_when": N_("Send the new date and time like 2026-03-20 15:00."),
    "bad_date": N_("Send the new date and time like 2026-03-20 15:00."),
    "bad_time": N_("Send the new date and time like 2026-03-20 15:00."),
    "past": N_("The new time must be in the future."),
    "same": N_("That is the meeting's current time."),
    "cancelled": N_("This event has been cancelled."),
}


def _title(title: Any, tr: Translator) -> str:
    return str(title.get(tr.locale_name))


def _sep(tr: Translator) -> str:
    return "、" if tr.locale_name == "zh_CN" else ", "


def _meeting(state: MinutesState, tr: Translator) -> str:
    _ = tr.gettext
    when = tr.when(state.starts_at) if state.starts_at else ""
    text = _("{title}, {when}").format(title=_title(state.title, tr), when=when)
    if state.group_name:
        text += " — " + state.group_name
    return text


# ---------------------------------------------------------------------------- the ask


def ask_text(payload: Mapping[str, Any], tr: Translator) -> str:
    """The private message asking the person responsible to record a meeting."""
    _ = tr.gettext
    title = payload.get("title_en") if tr.locale_name == "en" else payload.get("title_zh_CN")
    starts_at = dt.datetime.fromisoformat(str(payload["starts_at"]))
    deadline = dt.datetime.fromisoformat(str(payload["deadline"]))
    last_day = tr.day((tr.local(deadline) - dt.timedelta(seconds=1)).date())
    if payload.get("phase") == "follow":
        head = _("Reminder: the record of {title} ({when}) is due today.")
    else:
        head = _("{title} ({when}) has ended. Please record it: was it held?")
    if payload.get("group"):
        title = f"{title} — {payload['group']}"
    lines = [head.format(title=title, when=tr.when(starts_at))]
    lines.append(
        _("Record it by {day}: tap below. After that it is listed as not recorded.").format(
            day=last_day
        )
    )
    return "\n".join(lines)


def ask_keyboard(payload: Mapping[str, Any], tr: Translator) -> Keyboard:
    """The one button of the ask: start recording this meeting (for this party group)."""
    occurrence = int(payload.get("occurrence") or 0)
    scope = int(payload.get("scope") or 0)
    return [[(tr.gettext("📝 Record the meeting"), button("mr", occurrence, scope))]]


# ---------------------------------------------------------------------------- the flow


def prompt(state: MinutesState, tr: Translator) -> str:
    """The question of the step the person is at (with a word on a refused answer)."""
    _ = tr.gettext
    if state.refusal is Refusal.ALREADY and state.already_by is not None:
        return _("This meeting was already recorded by {name}; nothing was changed.").format(
            name=state.already_by or "?"
        )
    if state.refusal is Refusal.FUTURE:
        return _("This meeting has not ended yet; record it after it ends.")
    if state.refusal is not None:
        return refusal_text(state.refusal, tr)
    if state.saved is not None:
        return saved_text(state, tr)
    lines: list[str] = []
    if state.problem is not None:
        lines.append(_(_PROBLEMS.get(state.problem, N_("That is not a valid answer."))))
    if state.resumed:
        lines.append(_("Continuing where you left off."))
    if state.step == m.HELD or state.resumed:
        lines.append(_meeting(state, tr))
        if state.amending:
            lines.append(_("It is already recorded: what you enter now corrects the record."))
    lines.append(_question(state, tr))
    return "\n".join(lines)


def _question(state: MinutesState, tr: Translator) -> str:
    _ = tr.gettext
    if state.step == m.HELD:
        return _("Was the meeting held?")
    if state.step == m.NOT_HELD:
        if state.amending and not state.per_group:
            return _("A recorded meeting is corrected, not moved: record it as cancelled.")
        if state.per_group:
            return _(
                "A party group meeting is shared by every group, so it cannot be moved from "
                "here. Record it as cancelled, or /cancel."
            )
        return _("Was it postponed to a later time, or cancelled?")
    if state.step == m.WHEN:
        return _(
            "Send the new date and time, like 2026-03-20 15:00. Members who were reminded "
            "are told it moved."
        )
    if state.step == m.REASON:
        return _("Why was it not held? Send the reason.")
    if state.step == m.TOPIC:
        if state.topic:
            return _(
                "Topic recorded before:\n{topic}\nKeep it, or send the topic discussed."
            ).format(topic=state.topic)
        if state.agenda is not None:
            return _("The plan's topic:\n{topic}\nKeep it, or send the topic discussed.").format(
                topic=_title(state.agenda, tr)
            )
        return _("Send the topic discussed.")
    if state.step == m.HOST:
        return _("Who chaired the meeting (主持人)? Tap a name or type it.")
    if state.step == m.RECORDER:
        return _("Who took the minutes (记录人)? Tap a name or type it.")
    if state.step == m.SUMMARY:
        if state.summary:
            return _(
                "Send a summary of the decisions (up to {n} characters), or keep the one "
                "recorded before:\n{summary}"
            ).format(n=m.MAX_SUMMARY, summary=state.summary)
        return _("Send a summary of the decisions (up to {n} characters).").format(n=m.MAX_SUMMARY)
    if state.step == m.FILES:
        return _(
            "Send photos or documents: first the minutes, then the sign-in sheet (签到表), "
            "then anything else. Tap Done when finished. Files so far: {n}."
        ).format(n=state.files)
    if state.step == m.REVIEW:
        return review_text(state, tr)
    return ""


def _names(names: Sequence[str], tr: Translator) -> str:
    return _sep(tr).join(names) if names else "-"


def attendance_lines(seen: Attendees, tr: Translator) -> list[str]:
    """Present / on leave / absent, with the names."""
    _ = tr.gettext
    return [
        _("Present ({n}): {names}").format(n=len(seen.present), names=_names(seen.present, tr)),
        _("On leave ({n}): {names}").format(n=len(seen.on_leave), names=_names(seen.on_leave, tr)),
        _("Absent ({n}): {names}").format(n=len(seen.absent), names=_names(seen.absent, tr)),
    ]


def review_text(state: MinutesState, tr: Translator) -> str:
    """Everything that will be saved, and the attendance as the registers count it."""
    _ = tr.gettext
    lines = [
        _("Please check, then Save."),
        _meeting(state, tr),
        _("Topic: {topic}").format(topic=state.topic or "-"),
        _("Chaired by: {name}").format(name=state.host or "-"),
        _("Minutes by: {name}").format(name=state.recorder or "-"),
        _("Decisions: {summary}").format(summary=state.summary or "-"),
        _("Files: {n}").format(n=state.files),
        _("Attendance (check-ins, leave and hand marks):"),
        *attendance_lines(state.attendees, tr),
    ]
    return "\n".join(lines)


def keyboard(state: MinutesState, tr: Translator) -> Keyboard:
    """The buttons of the step."""
    _ = tr.gettext
    if state.saved is not None or state.refusal not in (None, Refusal.BAD_INPUT):
        return []
    if state.step == m.HELD:
        return [
            [
                (_("✅ Held"), button("mc", m.C_HELD, 0)),
                (_("❌ Not held"), button("mc", m.C_NOT_HELD, 0)),
            ]
        ]
    if state.step == m.NOT_HELD:
        cancelled = (_("Cancelled"), button("mc", m.C_CANCELLED, 0))
        if state.per_group or state.amending:
            return [[cancelled]]
        return [[(_("Postponed"), button("mc", m.C_POSTPONE, 0)), cancelled]]
    if state.step == m.TOPIC and (state.topic or state.agenda is not None):
        return [[(_("Keep this topic"), button("mc", m.C_KEEP_TOPIC, 0))]]
    if state.step in (m.HOST, m.RECORDER):
        code = m.C_HOST if state.step == m.HOST else m.C_RECORDER
        pairs = [(name[:30], button("mc", code, member_id)) for member_id, name in state.people]
        return [pairs[i : i + 3] for i in range(0, len(pairs), 3)]
    if state.step == m.SUMMARY and state.summary:
        return [[(_("Keep the summary"), button("mc", m.C_KEEP_SUMMARY, 0))]]
    if state.step == m.FILES:
        return [[(_("Done"), button("mc", m.C_FILES_DONE, 0))]]
    if state.step == m.REVIEW:
        rows: Keyboard = [[(_("💾 Save"), button("mc", m.C_SAVE, 0))]]
        if state.can_mark:
            rows.append([(_("Correct attendance"), button("mc", m.C_ATTENDANCE, 0))])
        return rows
    return []


# The fields of a record, as a correction's confirmation names them.
FIELD_LABELS = {
    "held": N_("Held"),
    "reason": N_("Reason not held"),
    "topic": N_("Topic"),
    "host_id": N_("Chaired by"),
    "recorder_id": N_("Minutes by"),
    "summary": N_("Summary of decisions"),
}


def saved_text(state: MinutesState, tr: Translator) -> str:
    """The confirmation once saved (or moved)."""
    _ = tr.gettext
    meeting = _meeting(state, tr)
    if state.saved == "postponed" and state.new_starts_at is not None:
        return _("{meeting}: moved to {when}. You will be asked again after it.").format(
            meeting=meeting, when=tr.when(state.new_starts_at)
        )
    if state.amending:
        labels = [_(FIELD_LABELS.get(name, name)) for name in state.changes]
        changed = _sep(tr).join(labels) if labels else _("nothing")
        return _("{meeting}: record corrected (changed: {fields}).").format(
            meeting=meeting, fields=changed
        )
    if state.saved == "not_held":
        return _("{meeting}: recorded as not held.").format(meeting=meeting)
    return _("{meeting}: recorded as held. Thank you!").format(meeting=meeting)


def file_toast(state: MinutesState, tr: Translator) -> str:
    """The answer to each file received."""
    if state.problem is not None or state.refusal is not None:
        return prompt(state, tr)
    return tr.gettext("Received ({n}). Send more, or tap Done.").format(n=state.files)


# ---------------------------------------------------------------------------- /minutes


def list_text(found: Sequence[Listed], tr: Translator) -> str:
    """/minutes: meetings to record (overdue first marked), then the records made."""
    _ = tr.gettext
    if not found:
        return _("No meetings of the last two months are yours to record.")
    lines = [
        _("Meeting records (会议记录) of the last two months. Tap one to record or correct it.")
    ]
    for n, x in enumerate(found, start=1):
        lines.append(f"{n}. " + list_line(x, tr))
    return "\n".join(lines)


def list_line(x: Listed, tr: Translator) -> str:
    """One meeting of /minutes with its state."""
    _ = tr.gettext
    head = f"{_title(x.title, tr)} {tr.short_day(tr.local(x.starts_at).date())}"
    if x.group_name:
        head += f" [{x.group_name}]"
    if x.recorded:
        state = _("recorded, held") if x.held else _("recorded, not held")
        return f"✅ {head}: {state}"
    last_day = tr.short_day((tr.local(x.deadline) - dt.timedelta(seconds=1)).date())
    if x.overdue:
        return "❗ " + _("{head}: not recorded (was due {day})").format(head=head, day=last_day)
    return "⏳ " + _("{head}: to record by {day}").format(head=head, day=last_day)


def list_keyboard(found: Sequence[Listed], tr: Translator) -> Keyboard:
    """One button per listed meeting (its number), four a row."""
    pairs = [(str(n), button("mr", x.occurrence_id, x.scope)) for n, x in enumerate(found, 1)]
    return [pairs[i : i + 4] for i in range(0, len(pairs), 4)]


# ---------------------------------------------------------------------------- /overdue


def overdue_lines(found: Sequence[Unrecorded], tr: Translator) -> list[str]:
    """The /overdue section: meetings past their record deadline, with who should record."""
    _ = tr.gettext
    if not found:
        return []
    lines = ["", _("📋 Meetings not recorded")]
    for x in found:
        head = f"{_title(x.title, tr)} {tr.short_day(tr.local(x.starts_at).date())}"
        if x.group_name:
            head += f" [{x.group_name}]"
        who = _sep(tr).join(x.responsible) if x.responsible else "-"
        lines.append("  " + _("{meeting}: to be recorded by {who}").format(meeting=head, who=who))
    lines.append(_("Record them with /minutes."))
    return lines
