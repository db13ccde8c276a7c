"""Tier-3 harness: the real Application (production wiring) against the in-process fake API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from telegram import Update

from bot.app import build_application
from bot.context import BranchApp, Services
from bot.settings import Settings
from storage.db import Database
from storage.models import Branch, Member, PartyGroup
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock


def settings_for(api: FakeTelegram, **overrides: Any) -> Settings:
    """Settings for tests: no .env, the fake's token, predictable defaults."""
    values: dict[str, Any] = {
        "bot_token": api.token,
        "database_url": "sqlite://",
        "default_timezone": "Asia/Shanghai",
        "default_locale": "en",
        "telegram_api_base": "http://fake.invalid/bot",
        # Tests tap faster than people under a frozen clock; the flood gate's own tests set
        # production values (tests/bot/test_flood.py).
        "flood_burst": 1_000_000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class Harness:
    """Feeds updates to the real Application and lets tests read what the fake API saw."""

    def __init__(self, db: Database, clock: FrozenClock, api: FakeTelegram, settings: Settings):
        self.db = db
        self.clock = clock
        self.api = api
        self.settings = settings
        self.services = Services(settings=settings, db=db, clock=clock)
        self.app: BranchApp = build_application(
            self.services, request=api.request(), get_updates_request=api.request()
        )

    async def start(self) -> None:
        """Initialise the Application (getMe) without polling."""
        await self.app.initialize()

    async def stop(self) -> None:
        """Shut the Application down."""
        await self.app.shutdown()

    async def feed(self, update: Mapping[str, Any]) -> None:
        """Process one update exactly as polling would; its sender has now started the bot."""
        sender = _sender(update)
        if sender is not None:
            self.api.started(sender)
        await self.app.process_update(Update.de_json(dict(update), self.app.bot))

    def replies_to(self, chat_id: int) -> list[str]:
        """Texts the bot sent to a chat, in order."""
        return [str(m.get("text", m.get("caption", ""))) for m in self.api.messages_to(chat_id)]

    def last_reply(self, chat_id: int) -> str:
        """The last text the bot sent to a chat."""
        replies = self.replies_to(chat_id)
        assert replies, f"the bot sent nothing to {chat_id}"
        return replies[-1]

    def answers(self) -> list[dict[str, Any]]:
        """Every answerCallbackQuery the bot made."""
        return self.api.sent("answerCallbackQuery")


def _sender(update: Mapping[str, Any]) -> int | None:
    for key in ("message", "callback_query", "edited_message", "my_chat_member"):
        if key in update and "from" in update[key]:
            return int(update[key]["from"]["id"])
    return None


def seed_branch(
    db: Database,
    *,
    name: str = "一支部",
    timezone: str = "Asia/Shanghai",
    locale: str = "en",
    members: list[tuple[str, int | None, str, str | None]] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Create a branch with members (name, telegram id, role, group); return name -> member id."""
    now = now or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    members = members or [
        ("Secretary Wang", 9001, "secretary", "Group 1"),
        ("Member Li", 1001, "member", "Group 1"),
    ]
    ids: dict[str, int] = {}
    with db.transaction() as s:
        branch = Branch(name=name, timezone=timezone, locale=locale, created_at=now)
        s.add(branch)
        s.flush()
        assert branch.id is not None
        ids["branch"] = branch.id
        groups: dict[str, int] = {}
        for member_name, telegram_id, role, group in members:
            if group and group not in groups:
                party_group = PartyGroup(branch_id=branch.id, name=group)
                s.add(party_group)
                s.flush()
                assert party_group.id is not None
                groups[group] = party_group.id
            member = Member(
                branch_id=branch.id,
                name=member_name,
                telegram_id=telegram_id,
                role=role,
                group_id=groups.get(group) if group else None,
                dues_amount=Decimal("12.50"),
                linked_at=now if telegram_id else None,
            )
            s.add(member)
            s.flush()
            assert member.id is not None
            ids[member_name] = member.id
    return ids
