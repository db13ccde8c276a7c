"""Roster and plan files sent to the bot by a branch's secretary: preview first, then apply.

A file is read with exactly the rules of `branchbot import` (`read_roster`, `import_roster`)
and `branchbot plan set` (`parse_plan`). Nothing is written until the secretary taps the
preview's confirm button. The pending preview is a `Conversation` row (flow `setup`), so it
survives a restart; one per person, so a second upload replaces the first; it expires after
`PREVIEW_TTL`; its buttons carry a random number so an older preview's button can never apply
a newer file.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from bot.services import conversation
from bot.services.invites import InviteArgs, InviteIssued, create_invite, new_token
from bot.services.roster import ImportResult, import_roster, read_roster
from scheduler.plan import DEFAULT_PLAN_PATH, Plan, branch_plan, default_plan, parse_plan
from scheduler.recurrence import Occurrence, occurrences_between, zone
from storage import repositories as repo
from storage.db import Database
from storage.models import Branch, Member, Role

FLOW = "setup"
MAX_FILE_BYTES = 1_000_000  # a roster of thousands of members is far below this
PREVIEW_TTL = dt.timedelta(hours=1)
WINDOW_DAYS = 92  # "the next three months" of a plan preview

ROSTER, PLAN, SETTINGS = "roster", "plan", "settings"
KIND_CODES = {ROSTER: 1, PLAN: 2, SETTINGS: 3}


class UploadRefusal(enum.Enum):
    """Why an upload or a confirmation did nothing."""

    NOT_SECRETARY = "not_secretary"
    TOO_LARGE = "too_large"
    UNKNOWN_TYPE = "unknown_type"
    EXPIRED = "expired"  # no live preview with this number (expired, replaced or done)


class Refused(Exception):
    """Nothing was read or written, for this reason."""

    def __init__(self, reason: UploadRefusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


def file_kind(filename: str) -> str | None:
    """Which setup file this is by its name: a roster (CSV/Excel) or a plan (TOML)."""
    lower = filename.lower()
    if lower.endswith((".csv", ".xlsx", ".xls", ".et", ".ods", ".numbers")):
        return ROSTER
    if lower.endswith(".toml"):
        return PLAN
    return None


def secretary_branch(session: Session, telegram_id: int) -> Branch:
    """The branch this person is the secretary of, or Refused."""
    member = repo.member_by_telegram_id(session, telegram_id=telegram_id)
    if member is None or not member.active or member.role != Role.SECRETARY.value:
        raise Refused(UploadRefusal.NOT_SECRETARY)
    branch = repo.get_branch(session, member.branch_id)
    assert branch is not None
    return branch


def check_upload(db: Database, *, telegram_id: int, filename: str, size: int | None) -> str:
    """Before anything is downloaded: may this person send this file? Its kind, or Refused."""
    with db.read() as session:
        secretary_branch(session, telegram_id)
    kind = file_kind(filename)
    if kind is None:
        raise Refused(UploadRefusal.UNKNOWN_TYPE)
    if size is not None and size > MAX_FILE_BYTES:
        raise Refused(UploadRefusal.TOO_LARGE)
    return kind


# ---------------------------------------------------------------- roster


@dataclass(frozen=True)
class RosterPreview:
    """What importing the file would do."""

    nonce: int
    branch_name: str
    created: list[str]
    updated: list[str]
    unchanged: list[str]


def preview_roster(
    db: Database,
    *,
    telegram_id: int,
    data: bytes,
    filename: str,
    now: dt.datetime,
    nonce_factory: Callable[[], int] = lambda: secrets.randbelow(10**9) + 1,
) -> RosterPreview:
    """Parse the file as `branchbot import` does and dry-run the import; keep it pending.

    Raises RosterError (every bad line with its number and reason) or Refused.
    """
    with db.read() as session:
        branch = secretary_branch(session, telegram_id)
    rows = read_roster(data, filename)
    result = import_roster(
        db, rows, branch_name=branch.name, now=now, source=filename, dry_run=True
    )
    nonce = nonce_factory()
    _keep(
        db,
        telegram_id,
        ROSTER,
        nonce,
        now,
        branch_id=branch.id,
        filename=filename,
        file=base64.b64encode(data).decode("ascii"),
    )
    return RosterPreview(nonce, branch.name, result.created, result.updated, result.unchanged)


@dataclass(frozen=True)
class RosterImported:
    """The import, and one invite per newly added member who has no Telegram account yet."""

    result: ImportResult
    invites: list[InviteIssued] = field(default_factory=list)


# ---------------------------------------------------------------- plan


@dataclass(frozen=True)
class Moved:
    """An occurrence the new plan puts on another day or time."""

    before: Occurrence
    after: Occurrence


@dataclass(frozen=True)
class PlanPreview:
    """What the new plan changes over the next three months."""

    nonce: int
    branch_name: str
    items: int
    added: list[Occurrence]
    moved: list[Moved]
    removed: list[Occurrence]
    to_default: bool


def plan_template(db: Database, *, telegram_id: int) -> tuple[str, str]:
    """The branch's plan as TOML (its own file, or the documented default) and a file name."""
    with db.read() as session:
        branch = secretary_branch(session, telegram_id)
    text = branch.plan_toml or DEFAULT_PLAN_PATH.read_text(encoding="utf-8")
    return text, "plan.toml"


