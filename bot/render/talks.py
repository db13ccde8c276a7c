"""Pure texts of /talks, the talk-records flow: one prompt per step, then the confirmation."""

from __future__ import annotations

from bot.buttons import button
from bot.i18n import Translator
from bot.render.text import Keyboard, refusal_text
from bot.services import talks
from bot.services.events import Refusal
from bot.services.talks import Quarter, TalksState


def quarter_label(quarter: Quarter, tr: Translator) -> str:
    """'2026 Q1' / '2026年第1季度'."""
    return tr.gettext("{year} Q{quarter}").format(year=quarter.year, quarter=quarter.quarter)


def usage(tr: Translator) -> str:
    """How to name a quarter."""
    return tr.gettext("Usage: /talks for this quarter, or /talks 2026Q1 for an earlier one.")


def _head(state: TalksState, tr: Translator) -> list[str]:
    _ = tr.gettext
    assert state.quarter is not None
    lines = [
        _("Talk records of {group}, {quarter}").format(
            group=state.group_name, quarter=quarter_label(state.quarter, tr)
        )
    ]
    if state.resumed:
        lines.append(_("Continuing where you left off."))
    if state.amending:
        lines.append(_("This amends the records handed in before."))
        if state.previous_count is not None:
            lines.append(
                _("Handed in before: {talks} talks, {people} participants.").format(
                    talks=state.previous_count, people=len(state.selected)
                )
            )
    if state.late:
        lines.append(_("The quarter is over: the records will be marked late."))
    return lines


def prompt(state: TalksState, tr: Translator) -> str:
    """The question of the step the leader is at (with a word on a bad answer)."""
    _ = tr.gettext
    if state.refusal is not None and state.refusal not in (Refusal.BAD_INPUT, Refusal.ALREADY):
        return refusal_text(state.refusal, tr)
    lines: list[str] = []
    if state.no_participants:
        lines.append(_("Talks were held, so choose at least one participant."))
    elif state.refusal is Refusal.BAD_INPUT:
        lines.append(refusal_text(Refusal.BAD_INPUT, tr))
    if state.resumed or (state.step == talks.COUNT and state.refusal is None):
        lines += _head(state, tr)
    lines.append(_question(state, tr))
    return "\n".join(lines)


def _question(state: TalksState, tr: Translator) -> str:
    _ = tr.gettext
    if state.step == talks.COUNT:
        return _(
            "How many heart-to-heart talks did the group hold this quarter? "
            "Send a number, or /cancel."
        )
    if state.step == talks.PEOPLE:
        return _("Who took part? Tap the names (several at once), then Done.")
    if state.step == talks.SUMMARY:
        if state.previous_summary:
            return _(
                "Send a short summary of the talks, or keep the earlier one:\n{summary}"
            ).format(summary=state.previous_summary)
        return _("Send a short summary of the talks.")
    if state.previous_file:
        return _("Send a photo or document of the filled form, or keep the earlier one.")
    return _("Send a photo or document of the filled form, or tap Skip.")


def keyboard(state: TalksState, tr: Translator) -> Keyboard:
    """The toggles of the participants step, or Skip at the file step."""
    _ = tr.gettext
    if state.step == talks.PEOPLE:
        rows: Keyboard = []
        pairs = [
            (("✅ " if member_id in state.selected else "▫️ ") + name[:40], button("tm", member_id))
            for member_id, name in state.members
        ]
        rows += [pairs[i : i + 2] for i in range(0, len(pairs), 2)]
        done = _("Done ({n} chosen)").format(n=len(state.selected))
        rows.append([(done, button("td", talks.DONE_PEOPLE))])
        return rows
    if state.step == talks.SUMMARY and state.previous_summary:
        return [[(_("Keep the earlier summary"), button("td", talks.KEEP_SUMMARY))]]
    if state.step == talks.FILE:
        label = _("Keep the earlier form") if state.previous_file else _("Skip")
        return [[(label, button("td", talks.SKIP_FILE))]]
    return []


def saved_text(state: TalksState, tr: Translator) -> str:
    """The confirmation once the record is saved."""
    _ = tr.gettext
    saved = state.saved
    assert saved is not None and state.quarter is not None
    lines = [
        _("Handed in: talk records of {group}, {quarter}.").format(
            group=state.group_name, quarter=quarter_label(state.quarter, tr)
        ),
        _("Talks: {talks}; participants: {people}.").format(
            talks=saved.talks, people=saved.participants
        ),
    ]
    if saved.has_file:
        lines.append(_("The form is attached."))
    if saved.amended:
        lines.append(_("This amended the earlier records."))
    if saved.late:
        lines.append(_("Marked late: the quarter was already over."))
    return "\n".join(lines)


def toggle_toast(state: TalksState, tr: Translator) -> str:
    """The answer to a participant toggle."""
    if state.refusal is not None:
        return refusal_text(state.refusal, tr)
    return tr.gettext("{n} chosen").format(n=len(state.selected))


def step_toast(state: TalksState, tr: Translator) -> str:
    """The answer to Done / Keep / Skip: what was recorded (never an empty toast)."""
    _ = tr.gettext
    if state.saved is not None:
        return _("Talk records handed in.")
    if state.step == talks.SUMMARY:
        return _("{n} chosen").format(n=len(state.selected))
    if state.step == talks.FILE:
        return _("Summary kept.")
    return _("Saved.")
