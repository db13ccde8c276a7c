"""Test data for the secretary tools: a branch with groups, occurrences, answers and payments."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from scheduler.occurrences import sync_occurrences
from storage.db import Database
from storage.models import (
    Attendance,
    AuditEntry,
    Branch,
    Delivery,
    DuesPayment,
    Occurrence,
    PartyGroup,
    TalkParticipant,
    TalkRecord,
)
from tests.harness import seed_branch

UTC = dt.UTC
SECRETARY, COMMITTEE, LEADER, LI, ZHAO, QIAN = 9001, 9002, 1002, 1001, 1003, 1004
MEMBERS: list[tuple[str, int | None, str, str | None]] = [
    ("Secretary Wang", SECRETARY, "secretary", "Group 1"),
    ("Committee Sun", COMMITTEE, "committee", "Group 2"),
    ("Leader Zhou", LEADER, "group_leader", "Group 1"),
    ("Member Li", LI, "member", "Group 1"),
    ("Member Zhao", ZHAO, "member", "Group 2"),
    ("Member Qian", QIAN, "member", "Group 2"),
    ("Member Wu", None, "member", "Group 2"),  # never linked
]


def branch(db: Database, **kwargs: Any) -> dict[str, int]:
    """The standard test branch (created 2026-01-01); returns name -> id and 'branch'."""
    kwargs.setdefault("members", MEMBERS)
    ids = seed_branch(db, **kwargs)
    with db.read() as s:
        groups = s.exec(select(PartyGroup).where(PartyGroup.branch_id == ids["branch"])).all()
    return ids | {g.name: g.id or 0 for g in groups}


def sync(db: Database, branch_id: int, year: int = 2026) -> list[Occurrence]:
    """Materialise the branch's occurrences of `year`."""
    with db.transaction() as s:
        b = s.get(Branch, branch_id)
        assert b is not None
        return sync_occurrences(s, b, year=year, now=dt.datetime(2026, 1, 1, tzinfo=UTC))


def occ(db: Database, branch_id: int, item_id: str, key: str) -> Occurrence:
    """The occurrence of `item_id` planned for local date `key` (synced first)."""
    sync(db, branch_id, int(key[:4]))
    with db.read() as s:
        return s.exec(
            select(Occurrence).where(
                Occurrence.branch_id == branch_id,
                Occurrence.item_id == item_id,
                Occurrence.key == key,
            )
        ).one()


def pay(
    db: Database,
    member_id: int,
    month: int,
    *,
    year: int = 2026,
    amount: str = "12.50",
    declared: dt.datetime | None = None,
    confirmed: bool = True,
) -> None:
    """Record one month's dues payment."""
    declared = declared or dt.datetime(year, month, 25, 2, 0, tzinfo=UTC)
    with db.transaction() as s:
        s.add(
            DuesPayment(
                member_id=member_id,
                year=year,
                month=month,
                amount=Decimal(amount),
                declared_at=declared,
                confirmed_at=declared + dt.timedelta(days=1) if confirmed else None,
            )
        )


def answer(
    db: Database,
    occurrence_id: int,
    member_id: int,
    state: str,
    *,
    checked_in_at: dt.datetime | None = None,
    reason: str | None = None,
) -> None:
    """Store a member's answer to an occurrence."""
    with db.transaction() as s:
        s.add(
            Attendance(
                occurrence_id=occurrence_id,
                member_id=member_id,
                state=state,
                checked_in_at=checked_in_at,
                leave_reason=reason,
                updated_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


def talk(
    db: Database,
    branch_id: int,
    group_id: int,
    quarter: int,
    *,
    by: int,
    participants: list[int],
    talks: int = 2,
    summary: str = "talked",
    at: dt.datetime | None = None,
    late: bool = False,
) -> None:
    """Record a group's talk records for a quarter of 2026."""
    with db.transaction() as s:
        record = TalkRecord(
            branch_id=branch_id,
            group_id=group_id,
            submitted_by=by,
            year=2026,
            quarter=quarter,
            talks=talks,
            summary=summary,
            submitted_at=at or dt.datetime(2026, 3 * quarter, 20, 4, 0, tzinfo=UTC),
            late=late,
        )
        s.add(record)
        s.flush()
        for member_id in participants:
            s.add(TalkParticipant(record_id=record.id or 0, member_id=member_id))


def reminded(
    db: Database, branch_id: int, occurrence_id: int, member_id: int | None, chat_id: int
) -> None:
    """A sent reminder of `occurrence_id` (member None: the group chat's)."""
    who = "g" if member_id is None else f"m{member_id}"
    with db.transaction() as s:
        s.add(
            Delivery(
                key=f"r:{occurrence_id}:0:{who}",
                branch_id=branch_id,
                kind="remind",
                occurrence_id=occurrence_id,
                member_id=member_id,
                chat_id=chat_id,
                due_at=dt.datetime(2026, 3, 1, tzinfo=UTC),
                status="sent",
            )
        )


def deliveries(db: Database, kind: str) -> list[Delivery]:
    """Ledger rows of one kind, by key."""
    with db.read() as s:
        return list(
            s.exec(select(Delivery).where(Delivery.kind == kind).order_by(col(Delivery.key)))
        )


def audits(db: Database, action: str) -> list[dict[str, Any]]:
    """Audit details (JSON) of one action, oldest first."""
    with db.read() as s:
        rows = s.exec(
            select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.id))
        ).all()
    return [json.loads(r.detail) | {"actor": r.actor_id} for r in rows]
