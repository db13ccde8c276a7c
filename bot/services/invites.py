"""Invites: a secretary (or a deployment admin) creates a one-time deep link; /start redeems it.

The token is random (192 bits), single use, expires after INVITE_TTL_DAYS and only its SHA-256
is stored. Redeeming marks the invite used with a conditional UPDATE in the same transaction
that links the account, so two people racing with one token cannot both win (the loser's
UPDATE matches no row), and the unique telegram_id column stops one account from being linked
to two members at once.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
import secrets
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from bot.services.inert import visible
from bot.services.members import MenuTarget, menu_target
from scheduler.recurrence import to_local, zone
from storage import repositories as repo
from storage.db import Database
from storage.models import Branch, Invite, Member, OrgPerson, OrgUnit, PartyGroup, Role

MAX_NAME = 200  # Member.name and PartyGroup.name columns
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # what a deep-link payload may hold
BRANCH_OPTION = "branch="
# Telegram clients often turn typed quotes into typographic ones.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "「": '"', "」": '"', "‘": "'", "’": "'"})
ROLE_ALIASES: dict[str, Role] = {
    **{role.value: role for role in Role},
    "党员": Role.MEMBER,
    "党小组长": Role.GROUP_LEADER,
    "小组长": Role.GROUP_LEADER,
    "组长": Role.GROUP_LEADER,
    "支委": Role.COMMITTEE,
    "委员": Role.COMMITTEE,
    "书记": Role.SECRETARY,
}


class UsageProblem(enum.Enum):
    """Why /invite's arguments were not understood."""

    EMPTY_NAME = "empty_name"
    UNBALANCED_QUOTES = "unbalanced_quotes"
    TOO_MANY = "too_many"
    UNKNOWN_ROLE = "unknown_role"
    TOO_LONG = "too_long"


class InviteUsageError(ValueError):
    """/invite's arguments cannot be used; `problem` says why, `value` names the culprit."""

    def __init__(self, problem: UsageProblem, value: str = "") -> None:
        super().__init__(f"{problem.value}: {value}")
        self.problem = problem
        self.value = value


@dataclass(frozen=True)
class InviteArgs:
    """What /invite asks for."""

    name: str
    group: str | None = None
    role: Role | None = None
    branch: str | None = None


