"""Keeping the organisation above branches: units, which branches they hold, and their seats.

The same use cases serve `branchbot org …` and the `/org …` command. Who may change what:

- a deployment admin (ADMIN_TELEGRAM_IDS, or anyone at the command line): everything;
- the holder of a SECRETARY seat at a unit: seats (and their invite links) at that unit and
  at every unit below it, nothing else; their own seat is left to someone above them;
- any other seat holder: reads the tree of their own subtree (`/org`), changes nothing.

Nothing is ever half-done: each use case is one transaction, and a refusal writes nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select, update

from bot.access import Seat
from bot.services.inert import visible
from bot.services.invites import new_token, seat_invite
from bot.services.org import subtree
from scheduler.problems import Problem as Reason
from scheduler.recurrence import zone
from scheduler.scorecard import ScoreConfig, ScoreConfigError, parse_score_config
from storage import repositories as repo
from storage.db import Database
from storage.models import Branch, Invite, OrgLevel, OrgPerson, OrgRole, OrgUnit

MAX_NAME = 200  # OrgUnit.name and OrgPerson.name columns
LANGUAGES = ("zh_CN", "en")
# Telegram clients often turn typed quotes into typographic ones.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "「": '"', "」": '"', "‘": "'", "’": "'"})
SEAT_ROLES: dict[str, OrgRole] = {
    **{role.value: role for role in OrgRole},
    "organization": OrgRole.ORGANISATION,
    "书记": OrgRole.SECRETARY,
    "组织委员": OrgRole.ORGANISATION,
}


class Problem(enum.Enum):
    """Why an `org` action was refused; nothing was written."""

    USAGE = "usage"  # the words were not understood (`value` names the culprit)
    EMPTY_NAME = "empty_name"
    TOO_LONG = "too_long"
    NAME_TAKEN = "name_taken"
    UNKNOWN_UNIT = "unknown_unit"
    UNKNOWN_BRANCH = "unknown_branch"
    UNKNOWN_SEAT = "unknown_seat"
    NEED_PARENT = "need_parent"  # a general branch without --under
    COMMITTEE_PARENT = "committee_parent"  # --under given for a committee
    PARENT_NOT_COMMITTEE = "parent_not_committee"
    BAD_TIMEZONE = "bad_timezone"
    BAD_LANGUAGE = "bad_language"
    BAD_ROLE = "bad_role"
    NOT_EMPTY = "not_empty"  # a unit that still holds branches or general branches
    SEAT_EXISTS = "seat_exists"  # ask again with --again for a new link
    NOT_ALLOWED = "not_allowed"  # outside the asker's subtree, or not theirs to change
    OWN_SEAT = "own_seat"  # a secretary may not unseat or re-invite themselves
    NOT_COMMITTEE = "not_committee"  # score weights belong to a committee
    BAD_SCORE = "bad_score"  # score settings that cannot be used (`why` says why)


class OrgRefused(ValueError):
    """An `org` action cannot be done; `problem` says why, `value` names the culprit."""

    def __init__(self, problem: Problem, value: str = "", why: Reason | None = None) -> None:
        super().__init__(f"{problem.value}: {value}")
        self.problem = problem
        self.value = value
        self.why = why


@dataclass(frozen=True)
class Actor:
    """Who asks: a deployment admin (the command line is one), or a Telegram seat holder."""

    is_admin: bool
    seats: tuple[Seat, ...] = ()

    def may_seat_in(self, units: Sequence[OrgUnit], unit_id: int) -> bool:
        """Whether they may add, re-invite or remove seats at this unit."""
        if self.is_admin:
            return True
        roots = {s.unit_id for s in self.seats if s.role == OrgRole.SECRETARY.value}
        return unit_id in subtree(units, roots)


ADMIN = Actor(is_admin=True)


# -- reading the words of `/org …` -------------------------------------------------------------


@dataclass(frozen=True)
class OrgRequest:
    """One `org` action: its name, its positional words and its options."""

    action: str  # show, add, attach, detach, seat, unseat, rename, remove
    args: tuple[str, ...] = ()
    general_branch: bool = False
    under: str | None = None
    timezone: str | None = None
    language: str | None = None
    role: str | None = None
    again: bool = False


ACTIONS: dict[str, int] = {  # each action and how many positional words it takes
    "show": 0,
    "add": 1,
    "attach": 2,
    "detach": 1,
    "seat": 2,
    "unseat": 2,
    "rename": 2,
    "remove": 1,
}
_VALUED = {
    "--under": "under",
    "--timezone": "timezone",
    "--language": "language",
    "--role": "role",
}
_FLAGS = {"--general-branch": "general_branch", "--again": "again"}


def parse_org(raw: str) -> OrgRequest:
    """`/org ACTION WORDS… [--option VALUE]…`, the same words and options as `branchbot org`.

    Quotes keep spaces inside a name; an empty text is `show`.
    """
    try:
        words = shlex.split(raw.translate(_QUOTES))
    except ValueError:
        raise OrgRefused(Problem.USAGE, raw) from None
    if not words:
        return OrgRequest("show")
    action, rest = words[0].lower(), words[1:]
    if action not in ACTIONS:
        raise OrgRefused(Problem.USAGE, words[0])
    options: dict[str, object] = {}
    positional: list[str] = []
    while rest:
        word = rest.pop(0)
        option, equals, value = word.partition("=")
        if option in _FLAGS and not equals:
            options[_FLAGS[option]] = True
        elif option in _VALUED:
            if not equals:
                if not rest:
                    raise OrgRefused(Problem.USAGE, word)
                value = rest.pop(0)
            options[_VALUED[option]] = value
        elif word.startswith("--"):
            raise OrgRefused(Problem.USAGE, word)
        else:
            positional.append(word)
    if len(positional) != ACTIONS[action]:
        raise OrgRefused(Problem.USAGE, action)
    return OrgRequest(action, tuple(positional), **options)  # type: ignore[arg-type]


def seat_role(value: str | None) -> OrgRole:
    """The seat role a word names (English value or 书记 / 组织委员)."""
    role = SEAT_ROLES.get((value or "").strip().lower())
    if role is None:
        raise OrgRefused(Problem.BAD_ROLE, value or "")
    return role


def _name(raw: str) -> str:
    name = visible(raw)
    if not name:
        raise OrgRefused(Problem.EMPTY_NAME)
    if len(name) > MAX_NAME:
        raise OrgRefused(Problem.TOO_LONG, name[:20])
    return name


# -- the use cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitAdded:
    """A new committee or general branch."""

    name: str
    level: str
    parent: str | None
    timezone: str
    locale: str


def add_unit(
    db: Database,
    name: str,
    *,
    general_branch: bool,
    under: str | None,
    timezone: str | None,
    language: str | None,
    default_timezone: str,
    default_locale: str,
    now: dt.datetime,
) -> UnitAdded:
    """Add a committee (no parent) or a general branch under a committee."""
    name = _name(name)
    tz = timezone or default_timezone
    try:
        zone(tz)
    except ValueError:
        raise OrgRefused(Problem.BAD_TIMEZONE, tz) from None
    locale = language or default_locale
    if locale not in LANGUAGES:
        raise OrgRefused(Problem.BAD_LANGUAGE, locale)
    if general_branch and under is None:
        raise OrgRefused(Problem.NEED_PARENT, name)
    if not general_branch and under is not None:
        raise OrgRefused(Problem.COMMITTEE_PARENT, under)
    with db.transaction() as session:
        if _unit(session, name) is not None:
            raise OrgRefused(Problem.NAME_TAKEN, name)
        parent = None
        if under is not None:
            parent = _known_unit(session, under)
            if parent.level != OrgLevel.COMMITTEE.value:
                raise OrgRefused(Problem.PARENT_NOT_COMMITTEE, parent.name)
        level = OrgLevel.GENERAL_BRANCH if general_branch else OrgLevel.COMMITTEE
        session.add(
            OrgUnit(
                name=name,
                level=level.value,
                parent_id=parent.id if parent else None,
                timezone=tz,
                locale=locale,
                created_at=now,
            )
        )
        return UnitAdded(name, level.value, parent.name if parent else None, tz, locale)


def attach_branch(db: Database, branch_name: str, unit_name: str) -> str | None:
    """Put a branch under a unit; the unit it was under before (None: none)."""
    with db.transaction() as session:
        branch = _known_branch(session, branch_name)
        unit = _known_unit(session, unit_name)
        before = session.get(OrgUnit, branch.org_unit_id) if branch.org_unit_id else None
        branch.org_unit_id = unit.id
        session.add(branch)
        return before.name if before is not None and before.id != unit.id else None


def detach_branch(db: Database, branch_name: str) -> str | None:
    """Take a branch out of the organisation; the unit it was under (None: it was not)."""
    with db.transaction() as session:
        branch = _known_branch(session, branch_name)
        before = session.get(OrgUnit, branch.org_unit_id) if branch.org_unit_id else None
        branch.org_unit_id = None
        session.add(branch)
        return before.name if before is not None else None


@dataclass(frozen=True)
class SeatIssued:
    """A seat and its new one-time invite link's token (shown once, never stored)."""

    token: str
    unit_name: str
    person_name: str
    role: str
    expires_at: dt.datetime
    created: bool  # a new seat (False: a new link for an existing one)
    was_linked: bool  # the seat had a Telegram account; redeeming the link moves it


