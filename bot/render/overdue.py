"""Pure text of /overdue and of a nudge tap's answer."""

from __future__ import annotations

from bot.buttons import button
from bot.i18n import N_, Translator
from bot.render.plan import grouped, pager
from bot.render.text import Keyboard
from bot.services.nudges import NudgeResult
from bot.services.overdue import DuesLag, Month, OverdueReport
from scheduler.handins import Owed
from scheduler.plan import Localized
from storage.sorting import natural_key

OVERDUE_VIEW = 64  # the "pg" view code of /overdue pages
LIMIT_NOTE = N_(
    "⛔ {n} months in a row: the rules' limit (six months unpaid without good reason counts "
    "as leaving the Party; back payment reaches back at most six months)"
)


def _months(months: tuple[Month, ...], tr: Translator) -> str:
    sep = "、" if tr.locale_name == "zh_CN" else ", "
    return sep.join(tr.month_name(y, m) for y, m in months)


def _dues_line(lag: DuesLag, tr: Translator) -> str:
    _ = tr.gettext
    text = tr.ngettext(
        "{name}: {n} month unpaid ({months}), owes {owed}",
        "{name}: {n} months unpaid ({months}), owes {owed}",
        len(lag.unpaid),
    ).format(
        name=lag.name, n=len(lag.unpaid), months=_months(lag.unpaid, tr), owed=tr.money(lag.owed)
    )
    if lag.level == "limit":
        text += "  " + _(LIMIT_NOTE).format(n=lag.streak)
    elif lag.level == "warning":
        text += "  " + _("⚠ {n} months in a row").format(n=lag.streak)
    return text


def _dues_section(report: OverdueReport, tr: Translator) -> list[str]:
    _ = tr.gettext
    lines: list[str] = []
    unpaid = [lag for lag in report.dues if lag.unpaid]
    if unpaid:
        lines += ["", _("💴 Dues unpaid")]
        for group, lags in grouped(unpaid, lambda x: x.group_id, report.groups, tr):
            lines.append(f"[{group}]")
            lines += ["  " + _dues_line(lag, tr) for lag in lags]
    declared = [lag for lag in report.dues if lag.declared]
    if declared:
        lines += ["", _("🕓 Declared as paid, awaiting confirmation")]
        for group, lags in grouped(declared, lambda x: x.group_id, report.groups, tr):
            lines.append(f"[{group}]")
            lines += [
                "  "
                + _("{name}: {months}").format(name=lag.name, months=_months(lag.declared, tr))
                for lag in lags
            ]
    return lines


def _other_sections(report: OverdueReport, tr: Translator) -> list[str]:
    _ = tr.gettext
    lines: list[str] = []
    if report.talks:
        lines += ["", _("📝 Talk records missing")]
        for gap in report.talks:
            quarters = ", ".join(_("Q{quarter}").format(quarter=q) for q in gap.quarters)
            leaders = "、".join(gap.leaders) if gap.leaders else _("no group leader")
            lines.append(
                "  "
                + _("{group}: {quarters} (group leader: {leaders})").format(
                    group=report.groups.get(gap.group_id, "?"), quarters=quarters, leaders=leaders
                )
            )
    if report.absences:
        lines += ["", _("🚫 Absent without leave (last three months)")]
        for group, lags in grouped(report.absences, lambda x: x.group_id, report.groups, tr):
            lines.append(f"[{group}]")
            for lag in lags:
                events = "; ".join(
                    f"{m.title.get(tr.locale_name)} {tr.short_day(tr.local(m.starts_at).date())}"
                    + (" " + _("(made up)") if m.made_up else "")
                    for m in lag.missed
                )
                lines.append(
                    "  "
                    + tr.ngettext(
                        "{name}: {n} meeting ({events})",
                        "{name}: {n} meetings ({events})",
                        len(lag.missed),
                    ).format(name=lag.name, n=len(lag.missed), events=events)
                )
    if report.no_talk:
        lines += [
            "",
            tr.ngettext(
                "🗣 No heart-to-heart talk this year: {n} member",
                "🗣 No heart-to-heart talk this year: {n} members",
                len(report.no_talk),
            ).format(n=len(report.no_talk)),
        ]
        for group, people in grouped(report.no_talk, lambda x: x.group_id, report.groups, tr):
            lines.append(f"[{group}] " + "、".join(p.name for p in people))
    for (title, quarter), owed in _by_item_quarter(report):
        lines += [
            "",
            _("📄 {title}, Q{quarter}: not handed in").format(
                title=title.get(tr.locale_name), quarter=quarter
            ),
        ]
        for group, owing in grouped(owed, lambda x: x.group_id, report.groups, tr):
            lines.append(f"[{group}] " + "、".join(o.name for o in owing))
    if report.unreachable:
        lines += ["", _("📵 The bot cannot reach")]
        for person in report.unreachable:
            why = (
                _("never linked")
                if not person.reason
                else _("refused: {reason}").format(reason=person.reason)
            )
            lines.append("  " + _("{name}: {why}").format(name=person.name, why=why))
    return lines


