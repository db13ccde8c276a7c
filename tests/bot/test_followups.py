"""Follow-up reminders go only to those who have not acted.

The reminder engine decides who gets a follow-up from the rows the answers write: a payment
for the month, a talk record for the quarter, an approved leave. These tests drive both: the
real dispatcher sends, a member answers with a tap, the next reminder skips them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.buttons import button
from storage.db import Database
from tests import harness as harness_module
from tests.bot.answers_fixtures import seed_started, tap
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness

LI, SUN, LEADER, SECRETARY = 1001, 1002, 2001, 9001


@pytest.fixture
async def harness(db: Database, clock: FrozenClock, api: FakeTelegram) -> AsyncIterator[Harness]:
    """The real Application, paced fast: these tests are about who is reminded, not when."""
    settings = harness_module.settings_for(
        api, send_rate_per_s=1000.0, private_rate_per_s=1000.0, group_rate_per_min=6000.0
    )
    h = Harness(db, clock, api, settings)
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


def _texts(h: Harness, chat_id: int, since: int) -> list[str]:
    return h.replies_to(chat_id)[since:]


async def _run(h: Harness, at: dt.datetime) -> None:
    h.clock.set(at)
    dispatcher = h.services.dispatcher
    assert dispatcher is not None
    await dispatcher.run_once(at)


async def test_dues_follow_up_skips_who_paid(harness: Harness) -> None:
    w = seed_started(harness)
    await _run(harness, dt.datetime(2026, 3, 27, 1, 0, tzinfo=dt.UTC))  # dues day, 09:00
    assert any("dues" in t.lower() for t in harness.replies_to(LI))
    await tap(harness, button("pd", w.dues), user_id=LI)
    li_before, sun_before = len(harness.replies_to(LI)), len(harness.replies_to(SUN))
    await _run(harness, dt.datetime(2026, 3, 30, 1, 0, tzinfo=dt.UTC))  # 3 days later, 09:00
    assert _texts(harness, LI, li_before) == []
    assert any("dues" in t.lower() for t in _texts(harness, SUN, sun_before))


async def test_no_more_meeting_reminders_on_approved_leave(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(dt.datetime(2026, 3, 10, 1, 0, tzinfo=dt.UTC))
    await tap(harness, button("lv", w.meeting), user_id=LI)
    await harness.feed(updates.message("on a business trip", user_id=LI))
    request = harness.api.last_message(SECRETARY)
    assert request is not None
    approve = request["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await tap(harness, approve, user_id=SECRETARY, message_id=request["message_id"])
    li_before, sun_before = len(harness.replies_to(LI)), len(harness.replies_to(SUN))
    await _run(harness, dt.datetime(2026, 3, 13, 0, 0, tzinfo=dt.UTC))  # meeting day, 08:00
    assert not any("General members" in t for t in _texts(harness, LI, li_before))
    assert any("General members" in t for t in _texts(harness, SUN, sun_before))
