"""Floods don't hurt others: a per-user and per-group-chat token bucket at group -2.

Driven through the real Application with production limits (FLOOD_BURST=20,
FLOOD_PER_SECOND=1) and the frozen clock, so refills happen only when the test advances it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.db import Database
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness, seed_branch, settings_for

FLOODER, OTHER, THIRD = 1001, 1002, 1003
GROUP = -1001234567890
POLITE = "You are sending too much at once"


@pytest.fixture
async def bot(sqlite_db: Database, clock: FrozenClock) -> AsyncIterator[Harness]:
    api = FakeTelegram()
    h = Harness(sqlite_db, clock, api, settings_for(api, flood_burst=20, flood_per_second=1.0))
    seed_branch(
        sqlite_db,
        members=[
            ("Secretary Wang", 9001, "secretary", "Group 1"),
            ("Member Li", FLOODER, "member", "Group 1"),
            ("Member Zhao", OTHER, "member", "Group 1"),
            ("Member Qian", THIRD, "member", "Group 1"),
        ],
    )
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


def _polite(h: Harness, chat_id: int) -> int:
    return sum(POLITE in text for text in h.replies_to(chat_id))


async def test_a_thousand_commands_get_one_polite_answer_and_others_are_served(
    bot: Harness,
) -> None:
    for n in range(1000):
        await bot.feed(updates.command("help", user_id=FLOODER))
        if n % 100 == 0:
            await bot.feed(updates.command("help", user_id=OTHER))
    flooder = bot.replies_to(FLOODER)
    assert len(flooder) == 21 and _polite(bot, FLOODER) == 1  # the burst, then one notice
    assert len(bot.replies_to(OTHER)) == 10 and _polite(bot, OTHER) == 0
    assert bot.api.count("sendMessage") == 31  # the flood cost 21 calls, not 1000


async def test_a_thousand_taps_get_one_polite_alert(bot: Harness) -> None:
    for _ in range(1000):
        await bot.feed(updates.callback_query("xx9:1", user_id=FLOODER))
    await bot.feed(updates.callback_query("xx9:1", user_id=OTHER))
    answers = bot.answers()
    polite = [a for a in answers if POLITE in str(a.get("text", ""))]
    assert len(polite) == 1 and polite[0].get("show_alert") is True
    assert len(answers) == 22  # 20 taps answered, 1 notice, and the other member's tap


async def test_the_bucket_refills_with_the_clock_and_a_later_flood_is_told_again(
    bot: Harness, clock: FrozenClock
) -> None:
    for _ in range(25):
        await bot.feed(updates.command("help", user_id=FLOODER))
    assert len(bot.replies_to(FLOODER)) == 21
    clock.advance(seconds=5)  # five tokens back
    for _ in range(10):
        await bot.feed(updates.command("help", user_id=FLOODER))
    assert len(bot.replies_to(FLOODER)) == 26 and _polite(bot, FLOODER) == 1  # still warned
    clock.advance(seconds=60)  # full again: calmed down
    for _ in range(25):
        await bot.feed(updates.command("help", user_id=FLOODER))
    assert len(bot.replies_to(FLOODER)) == 26 + 21 and _polite(bot, FLOODER) == 2


async def test_a_group_chat_flooded_by_many_people_is_throttled_as_a_chat(bot: Harness) -> None:
    bot.api.started(THIRD)
    for n in range(200):
        await bot.feed(updates.command("help", user_id=50_000 + n, chat_id=GROUP))
    in_group = bot.replies_to(GROUP)
    assert len(in_group) == 21 and _polite(bot, GROUP) == 1
    await bot.feed(updates.command("help", user_id=THIRD))  # a private chat is not affected
    assert len(bot.replies_to(THIRD)) == 1 and _polite(bot, THIRD) == 0


async def test_taps_in_a_group_count_per_person_not_per_chat(bot: Harness) -> None:
    """A whole branch checking in on a group reminder at once is not a flood."""
    for n in range(300):
        await bot.feed(updates.callback_query("xx9:1", user_id=60_000 + n, chat_id=GROUP))
    assert len(bot.answers()) == 300
    assert not any(POLITE in str(a.get("text", "")) for a in bot.answers())
