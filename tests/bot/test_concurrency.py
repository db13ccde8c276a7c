"""Many people at once, each person in order: the running Application fed through its queue.

These tests start the Application (its update fetcher and update processor) and put updates on
its queue as polling does, with the fake Bot API's network round trip on, so that handlers of
different people really overlap while they wait for Telegram.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel, select
from telegram import Update

from bot.buttons import button
from bot.concurrency import PerSenderUpdateProcessor
from bot.metrics import REGISTRY
from bot.ratelimit import BranchRateLimiter
from bot.services import talks
from storage.db import Database
from storage.models import Attendance, Conversation, TalkParticipant, TalkRecord
from tests.bot.answers_fixtures import MEETING_START, MEMBERS, World, count, seed_started
from tests.bot.test_talks import photo
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram, Network
from tests.fakes.clock import FrozenClock
from tests.harness import Harness, settings_for

LI = 1001
GROUP_CHAT = -1001234567890
IN_WINDOW = MEETING_START - dt.timedelta(minutes=2)
BEFORE = MEETING_START - dt.timedelta(days=1)
OTHERS = 50_001  # telegram id of the first of the extra members
TALKS_DAY = dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC)


def with_others(n: int) -> list[tuple[str, int | None, str, str | None]]:
    """The answer tests' branch plus `n` more members."""
    extra = [(f"Member {i:03d}", OTHERS + i, "member", "Group 2") for i in range(n)]
    return [*MEMBERS, *extra]


class Running:
    """The started Application: updates go through its queue and update processor."""

    def __init__(self, h: Harness) -> None:
        self.h = h

    async def put(self, update: Mapping[str, Any]) -> None:
        """Queue an update as polling would (its sender has started the bot)."""
        for key in ("message", "callback_query"):
            if key in update:
                self.h.api.started(int(update[key]["from"]["id"]))
        await self.h.app.update_queue.put(Update.de_json(dict(update), self.h.app.bot))

    async def settle(self) -> None:
        """Wait until every queued update has been processed."""
        await self.h.app.update_queue.join()


@pytest.fixture
async def running(harness: Harness) -> AsyncIterator[Running]:
    """The harness's Application started, with a 20-40 ms round trip to the fake Bot API."""
    harness.api.set_network(Network(round_trip=0.02, jitter=0.02, seed=7))
    await harness.app.start()
    try:
        yield Running(harness)
    finally:
        await harness.app.stop()


METRICS = [
    ("branchbot_telegram_429_total", {"lane": "answer"}),
    ("branchbot_tap_answer_seconds_count", {}),
    ("branchbot_updates_in_flight", {}),
]


