"""The delivery ledger's storage operations: insert, claim, settle, recover. No `telegram`.

Every function takes a Session inside the caller's (short) transaction and never commits.
Inserts are idempotent (`ON CONFLICT (key) DO NOTHING`), so replicas and restarts can plan the
same reminder again and again: the unique key lets exactly one row exist. Claims move rows from
`pending` to `sending` in one statement; on PostgreSQL the rows are picked with
`FOR UPDATE SKIP LOCKED` inside a MATERIALIZED CTE (the fence Oban uses so that the planner
cannot run the LIMIT subquery more than once), so two replicas never claim the same row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.models import Branch, Delivery, DeliveryStatus, Member, OrgPerson
from storage.types import UTCDateTime

AMBIGUOUS = "ambiguous"  # error prefix of a row that may already have been delivered once
MIGRATED = "migrated"  # error prefix of a row re-addressed to a migrated group chat


@dataclass(frozen=True)
class NewRow:
    """A ledger row to insert (pending, or skipped with its reason)."""

    key: str
    kind: str
    branch_id: int
    chat_id: int
    due_at: dt.datetime
    member_id: int | None = None
    occurrence_id: int | None = None
    status: str = DeliveryStatus.PENDING.value
    error: str | None = None
    payload: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Claimed:
    """A row this process has claimed (status `sending`)."""

    id: int
    key: str
    kind: str
    branch_id: int
    chat_id: int
    due_at: dt.datetime
    attempts: int
    member_id: int | None
    occurrence_id: int | None
    error: str | None
    payload: Mapping[str, Any]

    @property
    def was_ambiguous(self) -> bool:
        """Whether an earlier attempt may already have reached the recipient."""
        return bool(self.error and self.error.startswith(AMBIGUOUS))


@dataclass(frozen=True)
class Settle:
    """The new state of one claimed row after its attempt."""

    id: int
    status: str
    attempts: int
    chat_id: int
    due_at: dt.datetime
    error: str | None = None
    sent_at: dt.datetime | None = None
    message_id: int | None = None


_CLAIMED_COLUMNS = (
    col(Delivery.id),
    col(Delivery.key),
    col(Delivery.kind),
    col(Delivery.branch_id),
    col(Delivery.chat_id),
    col(Delivery.due_at),
    col(Delivery.attempts),
    col(Delivery.member_id),
    col(Delivery.occurrence_id),
    col(Delivery.error),
    col(Delivery.payload),
)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_rows(session: Session, rows: Sequence[NewRow]) -> int:
    """Insert rows whose key is not in the ledger yet; return how many were new."""
    if not rows:
        return 0
    module: Any = postgresql if _dialect(session) == "postgresql" else sqlite
    stmt = (
        module.insert(Delivery)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(Delivery.id))
    )
    values = [
        {
            "key": r.key,
            "kind": r.kind,
            "branch_id": r.branch_id,
            "chat_id": r.chat_id,
            "due_at": r.due_at,
            "member_id": r.member_id,
            "occurrence_id": r.occurrence_id,
            "status": r.status,
            "attempts": 0,
            "error": r.error,
            "payload": json.dumps(dict(r.payload or {}), ensure_ascii=False, sort_keys=True),
        }
        for r in rows
    ]
    inserted = 0
    for start in range(0, len(values), 1000):
        inserted += len(session.execute(stmt, values[start : start + 1000]).all())
    return inserted


def existing_keys(
    session: Session, *, occurrence_ids: Collection[int], keys: Collection[str] = ()
) -> set[str]:
    """The ledger keys of these occurrences' rows, plus those of `keys` that exist (2 queries)."""
    found: set[str] = set()
    if occurrence_ids:
        stmt = select(Delivery.key).where(col(Delivery.occurrence_id).in_(list(occurrence_ids)))
        found.update(session.exec(stmt).all())
    if keys:
        found.update(session.exec(select(Delivery.key).where(col(Delivery.key).in_(list(keys)))))
    return found


def claim(session: Session, *, now: dt.datetime, limit: int) -> list[Claimed]:
    """Move up to `limit` due pending rows to `sending` for this process and return them."""
    picked: Select[Any] = (
        select(col(Delivery.id))
        .where(col(Delivery.status) == DeliveryStatus.PENDING.value, col(Delivery.due_at) <= now)
        .order_by(col(Delivery.due_at), col(Delivery.id))
        .limit(limit)
    )
    values = {
        "status": DeliveryStatus.SENDING.value,
        "claimed_at": now,
        "attempts": col(Delivery.attempts) + 1,
    }
    if _dialect(session) == "postgresql":
        cte = picked.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        stmt = update(Delivery).where(col(Delivery.id) == cte.c.id)
    else:  # SQLite: the write transaction (BEGIN IMMEDIATE) already serialises claimers
        stmt = update(Delivery).where(col(Delivery.id).in_(picked.scalar_subquery()))
    result = session.execute(stmt.values(values).returning(*_CLAIMED_COLUMNS))
    claimed = [
        Claimed(
            id=row.id,
            key=row.key,
            kind=row.kind,
            branch_id=row.branch_id,
            chat_id=row.chat_id,
            due_at=row.due_at,
            attempts=row.attempts,
            member_id=row.member_id,
            occurrence_id=row.occurrence_id,
            error=row.error,
            payload=json.loads(row.payload or "{}"),
        )
        for row in result
    ]
    claimed.sort(key=lambda c: (c.due_at, c.id))
    return claimed