def seat_person(
    db: Database,
    unit_name: str,
    person_name: str,
    *,
    role: str | None,
    again: bool,
    actor: Actor,
    actor_telegram_id: int | None = None,
    now: dt.datetime,
    ttl_days: int,
    token_factory: Callable[[], str] = new_token,
) -> SeatIssued:
    """Add a seat at a unit and issue its invite; `again`: a new link for an existing seat.

    A new link makes every earlier unused link of the seat stop working at once.
    """
    person_name = _name(person_name)
    wanted = seat_role(role) if role is not None or not again else None
    with db.transaction() as session:
        unit = _known_unit(session, unit_name)
        assert unit.id is not None
        if not actor.may_seat_in(session.exec(select(OrgUnit)).all(), unit.id):
            raise OrgRefused(Problem.NOT_ALLOWED, unit.name)
        person = _seat(session, unit.id, person_name)
        created = person is None or not person.active
        if person is not None and person.active and not again:
            raise OrgRefused(Problem.SEAT_EXISTS, person.name)
        if person is None:
            if again:
                raise OrgRefused(Problem.UNKNOWN_SEAT, person_name)
            person = OrgPerson(unit_id=unit.id, name=person_name)
        if _is_own(person, actor_telegram_id, actor):
            raise OrgRefused(Problem.OWN_SEAT, person.name)
        if wanted is not None:
            person.role = wanted.value
        if not person.active:  # seated again after being unseated: a fresh start
            person.active = True
            person.telegram_id = person.linked_at = None
        session.add(person)
        session.flush()
        token = seat_invite(session, person, now=now, ttl_days=ttl_days, token=token_factory())
        return SeatIssued(
            token=token,
            unit_name=unit.name,
            person_name=person.name,
            role=person.role,
            expires_at=now + dt.timedelta(days=ttl_days),
            created=created,
            was_linked=person.telegram_id is not None,
        )


