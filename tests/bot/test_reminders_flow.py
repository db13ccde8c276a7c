"""Tier 3: the real Application's dispatcher and notifier against the in-process fake Bot API."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

import pytest
from sqlmodel import select

from bot.preview import preview_report
from bot.ratelimit import BranchRateLimiter
from scheduler import ledger
from scheduler.dispatch import Dispatcher
from scheduler.ledger import NewRow
from storage.models import Branch, Member, Occurrence
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness
from tests.reminder_support import UTC, deliveries, meeting_plan, seed

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 Shanghai: 3 days before the 5th
MEETING = dt.datetime(2026, 3, 5, 7, 0, tzinfo=UTC)
DUES = """
[[items]]
id = "dues"
kind = "dues"
audience = "all"
title = { zh_CN = "党费缴纳日", en = "Dues day" }
rhythm = { every = "month", day = 2 }
time = "09:00"
"""


def dispatcher(h: Harness) -> Dispatcher:
    """The Application's dispatcher; per-chat pacing shortened (test_ratelimit covers it)."""
    d = h.services.dispatcher
    assert d is not None
    d.flush_interval = 0.01
    limiter = h.app.bot.rate_limiter
    assert isinstance(limiter, BranchRateLimiter)
    limiter.private_interval = limiter.group_interval = 0.01
    return d


def started(api: FakeTelegram, *chats: int) -> None:
    for chat in chats:
        api.started(chat)


def occurrence(h: Harness, key: str = "2026-03-05") -> Occurrence:
    with h.db.read() as s:
        return s.exec(select(Occurrence).where(Occurrence.key == key)).one()