def _by_item_quarter(report: OverdueReport) -> list[tuple[tuple[Localized, int], list[Owed]]]:
    """The missing hand-ins by plan item and quarter, in the report's order."""
    found: dict[tuple[str, int], tuple[Localized, list[Owed]]] = {}
    for owed in report.handins:
        key = (owed.item.id, owed.quarter)
        found.setdefault(key, (owed.item.title, []))[1].append(owed)
    return [((title, key[1]), owed) for key, (title, owed) in found.items()]


def overdue_text(report: OverdueReport, tr: Translator, *, nudges: bool = True) -> str:
    """Who is behind, by topic then party group; each line names the person and how far.

    `nudges=False`: read-only (a committee looking at a branch has no nudge buttons)."""
    _ = tr.gettext
    lines = [_("Who is behind — {year}").format(year=report.year)]
    if report.empty:
        return "\n".join([*lines, "", _("Nobody is behind. 👍")])
    lines += _dues_section(report, tr) + _other_sections(report, tr)
    if nudges and nudge_groups(report):
        lines += ["", _("Tap a group below to send its members a polite reminder (once a day).")]
    return "\n".join(lines)


def nudge_groups(report: OverdueReport) -> list[int]:
    """Groups that have someone a nudge could reach about something, by name."""
    ids = {lag.group_id for lag in report.dues if lag.unpaid}
    ids |= {gap.group_id for gap in report.talks}
    ids |= {lag.group_id for lag in report.absences}
    return sorted(
        (i for i in ids if i is not None), key=lambda i: natural_key(report.groups.get(i, ""))
    )


def overdue_keyboard(report: OverdueReport, number: int, total: int, tr: Translator) -> Keyboard:
    """Nudge buttons per party group (two a row) and the page buttons."""
    _ = tr.gettext
    nudges = [
        (_("🔔 Nudge {group}").format(group=report.groups.get(g, "?"))[:60], button("nd", g))
        for g in nudge_groups(report)
    ]
    rows = [nudges[i : i + 2] for i in range(0, len(nudges), 2)]
    nav = pager(lambda p: button("pg", OVERDUE_VIEW, p), number, total)
    return [*rows, nav] if nav else rows


def nudge_text(result: NudgeResult, tr: Translator) -> str:
    """The toast after a nudge tap."""
    _ = tr.gettext
    parts = []
    if result.queued:
        parts.append(
            tr.ngettext(
                "{group}: {n} reminder is on its way.",
                "{group}: {n} reminders are on their way.",
                result.queued,
            ).format(group=result.group_name, n=result.queued)
        )
    if result.already:
        parts.append(
            _("{group}: {n} already reminded today.").format(
                group=result.group_name, n=result.already
            )
        )
    if result.unreachable:
        parts.append(_("Cannot reach: {names}").format(names="、".join(result.unreachable)))
    if not parts:
        parts.append(_("{group}: nobody to remind.").format(group=result.group_name))
    return " ".join(parts)[:190]
