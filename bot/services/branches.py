"""Branches created and renamed from the chat by a deployment admin (ADMIN_TELEGRAM_IDS).

A new branch follows the default plan and starts today (branch-local). Its secretary is a
member row without a Telegram account yet, plus a one-time invite: whoever opens the link
becomes that member, so the branch has a secretary without anyone touching the server.
"""

from __future__ import annotations

import datetime as dt
import enum
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from bot.services.inert import visible
from bot.services.invites import (
    InviteArgs,
    InviteDenied,
    InviteIssued,
    create_invite,
    new_token,
)
from scheduler.recurrence import to_local, zone
from storage import repositories as repo
from storage.db import Database
from storage.models import Branch, Member, Role

MAX_NAME = 200  # Branch.name column
LOCALES = ("zh_CN", "en")
_LOCALE_ALIASES = {"zh": "zh_CN", "zh_cn": "zh_CN", "zh-cn": "zh_CN", "中文": "zh_CN", "en": "en"}
SECRETARY_OPTION = "secretary="
DEFAULT_SECRETARY_NAME = {"zh_CN": "书记", "en": "Secretary"}


class BranchProblem(enum.Enum):
    """Why a branch was not created or renamed; nothing was written."""

    USAGE = "usage"
    BAD_NAME = "bad_name"
    TAKEN = "taken"
    UNKNOWN = "unknown"
    BAD_TIMEZONE = "bad_timezone"
    BAD_LANGUAGE = "bad_language"


class BranchRefused(ValueError):
    """A refused /newbranch or /renamebranch; `value` names the culprit."""

    def __init__(self, problem: BranchProblem, value: str = "") -> None:
        super().__init__(f"{problem.value}: {value}")
        self.problem = problem
        self.value = value


@dataclass(frozen=True)
class NewBranch:
    """What /newbranch asks for."""

    name: str
    timezone: str | None = None
    locale: str | None = None
    secretary: str | None = None


def _fields(raw: str) -> list[str]:
    try:
        return [visible(f) for f in shlex.split(raw.replace("“", '"').replace("”", '"'))]
    except ValueError:
        raise BranchRefused(BranchProblem.USAGE) from None


def _name(raw: str) -> str:
    name = visible(raw)
    if not name or len(name) > MAX_NAME:
        raise BranchRefused(BranchProblem.BAD_NAME, name[:20])
    return name


def parse_new_branch(raw: str) -> NewBranch:
    """Parse `NAME [timezone] [language] [secretary=NAME]`; quotes allow spaces in NAME."""
    secretary = None
    positional = []
    for field in _fields(raw):
        if field.lower().startswith(SECRETARY_OPTION):
            secretary = _name(field[len(SECRETARY_OPTION) :])
        elif field:
            positional.append(field)
    if not positional or len(positional) > 3:
        raise BranchRefused(BranchProblem.USAGE)
    name, rest = _name(positional[0]), positional[1:]
    timezone = locale = None
    for value in rest:  # either order: a language looks nothing like Area/City
        wanted = _LOCALE_ALIASES.get(value.lower())
        if wanted is not None and locale is None:
            locale = wanted
        elif timezone is None and ("/" in value or value.upper() == "UTC"):
            timezone = value
        else:
            raise BranchRefused(
                BranchProblem.BAD_LANGUAGE if timezone else BranchProblem.BAD_TIMEZONE, value
            )
    if timezone is not None:
        try:
            zone(timezone)
        except Exception:  # pytz.UnknownTimeZoneError and friends
            raise BranchRefused(BranchProblem.BAD_TIMEZONE, timezone) from None
    return NewBranch(name=name, timezone=timezone, locale=locale, secretary=secretary)


def parse_rename(raw: str) -> tuple[str, str]:
    """Parse `OLD NEW` (quotes allow spaces)."""
    fields = _fields(raw)
    if len(fields) != 2:
        raise BranchRefused(BranchProblem.USAGE)
    return _name(fields[0]), _name(fields[1])


@dataclass(frozen=True)
class BranchCreated:
    """A new branch and the secretary's one-time link (the token is shown once)."""

    branch_name: str
    timezone: str
    locale: str
    invite: InviteIssued


def create_branch(
    db: Database,
    request: NewBranch,
    *,
    admin_telegram_id: int,
    default_timezone: str,
    default_locale: str,
    now: dt.datetime,
    ttl_days: int,
    token_factory: Callable[[], str] = new_token,
) -> BranchCreated:
    """Create the branch (default plan) and its secretary's invite; refuse a taken name."""
    timezone = request.timezone or default_timezone
    locale = request.locale or default_locale
    secretary = request.secretary or DEFAULT_SECRETARY_NAME.get(locale, "Secretary")
    with db.transaction() as session:
        if repo.branch_by_name(session, name=request.name) is not None:
            raise BranchRefused(BranchProblem.TAKEN, request.name)
        branch = Branch(
            name=request.name,
            timezone=timezone,
            locale=locale,
            created_at=now,
            starts_on=to_local(now, zone(timezone)).date(),
        )
        session.add(branch)
        session.flush()
        assert branch.id is not None
        session.add(Member(branch_id=branch.id, name=secretary, role=Role.SECRETARY.value))
        repo.add_audit(
            session,
            branch_id=branch.id,
            action="branch.create",
            at=now,
            detail=f"created by admin {admin_telegram_id} ({timezone}, {locale})",
        )
    issued = create_invite(
        db,
        InviteArgs(name=secretary, role=Role.SECRETARY, branch=request.name),
        actor_telegram_id=admin_telegram_id,
        is_admin=True,
        now=now,
        ttl_days=ttl_days,
        token_factory=token_factory,
    )
    assert not isinstance(issued, InviteDenied)  # an admin naming an existing branch
    return BranchCreated(branch_name=request.name, timezone=timezone, locale=locale, invite=issued)


def rename_branch(
    db: Database, old: str, new: str, *, admin_telegram_id: int, now: dt.datetime
) -> None:
    """Rename a branch; the new name must be free. Audited."""
    with db.transaction() as session:
        branch = repo.branch_by_name(session, name=old)
        if branch is None:
            raise BranchRefused(BranchProblem.UNKNOWN, old)
        if old == new:
            return
        if repo.branch_by_name(session, name=new) is not None:
            raise BranchRefused(BranchProblem.TAKEN, new)
        branch.name = new
        session.add(branch)
        assert branch.id is not None
        repo.add_audit(
            session,
            branch_id=branch.id,
            action="branch.rename",
            at=now,
            detail=f"{old!r} -> {new!r} by admin {admin_telegram_id}",
        )
