"""Pure text of the committee's views: /branches (a scorecard per branch, worst first), one
branch opened from it, and the seat holders' weekly digest."""

from __future__ import annotations

from collections.abc import Mapping

from bot.buttons import button
from bot.i18n import Translator
from bot.render.compliance import (
    colon,
    compliance_text,
    cycle_label,
    paren,
    period_label,
    slot_name,
    why,
    zh,
)
from bot.render.overdue import overdue_text
from bot.render.plan import pager
from bot.render.text import Keyboard, label
from bot.services.overdue import OverdueReport
from bot.services.oversight import BranchesView, ComplianceView
from scheduler.compliance import Finding, Span, Verdict
from scheduler.plan import Localized
from scheduler.scorecard import BranchCard, Rate

# A period: (month, quarter or year; 0 for the one containing today, 1 for the one before).
Reach = tuple[Span, int]
# "pg" view codes of /branches pages, one per period.
BRANCHES_VIEWS: dict[int, Reach] = {
    81: (Span.MONTH, 0), 82: (Span.QUARTER, 0), 83: (Span.YEAR, 0),
    84: (Span.MONTH, 1), 85: (Span.QUARTER, 1), 86: (Span.YEAR, 1),
}  # fmt: skip
BRANCHES_VIEW_OF = {reach: code for code, reach in BRANCHES_VIEWS.items()}
SPAN_CODES: tuple[Reach, ...] = tuple(BRANCHES_VIEWS.values())  # the "ob" button's period
MEETINGS, OVERDUE = 0, 1  # the "ob" button's view argument
CARDS_PER_PAGE = 8
GAPS_SHOWN = 6  # gaps listed under one branch; more are counted


def percent(value: float | None) -> str:
    """ "83%", or "—" when nothing was due."""
    return "—" if value is None else f"{round(100 * value)}%"


def gaps(card: BranchCard) -> list[Finding]:
    """The settled slots not held and recorded on time (late, missed, not recorded, not in
    plan), in order."""
    return [f for f in card.findings if f.verdict.final and f.verdict is not Verdict.ON_TIME]


def fine(card: BranchCard) -> bool:
    """Nothing to say: the best score."""
    return card.score.total >= card.score.best


def measures_line(card: BranchCard, tr: Translator) -> str:
    """The rates and counts of one scorecard, in one line."""
    _ = tr.gettext
    m = card.measures
    return " · ".join(
        [
            _("meetings on time {rate}").format(rate=percent(m.meetings.rate)),
            _("attendance {rate}").format(rate=percent(m.attendance.value)),
            _("dues on time {rate}").format(rate=percent(m.dues.value)),
            _("talk records and thought reports {rate}").format(rate=percent(m.handins.value)),
            _("unreachable {n}").format(n=m.unreachable),
            _("development deadlines missed {n}").format(n=m.development_missed),
        ]
    )


def score_text(card: BranchCard, tr: Translator) -> str:
    """ "62/100 · baseline not met"."""
    _ = tr.gettext
    met = card.measures.meetings.baseline_met
    baseline = _("baseline met") if met else _("baseline not met")
    return f"{card.score.out_of_100:g}/100 · {baseline}"


def card_lines(
    card: BranchCard, titles: Mapping[str, Localized], groups: Mapping[int, str], tr: Translator
) -> list[str]:
    """One branch: its score, its measures, and the meetings that went wrong."""
    mark = "✅" if fine(card) else "🔻"
    lines = [f"{mark} {card.name} — {score_text(card, tr)}", "   " + measures_line(card, tr)]
    found = gaps(card)
    lines += [
        f"   • {slot_name(f, titles, groups, tr)}{colon(tr)}{why(f, tr)}"
        for f in found[:GAPS_SHOWN]
    ]
    if len(found) > GAPS_SHOWN:
        lines.append("   " + tr.gettext("…and {n} more").format(n=len(found) - GAPS_SHOWN))
    return lines