@dataclass(frozen=True)
class Unseated:
    """A seat that was given up, and the account that held it (its menu changes)."""

    unit_name: str
    person_name: str
    telegram_id: int | None


def unseat_person(
    db: Database,
    unit_name: str,
    person_name: str,
    *,
    actor: Actor,
    actor_telegram_id: int | None = None,
) -> Unseated:
    """Deactivate a seat: unlinked, its links void; the holder loses access at their next tap."""
    person_name = _name(person_name)
    with db.transaction() as session:
        unit = _known_unit(session, unit_name)
        assert unit.id is not None
        if not actor.may_seat_in(session.exec(select(OrgUnit)).all(), unit.id):
            raise OrgRefused(Problem.NOT_ALLOWED, unit.name)
        person = _seat(session, unit.id, person_name)
        if person is None or not person.active:
            raise OrgRefused(Problem.UNKNOWN_SEAT, person_name)
        if _is_own(person, actor_telegram_id, actor):
            raise OrgRefused(Problem.OWN_SEAT, person.name)
        held_by = person.telegram_id
        person.active = False
        person.telegram_id = person.linked_at = None
        person.unreachable_reason = person.unreachable_since = None
        session.add(person)
        session.exec(
            update(Invite)
            .where(col(Invite.org_person_id) == person.id, col(Invite.used_at).is_(None))
            .values(expires_at=Invite.created_at)
        )
        return Unseated(unit.name, person.name, held_by)


