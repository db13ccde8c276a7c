"""Roster import: parse the whole CSV first, write nothing unless every row is good."""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from sqlmodel import Session

from bot.services.inert import visible
from scheduler.recurrence import to_local, zone
from storage import repositories as repo
from storage.db import Database
from storage.models import Branch, DeliveryMode, Member, MemberStatus, Role

_E = TypeVar("_E", Role, MemberStatus)

HEADER = ("name", "telegram_id", "role", "group", "dues_amount", "status")
MAX_NAME = 200


@dataclass(frozen=True)
class RosterRow:
    """One valid roster line."""

    line: int
    name: str
    telegram_id: int | None
    role: Role
    group: str | None
    dues_amount: Decimal
    status: MemberStatus


class RosterError(ValueError):
    """The roster file is refused; `problems` lists every bad line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass
class ImportResult:
    """What an import changed."""

    branch: Branch
    branch_created: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def parse_roster(data: bytes, *, source: str) -> list[RosterRow]:
    """Parse and validate a UTF-8 roster CSV; raise RosterError naming every bad line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError(source, [f"not UTF-8 text (byte {exc.start})"]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [h for h in HEADER if h not in header]
    if missing:
        raise RosterError(source, [f"line 1: missing column(s) {', '.join(missing)}"])
    index = {name: header.index(name) for name in HEADER}
    rows: list[RosterRow] = []
    problems: list[str] = []
    for line_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        try:
            rows.append(_row(line_no, cells, index))
        except ValueError as exc:
            problems.append(f"line {line_no}: {exc}")
    problems += _duplicates(rows)
    if problems:
        raise RosterError(source, problems)
    return rows


def _row(line_no: int, cells: list[str], index: dict[str, int]) -> RosterRow:
    if len(cells) < len(index):
        raise ValueError(f"expected {len(HEADER)} fields, found {len(cells)}")
    get = {name: cells[i].strip() for name, i in index.items()}
    name = get["name"]
    if not name or len(name) > MAX_NAME:
        raise ValueError("name is empty" if not name else "name is too long")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise ValueError("name contains control characters")
    name = visible(name)  # zero-width and right-to-left marks would break layout and matching
    if not name:
        raise ValueError("name is empty")
    return RosterRow(
        line=line_no,
        name=name,
        telegram_id=_telegram_id(get["telegram_id"]),
        role=_choice(Role, get["role"] or "member", "role"),
        group=visible(get["group"]) or None,
        dues_amount=_amount(get["dues_amount"]),
        status=_choice(MemberStatus, get["status"] or "full", "status"),
    )


def _telegram_id(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 2**52:
        raise ValueError(f"telegram_id {raw!r} is not a Telegram user id (a positive number)")
    return int(raw)


def _amount(raw: str) -> Decimal:
    if not raw.strip():
        # A blank would silently mean "exempt": the roster must say 0 for that.
        raise ValueError("dues_amount is empty: give the monthly amount, or 0 if exempt")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"dues_amount {raw!r} is not a number of yuan (e.g. 12.50)") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("100000000"):
        raise ValueError(f"dues_amount {raw!r} is out of range")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"dues_amount {raw!r} has more than two decimals")
    return amount.quantize(Decimal("0.01"))


def _choice(kind: type[_E], raw: str, label: str) -> _E:
    try:
        return kind(raw.lower())
    except ValueError:
        allowed = "|".join(v.value for v in kind)
        raise ValueError(f"{label} {raw!r} is not one of {allowed}") from None


def _duplicates(rows: list[RosterRow]) -> list[str]:
    problems = []
    seen_ids: dict[int, int] = {}
    seen_names: dict[str, int] = {}
    for row in rows:
        if row.telegram_id is not None:
            if row.telegram_id in seen_ids:
                first = seen_ids[row.telegram_id]
                problems.append(
                    f"line {row.line}: telegram_id {row.telegram_id} repeats line {first}"
                )
            seen_ids.setdefault(row.telegram_id, row.line)
        if row.name in seen_names:
            problems.append(
                f"line {row.line}: name {row.name!r} repeats line {seen_names[row.name]}"
            )
        seen_names.setdefault(row.name, row.line)
    return problems


