"""Members as the bot sees them: rosters, languages, reachability, group binding, menu targets.

Telegram-free use cases: plain arguments in, plain dataclasses out, one transaction each. The
acting person is always re-read from the database by Telegram id, so a member of branch A can
only ever see or change branch A.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session, col, select

from scheduler.development.rules import PRE_MEMBER
from storage import repositories as repo
from storage.db import Database
from storage.models import Branch, DeliveryMode, Member, OrgPerson, OrgUnit, Role

LEADERSHIP = frozenset({Role.COMMITTEE.value, Role.SECRETARY.value})
# Roles whose command menu differs from a plain member's: they get a per-chat menu scope.
PRIVILEGED = frozenset({Role.GROUP_LEADER.value, *LEADERSHIP})
BLOCKED_REASON = "Forbidden: bot was blocked by the user"  # what Telegram's 403 says


@dataclass(frozen=True)
class MenuTarget:
    """Someone whose private chat gets its own command menu (role and language)."""

    telegram_id: int
    role: str | None
    locale: str
    chosen_locale: bool = False
    is_admin: bool = False
    member: bool = True  # False: not yet a Party member (their menu is shorter)
    org: bool = False  # holds a seat above branches (committee, general branch)

    @property
    def needs_own_menu(self) -> bool:
        """Whether the all-private-chats menu is wrong for them."""
        return (
            self.role in PRIVILEGED
            or self.chosen_locale
            or self.is_admin
            or not self.member
            or self.org
        )


def menu_target(member: Member, branch: Branch) -> MenuTarget | None:
    """The menu target of a linked member (None if not linked)."""
    if member.telegram_id is None:
        return None
    return MenuTarget(
        telegram_id=member.telegram_id,
        role=member.role,
        locale=member.locale or branch.locale,
        chosen_locale=member.locale is not None,
        member=member.status not in PRE_MEMBER,
    )


def menu_targets(
    db: Database, *, admin_ids: Iterable[int], default_locale: str
) -> list[MenuTarget]:
    """Everyone who needs a per-chat menu: privileged or language-choosing members, seat
    holders above branches (with their branch role, if they have one), and admins.

    Plain members who never chose a language share the all-private-chats menu, which keeps the
    number of setMyCommands calls at start-up bounded by the privileged few, not the roster.
    """
    admins = set(admin_ids)
    stmt = (
        select(Member, Branch)
        .join(Branch, col(Branch.id) == col(Member.branch_id))
        .where(col(Member.telegram_id).is_not(None), col(Member.active).is_(True))
    )
    targets: dict[int, MenuTarget] = {}
    with db.read() as session:
        for member, branch in session.exec(stmt):
            target = menu_target(member, branch)
            assert target is not None
            if target.telegram_id in admins:
                target = dataclasses.replace(target, is_admin=True)
            if target.needs_own_menu:
                targets[target.telegram_id] = target
        seats = session.exec(
            select(OrgPerson, OrgUnit)
            .join(OrgUnit, col(OrgUnit.id) == col(OrgPerson.unit_id))
            .where(col(OrgPerson.telegram_id).is_not(None), col(OrgPerson.active).is_(True))
        ).all()
        for person, unit in seats:
            assert person.telegram_id is not None
            found = targets.get(person.telegram_id) or _plain_member(session, person.telegram_id)
            if found is None:  # in no branch: the seat's language
                found = MenuTarget(person.telegram_id, None, person.locale or unit.locale)
            targets[person.telegram_id] = dataclasses.replace(
                found, org=True, is_admin=found.is_admin or person.telegram_id in admins
            )
    for admin in admins - targets.keys():  # admins who are not (active) members
        targets[admin] = MenuTarget(admin, None, default_locale, is_admin=True)
    return sorted(targets.values(), key=lambda t: t.telegram_id)


def person_menu_target(
    db: Database, *, telegram_id: int, is_admin: bool, default_locale: str
) -> MenuTarget:
    """One account's menu target now: its branch role (if any) and whether it holds seats."""
    with db.read() as session:
        found = _plain_member(session, telegram_id)
        seat = session.exec(
            select(OrgPerson, OrgUnit)
            .join(OrgUnit, col(OrgUnit.id) == col(OrgPerson.unit_id))
            .where(OrgPerson.telegram_id == telegram_id, col(OrgPerson.active).is_(True))
            .order_by(col(OrgPerson.unit_id))
        ).first()
    if found is None:
        locale = (seat[0].locale or seat[1].locale) if seat is not None else default_locale
        found = MenuTarget(telegram_id, None, locale)
    return dataclasses.replace(found, org=seat is not None, is_admin=is_admin)