def rename_unit(db: Database, old: str, new: str) -> None:
    """Rename a committee or general branch."""
    new = _name(new)
    with db.transaction() as session:
        unit = _known_unit(session, old)
        other = _unit(session, new)
        if other is not None and other.id != unit.id:
            raise OrgRefused(Problem.NAME_TAKEN, new)
        unit.name = new
        session.add(unit)


def remove_unit(db: Database, name: str) -> None:
    """Remove an empty unit (no branches, no general branches) with its seats and their links."""
    with db.transaction() as session:
        unit = _known_unit(session, name)
        children = session.exec(select(OrgUnit).where(OrgUnit.parent_id == unit.id)).first()
        branch = session.exec(select(Branch).where(Branch.org_unit_id == unit.id)).first()
        if children is not None or branch is not None:
            raise OrgRefused(Problem.NOT_EMPTY, unit.name)
        seats = session.exec(select(OrgPerson).where(OrgPerson.unit_id == unit.id)).all()
        ids = [p.id for p in seats]
        if ids:
            for invite in session.exec(
                select(Invite).where(col(Invite.org_person_id).in_(ids))
            ).all():
                session.delete(invite)
            session.flush()
        for person in seats:
            session.delete(person)
        session.flush()
        session.delete(unit)


# -- a committee's score weights ---------------------------------------------------------------


@dataclass(frozen=True)
class ScoreSettings:
    """A committee's score weights: its own (`text`) or the defaults (`text` None)."""

    unit: str
    text: str | None
    config: ScoreConfig


def set_score(db: Database, unit_name: str, text: str | None) -> ScoreSettings:
    """Give a committee its own score weights (TOML), or the defaults again (None)."""
    try:
        config = parse_score_config(text)
    except ScoreConfigError as error:
        raise OrgRefused(Problem.BAD_SCORE, unit_name, error.problem) from None
    with db.transaction() as session:
        unit = _known_unit(session, unit_name)
        if unit.level != OrgLevel.COMMITTEE.value:
            raise OrgRefused(Problem.NOT_COMMITTEE, unit.name)
        unit.score_toml = text if text and text.strip() else None
        session.add(unit)
        return ScoreSettings(unit.name, unit.score_toml, config)


def score_settings(db: Database, unit_name: str) -> ScoreSettings:
    """The weights a unit's branches are scored with (a general branch's: its committee's)."""
    with db.read() as session:
        unit = _known_unit(session, unit_name)
        if unit.level != OrgLevel.COMMITTEE.value and unit.parent_id is not None:
            parent = session.get(OrgUnit, unit.parent_id)
            unit = parent if parent is not None else unit
        return ScoreSettings(unit.name, unit.score_toml, parse_score_config(unit.score_toml))