def page_count(view: BranchesView) -> int:
    """How many pages /branches has."""
    return max(1, -(-len(view.cards) // CARDS_PER_PAGE))


def branches_text(view: BranchesView, number: int, tr: Translator) -> str:
    """One page of /branches."""
    _ = tr.gettext
    period = period_label(view.span, cycle_label(view.span, view.first), tr)
    lines = [_("Branches — {period}, worst first").format(period=period)]
    if not view.cards:
        return "\n".join([*lines, "", _("No branches below your seats yet.")])
    for card in view.cards[number * CARDS_PER_PAGE : (number + 1) * CARDS_PER_PAGE]:
        lines += ["", *card_lines(card, view.titles, view.groups, tr)]
    lines += ["", _("Tap a branch to see its meetings and who is behind (read-only).")]
    return "\n".join(lines)


def branches_keyboard(view: BranchesView, number: int, tr: Translator) -> Keyboard:
    """A button per branch of the page (two a row), and the page buttons."""
    span = SPAN_CODES.index((view.span, view.back))
    cards = view.cards[number * CARDS_PER_PAGE : (number + 1) * CARDS_PER_PAGE]
    opens = [(label(c.name), button("ob", c.branch_id, span, MEETINGS, 0)) for c in cards]
    rows = [opens[i : i + 2] for i in range(0, len(opens), 2)]
    code = BRANCHES_VIEW_OF[(view.span, view.back)]
    nav = pager(lambda p: button("pg", code, p), number, page_count(view))
    return [*rows, nav] if nav else rows


def opened_meetings_text(view: ComplianceView, tr: Translator) -> str:
    """A branch opened from /branches: its meetings (the same text as its own /compliance)."""
    return compliance_text(view, tr)


def opened_overdue_text(report: OverdueReport, branch_name: str, tr: Translator) -> str:
    """A branch opened from /branches: who is behind there, without the nudge buttons."""
    return f"{branch_name}\n" + overdue_text(report, tr, nudges=False)


def opened_keyboard(
    branch_id: int, span: Reach, view: int, number: int, total: int, tr: Translator
) -> Keyboard:
    """Switch between the branch's meetings and who is behind, its pages, and back."""
    _ = tr.gettext
    code = SPAN_CODES.index(span)
    other = OVERDUE if view == MEETINGS else MEETINGS
    switch = _("Who is behind") if other == OVERDUE else _("Meetings")
    rows: Keyboard = [
        [
            (switch, button("ob", branch_id, code, other, 0)),
            (_("◀ All branches"), button("pg", BRANCHES_VIEW_OF[span], 0)),
        ]
    ]
    nav = pager(lambda p: button("ob", branch_id, code, view, p), number, total)
    return [*rows, nav] if nav else rows


def reasons(
    card: BranchCard, titles: Mapping[str, Localized], groups: Mapping[int, str], tr: Translator
) -> list[str]:
    """Why a branch is behind, shortest first: each meeting gone wrong, then each rate short
    of 100%, unreachable members and missed development deadlines."""
    _ = tr.gettext
    m = card.measures
    found = [f"{slot_name(f, titles, groups, tr)} {why(f, tr)}" for f in gaps(card)]
    rates: list[tuple[str, Rate]] = [
        (_("attendance {rate}"), m.attendance),
        (_("dues on time {rate}"), m.dues),
        (_("talk records and thought reports {rate}"), m.handins),
    ]
    found += [text.format(rate=percent(r.value)) for text, r in rates if r.due and r.done < r.due]
    if m.unreachable:
        found.append(
            tr.ngettext("{n} member unreachable", "{n} members unreachable", m.unreachable).format(
                n=m.unreachable
            )
        )
    if m.development_missed:
        found.append(
            tr.ngettext(
                "{n} development deadline missed",
                "{n} development deadlines missed",
                m.development_missed,
            ).format(n=m.development_missed)
        )
    return found


def digest_text(view: BranchesView, tr: Translator) -> str:
    """A seat holder's weekly digest: the branches behind and why (worst first), then the
    branches that are fine, in one line."""
    _ = tr.gettext
    period = f"{cycle_label(Span.MONTH, view.first)} – {cycle_label(Span.MONTH, view.last)}"
    lines = [_("📊 {unit}: the branches this week ({period})").format(unit=view.unit_name,
                                                                      period=period)]  # fmt: skip
    behind = [c for c in view.cards if not fine(c)]
    good = [c for c in view.cards if fine(c)]
    if behind:
        lines += ["", _("Behind, worst first:")]
        for card in behind:
            why_ = ("；" if zh(tr) else "; ").join(reasons(card, view.titles, view.groups, tr))
            score = paren(f"{card.score.out_of_100:g}/100", tr)
            lines.append(f"🔻 {card.name}{score}{colon(tr)}{why_}")
    if good:
        sep = "、" if tr.locale_name == "zh_CN" else ", "
        names = sep.join(c.name for c in sorted(good, key=lambda c: c.name))
        lines += ["", _("✅ Fine: {names}").format(names=names)]
    lines += ["", _("Details: /branches")]
    return "\n".join(lines)