def _plain_member(session: Session, telegram_id: int) -> MenuTarget | None:
    """The menu target of an active member (one who shares the common menu otherwise)."""
    member = repo.member_by_telegram_id(session, telegram_id=telegram_id)
    if member is None or not member.active:
        return None
    branch = repo.get_branch(session, member.branch_id)
    return menu_target(member, branch) if branch is not None else None


@dataclass(frozen=True)
class RosterLine:
    """One member on /members."""

    name: str
    role: str
    linked: bool
    dues_amount: Decimal
    unreachable_reason: str | None
    unreachable_since: dt.datetime | None


@dataclass(frozen=True)
class RosterGroup:
    """A party group and its members; `name` None holds members without a group."""

    name: str | None
    members: list[RosterLine]


@dataclass(frozen=True)
class RosterView:
    """A branch's members by group, for its secretary and committee."""

    branch_name: str
    groups: list[RosterGroup]

    @property
    def lines(self) -> list[RosterLine]:
        """Every member, group by group."""
        return [line for group in self.groups for line in group.members]


def branch_roster(db: Database, *, telegram_id: int) -> RosterView | None:
    """The asker's branch roster by party group; None unless they are committee or secretary."""
    with db.read() as session:
        actor = _active_member(session, telegram_id)
        if actor is None or actor.role not in LEADERSHIP:
            return None
        branch = repo.get_branch(session, actor.branch_id)
        assert branch is not None
        groups = {g.id: g.name for g in repo.list_groups(session, branch_id=actor.branch_id)}
        by_group: dict[int | None, list[RosterLine]] = {gid: [] for gid in groups}
        by_group[None] = []
        for m in repo.list_members(session, branch_id=actor.branch_id):
            line = RosterLine(
                m.name, m.role, m.telegram_id is not None, m.dues_amount,
                m.unreachable_reason, m.unreachable_since,
            )  # fmt: skip
            by_group.setdefault(m.group_id if m.group_id in groups else None, []).append(line)
    ordered = [RosterGroup(groups[gid], lines) for gid, lines in by_group.items() if gid and lines]
    if by_group[None]:
        ordered.append(RosterGroup(None, by_group[None]))
    return RosterView(branch_name=branch.name, groups=ordered)


def _active_member(session: Session, telegram_id: int) -> Member | None:
    member = repo.member_by_telegram_id(session, telegram_id=telegram_id)
    return member if member is not None and member.active else None


@dataclass(frozen=True)
class LocaleChange:
    """A member's new language, with what is needed to speak it and refresh their menu."""

    locale: str
    timezone: str
    target: MenuTarget


def set_locale(db: Database, *, telegram_id: int, locale: str) -> LocaleChange | None:
    """Remember the member's language; None if the asker is not a member."""
    with db.transaction() as session:
        member = _active_member(session, telegram_id)
        if member is None:
            return None
        branch = repo.get_branch(session, member.branch_id)
        assert branch is not None
        member.locale = locale
        session.add(member)
        target = menu_target(member, branch)
        assert target is not None
        return LocaleChange(locale=locale, timezone=branch.timezone, target=target)


def mark_reachable(db: Database, *, telegram_id: int) -> bool:
    """Forget that the member could not be reached (they wrote to the bot); True if changed."""
    with db.transaction() as session:
        member = repo.member_by_telegram_id(session, telegram_id=telegram_id)
        if member is None or member.unreachable_reason is None:
            return False
        member.unreachable_reason = member.unreachable_since = None
        session.add(member)
        return True


def mark_blocked(db: Database, *, telegram_id: int, now: dt.datetime) -> bool:
    """Record that the member blocked the bot (keeping the first date); True if changed."""
    with db.transaction() as session:
        member = repo.member_by_telegram_id(session, telegram_id=telegram_id)
        if member is None or member.unreachable_reason == BLOCKED_REASON:
            return False
        member.unreachable_reason = BLOCKED_REASON
        member.unreachable_since = member.unreachable_since or now
        session.add(member)
        return True


