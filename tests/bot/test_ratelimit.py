"""The two-lane rate limiter, on a virtual clock: pacing is checked without waiting."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.ratelimit import BULK, BranchRateLimiter, SendAborted, retry_seconds


class Virtual:
    """A clock that jumps forward when a task sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        target = self.now + seconds
        await asyncio.sleep(0)
        self.now = max(self.now, target)


class Api:
    """Records (endpoint, chat, virtual time) of each call; raises what it is told to."""

    def __init__(self, clock: Virtual) -> None:
        self.clock = clock
        self.calls: list[tuple[str, Any, float]] = []
        self.raise_next: list[Exception] = []

    def call(self, endpoint: str, chat: Any) -> Any:
        async def callback() -> bool:
            self.calls.append((endpoint, chat, self.clock.now))
            if self.raise_next:
                raise self.raise_next.pop(0)
            return True

        return callback


def limiter(clock: Virtual, **kw: Any) -> BranchRateLimiter:
    return BranchRateLimiter(time=clock.time, sleep=clock.sleep, **kw)


async def send(rl: BranchRateLimiter, api: Api, chat: Any, *, bulk: bool = True,
               endpoint: str = "sendMessage") -> Any:  # fmt: skip
    return await rl.process_request(
        api.call(endpoint, chat), (), {}, endpoint, {"chat_id": chat}, BULK if bulk else None
    )


def times(api: Api, chat: Any = None) -> list[float]:
    return [t for _e, c, t in api.calls if chat is None or c == chat]


async def test_bulk_sends_to_one_private_chat_are_at_least_a_second_apart() -> None:
    clock = Virtual()
    rl, api = limiter(clock), Api(clock)
    await asyncio.gather(*(send(rl, api, 5) for _ in range(4)))
    t = times(api)
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(t)), t


async def test_bulk_lane_keeps_the_global_rate_with_short_bursts() -> None:
    clock = Virtual()
    rl, api = limiter(clock, global_per_s=10, global_burst=3), Api(clock)
    await asyncio.gather(*(send(rl, api, chat) for chat in range(1, 31)))
    t = times(api)
    assert len(t) == 30
    assert t[-1] - t[0] >= (30 - 3) * 0.1 - 1e-9  # the long-run rate holds
    worst = max(sum(1 for x in t if start <= x < start + 1.0) for start in t)
    assert worst <= 10 + 3  # any second: the rate plus one burst


async def test_bulk_lane_without_bursts_is_strictly_spaced() -> None:
    clock = Virtual()
    rl, api = limiter(clock, global_per_s=10, global_burst=1), Api(clock)
    await asyncio.gather(*(send(rl, api, chat) for chat in range(1, 21)))
    t = times(api)
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(t)), t


async def test_a_group_gets_at_most_20_messages_in_any_minute() -> None:
    clock = Virtual()
    rl, api = limiter(clock, global_per_s=1000), Api(clock)
    await asyncio.gather(*(send(rl, api, -100) for _ in range(45)))
    t = times(api)
    worst = max(sum(1 for x in t if start <= x < start + 60) for start in t)
    assert worst <= 20


async def test_429_pauses_the_bulk_lane_and_the_send_is_retried_after_retry_after() -> None:
    clock = Virtual()
    rl, api = limiter(clock), Api(clock)
    api.raise_next = [RetryAfter(30)]
    assert await send(rl, api, 7) is True
    first, second = times(api)
    assert second - first >= 30
    assert rl.paused_until >= first + 30


async def test_interactive_calls_never_wait_for_a_bulk_pause() -> None:
    clock = Virtual()
    rl, api = limiter(clock), Api(clock)
    api.raise_next = [RetryAfter(30)]
    bulk = asyncio.create_task(send(rl, api, 7))
    await asyncio.sleep(0)  # the bulk call got its 429 and paused the lane
    answered_at = clock.now
    await send(rl, api, 8, bulk=False, endpoint="answerCallbackQuery")
    assert times(api, 8) == [answered_at]  # straight through, at once
    await bulk
    assert times(api, 7)[-1] >= 30


