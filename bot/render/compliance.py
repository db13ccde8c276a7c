"""Pure text of /compliance: each required meeting slot of a period, its verdict and the tally.

Shared with the committee's views (/branches, its digest), which name the same slots the same
way: `slot_name` and `verdict_label` are the one wording of a finding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from bot.i18n import N_, Translator
from bot.services.oversight import ComplianceView
from scheduler.compliance import Finding, Span, Tally, Verdict, cycle_of
from scheduler.plan import Localized

# "pg" view codes of /compliance pages: (span, 0 for the period containing today, 1 for the
# one before).
COMPLIANCE_VIEWS: dict[int, tuple[Span, int]] = {
    71: (Span.MONTH, 0), 72: (Span.QUARTER, 0), 73: (Span.YEAR, 0),
    74: (Span.MONTH, 1), 75: (Span.QUARTER, 1), 76: (Span.YEAR, 1),
}  # fmt: skip
VIEW_OF = {reach: code for code, reach in COMPLIANCE_VIEWS.items()}

VERDICTS: Mapping[Verdict, str] = {
    Verdict.ON_TIME: N_("on time"),
    Verdict.LATE: N_("late"),
    Verdict.MISSED: N_("missed"),
    Verdict.NOT_RECORDED: N_("not recorded"),
    Verdict.NOT_IN_PLAN: N_("not in plan"),
    Verdict.AWAITING_RECORD: N_("awaiting record"),
    Verdict.UPCOMING: N_("upcoming"),
}
MARKS: Mapping[Verdict, str] = {
    Verdict.ON_TIME: "✅",
    Verdict.LATE: "🕓",
    Verdict.MISSED: "❌",
    Verdict.NOT_RECORDED: "⚠",
    Verdict.NOT_IN_PLAN: "⛔",
    Verdict.AWAITING_RECORD: "⏳",
    Verdict.UPCOMING: "▫",
}
SPANS: Mapping[Span, str] = {
    Span.MONTH: N_("month"),
    Span.QUARTER: N_("quarter"),
    Span.YEAR: N_("year"),
}


def zh(tr: Translator) -> bool:
    """Whether the reader reads Chinese (full-width punctuation)."""
    return tr.locale_name == "zh_CN"


def colon(tr: Translator) -> str:
    """ "：" or ": "."""
    return "：" if zh(tr) else ": "


def paren(text: str, tr: Translator) -> str:
    """ "（text）" or " (text)"."""
    return f"（{text}）" if zh(tr) else f" ({text})"


def listed(parts: list[str], tr: Translator) -> str:
    """Parts joined by "，" or ", "."""
    return ("，" if zh(tr) else ", ").join(parts)


def verdict_label(verdict: Verdict, tr: Translator) -> str:
    """The verdict in words."""
    return tr.gettext(VERDICTS[verdict])


def slot_name(
    finding: Finding, titles: Mapping[str, Localized], groups: Mapping[int, str], tr: Translator
) -> str:
    """ "支委会 2026-03", with the party group for a group meeting: "党小组会 2026-03 (一组)"."""
    title = titles.get(finding.slot.item_id)
    name = title.get(tr.locale_name) if title is not None else finding.slot.item_id
    text = f"{name} {finding.slot.cycle.label}"
    if finding.slot.scope:
        text += paren(groups.get(finding.slot.scope, "?"), tr)
    return text


def why(finding: Finding, tr: Translator) -> str:
    """The verdict with the facts behind it, in one line (reason included)."""
    _ = tr.gettext
    text = verdict_label(finding.verdict, tr)
    match finding.verdict:
        case Verdict.MISSED if finding.reason:
            text += " — " + _("reason: {reason}").format(reason=finding.reason)
        case Verdict.MISSED if finding.recorded_at is None:
            text += " — " + _("cancelled")
        case Verdict.NOT_RECORDED | Verdict.AWAITING_RECORD if finding.deadline is not None:
            # The deadline is the midnight ending the last day: name that day.
            last_day = tr.local(finding.deadline - dt.timedelta(seconds=1)).date()
            text += " — " + _("record due by {day}").format(day=tr.short_day(last_day))
        case Verdict.UPCOMING if finding.slot.starts_at is not None:
            text += " — " + tr.when(finding.slot.starts_at)
        case _:
            pass
    return text


def finding_line(
    finding: Finding, titles: Mapping[str, Localized], groups: Mapping[int, str], tr: Translator
) -> str:
    """One slot: mark, name, verdict, held-on day and recorded-at, or the reason."""
    _ = tr.gettext
    name = slot_name(finding, titles, groups, tr)
    line = f"{MARKS[finding.verdict]} {name}{colon(tr)}{why(finding, tr)}"
    facts = []
    if finding.held_on is not None:
        facts.append(_("held {day}").format(day=tr.short_day(finding.held_on)))
    if finding.recorded_at is not None:
        facts.append(_("recorded {when}").format(when=tr.stamp(finding.recorded_at)))
    if facts:
        line += paren(listed(facts, tr), tr)
    return line


def tally_lines(tally: Tally, tr: Translator) -> list[str]:
    """The tally: counts of each verdict, the on-time rate and the baseline."""
    _ = tr.gettext
    counts = [
        (Verdict.ON_TIME, tally.on_time),
        (Verdict.LATE, tally.late),
        (Verdict.MISSED, tally.missed),
        (Verdict.NOT_RECORDED, tally.not_recorded),
        (Verdict.NOT_IN_PLAN, tally.not_in_plan),
        (Verdict.AWAITING_RECORD, tally.awaiting_record),
        (Verdict.UPCOMING, tally.upcoming),
    ]
    parts = [f"{verdict_label(v, tr)} {n}" for v, n in counts if n]
    rate = tally.rate
    on_time = "—" if rate is None else f"{round(100 * rate)}%"
    baseline = _("baseline met") if tally.baseline_met else _("baseline not met")
    return [
        " · ".join(parts) if parts else _("No required meetings in this period."),
        _("Held and recorded on time: {rate} · {baseline}").format(
            rate=on_time, baseline=baseline
        ),
    ]


def period_label(span: Span, first_label: str, tr: Translator) -> str:
    """ "2026-03 (month)"."""
    return first_label + paren(tr.gettext(SPANS[span]), tr)


def compliance_text(view: ComplianceView, tr: Translator) -> str:
    """/compliance: the branch's required meetings of the period, each with its verdict."""
    _ = tr.gettext
    label = period_label(view.span, cycle_label(view.span, view.first), tr)
    lines = [_("Meetings of {branch} — {period}").format(branch=view.branch_name, period=label)]
    lines += [finding_line(f, view.titles, view.groups, tr) for f in view.findings]
    if not view.findings:
        lines.append(_("No required meetings in this period."))
    lines += ["", *tally_lines(view.tally, tr)]
    return "\n".join(lines)


def cycle_label(span: Span, first: dt.date) -> str:
    """The period's label: "2026-03", "2026-Q1" or "2026" (the same in every language)."""
    return cycle_of(span.value, first).label