class BindStatus(enum.Enum):
    """What /bindgroup did."""

    BOUND = "bound"
    ALREADY = "already"
    NOT_SECRETARY = "not_secretary"
    TAKEN = "taken"  # bound to another branch; only its secretary or an admin may move it
    MOVED = "moved"  # an admin moved it from another branch


@dataclass(frozen=True)
class BindOutcome:
    """The result of /bindgroup, with who else must be told."""

    status: BindStatus
    branch_name: str | None = None
    delivery_mode: str = DeliveryMode.DIRECT.value
    replaced_chat: int | None = None  # the branch's earlier group chat, now replaced
    other_branch: str | None = None  # the branch the chat belonged to (TAKEN, MOVED)
    tell: tuple[tuple[int, str | None], ...] = ()  # (telegram id, locale) of its secretaries
    actor_name: str = ""


def _secretaries(session: Session, branch: Branch) -> tuple[tuple[int, str | None], ...]:
    stmt = select(Member).where(
        Member.branch_id == branch.id,
        Member.role == Role.SECRETARY.value,
        col(Member.active).is_(True),
        col(Member.telegram_id).is_not(None),
    )
    return tuple(
        (m.telegram_id, m.locale or branch.locale)
        for m in session.exec(stmt).all()
        if m.telegram_id is not None
    )


def bind_group(
    db: Database, *, telegram_id: int, chat_id: int, now: dt.datetime, is_admin: bool = False
) -> BindOutcome:
    """Make `chat_id` the secretary's branch group chat (audited).

    A group chat belongs to one branch: bound to another, it moves only for an admin, and the
    other branch's secretaries are told either way.
    """
    with db.transaction() as session:
        actor = _active_member(session, telegram_id)
        if actor is None or actor.role != Role.SECRETARY.value:
            return BindOutcome(BindStatus.NOT_SECRETARY)
        branch = repo.get_branch(session, actor.branch_id)
        assert branch is not None and branch.id is not None
        if branch.group_chat_id == chat_id:
            return BindOutcome(BindStatus.ALREADY, branch.name, branch.delivery_mode)
        owner = repo.branch_by_group_chat(session, chat_id=chat_id)
        if owner is not None and not is_admin:
            return BindOutcome(
                BindStatus.TAKEN,
                branch.name,
                other_branch=owner.name,
                tell=_secretaries(session, owner),
                actor_name=actor.name,
            )
        moved_from = None
        if owner is not None:
            moved_from = owner
            owner.group_chat_id = None
            session.add(owner)
            session.flush()  # the chat is unique: release it before binding it here
        old, branch.group_chat_id = branch.group_chat_id, chat_id
        session.add(branch)
        repo.add_audit(
            session,
            branch_id=branch.id,
            action="branch.bindgroup",
            at=now,
            actor_id=actor.id,
            detail=f"group chat {old} -> {chat_id}"
            + (f" (moved from branch {moved_from.name})" if moved_from else ""),
        )
        return BindOutcome(
            BindStatus.MOVED if moved_from else BindStatus.BOUND,
            branch.name,
            branch.delivery_mode,
            replaced_chat=old,
            other_branch=moved_from.name if moved_from else None,
            tell=_secretaries(session, moved_from) if moved_from else (),
            actor_name=actor.name,
        )


def set_delivery(
    db: Database, *, telegram_id: int, chat_id: int, mode: DeliveryMode, now: dt.datetime
) -> BindOutcome:
    """The secretary's answer to "how should reminders go?" for the branch bound to this chat."""
    with db.transaction() as session:
        actor = _active_member(session, telegram_id)
        if actor is None or actor.role != Role.SECRETARY.value:
            return BindOutcome(BindStatus.NOT_SECRETARY)
        branch = repo.get_branch(session, actor.branch_id)
        assert branch is not None and branch.id is not None
        if branch.group_chat_id != chat_id:
            return BindOutcome(BindStatus.NOT_SECRETARY)
        if branch.delivery_mode != mode.value:
            repo.add_audit(
                session,
                branch_id=branch.id,
                action="branch.delivery",
                at=now,
                actor_id=actor.id,
                detail=f"{branch.delivery_mode} -> {mode.value}",
            )
            branch.delivery_mode = mode.value
            session.add(branch)
        return BindOutcome(BindStatus.ALREADY, branch.name, branch.delivery_mode)