def metric(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def taps(w: World, action: str, n: int, **kw: Any) -> list[dict[str, Any]]:
    return [
        updates.callback_query(button(action, w.meeting), user_id=OTHERS + i, **kw)
        for i in range(n)
    ]


def answered(h: Harness, update: Mapping[str, Any]) -> list[dict[str, Any]]:
    query = update["callback_query"]["id"]
    return [a for a in h.answers() if a.get("callback_query_id") == query]


def test_the_application_uses_the_per_sender_processor(harness: Harness) -> None:
    processor = harness.app.update_processor
    assert isinstance(processor, PerSenderUpdateProcessor)
    assert processor.limit == harness.settings.max_concurrent_updates


async def test_the_processor_keeps_each_senders_order_within_its_bound() -> None:
    processor = PerSenderUpdateProcessor(3)
    running, most, done = 0, 0, []

    async def handle(user: int, n: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        for _ in range(3 - n % 3):  # later updates finish sooner unless kept in order
            await asyncio.sleep(0)
        done.append((user, n))
        running -= 1

    work = [
        (Update.de_json(updates.message(str(n), user_id=user), None), user, n)
        for n in range(4)
        for user in (1, 2, 3, 4, 5)
    ]
    await asyncio.gather(*(processor.process_update(u, handle(user, n)) for u, user, n in work))
    assert most == 3
    for user in (1, 2, 3, 4, 5):
        assert [n for who, n in done if who == user] == [0, 1, 2, 3]


async def test_a_leave_reason_typed_at_once_is_the_reason_while_200_others_tap(
    harness: Harness, running: Running
) -> None:
    w = seed_started(harness, members=with_others(200))
    harness.clock.set(BEFORE)
    others = taps(w, "at", 200)
    leave = updates.callback_query(button("lv", w.meeting), user_id=LI)
    for update in others[:100]:
        await running.put(update)
    await running.put(leave)
    await running.put(updates.message("night shift at the ward", user_id=LI))
    for update in others[100:]:
        await running.put(update)
    await running.settle()

    with harness.db.read() as s:
        row = s.exec(
            select(Attendance).where(
                Attendance.occurrence_id == w.meeting, Attendance.member_id == w.ids["Member Li"]
            )
        ).one()
    assert (row.state, row.leave_reason) == ("leave_requested", "night shift at the ward")
    # In order, as Li sent them: first the question for the reason, then its acknowledgement.
    question, sent = harness.replies_to(LI)
    assert "reason" in question and "night shift" not in question
    assert "leave" in sent.lower()
    assert len(answered(harness, leave)) == 1
    # Li's message was handled only once the tap was done with (answered), not alongside it.
    calls = [c for c in harness.api.calls if c.status == 200]
    tap_answered = next(
        n
        for n, c in enumerate(calls)
        if c.params.get("callback_query_id") == leave["callback_query"]["id"]
    )
    acknowledged = next(
        n
        for n, c in enumerate(calls)
        if c.params.get("chat_id") == LI and c.params["text"] == sent
    )
    assert tap_answered < acknowledged
    assert all(len(answered(harness, u)) == 1 for u in others)
    assert count(harness.db, Attendance, state="attending") == 200


async def test_talks_answered_as_fast_as_one_can_type_while_200_others_tap(
    harness: Harness, running: Running
) -> None:
    w = seed_started(harness, members=with_others(200))
    harness.clock.set(TALKS_DAY)
    leader = 2001
    steps = [
        updates.command("talks", user_id=leader),
        updates.message("3", user_id=leader),
        updates.callback_query(button("tm", w.ids["Member Li"]), user_id=leader),
        updates.callback_query(button("tm", w.ids["Committee Zhao"]), user_id=leader),
        updates.callback_query(button("td", talks.DONE_PEOPLE), user_id=leader),
        updates.message("Talked about the year's study plan.", user_id=leader),
        photo(leader),
    ]
    others = [
        updates.callback_query(button("tk", w.talks), user_id=OTHERS + i) for i in range(200)
    ]
    for update in [*others[:100], *steps, *others[100:]]:  # the steps all at once
        await running.put(update)
    await running.settle()

    with harness.db.read() as s:
        record = s.exec(select(TalkRecord)).one()
        people = {p.member_id for p in s.exec(select(TalkParticipant))}
    assert (record.talks, record.summary, record.file_id) == (
        3,
        "Talked about the year's study plan.",
        "large-id",
    )
    assert people == {w.ids["Member Li"], w.ids["Committee Zhao"]}
    assert count(harness.db, Conversation) == 0
    # Each step answered in turn, in the order the leader sent them.
    expected = ["How many", "Who took part", "photo or document", "Handed in"]
    replies = harness.replies_to(leader)
    assert len(replies) == len(expected)
    assert all(part in reply for part, reply in zip(expected, replies, strict=True)), replies
    assert all(len(answered(harness, u)) == 1 for u in others)


async def test_concurrent_double_taps_through_the_queue_make_one_record(
    harness: Harness, running: Running
) -> None:
    w = seed_started(harness)
    harness.clock.set(IN_WINDOW)
    double = [updates.callback_query(button("ci", w.meeting), user_id=LI) for _ in range(3)]
    for update in double:
        await running.put(update)
    await running.settle()
    assert count(harness.db, Attendance) == 1
    assert all(len(answered(harness, u)) == 1 for u in double)


async def test_forged_taps_in_a_burst_write_nothing(harness: Harness, running: Running) -> None:
    w = seed_started(harness, members=with_others(20))
    harness.clock.set(IN_WINDOW)
    forged = [
        updates.callback_query(f"ci:{w.meeting}:x{i}", user_id=OTHERS + i) for i in range(20)
    ]
    strangers = [
        updates.callback_query(button("ci", w.meeting), user_id=90_000 + i) for i in range(20)
    ]
    for update in [*forged, *strangers]:
        await running.put(update)
    await running.settle()
    assert count(harness.db, Attendance) == 0
    assert all(len(answered(harness, u)) == 1 for u in [*forged, *strangers])


async def test_many_members_in_one_group_are_answered_and_its_edits_coalesced(
    harness: Harness, running: Running
) -> None:
    w = seed_started(harness, members=with_others(40))
    harness.clock.set(BEFORE)
    sent = await harness.app.bot.send_message(GROUP_CHAT, "meeting")
    burst = taps(w, "at", 40, chat_id=GROUP_CHAT, message_id=sent.message_id)
    for update in burst:
        await running.put(update)
    await running.settle()
    assert count(harness.db, Attendance, state="attending") == 40
    assert all(len(answered(harness, u)) == 1 for u in burst)
    # One edit at once; the rest of the burst waits for one later edit (20 a minute per group).
    edits = [p for p in harness.api.sent("editMessageText") if p["chat_id"] == GROUP_CHAT]
    assert len(edits) <= 1


async def test_a_429_on_one_answer_drops_it_and_delays_no_one_else(
    harness: Harness, running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    w = seed_started(harness, members=with_others(31))
    harness.clock.set(IN_WINDOW)
    limiter = harness.app.bot.rate_limiter
    assert isinstance(limiter, BranchRateLimiter)
    burst = taps(w, "ci", 31)
    before = {name: metric(name, labels) for name, labels in METRICS}
    # The first answerCallbackQuery to reach Telegram gets a 429 with retry_after=30.
    harness.api.fail_next(
        "answerCallbackQuery", 429, "Too Many Requests: retry after 30", retry_after=30
    )
    caplog.set_level(logging.WARNING, logger="bot.ratelimit")
    for update in burst:
        await running.put(update)
    await running.settle()

    (refused,) = harness.api.errors("answerCallbackQuery")
    assert refused.status == 429
    assert limiter.dropped_answers == 1  # not retried 30 s later: Telegram would refuse it
    assert any("answer dropped" in r.getMessage() for r in caplog.records)
    others = [u for u in burst if u["callback_query"]["id"] != refused.params["callback_query_id"]]
    assert len(others) == 30
    assert all(len(answered(harness, u)) == 1 for u in others)
    assert count(harness.db, Attendance) == 31  # the refused tap's check-in stands all the same
    assert limiter.paused_until == 0.0  # reminders are not paused by an answer's 429
    after = {name: metric(name, labels) for name, labels in METRICS}
    assert after["branchbot_telegram_429_total"] == before["branchbot_telegram_429_total"] + 1
    answered_30 = before["branchbot_tap_answer_seconds_count"] + 30
    assert after["branchbot_tap_answer_seconds_count"] == answered_30
    assert after["branchbot_updates_in_flight"] == 0


# ------------------------------------------------------------------ both databases, on disk


@pytest.fixture(params=["sqlite-file", pytest.param("postgresql", marks=pytest.mark.postgres)])
def disk_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with separate connections per thread: an SQLite file, or PostgreSQL."""
    if request.param == "sqlite-file":
        database = Database(f"sqlite:///{tmp_path / 'bot.db'}")
        SQLModel.metadata.create_all(database.engine)
        yield database
        database.dispose()
        return
    database = Database(request.getfixturevalue("pg_url"))
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    yield database
    database.dispose()


@pytest.mark.parametrize("disk_db", ["sqlite-file"], indirect=True)
def test_the_sqlite_file_is_in_wal_mode(disk_db: Database) -> None:
    with disk_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


async def test_fifty_members_tapping_at_once_are_all_recorded(
    disk_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeTelegram(network=Network(round_trip=0.02, jitter=0.02, seed=3))
    h = Harness(disk_db, FrozenClock(IN_WINDOW), api, settings_for(api, database_url=disk_db.url))
    w = seed_started(h, members=with_others(50))
    burst = [*taps(w, "ci", 50), *taps(w, "ci", 50)]  # everyone taps twice
    caplog.set_level(logging.WARNING)
    await h.start()
    await h.app.start()
    try:
        run = Running(h)
        for update in burst:
            await run.put(update)
        await run.settle()
    finally:
        await h.app.stop()
        await h.stop()
    assert count(disk_db, Attendance) == 50
    assert all(len(answered(h, u)) == 1 for u in burst)
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert problems == []
    assert not any("locked" in r.getMessage() for r in caplog.records)