def parse_invite(raw: str) -> InviteArgs:
    """Parse `NAME [group] [role] [branch=BRANCH]`; quotes allow spaces inside a field.

    With two fields the second is a role when it names one (`/invite 张三 支委`), else a group.
    """
    try:
        fields = shlex.split(raw.translate(_QUOTES))
    except ValueError:
        raise InviteUsageError(UsageProblem.UNBALANCED_QUOTES) from None
    branch = None
    positional = []
    for field in fields:
        if field.lower().startswith(BRANCH_OPTION):
            branch = field[len(BRANCH_OPTION) :].strip() or None
        else:
            positional.append(visible(field))
    if not positional or not positional[0]:
        raise InviteUsageError(UsageProblem.EMPTY_NAME)
    if len(positional) > 3:
        raise InviteUsageError(UsageProblem.TOO_MANY, positional[3])
    name, rest = positional[0], positional[1:]
    if len(rest) == 1 and rest[0].lower() in ROLE_ALIASES:
        rest = ["", rest[0]]
    group = rest[0] if rest and rest[0] else None
    role = None
    if len(rest) == 2:
        role = ROLE_ALIASES.get(rest[1].lower())
        if role is None:
            raise InviteUsageError(UsageProblem.UNKNOWN_ROLE, rest[1])
    for value in (name, group or "", branch or ""):
        if len(value) > MAX_NAME:
            raise InviteUsageError(UsageProblem.TOO_LONG, value[:20])
    return InviteArgs(name=name, group=group, role=role, branch=branch)


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token, 32 URL-safe characters (fits a deep-link payload)."""
    return secrets.token_urlsafe(24)


class Denial(enum.Enum):
    """Why an invite was not created."""

    NOT_SECRETARY = "not_secretary"
    OTHER_BRANCH = "other_branch"
    UNKNOWN_BRANCH = "unknown_branch"
    NEED_BRANCH = "need_branch"


@dataclass(frozen=True)
class InviteDenied:
    """Nothing was written, for this reason."""

    reason: Denial


@dataclass(frozen=True)
class InviteIssued:
    """A new invite: the token (shown once, never stored) and whom it links."""

    token: str
    member_name: str
    branch_name: str
    role: str
    group_name: str | None
    expires_at: dt.datetime
    created: bool  # the member was new
    already_linked: bool  # the member has a Telegram account; the link would move it
    refresh: MenuTarget | None  # a linked member whose role changed: refresh their menu


def create_invite(
    db: Database,
    request: InviteArgs,
    *,
    actor_telegram_id: int,
    is_admin: bool,
    now: dt.datetime,
    ttl_days: int,
    token_factory: Callable[[], str] = new_token,
) -> InviteIssued | InviteDenied:
    """Create or reuse the member and a one-time invite for them, in one transaction."""
    with db.transaction() as session:
        actor = repo.member_by_telegram_id(session, telegram_id=actor_telegram_id)
        actor = actor if actor is not None and actor.active else None
        found = _target_branch(session, request.branch, actor=actor, is_admin=is_admin)
        if isinstance(found, Denial):
            return InviteDenied(found)
        assert found.id is not None
        member, created, role_changed = _ensure_member(session, found.id, request)
        if created:
            # Invited later: nothing before today is owed or counted for them.
            member.joined_on = to_local(now, zone(found.timezone)).date()
            session.add(member)
        token = token_factory()
        assert member.id is not None
        session.add(
            Invite(
                member_id=member.id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + dt.timedelta(days=ttl_days),
                created_by=actor.id if actor else None,
            )
        )
        group = session.get(PartyGroup, member.group_id) if member.group_id else None
        by = f"admin {actor_telegram_id}" if actor is None else f"member {actor.id}"
        repo.add_audit(
            session,
            branch_id=found.id,
            action="member.invite",
            at=now,
            actor_id=actor.id if actor else None,
            detail=f"member {member.id} ({member.role}) invited by {by}",
        )
        linked = member.telegram_id is not None
        return InviteIssued(
            token=token,
            member_name=member.name,
            branch_name=found.name,
            role=member.role,
            group_name=group.name if group else None,
            expires_at=now + dt.timedelta(days=ttl_days),
            created=created,
            already_linked=linked,
            refresh=menu_target(member, found) if linked and role_changed else None,
        )


def seat_invite(
    session: Session, person: OrgPerson, *, now: dt.datetime, ttl_days: int, token: str
) -> str:
    """A one-time invite for a seat above branches, in the caller's transaction; the token.

    The same tokens, hashing, expiry and /start redemption as member invites. A new link for a
    seat makes its earlier unused links stop working at once (they show as expired).
    """
    assert person.id is not None
    session.exec(
        update(Invite)
        .where(
            col(Invite.org_person_id) == person.id,
            col(Invite.used_at).is_(None),
            col(Invite.expires_at) > now,
        )
        .values(expires_at=now)
    )
    session.add(
        Invite(
            org_person_id=person.id,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + dt.timedelta(days=ttl_days),
        )
    )
    return token


def _target_branch(
    session: Session, named: str | None, *, actor: Member | None, is_admin: bool
) -> Branch | Denial:
    """The branch the invite is for; a secretary only ever gets their own."""
    secretary = actor is not None and actor.role == Role.SECRETARY.value
    if named is not None:
        branch = repo.branch_by_name(session, name=named)
        if is_admin:
            return branch if branch is not None else Denial.UNKNOWN_BRANCH
        if actor is not None and secretary:
            own = branch is not None and branch.id == actor.branch_id
            # Do not tell a secretary whether another branch exists.
            return branch if own and branch is not None else Denial.OTHER_BRANCH
        return Denial.NOT_SECRETARY
    if actor is not None and (secretary or is_admin):
        own_branch = repo.get_branch(session, actor.branch_id)
        assert own_branch is not None
        return own_branch
    return Denial.NEED_BRANCH if is_admin else Denial.NOT_SECRETARY


def _ensure_member(
    session: Session, branch_id: int, request: InviteArgs
) -> tuple[Member, bool, bool]:
    """The branch's member called NAME, created if new; group and role updated if given."""
    member = repo.member_by_name(session, branch_id=branch_id, name=request.name)
    created = member is None
    if member is None:
        member = Member(branch_id=branch_id, name=request.name)
    old_role = member.role
    if request.role is not None:
        member.role = request.role.value
    if request.group is not None:
        member.group_id = repo.ensure_group(session, branch_id=branch_id, name=request.group).id
    member.active = True
    member.left_at = member.left_how = None  # back in the branch
    session.add(member)
    session.flush()
    return member, created, not created and member.role != old_role


class LinkStatus(enum.Enum):
    """What /start <token> did."""

    LINKED = "linked"
    ALREADY = "already"  # this account already was this member; the invite is now used
    UNKNOWN = "unknown"  # forged, mistyped, or for a removed member
    USED = "used"
    EXPIRED = "expired"  # too old, or replaced by a later link of this member
    ACCOUNT_TAKEN = "account_taken"  # this Telegram account belongs to another member


