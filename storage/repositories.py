"""Queries and writes on branches, groups and members. They never commit: the use case does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlmodel import Session, col, select

from storage.models import AuditEntry, Branch, Member, PartyGroup
from storage.sorting import natural_key


def branch_by_name(session: Session, *, name: str) -> Branch | None:
    """The branch called `name`, if any."""
    return session.exec(select(Branch).where(Branch.name == name)).first()


def get_branch(session: Session, branch_id: int) -> Branch | None:
    """The branch with this id, if any."""
    return session.get(Branch, branch_id)


def list_branches(session: Session) -> Sequence[Branch]:
    """Every branch, by name."""
    return session.exec(select(Branch).order_by(col(Branch.name))).all()


def group_by_name(session: Session, *, branch_id: int, name: str) -> PartyGroup | None:
    """The branch's party group called `name`, if any."""
    stmt = select(PartyGroup).where(PartyGroup.branch_id == branch_id, PartyGroup.name == name)
    return session.exec(stmt).first()


def ensure_group(session: Session, *, branch_id: int, name: str) -> PartyGroup:
    """The branch's party group called `name`, created if new."""
    group = group_by_name(session, branch_id=branch_id, name=name)
    if group is None:
        group = PartyGroup(branch_id=branch_id, name=name)
        session.add(group)
        session.flush()
    return group


def list_groups(session: Session, *, branch_id: int) -> Sequence[PartyGroup]:
    """The branch's party groups, in natural order of their names (第二 before 第十)."""
    stmt = select(PartyGroup).where(PartyGroup.branch_id == branch_id)
    return sorted(session.exec(stmt).all(), key=lambda g: natural_key(g.name))


def member_by_telegram_id(session: Session, *, telegram_id: int) -> Member | None:
    """The member linked to this Telegram account, if any."""
    return session.exec(select(Member).where(Member.telegram_id == telegram_id)).first()


def member_by_name(session: Session, *, branch_id: int, name: str) -> Member | None:
    """The branch's member called `name`, if any."""
    stmt = select(Member).where(Member.branch_id == branch_id, Member.name == name)
    return session.exec(stmt).first()


def list_members(
    session: Session, *, branch_id: int, active_only: bool = True
) -> Sequence[Member]:
    """The branch's members, by name."""
    stmt = select(Member).where(Member.branch_id == branch_id)
    if active_only:
        stmt = stmt.where(col(Member.active).is_(True))
    return session.exec(stmt.order_by(col(Member.name))).all()


def add_audit(
    session: Session,
    *,
    branch_id: int,
    action: str,
    at: dt.datetime,
    actor_id: int | None = None,
    detail: str = "",
) -> AuditEntry:
    """Record a secretary action in the audit log."""
    entry = AuditEntry(branch_id=branch_id, actor_id=actor_id, action=action, detail=detail, at=at)
    session.add(entry)
    return entry


def branch_by_group_chat(session: Session, *, chat_id: int) -> Branch | None:
    """The branch this group chat is bound to, if any (a chat belongs to one branch)."""
    return session.exec(select(Branch).where(Branch.group_chat_id == chat_id)).first()
