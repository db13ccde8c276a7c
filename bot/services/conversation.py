"""Multi-step flows (a leave reason, the talk records) kept in the database, not in memory.

One row per Telegram user (`Conversation`, unique on telegram_id): the flow, the step it waits
at and its data as JSON. A restart of the bot therefore resumes a flow at the same step. A flow
untouched for `EXPIRY` is ignored, so a forgotten question never swallows a later message.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, delete, select

from bot.services.upsert import insert_ignore
from storage.db import Database
from storage.models import Conversation

EXPIRY = dt.timedelta(days=2)

LEAVE = "leave"
TALKS = "talks"
MAKE_UP = "makeup"
MINUTES = "minutes"  # recording a meeting (bot/services/minutes.py)


@dataclass(frozen=True)
class Flow:
    """Where one person is in a multi-step flow."""

    telegram_id: int
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: dt.datetime | None = None


def _flow(row: Conversation) -> Flow:
    return Flow(row.telegram_id, row.flow, row.step, json.loads(row.data), row.updated_at)


def current(session: Session, telegram_id: int, *, now: dt.datetime) -> Flow | None:
    """The person's live flow, if any (an expired one counts as none)."""
    row = session.exec(select(Conversation).where(Conversation.telegram_id == telegram_id)).first()
    if row is None or row.updated_at < now - EXPIRY:
        return None
    return _flow(row)


def begin(
    session: Session,
    *,
    telegram_id: int,
    flow: str,
    step: str,
    data: dict[str, Any],
    now: dt.datetime,
) -> Flow:
    """Start a flow for this person, replacing whatever flow they were in."""
    text = json.dumps(data, sort_keys=True)
    values = {
        "telegram_id": telegram_id,
        "flow": flow,
        "step": step,
        "data": text,
        "updated_at": now,
    }
    if not insert_ignore(session, Conversation, values, keys=["telegram_id"]):
        row = _locked(session, telegram_id)
        row.flow, row.step, row.data, row.updated_at = flow, step, text, now
        session.add(row)
    return Flow(telegram_id, flow, step, dict(data), now)


def advance(
    session: Session, flow: Flow, *, step: str, data: dict[str, Any], now: dt.datetime
) -> Flow:
    """Move the person's flow to `step` with new data."""
    row = _locked(session, flow.telegram_id)
    row.step, row.data, row.updated_at = step, json.dumps(data, sort_keys=True), now
    session.add(row)
    return Flow(flow.telegram_id, flow.flow, step, dict(data), now)


def lock(session: Session, telegram_id: int, *, now: dt.datetime) -> Flow | None:
    """The person's live flow, locked for update until the transaction ends."""
    row = session.exec(
        select(Conversation).where(Conversation.telegram_id == telegram_id).with_for_update()
    ).first()
    if row is None or row.updated_at < now - EXPIRY:
        return None
    return _flow(row)


def end(session: Session, telegram_id: int) -> None:
    """Forget the person's flow."""
    session.exec(delete(Conversation).where(col(Conversation.telegram_id) == telegram_id))


def _locked(session: Session, telegram_id: int) -> Conversation:
    return session.exec(
        select(Conversation).where(Conversation.telegram_id == telegram_id).with_for_update()
    ).one()


def active(db: Database, telegram_id: int, *, now: dt.datetime) -> Flow | None:
    """The person's live flow (a read, for routing their next message)."""
    with db.read() as session:
        return current(session, telegram_id, now=now)


def cancel(db: Database, telegram_id: int, *, now: dt.datetime) -> Flow | None:
    """Abort the person's flow; return the flow that was aborted, if any."""
    with db.transaction() as session:
        flow = current(session, telegram_id, now=now)
        end(session, telegram_id)
    return flow