def buttons(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {"inline_keyboard": []}
    return [b["callback_data"] for row in markup["inline_keyboard"] for b in row]


async def test_three_days_before_each_linked_member_gets_one_reminder_with_buttons(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=3, plan=meeting_plan())
    with harness.db.transaction() as s:
        s.add(Member(branch_id=1, name="Not linked", telegram_id=None))
    started(api, 10001, 10002, 10003)
    await dispatcher(harness).run_once(clock.now())
    occ = occurrence(harness)
    for chat in (10001, 10002, 10003):
        [message] = api.messages_to(chat)
        assert "General meeting" in message["text"] and "15:00" in message["text"]
        assert buttons(message) == [f"at1:{occ.id}", f"lv1:{occ.id}"]  # no check-in yet
        assert all(len(d.encode()) <= 64 for d in buttons(message))
        assert "parse_mode" not in message
    assert len(api.sent("sendMessage")) == 3
    await dispatcher(harness).run_once(clock.now() + dt.timedelta(minutes=1))
    assert len(api.sent("sendMessage")) == 3  # a second run sends nothing


async def test_on_the_day_the_reminder_also_offers_check_in(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=1, plan=meeting_plan())
    started(api, 10001)
    clock.set(MEETING - dt.timedelta(hours=7))  # 08:00 on the day
    await dispatcher(harness).run_once(clock.now())
    occ = occurrence(harness)
    # the 3-days-before one is superseded by the day's reminder: one message, not two
    [on_the_day] = api.messages_to(10001)
    assert buttons(on_the_day) == [f"at1:{occ.id}", f"lv1:{occ.id}", f"ci1:{occ.id}"]


async def test_dues_reminder_offers_i_paid_with_the_members_amount(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=1, plan=meeting_plan(extra=DUES))
    started(api, 10001)
    await dispatcher(harness).run_once(clock.now())
    dues = next(m for m in api.messages_to(10001) if "Dues day" in m["text"])
    [[button]] = dues["reply_markup"]["inline_keyboard"]
    assert re.fullmatch(r"pd1:\d+", button["callback_data"])
    assert "12.50" in button["text"] and "12.50" in dues["text"]


async def test_blocked_member_is_marked_unreachable_and_never_retried(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    ids = seed(harness.db, members=2, plan=meeting_plan())
    started(api, 10001, 10002)
    api.block(10001)
    await dispatcher(harness).run_once(clock.now())
    with harness.db.read() as s:
        blocked = s.get(Member, ids["m0"])
        assert blocked is not None and "blocked" in (blocked.unreachable_reason or "")
    clock.set(MEETING - dt.timedelta(hours=7))
    await dispatcher(harness).run_once(clock.now())
    calls = [c for c in api.calls if c.endpoint == "sendMessage" and c.params["chat_id"] == 10001]
    assert [c.status for c in calls] == [403]  # exactly one call, no retry
    assert len(api.messages_to(10002)) == 2


async def test_never_started_member_is_marked_unreachable(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    ids = seed(harness.db, members=2, plan=meeting_plan())
    started(api, 10001)
    api.chat_not_found(10002)
    report = await dispatcher(harness).run_once(clock.now())
    assert report.unreachable == 1 and report.sent == 1
    with harness.db.read() as s:
        m = s.get(Member, ids["m1"])
        assert m is not None and m.unreachable_reason == "Chat not found"


async def test_429_is_retried_after_retry_after(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=2, plan=meeting_plan())
    started(api, 10001, 10002)
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    report = await dispatcher(harness).run_once(clock.now())
    assert report.sent == 2 and report.failed == 0
    assert api.count("sendMessage", status=429) == 1
    assert len(api.messages_to(10001)) == len(api.messages_to(10002)) == 1


async def test_migrated_group_chat_id_is_stored_and_the_message_resent_once(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    ids = seed(harness.db, members=2, plan=meeting_plan(), delivery_mode="group",
               group_chat_id=-4001)  # fmt: skip
    api.migrate(-4001, -1004001)
    await dispatcher(harness).run_once(clock.now())
    with harness.db.read() as s:
        branch = s.get(Branch, ids["branch"])
        assert branch is not None and branch.group_chat_id == -1004001
    [message] = api.messages_to(-1004001)
    assert "Attending: 0 of 2" in message["text"]
    assert api.count("sendMessage", status=400) == 1
    assert api.sent("sendMessage") == [message]  # group mode: no direct messages


async def test_timed_out_send_is_ambiguous_and_retried_at_most_once(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=1, plan=meeting_plan())
    started(api, 10001)
    api.delay_next("sendMessage", 30, times=5)  # Telegram got it, but the answer never came
    d = dispatcher(harness)
    first = await d.run_once(clock.now())
    assert first.ambiguous == 1
    for seconds in (10, 60, 600):
        await d.run_once(clock.now() + dt.timedelta(seconds=seconds))
    [row] = deliveries(harness.db)
    assert row.status == "unknown" and (row.error or "").startswith("ambiguous twice")
    assert len(api.messages_to(10001)) == 2  # the one bounded duplicate, counted in the ledger


async def test_weekly_digest_once_even_if_run_many_times_late(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=3, plan=meeting_plan(day=20),
         roles=["secretary", "committee", "member"])  # fmt: skip
    with harness.db.transaction() as s:
        s.add(Member(branch_id=1, name="Never Linked", telegram_id=None))
    started(api, 10001, 10002, 10003)
    api.block(10003)
    d = dispatcher(harness)
    for hours in (0, 1, 5, 26, 49):  # Monday 09:00 (an hour late) until Wednesday
        await d.run_once(T0 + dt.timedelta(hours=hours))
    for chat in (10001, 10002):
        digests = [m for m in api.messages_to(chat) if m["text"].startswith("Weekly digest")]
        assert len(digests) == 1
        assert "Never Linked" in digests[0]["text"]
    assert not api.messages_to(10003)


async def test_change_notice_tells_the_reminded_member_the_new_time(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    ids = seed(harness.db, members=1, plan=meeting_plan())
    started(api, 10001)
    d = dispatcher(harness)
    await d.run_once(clock.now())
    occ = occurrence(harness)
    new_start = MEETING + dt.timedelta(days=1, hours=1)  # Friday 16:00 local
    with harness.db.transaction() as s:  # what /reschedule does (another feature)
        row = s.get(Occurrence, occ.id)
        assert row is not None
        row.starts_at, row.ends_at, row.changed_at = (
            new_start,
            new_start + dt.timedelta(hours=1),
            T0,
        )
        s.add(row)
        payload = {"old_starts_at": MEETING.isoformat(), "cancelled": False}
        ledger.insert_rows(s, [NewRow(f"c:{occ.id}:1:m{ids['m0']}", "change", ids["branch"],
                                      10001, T0, member_id=ids["m0"], occurrence_id=occ.id,
                                      payload=payload)])  # fmt: skip
    await d.run_once(clock.now() + dt.timedelta(minutes=1))
    change = api.messages_to(10001)[-1]
    assert "Moved" in change["text"] and "16:00" in change["text"] and "15:00" in change["text"]
    # the on-the-day reminder follows the new day
    await d.run_once(MEETING - dt.timedelta(hours=7))
    assert len(api.messages_to(10001)) == 2
    await d.run_once(new_start - dt.timedelta(hours=8))
    assert len(api.messages_to(10001)) == 3


async def test_cancelled_event_gets_no_reminder(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=2, plan=meeting_plan())
    started(api, 10001, 10002)
    d = dispatcher(harness)
    await d.run_once(clock.now() - dt.timedelta(minutes=5))
    with harness.db.transaction() as s:
        row = s.exec(select(Occurrence).where(Occurrence.key == "2026-03-05")).one()
        row.status, row.changed_at = "cancelled", T0
        s.add(row)
    for at in (T0, MEETING - dt.timedelta(hours=7)):
        await d.run_once(at)
    assert api.sent("sendMessage") == []


async def test_catch_up_after_downtime_says_how_soon_the_meeting_starts(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=1, plan=meeting_plan(reminders='[{ days_before = 3, at = "09:00" }]'))
    started(api, 10001)
    await dispatcher(harness).run_once(MEETING - dt.timedelta(hours=2, minutes=5))
    [message] = api.messages_to(10001)
    assert "starts in 2 hours" in message["text"]


async def test_group_and_direct_delivery_with_both_mode(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=2, plan=meeting_plan(), delivery_mode="both", group_chat_id=-4002)
    started(api, 10001, 10002)
    await dispatcher(harness).run_once(clock.now())
    assert len(api.messages_to(-4002)) == 1
    assert len(api.messages_to(10001)) == len(api.messages_to(10002)) == 1


async def test_preview_lists_exactly_what_the_dispatcher_then_sends(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=3, plan=meeting_plan(extra=DUES), delivery_mode="both",
         group_chat_id=-4003, roles=["secretary"])  # fmt: skip
    started(api, 10001, 10002, 10003)
    report = preview_report(harness.db, branch_name="一支部", first=dt.date(2026, 3, 2),
                            last=dt.date(2026, 3, 5), now=clock.now())  # fmt: skip
    assert deliveries(harness.db) == []  # the preview wrote nothing
    lines = report.splitlines()[1:]
    expected = []
    for line in lines:
        match = re.match(
            r"(\d{4}-\d\d-\d\d \d\d:\d\d)\s+(\w+)\s.*-> (\d+) recipients?( \+ group chat)?", line
        )
        assert match, line
        expected.append((match[1], match[2], int(match[3]) + (1 if match[4] else 0)))
    assert [e[:2] for e in expected] == [
        ("2026-03-02 08:00", "digest"),
        ("2026-03-02 09:00", "reminder"),  # the meeting, 3 days before
        ("2026-03-02 09:00", "reminder"),  # dues day
        ("2026-03-05 08:00", "reminder"),  # the meeting's day
        ("2026-03-05 09:00", "reminder"),  # dues follow-up to the unpaid
        ("2026-03-05 16:00", "record"),  # the meeting has ended: the secretary records it
    ]
    d = dispatcher(harness)
    sent_at: list[tuple[str, int]] = []
    for local in ("2026-03-02 08:00", "2026-03-02 09:00", "2026-03-05 08:00", "2026-03-05 09:00",
                  "2026-03-05 16:00"):  # fmt: skip
        at = dt.datetime.fromisoformat(local).replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
        before = len(api.sent("sendMessage"))
        await d.run_once(at.astimezone(UTC))
        sent_at.append((local, len(api.sent("sendMessage")) - before))
    by_time: dict[str, int] = {}
    for local, _kind, n in expected:
        by_time[local] = by_time.get(local, 0) + n
    assert dict(sent_at) == by_time


async def test_every_ledger_row_ends_settled_with_a_message_id(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=4, plan=meeting_plan())
    started(api, 10001, 10002, 10003, 10004)
    await dispatcher(harness).run_once(clock.now())
    rows = deliveries(harness.db)
    sent = {m["chat_id"] for m in api.sent("sendMessage")}
    assert {r.chat_id for r in rows} == sent
    assert all(r.status == "sent" and r.message_id and r.sent_at for r in rows)
    assert all(json.loads(r.payload)["item_kind"] == "meeting" for r in rows)


async def test_the_bot_token_never_reaches_the_ledger_or_the_logs(
    harness: Harness, api: FakeTelegram, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    seed(harness.db, members=1, plan=meeting_plan())
    started(api, 10001)
    api.fail_next("sendMessage", 400, f"Bad Request: weird echo of /bot{api.token}/sendMessage")
    with caplog.at_level(logging.DEBUG):
        await dispatcher(harness).run_once(clock.now())
    [row] = deliveries(harness.db)
    assert row.status == "failed" and "<token>" in (row.error or "")
    secret = api.token.split(":", 1)[1]
    assert secret not in (row.error or "") and secret not in caplog.text