def import_roster(
    db: Database,
    rows: list[RosterRow],
    *,
    branch_name: str,
    now: dt.datetime,
    timezone: str | None = None,
    locale: str | None = None,
    group_chat_id: int | None = None,
    source: str = "roster",
    since: dt.date | None = None,
    delivery: str | None = None,
) -> ImportResult:
    """Create or update the branch and its members in one transaction.

    A new branch starts on `since` or on the day of this import (branch-local); members added
    to an existing branch join on the day of the import.
    """
    with db.transaction() as session:
        branch = repo.branch_by_name(session, name=branch_name)
        created = branch is None
        if branch is None:
            branch = Branch(name=branch_name, created_at=now)
        branch.timezone = timezone or branch.timezone
        branch.locale = locale or branch.locale
        if since is not None or branch.starts_on is None:
            branch.starts_on = since or to_local(now, zone(branch.timezone)).date()
        if group_chat_id is not None:
            _claim_chat(session, branch, group_chat_id, source)
            branch.group_chat_id = group_chat_id
            if delivery is None and branch.delivery_mode == DeliveryMode.DIRECT.value:
                delivery = DeliveryMode.BOTH.value  # a bound group is used, as promised
        if delivery is not None:
            branch.delivery_mode = DeliveryMode(delivery).value
        session.add(branch)
        session.flush()
        assert branch.id is not None
        result = ImportResult(branch=branch, branch_created=created)
        _check_foreign_ids(session, rows, branch_id=branch.id, source=source)
        joined = None if created else to_local(now, zone(branch.timezone)).date()
        for row in rows:
            _upsert_member(
                session, row, branch_id=branch.id, now=now, result=result, joined=joined
            )
        repo.add_audit(
            session,
            branch_id=branch.id,
            action="roster.import",
            at=now,
            detail=f"{len(result.created)} created, {len(result.updated)} updated",
        )
    return result


def _check_foreign_ids(
    session: Session, rows: list[RosterRow], *, branch_id: int, source: str
) -> None:
    problems = []
    for row in rows:
        if row.telegram_id is None:
            continue
        owner = repo.member_by_telegram_id(session, telegram_id=row.telegram_id)
        if owner is not None and (owner.branch_id != branch_id or owner.name != row.name):
            problems.append(
                f"line {row.line}: telegram_id {row.telegram_id} already belongs to another member"
            )
    if problems:
        raise RosterError(source, problems)


def _claim_chat(session: Session, branch: Branch, chat_id: int, source: str) -> None:
    """A group chat belongs to one branch: refuse one bound to another."""
    owner = repo.branch_by_group_chat(session, chat_id=chat_id)
    if owner is not None and owner.id != branch.id:
        raise RosterError(
            source, [f"group chat {chat_id} is already bound to branch {owner.name!r}"]
        )


def _upsert_member(
    session: Session,
    row: RosterRow,
    *,
    branch_id: int,
    now: dt.datetime,
    result: ImportResult,
    joined: dt.date | None = None,
) -> None:
    group_id = None
    if row.group:
        group_id = repo.ensure_group(session, branch_id=branch_id, name=row.group).id
    member = repo.member_by_name(session, branch_id=branch_id, name=row.name)
    is_new = member is None
    if member is None:
        member = Member(branch_id=branch_id, name=row.name, joined_on=joined)
    before = (member.telegram_id, member.role, member.group_id, member.dues_amount, member.status)
    if row.telegram_id is not None and member.telegram_id != row.telegram_id:
        member.telegram_id = row.telegram_id
        member.linked_at = now
    member.role = row.role.value
    member.group_id = group_id
    member.dues_amount = row.dues_amount
    member.status = row.status.value
    member.active = True
    member.left_at = member.left_how = None  # back in the branch
    session.add(member)
    after = (member.telegram_id, member.role, member.group_id, member.dues_amount, member.status)
    target = result.created if is_new else result.updated if before != after else result.unchanged
    target.append(row.name)