async def test_interactive_429_is_retried_after_retry_after() -> None:
    clock = Virtual()
    rl, api = limiter(clock), Api(clock)
    api.raise_next = [RetryAfter(3)]
    assert await send(rl, api, 9, bulk=False) is True
    first, second = times(api)
    assert second - first >= 3


async def test_interactive_429_gives_up_after_max_retries() -> None:
    clock = Virtual()
    rl, api = limiter(clock, max_retries=1), Api(clock)
    api.raise_next = [RetryAfter(1), RetryAfter(1)]
    with pytest.raises(RetryAfter):
        await send(rl, api, 9, bulk=False)


async def test_an_interactive_429_holds_back_only_its_own_chat() -> None:
    clock = Virtual()
    rl, api = limiter(clock), Api(clock)
    api.raise_next = [RetryAfter(30)]
    held = asyncio.create_task(send(rl, api, -100, bulk=False, endpoint="editMessageText"))
    await asyncio.sleep(0)  # the group's edit got its 429
    at = clock.now
    await send(rl, api, 8, bulk=False)  # another chat: at once
    await send(rl, api, 9)  # a reminder to a third chat: the bulk lane is not paused
    assert times(api, 8) == [at] and times(api, 9) == [at]
    assert rl.paused_until == 0.0
    await held
    assert times(api, -100)[-1] >= at + 30  # the group's edit was retried after retry_after
    await send(rl, api, -100)  # and a reminder to that group waited for it too
    assert times(api, -100)[-1] >= at + 30


async def answer(rl: BranchRateLimiter, api: Api, query: str) -> Any:
    return await rl.process_request(
        api.call("answerCallbackQuery", query), (), {}, "answerCallbackQuery",
        {"callback_query_id": query}, None,
    )  # fmt: skip


async def test_an_answer_that_would_be_too_old_is_dropped_not_retried() -> None:
    clock = Virtual()
    rl, api = limiter(clock, answer_window=5.0), Api(clock)
    api.raise_next = [RetryAfter(30)]
    assert await answer(rl, api, "q1") is False
    assert len(api.calls) == 1 and rl.dropped_answers == 1
    assert clock.now == 0.0  # nothing waited


async def test_an_answer_is_retried_within_its_window() -> None:
    clock = Virtual()
    rl, api = limiter(clock, answer_window=5.0), Api(clock)
    api.raise_next = [RetryAfter(2)]
    assert await answer(rl, api, "q1") is True
    first, second = times(api)
    assert second - first >= 2 and rl.dropped_answers == 0


async def test_a_reply_to_a_member_delays_the_next_bulk_message_to_them() -> None:
    clock = Virtual()
    rl, api = limiter(clock), Api(clock)
    await send(rl, api, 5, bulk=False)  # answering the member's command
    await send(rl, api, 5)  # then a reminder to the same chat
    reply, reminder = times(api, 5)
    assert reminder - reply >= 1.0


async def test_abort_releases_waiting_bulk_calls_without_sending() -> None:
    rl, api = BranchRateLimiter(), Api(Virtual())
    await send(rl, api, 5)
    waiting = asyncio.create_task(send(rl, api, 5))  # must wait a second for chat 5
    await asyncio.sleep(0.01)
    rl.abort()
    with pytest.raises(SendAborted):
        await waiting
    assert len(api.calls) == 1
    with pytest.raises(SendAborted):
        await send(rl, api, 6)  # and nothing new starts once aborted
    assert await send(rl, api, 6, bulk=False) is True  # answers still go out


def test_retry_after_is_read_as_seconds_whatever_ptb_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert retry_seconds(RetryAfter(7)) == 7.0
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    assert retry_seconds(RetryAfter(dt.timedelta(seconds=12))) == 12.0