@dataclass(frozen=True)
class LinkOutcome:
    """The result of redeeming an invite; member details only when it linked."""

    status: LinkStatus
    member_name: str | None = None
    branch_name: str | None = None
    role: str | None = None
    locale: str | None = None  # the language to greet in: the member's, else the branch's
    timezone: str | None = None
    target: MenuTarget | None = None
    # A seat above branches (committee, general branch) instead of a branch: its unit and role.
    unit_name: str | None = None
    seat_role: str | None = None


def redeem_invite(db: Database, *, token: str, telegram_id: int, now: dt.datetime) -> LinkOutcome:
    """Link `telegram_id` to the invite's member and use the invite up, or change nothing."""
    if not TOKEN_SHAPE.match(token):
        return LinkOutcome(LinkStatus.UNKNOWN)
    try:
        with db.transaction() as session:
            return _redeem(session, hash_token(token), telegram_id=telegram_id, now=now)
    except IntegrityError:
        # A concurrent redeem linked this account to another member first (unique telegram_id).
        return LinkOutcome(LinkStatus.ACCOUNT_TAKEN)


def _redeem(session: Session, digest: str, *, telegram_id: int, now: dt.datetime) -> LinkOutcome:
    invite = session.exec(select(Invite).where(Invite.token_hash == digest)).first()
    if invite is not None and invite.org_person_id is not None:
        return _redeem_seat(session, invite, telegram_id=telegram_id, now=now)
    member = session.get(Member, invite.member_id) if invite and invite.member_id else None
    if invite is None or member is None or not member.active:
        return LinkOutcome(LinkStatus.UNKNOWN)
    if invite.used_at is not None:
        return LinkOutcome(LinkStatus.USED)
    superseded = member.linked_at is not None and invite.created_at < member.linked_at
    if invite.expires_at <= now or (superseded and member.telegram_id != telegram_id):
        return LinkOutcome(LinkStatus.EXPIRED)
    owner = repo.member_by_telegram_id(session, telegram_id=telegram_id)
    if owner is not None and owner.id != member.id:
        return LinkOutcome(LinkStatus.ACCOUNT_TAKEN, member_name=owner.name)
    claim = (
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
        .values(used_at=now)
    )
    if session.exec(claim).rowcount != 1:
        return LinkOutcome(LinkStatus.USED)  # a concurrent /start with this token won
    already = member.telegram_id == telegram_id
    member.telegram_id = telegram_id
    member.linked_at = member.linked_at if already else now
    member.unreachable_reason = member.unreachable_since = None
    session.add(member)
    # Any other link still out for this member is void now: one account per member.
    session.exec(
        update(Invite)
        .where(
            col(Invite.member_id) == member.id,
            col(Invite.used_at).is_(None),
            col(Invite.expires_at) > now,
        )
        .values(expires_at=now)
    )
    session.flush()
    branch = repo.get_branch(session, member.branch_id)
    assert branch is not None and branch.id is not None
    repo.add_audit(
        session,
        branch_id=branch.id,
        action="member.link",
        at=now,
        actor_id=member.id,
        detail=f"member {member.id} linked by invite {invite.id}",
    )
    return LinkOutcome(
        LinkStatus.ALREADY if already else LinkStatus.LINKED,
        member_name=member.name,
        branch_name=branch.name,
        role=member.role,
        locale=member.locale or branch.locale,
        timezone=branch.timezone,
        target=menu_target(member, branch),
    )


def _redeem_seat(
    session: Session, invite: Invite, *, telegram_id: int, now: dt.datetime
) -> LinkOutcome:
    """Link `telegram_id` to the invite's seat. One account may hold several seats and be a
    branch member besides, so no other account check applies; the race on the token is the
    same conditional UPDATE as for members."""
    person = session.get(OrgPerson, invite.org_person_id)
    unit = session.get(OrgUnit, person.unit_id) if person is not None else None
    if person is None or unit is None or not person.active:
        return LinkOutcome(LinkStatus.UNKNOWN)
    if invite.used_at is not None:
        return LinkOutcome(LinkStatus.USED)
    if invite.expires_at <= now:  # too old, or a newer link of this seat was issued
        return LinkOutcome(LinkStatus.EXPIRED)
    claim = (
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
        .values(used_at=now)
    )
    if session.exec(claim).rowcount != 1:
        return LinkOutcome(LinkStatus.USED)
    already = person.telegram_id == telegram_id
    person.telegram_id = telegram_id
    person.linked_at = person.linked_at if already else now
    person.unreachable_reason = person.unreachable_since = None
    session.add(person)
    return LinkOutcome(
        LinkStatus.ALREADY if already else LinkStatus.LINKED,
        member_name=person.name,
        locale=person.locale or unit.locale,
        timezone=unit.timezone,
        unit_name=unit.name,
        seat_role=person.role,
    )
