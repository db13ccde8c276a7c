"""The answers a quarter of real use found missing or stale, through the real Application."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from bot.buttons import button
from storage.models import Attendance, Occurrence
from tests.bot.answers_fixtures import tap
from tests.bot.test_reminders_flow import MEETING, T0, dispatcher, started
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness
from tests.reminder_support import deliveries, meeting_plan, seed

MEMBER, SECRETARY = 10001, 10002


def _occurrence(h: Harness) -> Occurrence:
    with h.db.read() as s:
        return s.exec(select(Occurrence).where(Occurrence.key == "2026-03-05")).one()


async def test_the_reminder_card_shows_the_leave_decision(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=2, plan=meeting_plan(), roles=("member", "secretary"))
    started(api, MEMBER, SECRETARY)
    clock.set(T0)
    await dispatcher(harness).run_once(clock.now())
    occ = _occurrence(harness)
    [card] = [d.message_id for d in deliveries(harness.db) if d.chat_id == MEMBER]
    assert card is not None
    await tap(harness, button("lv", occ.id or 0), user_id=MEMBER, message_id=card)
    await harness.feed(updates.message("night shift", user_id=MEMBER))
    with harness.db.read() as s:
        row = s.exec(select(Attendance)).one()
    edits = [e for e in api.sent("editMessageText") if e["chat_id"] == MEMBER]
    assert "leave requested" in edits[-1]["text"]
    await tap(harness, button("ld", row.id or 0), user_id=SECRETARY)
    edits = [e for e in api.sent("editMessageText") if e["chat_id"] == MEMBER]
    assert edits[-1]["message_id"] == card
    assert "declined" in edits[-1]["text"] and "awaiting" not in edits[-1]["text"]


async def test_catching_up_sends_the_latest_reminder_once(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    """Down across both reminders of a meeting: one late reminder, the earlier superseded."""
    seed(harness.db, members=1, plan=meeting_plan())
    started(api, MEMBER)
    clock.set(MEETING - dt.timedelta(hours=6))  # 09:00 on the day: both reminders are due
    await dispatcher(harness).run_once(clock.now())
    [message] = api.messages_to(MEMBER)
    assert "ci1:" in str(message.get("reply_markup"))  # the day's reminder, with check-in
    rows = {r.key: r.status for r in deliveries(harness.db) if r.kind == "remind"}
    assert sorted(rows.values()) == ["sent", "skipped"]
    await dispatcher(harness).run_once(clock.now() + dt.timedelta(minutes=5))
    assert len(api.messages_to(MEMBER)) == 1