def preview_plan(
    db: Database,
    *,
    telegram_id: int,
    text: str | None,
    filename: str,
    now: dt.datetime,
    nonce_factory: Callable[[], int] = lambda: secrets.randbelow(10**9) + 1,
) -> PlanPreview:
    """Validate a plan (None: back to the default) as `branchbot plan set` does; keep it pending.

    Raises PlanError (naming the item and the field) or Refused.
    """
    plan = default_plan() if text is None else parse_plan(text, source=filename)
    with db.read() as session:
        branch = secretary_branch(session, telegram_id)
    added, moved, removed = plan_changes(branch_plan(branch), plan, branch.timezone, now)
    nonce = nonce_factory()
    _keep(db, telegram_id, PLAN, nonce, now, branch_id=branch.id, filename=filename, text=text)
    return PlanPreview(
        nonce, branch.name, len(plan.items), added, moved, removed, to_default=text is None
    )


def plan_changes(
    old: Plan, new: Plan, timezone: str, now: dt.datetime
) -> tuple[list[Occurrence], list[Moved], list[Occurrence]]:
    """Occurrences added, moved and removed between two plans over the next three months.

    Per item, the n-th occurrence of the old plan pairs with the n-th of the new one: a pair
    with another start is a move; what is left over is added or removed.
    """
    tz = zone(timezone)
    end = now + dt.timedelta(days=WINDOW_DAYS)
    before = occurrences_between(old, tz, now, end)
    after = occurrences_between(new, tz, now, end)
    added: list[Occurrence] = []
    moved: list[Moved] = []
    removed: list[Occurrence] = []
    for item in dict.fromkeys(o.item_id for o in [*before, *after]):
        olds = [o for o in before if o.item_id == item]
        news = [o for o in after if o.item_id == item]
        for a, b in zip(olds, news, strict=False):
            if a.starts_at != b.starts_at:
                moved.append(Moved(a, b))
        removed += olds[len(news) :]
        added += news[len(olds) :]
    return added, moved, removed


# ---------------------------------------------------------------- settings


def keep_setting(
    db: Database,
    *,
    telegram_id: int,
    name: str,
    value: str,
    now: dt.datetime,
    nonce_factory: Callable[[], int] = lambda: secrets.randbelow(10**9) + 1,
) -> tuple[int, Branch]:
    """Keep a previewed settings change pending; its number and the branch as it is now."""
    with db.read() as session:
        branch = secretary_branch(session, telegram_id)
    nonce = nonce_factory()
    _keep(db, telegram_id, SETTINGS, nonce, now, branch_id=branch.id, name=name, value=value)
    return nonce, branch


# ---------------------------------------------------------------- pending previews


def _keep(
    db: Database, telegram_id: int, kind: str, nonce: int, now: dt.datetime, **data: Any
) -> None:
    with db.transaction() as session:
        conversation.begin(
            session,
            telegram_id=telegram_id,
            flow=FLOW,
            step=kind,
            data={"nonce": nonce, **data},
            now=now,
        )


def _live(flow: conversation.Flow | None, nonce: int, now: dt.datetime) -> bool:
    if flow is None or flow.flow != FLOW or flow.data.get("nonce") != nonce:
        return False
    return flow.updated_at is not None and flow.updated_at > now - PREVIEW_TTL


