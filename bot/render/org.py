"""Texts of the organisation above branches (`/org`, `branchbot org`): (facts, Translator) -> str.

The command line prints the same texts in the deployment's default language.
"""

from __future__ import annotations

from bot.i18n import N_, Translator
from bot.render.compliance import colon, paren, zh
from bot.render.setup import problem_text
from bot.services.org_admin import (
    OrgRefused,
    OrgTree,
    Problem,
    ScoreSettings,
    SeatIssued,
    UnitAdded,
    UnitNode,
    Unseated,
)
from scheduler.scorecard import Measure

_LEVELS = {"committee": N_("Party committee"), "general_branch": N_("general branch")}
_ROLES = {"secretary": N_("secretary"), "organisation": N_("organisation member")}


def level_name(level: str, tr: Translator) -> str:
    """党委 / 党总支 in the reader's language."""
    return tr.gettext(_LEVELS[level]) if level in _LEVELS else level


def seat_role_name(role: str, tr: Translator) -> str:
    """书记 / 组织委员 in the reader's language."""
    return tr.gettext(_ROLES[role]) if role in _ROLES else role


def usage(tr: Translator) -> str:
    """Every `/org` action, one a line."""
    _ = tr.gettext
    return "\n".join(
        [
            _("Usage:"),
            "/org — " + _("the organisation: units, seats, branches"),
            '/org add "NAME" [--general-branch --under "COMMITTEE"] [--timezone TZ] '
            "[--language zh_CN|en]",
            '/org attach "BRANCH" "UNIT" · /org detach "BRANCH"',
            '/org seat "UNIT" "NAME" --role secretary|organisation [--again]',
            '/org unseat "UNIT" "NAME"',
            '/org rename "OLD" "NEW" · /org remove "UNIT"',
        ]
    )


def refused(error: OrgRefused, tr: Translator) -> str:
    """Why nothing was changed."""
    _ = tr.gettext
    value = error.value
    match error.problem:
        case Problem.USAGE:
            return _("I did not understand “{value}”.").format(value=value) + "\n\n" + usage(tr)
        case Problem.EMPTY_NAME:
            return _("The name is empty.")
        case Problem.TOO_LONG:
            return _("The name starting “{value}” is too long (at most 200 characters).").format(
                value=value
            )
        case Problem.NAME_TAKEN:
            return _("There is already a unit called {value}.").format(value=value)
        case Problem.UNKNOWN_UNIT:
            return _("There is no committee or general branch called {value}.").format(value=value)
        case Problem.UNKNOWN_BRANCH:
            return _("There is no branch called {value}.").format(value=value)
        case Problem.UNKNOWN_SEAT:
            return _("There is no seat of {value} at that unit.").format(value=value)
        case Problem.NEED_PARENT:
            return _("A general branch belongs to a Party committee: add --under COMMITTEE.")
        case Problem.COMMITTEE_PARENT:
            return _(
                "A Party committee has no unit above it; add --general-branch for a general "
                "branch under {value}."
            ).format(value=value)
        case Problem.PARENT_NOT_COMMITTEE:
            return _(
                "{value} is a general branch; a general branch must be under a committee."
            ).format(value=value)
        case Problem.BAD_TIMEZONE:
            return _("Unknown time zone “{value}” (for example Asia/Shanghai).").format(
                value=value
            )
        case Problem.BAD_LANGUAGE:
            return _("Unknown language “{value}”: zh_CN or en.").format(value=value)
        case Problem.BAD_ROLE if not value:
            return _("A new seat needs its role: --role secretary or --role organisation.")
        case Problem.BAD_ROLE:
            return _("Unknown seat role “{value}”: secretary or organisation.").format(value=value)
        case Problem.NOT_EMPTY:
            return _(
                "{value} still has branches or general branches; detach or remove them first."
            ).format(value=value)
        case Problem.SEAT_EXISTS:
            return _(
                "{value} already holds this seat. Add --again for a new invite link "
                "(the old one stops working)."
            ).format(value=value)
        case Problem.NOT_ALLOWED:
            return _(
                "Sorry, this is not available to your role. A unit's secretary may give seats "
                "in their own unit and the units below it; everything else is for the "
                "deployment's administrators."
            )
        case Problem.OWN_SEAT:
            return _("You cannot change your own seat; ask the unit above you.")
        case Problem.NOT_COMMITTEE:
            return _(
                "“{value}” is a general branch: its branches are scored with its Party "
                "committee's weights. Set them on the committee."
            ).format(value=value)
        case Problem.BAD_SCORE:
            why = problem_text(error.why, tr) if error.why is not None else ""
            return _("The score settings cannot be used: {why}").format(why=why)