# -- the tree ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeatLine:
    """A seat as `org show` lists it."""

    name: str
    role: str
    linked: bool
    unreachable: bool


@dataclass(frozen=True)
class UnitNode:
    """A unit with its seats, its branches and the general branches below it."""

    name: str
    level: str
    timezone: str
    seats: tuple[SeatLine, ...]
    branches: tuple[str, ...]
    children: tuple[UnitNode, ...] = ()


@dataclass(frozen=True)
class OrgTree:
    """The organisation as one reader may see it; `unattached`: branches under no unit."""

    roots: tuple[UnitNode, ...]
    unattached: tuple[str, ...] = field(default=())


def org_tree(db: Database, *, actor: Actor) -> OrgTree:
    """The whole tree for an admin; a seat holder's own subtree (no unattached branches)."""
    with db.read() as session:
        units = session.exec(select(OrgUnit).order_by(col(OrgUnit.name))).all()
        if actor.is_admin:
            shown = frozenset(u.id for u in units if u.id is not None)
            roots = [u for u in units if u.parent_id is None or u.parent_id not in shown]
        else:
            shown = subtree(units, {s.unit_id for s in actor.seats})
            # The top of what they see: units whose parent they do not see.
            roots = [u for u in units if u.id in shown and u.parent_id not in shown]
        people = session.exec(
            select(OrgPerson)
            .where(col(OrgPerson.active).is_(True), col(OrgPerson.unit_id).in_(shown))
            .order_by(col(OrgPerson.role).desc(), col(OrgPerson.name))
        ).all()
        branches = session.exec(select(Branch).order_by(col(Branch.name))).all()
    by_parent: dict[int | None, list[OrgUnit]] = {}
    for unit in units:
        by_parent.setdefault(unit.parent_id, []).append(unit)

    def node(unit: OrgUnit, path: frozenset[int]) -> UnitNode:
        below = [c for c in by_parent.get(unit.id, []) if c.id not in path]  # no cycle loops
        return UnitNode(
            name=unit.name,
            level=unit.level,
            timezone=unit.timezone,
            seats=tuple(
                SeatLine(p.name, p.role, p.telegram_id is not None, bool(p.unreachable_reason))
                for p in people
                if p.unit_id == unit.id
            ),
            branches=tuple(b.name for b in branches if b.org_unit_id == unit.id),
            children=tuple(node(c, path | {c.id or 0}) for c in below if c.id in shown),
        )

    unattached = tuple(b.name for b in branches if b.org_unit_id is None) if actor.is_admin else ()
    return OrgTree(tuple(node(u, frozenset({u.id or 0})) for u in roots), unattached)


# -- lookups -----------------------------------------------------------------------------------


def _unit(session: Session, name: str) -> OrgUnit | None:
    return session.exec(select(OrgUnit).where(OrgUnit.name == visible(name))).first()


def _known_unit(session: Session, name: str) -> OrgUnit:
    unit = _unit(session, name)
    if unit is None:
        raise OrgRefused(Problem.UNKNOWN_UNIT, visible(name))
    return unit


def _known_branch(session: Session, name: str) -> Branch:
    branch = repo.branch_by_name(session, name=visible(name))
    if branch is None:
        raise OrgRefused(Problem.UNKNOWN_BRANCH, visible(name))
    return branch


def _seat(session: Session, unit_id: int, name: str) -> OrgPerson | None:
    return session.exec(
        select(OrgPerson).where(OrgPerson.unit_id == unit_id, OrgPerson.name == name)
    ).first()


def _is_own(person: OrgPerson, telegram_id: int | None, actor: Actor) -> bool:
    """A secretary's own seat is changed by someone above them (or an admin), not by them."""
    return (
        not actor.is_admin
        and telegram_id is not None
        and person.telegram_id == telegram_id
        and person.active
    )
