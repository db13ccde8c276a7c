"""Pure text views of a plan year, used by `branchbot plan show/check` and `/plan`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.i18n import N_, Translator
from scheduler.plan import Plan
from scheduler.recurrence import Occurrence

AUDIENCE_LABEL = {
    "all": N_("all members"),
    "committee": N_("branch committee"),
    "groups": N_("each party group"),
    "group_leaders": N_("party group leaders"),
    "leading_cadres": N_("leading cadres"),
}


def audience_label(audience: str, tr: Translator) -> str:
    """The audience of an item in the reader's language."""
    return tr.gettext(AUDIENCE_LABEL.get(audience, audience))


def occurrence_line(occ: Occurrence, tr: Translator, *, holiday: str | None = None) -> str:
    """One occurrence: when, what, for whom, and a holiday warning if any."""
    _ = tr.gettext
    line = _("{when}  {title} ({audience})").format(
        when=tr.when(occ.starts_at),
        title=occ.title.get(tr.locale_name),
        audience=audience_label(occ.audience, tr),
    )
    if holiday:
        line += "  " + _("⚠ public holiday: {name}").format(name=holiday)
    return line


def plan_year_text(
    plan: Plan,
    occs: Iterable[Occurrence],
    tr: Translator,
    *,
    year: int,
    holidays: Mapping[tuple[str, str], str],
) -> str:
    """Every occurrence of the year grouped by month, with agendas, in local time."""
    _ = tr.gettext
    lines = [
        _("{name} — {year}").format(name=plan.name.get(tr.locale_name), year=year),
        _("Time zone: {zone}").format(zone=tr.tz.zone),
    ]
    month = None
    for occ in occs:
        local = tr.local(occ.starts_at)
        if local.month != month:
            month = local.month
            lines += ["", f"== {tr.month_name(local.year, local.month)} =="]
        lines.append(occurrence_line(occ, tr, holiday=holidays.get((occ.item_id, occ.key))))
        if occ.agenda is not None:
            lines.append(
                "    " + _("Agenda: {agenda}").format(agenda=occ.agenda.get(tr.locale_name))
            )
    return "\n".join(lines)


def holiday_warnings(
    occs: Iterable[Occurrence], tr: Translator, *, holidays: Mapping[tuple[str, str], str]
) -> list[str]:
    """One warning per occurrence that falls on a public holiday."""
    _ = tr.gettext
    return [
        _("Warning: {when} {title} falls on a public holiday: {name}").format(
            when=tr.day(occ.local_date), title=occ.title.get(tr.locale_name), name=name
        )
        for occ in occs
        if (name := holidays.get((occ.item_id, occ.key)))
    ]