def discard(db: Database, *, telegram_id: int, nonce: int, now: dt.datetime) -> bool:
    """Drop the pending preview with this number; whether there was one."""
    with db.transaction() as session:
        flow = conversation.lock(session, telegram_id, now=now)
        if flow is None or flow.flow != FLOW or flow.data.get("nonce") != nonce:
            return False  # another preview (or flow) is pending now: leave it alone
        conversation.end(session, telegram_id)
    return True


@dataclass(frozen=True)
class Applied:
    """What a confirmed preview did."""

    kind: str
    branch_name: str
    roster: RosterImported | None = None
    setting: tuple[str, str] | None = None


def confirm(
    db: Database,
    *,
    telegram_id: int,
    nonce: int,
    now: dt.datetime,
    ttl_days: int = 7,
    token_factory: Callable[[], str] = new_token,
) -> Applied:
    """Apply the pending preview with this number, once; Refused when it is not live."""
    with db.transaction() as session:
        flow = conversation.lock(session, telegram_id, now=now)
        if flow is None or not _live(flow, nonce, now):
            raise Refused(UploadRefusal.EXPIRED)
        branch = secretary_branch(session, telegram_id)  # still their secretary?
        if branch.id != flow.data.get("branch_id"):
            raise Refused(UploadRefusal.NOT_SECRETARY)
        actor = repo.member_by_telegram_id(session, telegram_id=telegram_id)
        assert actor is not None and branch.id is not None
        conversation.end(session, telegram_id)  # one tap applies it; a second finds nothing
        if flow.step == PLAN:
            _set_plan(session, branch, flow.data.get("text"), flow.data["filename"], actor, now)
            return Applied(PLAN, branch.name)
        if flow.step == SETTINGS:
            name, value = flow.data["name"], flow.data["value"]
            _set_setting(session, branch, name, value, actor, now)
            return Applied(SETTINGS, branch.name, setting=(name, value))
    # The roster is imported by its own transaction, with the CLI's code path.
    data = base64.b64decode(flow.data["file"])
    filename = flow.data["filename"]
    rows = read_roster(data, filename)
    result = import_roster(db, rows, branch_name=branch.name, now=now, source=filename)
    with db.transaction() as session:
        repo.add_audit(
            session,
            branch_id=branch.id,
            action="roster.upload",
            at=now,
            actor_id=actor.id,
            detail=f"{filename}: {len(result.created)} created, {len(result.updated)} updated",
        )
    invites = []
    for name in result.created:
        row = next(r for r in rows if r.name == name)
        if row.telegram_id is None:
            issued = create_invite(
                db,
                InviteArgs(name=name),
                actor_telegram_id=telegram_id,
                is_admin=False,
                now=now,
                ttl_days=ttl_days,
                token_factory=token_factory,
            )
            if isinstance(issued, InviteIssued):
                invites.append(issued)
    return Applied(ROSTER, branch.name, roster=RosterImported(result, invites))


def set_plan(
    session: Session, branch: Branch, text: str | None, source: str, *, now: dt.datetime
) -> None:
    """Give the branch this plan (None: the default), audited; the CLI's `plan set` too."""
    _set_plan(session, branch, text, source, None, now)


def _set_plan(
    session: Session,
    branch: Branch,
    text: str | None,
    source: str,
    actor: Member | None,
    now: dt.datetime,
) -> None:
    if text is not None:
        parse_plan(text, source=source)  # never store a plan that does not parse
    branch.plan_toml = text
    session.add(branch)
    assert branch.id is not None
    repo.add_audit(
        session,
        branch_id=branch.id,
        action="plan.set",
        at=now,
        actor_id=actor.id if actor else None,
        detail=source if text is not None else "default plan",
    )


SETTING_NAMES = ("timezone", "locale")


def _set_setting(
    session: Session, branch: Branch, name: str, value: str, actor: Member, now: dt.datetime
) -> None:
    if name == "timezone":
        zone(value)
        old = branch.timezone
        branch.timezone = value
    elif name == "locale":
        if value not in ("zh_CN", "en"):
            raise ValueError(value)
        old = branch.locale
        branch.locale = value
    else:
        raise ValueError(name)
    session.add(branch)
    assert branch.id is not None
    repo.add_audit(
        session,
        branch_id=branch.id,
        action="settings.change",
        at=now,
        actor_id=actor.id,
        detail=f"{name}: {old} -> {value}",
    )