def heartbeat(session: Session, ids: Collection[int], *, now: dt.datetime) -> None:
    """Renew this process's lease on rows it still holds."""
    if ids:
        session.execute(
            update(Delivery)
            .where(
                col(Delivery.id).in_(list(ids)),
                col(Delivery.status) == DeliveryStatus.SENDING.value,
            )
            .values(claimed_at=now)
        )


def recover_stale(session: Session, *, older_than: dt.datetime | None) -> tuple[int, int]:
    """Rows left `sending` by a dead process: retry once, then `unknown`. Return the counts.

    `older_than=None` takes every `sending` row (SQLite at start-up: there is one process).
    """
    stale: list[ColumnElement[bool]] = [col(Delivery.status) == DeliveryStatus.SENDING.value]
    if older_than is not None:
        stale.append(
            or_(col(Delivery.claimed_at).is_(None), col(Delivery.claimed_at) < older_than)
        )
    twice = col(Delivery.error).startswith(AMBIGUOUS)
    gone = session.execute(
        update(Delivery)
        .where(*stale, twice)
        .values(status=DeliveryStatus.UNKNOWN.value, error=AMBIGUOUS + " twice: lease expired")
    )
    retried = session.execute(
        update(Delivery)
        .where(*stale, or_(col(Delivery.error).is_(None), ~twice))
        .values(
            status=DeliveryStatus.PENDING.value,
            claimed_at=None,
            error=AMBIGUOUS + ": the sender stopped while sending",
        )
    )
    return retried.rowcount, gone.rowcount  # type: ignore[attr-defined]


_SETTLE = (
    update(Delivery)
    .where(col(Delivery.id) == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        chat_id=bindparam("b_chat_id"),
        due_at=bindparam("b_due_at", type_=UTCDateTime),
        error=bindparam("b_error"),
        sent_at=bindparam("b_sent_at", type_=UTCDateTime),
        message_id=bindparam("b_message_id"),
        claimed_at=None,
    )
)


def settle(session: Session, results: Iterable[Settle]) -> None:
    """Write the outcome of each attempt (one executemany)."""
    rows = [
        {
            "b_id": s.id,
            "b_status": s.status,
            "b_attempts": s.attempts,
            "b_chat_id": s.chat_id,
            "b_due_at": s.due_at,
            "b_error": s.error[:300] if s.error else None,
            "b_sent_at": s.sent_at,
            "b_message_id": s.message_id,
        }
        for s in results
    ]
    if rows:
        session.connection().execute(_SETTLE, rows)


def mark_unreachable(session: Session, reasons: Mapping[int, str], *, now: dt.datetime) -> None:
    """Record members Telegram refused to reach (403 / chat not found), with the reason."""
    for member_id, reason in reasons.items():
        session.execute(
            update(Member)
            .where(col(Member.id) == member_id)
            .values(
                unreachable_reason=reason[:200],
                unreachable_since=func.coalesce(col(Member.unreachable_since), now),
            )
        )


def mark_org_unreachable(
    session: Session, reasons: Mapping[int, str], *, now: dt.datetime
) -> None:
    """Record seat holders (OrgPerson) Telegram refused to reach: no more digests go to them."""
    for person_id, reason in reasons.items():
        session.execute(
            update(OrgPerson)
            .where(col(OrgPerson.id) == person_id)
            .values(
                unreachable_reason=reason[:200],
                unreachable_since=func.coalesce(col(OrgPerson.unreachable_since), now),
            )
        )


def migrate_group(session: Session, *, branch_id: int, old: int, new: int) -> None:
    """A group became a supergroup: store its new id, and re-address its pending rows."""
    session.execute(
        update(Branch)
        .where(col(Branch.id) == branch_id, col(Branch.group_chat_id) == old)
        .values(group_chat_id=new)
    )
    session.execute(
        update(Delivery)
        .where(
            col(Delivery.status) == DeliveryStatus.PENDING.value,
            col(Delivery.chat_id) == old,
        )
        .values(chat_id=new)
    )


def next_pending(session: Session, *, after: dt.datetime) -> dt.datetime | None:
    """The earliest due time of a pending row that is not due yet (retries with back-off)."""
    stmt = select(func.min(Delivery.due_at)).where(
        col(Delivery.status) == DeliveryStatus.PENDING.value, col(Delivery.due_at) > after
    )
    found = session.exec(stmt).first()
    return found if isinstance(found, dt.datetime) else None
