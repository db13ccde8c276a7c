"""The gate: who is asking, and refusals that write nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from storage.db import Database
from storage.models import Branch, Member
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness, seed_branch
from tests.harness import settings_for as settings_for


async def test_start_without_token_explains_and_stores_nothing(harness: Harness) -> None:
    await harness.feed(updates.command("start", user_id=555, language_code="en"))
    assert "invite link" in harness.last_reply(555)
    with harness.db.read() as s:
        assert s.exec(select(Member)).all() == []


async def test_unknown_person_is_answered_in_their_language(harness: Harness) -> None:
    await harness.feed(updates.command("start", user_id=556, language_code="zh-hans"))
    assert "邀请链接" in harness.last_reply(556)


async def test_linked_member_is_greeted_by_name(harness: Harness) -> None:
    seed_branch(harness.db)
    await harness.feed(updates.command("start", user_id=1001))
    assert "Member Li" in harness.last_reply(1001)


async def test_stranger_plain_text_in_private_is_told_how_to_join(harness: Harness) -> None:
    await harness.feed(updates.message("hello?", user_id=557))
    assert "invite link" in harness.last_reply(557)


async def test_stranger_chatter_in_a_group_is_ignored(harness: Harness) -> None:
    await harness.feed(updates.message("hello all", user_id=557, chat_id=-100777))
    await harness.feed(updates.command("weather", user_id=557, chat_id=-100777))
    assert harness.replies_to(-100777) == []


async def test_stranger_using_our_command_in_a_group_is_told_how_to_join(harness: Harness) -> None:
    await harness.feed(updates.command("me", user_id=557, chat_id=-100777))
    assert "invite link" in harness.last_reply(-100777)


async def test_anonymous_group_admin_cannot_bind_a_group(harness: Harness) -> None:
    """Messages from an anonymous admin carry GroupAnonymousBot's id, never a member's."""
    seed_branch(harness.db)
    await harness.feed(updates.command("bindgroup", user_id=1087968824, chat_id=-100777))
    assert "invite link" in harness.last_reply(-100777)
    with harness.db.read() as s:
        assert s.exec(select(Branch)).one().group_chat_id is None


@pytest.fixture
async def admin_harness(
    db: Database, clock: FrozenClock, api: FakeTelegram
) -> AsyncIterator[Harness]:
    h = Harness(db, clock, api, settings_for(api, admin_telegram_ids=(777,)))
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


async def test_admins_are_recognised_by_id_not_by_username(admin_harness: Harness) -> None:
    seed_branch(admin_harness.db)
    await admin_harness.feed(updates.command("help", user_id=777, username="boss"))
    assert "As an administrator" in admin_harness.last_reply(777)
    assert "/invite" in admin_harness.last_reply(777)
    await admin_harness.feed(updates.command("invite", "X", user_id=778, username="boss"))
    assert "invite link" in admin_harness.last_reply(778)
    with admin_harness.db.read() as s:
        assert s.exec(select(Member).where(Member.name == "X")).first() is None


async def test_admin_who_is_not_a_member_is_not_given_member_commands(
    admin_harness: Harness,
) -> None:
    seed_branch(admin_harness.db)
    await admin_harness.feed(updates.command("me", user_id=777))
    assert "invite link" in admin_harness.last_reply(777)
