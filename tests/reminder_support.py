"""Shared helpers for the reminder engine's tests: plans, seeding, a scripted notifier."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal

from sqlmodel import select

from scheduler.notify import Outcome, Outgoing
from storage.db import Database
from storage.models import Branch, Delivery, Member, PartyGroup

UTC = dt.UTC


def meeting_plan(
    *,
    audience: str = "all",
    day: int = 5,
    time: str = "15:00",
    reminders: str | None = None,
    duration: int = 60,
    extra: str = "",
) -> str:
    """A plan with one monthly meeting (and optional extra TOML items)."""
    rem = f"\nreminders = {reminders}" if reminders else ""
    return f"""
version = 1
name = {{ zh_CN = "测试计划", en = "Test plan" }}
[[items]]
id = "meet"
kind = "meeting"
audience = "{audience}"
title = {{ zh_CN = "党员大会", en = "General meeting" }}
rhythm = {{ every = "month", day = {day} }}
time = "{time}"
duration_minutes = {duration}{rem}
{extra}
"""


def seed(
    db: Database,
    *,
    members: int = 3,
    plan: str | None = None,
    timezone: str = "Asia/Shanghai",
    locale: str = "en",
    delivery_mode: str = "direct",
    group_chat_id: int | None = None,
    first_telegram_id: int = 10_001,
    roles: Sequence[str] = (),
    name: str = "一支部",
) -> dict[str, int]:
    """A branch with `members` linked members (telegram ids from 10001); returns ids."""
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    with db.transaction() as s:
        branch = Branch(
            name=name,
            timezone=timezone,
            locale=locale,
            created_at=now,
            plan_toml=plan,
            delivery_mode=delivery_mode,
            group_chat_id=group_chat_id,
        )
        s.add(branch)
        s.flush()
        assert branch.id is not None
        group = PartyGroup(branch_id=branch.id, name=f"{name} 第一党小组")
        s.add(group)
        s.flush()
        ids = {"branch": branch.id, "group": group.id or 0}
        for n in range(members):
            role = roles[n] if n < len(roles) else "member"
            m = Member(
                branch_id=branch.id,
                name=f"Member {n:05d}",
                telegram_id=first_telegram_id + n,
                role=role,
                group_id=group.id,
                dues_amount=Decimal("12.50"),
                linked_at=now,
            )
            s.add(m)
            s.flush()
            ids[f"m{n}"] = m.id or 0
    return ids


def deliveries(db: Database) -> list[Delivery]:
    """Every ledger row, by id."""
    with db.read() as s:
        return list(s.exec(select(Delivery).order_by(Delivery.id)).all())  # type: ignore[arg-type]


class ScriptedNotifier:
    """A Notifier that records items and answers from a script (default: sent)."""

    def __init__(self) -> None:
        self.delivered: list[Outgoing] = []
        self.prepared = 0
        self.aborted = False
        self.script: dict[int, list[Outcome]] = {}  # chat id -> outcomes, in order
        self._ids = itertools.count(1)

    def prepare(self, items: Sequence[Outgoing]) -> None:
        self.prepared += len(items)

    async def deliver(self, item: Outgoing) -> Outcome:
        self.delivered.append(item)
        queued = self.script.get(item.chat_id)
        if queued:
            return queued.pop(0)
        return Outcome.sent(next(self._ids))

    def abort(self) -> None:
        self.aborted = True

    def chats(self) -> list[int]:
        return [i.chat_id for i in self.delivered]