def score_text(settings: ScoreSettings, tr: Translator) -> str:
    """A committee's score weights, as `branchbot org score` prints them."""
    _ = tr.gettext
    config = settings.config
    head = (
        _("Score weights of {unit} (its own):")
        if settings.text is not None
        else _("Score weights of {unit} (the defaults):")
    ).format(unit=settings.unit)
    lines = [
        head,
        _("baseline (every required meeting held and recorded): {points}").format(
            points=_points(config.baseline)
        ),
    ]
    for measure, weight in config.weights.items():
        # The key is what a weights file says; the name says what it weighs.
        name = _(_MEASURES[measure])
        lines.append(f"{measure.value}{paren(name, tr)}{colon(tr)}{_points(weight)}")
    lines.append(
        _("development deadlines missed: −{points} each, at most −{cap}").format(
            points=_points(config.development_penalty), cap=_points(config.development_cap)
        )
    )
    lines.append(_("best score: {points}").format(points=_points(config.best)))
    return "\n".join(lines)


_MEASURES = {
    Measure.MEETINGS: N_("required meetings held and recorded on time"),
    Measure.ATTENDANCE: N_("members' meeting attendance"),
    Measure.DUES: N_("dues paid on time"),
    Measure.HANDINS: N_("talk records and thought reports handed in"),
    Measure.REACHABLE: N_("members the bot can reach"),
}


def _gap(tr: Translator) -> str:
    """Between two sentences: nothing in Chinese, a space in English."""
    return "" if zh(tr) else " "


def _points(value: float) -> str:
    return f"{value:g}"


def unit_added(added: UnitAdded, tr: Translator) -> str:
    """The confirmation of `org add`."""
    _ = tr.gettext
    head = _("{level} {name} added ({timezone}, {locale}).").format(
        level=level_name(added.level, tr),
        name=added.name,
        timezone=added.timezone,
        locale=added.locale,
    )
    if added.parent is not None:
        head += _gap(tr) + _("It is under {parent}.").format(parent=added.parent)
    return head


def attached(branch: str, unit: str, before: str | None, tr: Translator) -> str:
    """The confirmation of `org attach`."""
    _ = tr.gettext
    text = _("Branch {branch} now belongs to {unit}.").format(branch=branch, unit=unit)
    if before is not None:
        text += _gap(tr) + _("It was under {before} until now.").format(before=before)
    return text


def detached(branch: str, before: str | None, tr: Translator) -> str:
    """The confirmation of `org detach`."""
    _ = tr.gettext
    if before is None:
        return _("Branch {branch} did not belong to any unit.").format(branch=branch)
    return _("Branch {branch} no longer belongs to {before}.").format(branch=branch, before=before)


def seat_issued(issued: SeatIssued, link: str, tr: Translator) -> str:
    """The answer to `org seat`: the one-time link to pass on."""
    _ = tr.gettext
    fields = {
        "name": issued.person_name,
        "role": seat_role_name(issued.role, tr),
        "unit": issued.unit_name,
        "expires": tr.when(issued.expires_at),
    }
    if issued.created:
        head = _("{name} now holds the seat of {role} at {unit}.").format(**fields)
    else:
        head = _(
            "A new invite link for {name}, {role} at {unit}; earlier links no longer work."
        ).format(**fields)
    lines = [
        head,
        _("Send them this one-time link (valid until {expires}):").format(**fields),
        link,
    ]
    if issued.was_linked:
        lines.append(_("Opening it moves the seat to the Telegram account that opens it."))
    return "\n".join(lines)


def unseated(done: Unseated, tr: Translator) -> str:
    """The confirmation of `org unseat`."""
    return tr.gettext("{name} no longer holds a seat at {unit}; their access ended now.").format(
        name=done.person_name, unit=done.unit_name
    )


def renamed(old: str, new: str, tr: Translator) -> str:
    """The confirmation of `org rename`."""
    return tr.gettext("{old} is now called {new}.").format(old=old, new=new)


def removed(name: str, tr: Translator) -> str:
    """The confirmation of `org remove`."""
    return tr.gettext("{name} was removed, with its seats.").format(name=name)


def tree_text(tree: OrgTree, tr: Translator) -> str:
    """The tree: committee → general branches → branches, each unit's seats and whether they
    opened their link."""
    _ = tr.gettext
    lines: list[str] = []
    if not tree.roots:
        lines.append(_("No committee or general branch yet. Add one with /org add NAME."))
    for root in tree.roots:
        _node_lines(root, tr, lines, depth=0)
    if tree.unattached:
        lines += ["", _("Branches under no unit:")]
        lines += [f"  · {name}" for name in tree.unattached]
    return "\n".join(lines)


def _node_lines(node: UnitNode, tr: Translator, lines: list[str], *, depth: int) -> None:
    _ = tr.gettext
    pad = "  " * depth
    lines.append(f"{pad}▪ {node.name} ({level_name(node.level, tr)}, {node.timezone})")
    for seat in node.seats:
        state = _("linked") if seat.linked else _("not linked yet")
        if seat.unreachable:
            state = _("cannot be reached")
        lines.append(f"{pad}    {seat_role_name(seat.role, tr)}: {seat.name} — {state}")
    if not node.seats:
        lines.append(f"{pad}    " + _("no seats yet"))
    for branch in node.branches:
        lines.append(f"{pad}    · {branch}")
    for child in node.children:
        _node_lines(child, tr, lines, depth=depth + 1)
