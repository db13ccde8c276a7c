"""Outbound pacing with two lanes: bulk reminders wait their turn, answers to people never do.

PTB's AIORateLimiter has no per-chat limit, lets ~2x bursts through and pauses *everything*,
button answers included, on a 429 (its RetryAfter blocks the whole bot).
`BranchRateLimiter` instead:

* BULK lane (calls made with ``rate_limit_args=BULK``: the reminder fan-out): at most one send
  per private chat per `1/private_per_s` s and per group per `60/group_per_min` s, measured from
  the moment the previous send to that chat was answered (so network jitter cannot squeeze two
  arrivals together), and `global_per_s` sends a second overall, in bursts of at most
  `global_burst` (Telegram tolerates short bursts; one wake-up then serves a few sends). A 429
  pauses the bulk lane for `retry_after` and the call is retried. `abort()` (shutdown) makes every
  waiting bulk call raise `SendAborted` without sending: the dispatcher hands the row back.
* INTERACTIVE lane (everything else: answerCallbackQuery, replies, edits): sent at once. It is
  charged to the global and per-chat budgets, so the bulk lane slows down to make room. A 429
  holds back only that chat's interactive calls (not the bulk lane, not other chats) for
  `retry_after`, and the call is retried (up to `max_retries` times). An answerCallbackQuery is
  only worth sending while Telegram still accepts it: one that cannot go out within
  `answer_window` s of receiving the tap is dropped and logged (the member can tap again;
  taps are idempotent), so nothing waits out a long `retry_after` for an answer.

Rates are constructor arguments so that benchmarks and tests can scale them with the fake Bot
API's `FloodLimits(scale=...)`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import enum
import logging
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.concurrency import answered, received_at
from bot.metrics import RATE_LIMITED, TAP_ANSWER_SECONDS

log = logging.getLogger(__name__)

# Calls that Telegram counts against the per-chat and global message limits.
_MESSAGES = frozenset(
    {
        "sendMessage", "sendPhoto", "sendDocument", "sendAudio", "sendVideo", "sendVoice",
        "sendAnimation", "sendSticker", "sendMediaGroup", "sendLocation", "sendContact",
        "sendPoll", "sendVenue", "sendDice", "copyMessage", "forwardMessage",
    }
)  # fmt: skip
_EDITS = frozenset({"editMessageText", "editMessageReplyMarkup", "editMessageCaption"})


ABORT_CHECK = 0.25  # seconds: how soon a waiting bulk call notices abort()
# Telegram refuses answers to queries older than roughly 10-15 s ("query is too old"); leave a
# margin for the round trip.
ANSWER_WINDOW = 5.0
_ANSWER = "answerCallbackQuery"
Result = bool | dict[str, Any] | list[dict[str, Any]]
Callback = Callable[..., Coroutine[Any, Any, Result]]


class Lane(enum.Enum):
    """Which queue a request waits in."""

    BULK = "bulk"
    INTERACTIVE = "interactive"


@dataclasses.dataclass(frozen=True)
class RateLimitArgs:
    """What callers pass as ``rate_limit_args``."""

    lane: Lane


BULK = RateLimitArgs(Lane.BULK)


class SendAborted(Exception):
    """A bulk send was not attempted because the bot is stopping."""


def retry_seconds(exc: RetryAfter) -> float:
    """`retry_after` in seconds, whether PTB gives an int or a timedelta (PTB_TIMEDELTA)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns that the int form is deprecated
        value: Any = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


@dataclasses.dataclass
class _Chat:
    """Per-chat state of the bulk lane."""

    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    ready_at: float = 0.0  # loop time at which the next bulk send to this chat may start


class BranchRateLimiter(BaseRateLimiter[RateLimitArgs]):
    """Token pacing for the bulk lane, straight-through for the interactive lane."""

    def __init__(
        self,
        *,
        global_per_s: float = 25.0,
        private_per_s: float = 1.0,
        group_per_min: float = 20.0,
        global_burst: int = 3,
        max_retries: int = 3,
        bulk_retries: int = 5,
        answer_window: float = ANSWER_WINDOW,
        time: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """Rates are per second (overall, per private chat) and per minute (per group).

        `time` and `sleep` default to the event loop's clock and `asyncio.sleep`; tests pass a
        virtual clock so that pacing is checked without waiting.
        """
        self.global_interval = 1.0 / global_per_s
        self.global_burst = max(1, global_burst)
        self.private_interval = 1.0 / private_per_s
        self.group_interval = 60.0 / group_per_min
        self.max_retries = max_retries
        self.bulk_retries = bulk_retries
        self.answer_window = answer_window
        self._global_lock = asyncio.Lock()
        self._next_global = 0.0
        self._paused_until = 0.0
        self._chats: dict[int | str, _Chat] = {}
        self._held: dict[int | str, float] = {}  # chat -> loop time its interactive 429 ends
        self.dropped_answers = 0
        self._aborted = asyncio.Event()
        self._time = time
        self._wait = sleep

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Release every waiting bulk call."""
        self.abort()

    def abort(self) -> None:
        """Make waiting and future bulk calls raise SendAborted (graceful shutdown)."""
        self._aborted.set()

    @property
    def paused_until(self) -> float:
        """Loop time until which the bulk lane is paused by a 429 (0 when it is not)."""
        return self._paused_until

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: RateLimitArgs | None,
    ) -> Result:
        """Send now (interactive) or when the budgets allow (bulk)."""
        chat = data.get("chat_id")
        counted = endpoint in _MESSAGES or (endpoint in _EDITS and _is_group(chat))
        if rate_limit_args is not None and rate_limit_args.lane is Lane.BULK and chat is not None:
            return await self._bulk(callback, args, kwargs, chat if counted else None)
        return await self._interactive(
            callback, args, kwargs, endpoint, data, chat if counted else None
        )

    # ------------------------------------------------------------------ lanes

    async def _interactive(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        counted: Any,
    ) -> Result:
        chat = data.get("chat_id")
        key = chat if isinstance(chat, int | str) else None
        # The tap's time is event-loop time: comparable only when we use the loop's clock too.
        received = received_at() if self._time is None else None
        if endpoint == _ANSWER and received is None:
            received = self._now()  # not through the update processor: count from now
        for attempt in range(self.max_retries + 1):
            if key is not None:
                await self._until_released(key)
            self._charge(counted)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = retry_seconds(exc)
                RATE_LIMITED.labels(lane="answer").inc()
                if key is not None:  # only this chat is held back
                    if len(self._held) > 10_000:
                        now = self._now()
                        self._held = {k: t for k, t in self._held.items() if t > now}
                    self._held[key] = max(self._held.get(key, 0.0), self._now() + wait)
                    state = self._chat(key)  # and reminders to that chat wait as well
                    state.ready_at = max(state.ready_at, self._now() + wait)
                if (
                    endpoint == _ANSWER
                    and received is not None
                    and self._now() + wait > received + self.answer_window
                ):
                    self.dropped_answers += 1
                    answered()  # given up: the tap's edit need not wait for it
                    log.warning(
                        "429 on answerCallbackQuery (retry after %.0f s): answer dropped,"
                        " the tap was already recorded",
                        wait,
                    )
                    return False
                if attempt >= self.max_retries:
                    raise
                log.warning("429 on an interactive call: retrying it in %.0f s", wait)
                if key is None:
                    await (self._wait or asyncio.sleep)(wait)
                continue
            if endpoint == _ANSWER and received is not None:
                TAP_ANSWER_SECONDS.observe(max(0.0, self._now() - received))
                answered()
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _until_released(self, key: int | str) -> None:
        """Wait while a 429 holds this chat's interactive calls back."""
        while (until := self._held.get(key)) is not None:
            left = until - self._now()
            if left <= 0:
                self._held.pop(key, None)
                return
            await (self._wait or asyncio.sleep)(left)

    async def _bulk(
        self, callback: Callback, args: Any, kwargs: dict[str, Any], chat: Any
    ) -> Result:
        state = self._chat(chat) if chat is not None else _Chat()
        async with state.lock:  # one bulk send per chat at a time, in arrival order
            for attempt in range(self.bulk_retries + 1):
                await self._until(state.ready_at)
                await self._take_global()
                try:
                    return await callback(*args, **kwargs)
                except RetryAfter as exc:
                    wait = retry_seconds(exc)
                    self._pause(wait)
                    RATE_LIMITED.labels(lane="bulk").inc()
                    log.warning("429 on the bulk lane: pausing it for %.0f s", wait)
                    if attempt >= self.bulk_retries:
                        raise
                finally:
                    if chat is not None:
                        state.ready_at = self._now() + self._interval(chat)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ budgets

    def _now(self) -> float:
        return self._time() if self._time else asyncio.get_running_loop().time()

    def _interval(self, chat: Any) -> float:
        return self.group_interval if _is_group(chat) else self.private_interval

    def _chat(self, chat: Any) -> _Chat:
        key = chat if isinstance(chat, int | str) else str(chat)
        state = self._chats.get(key)
        if state is None:
            if len(self._chats) > 50_000:
                self._prune()
            state = self._chats[key] = _Chat()
        return state

    def _prune(self) -> None:
        now = self._now()
        for key in [k for k, s in self._chats.items() if not s.lock.locked() and s.ready_at < now]:
            del self._chats[key]

    def _charge(self, chat: Any) -> None:
        """Count an interactive message against the budgets the bulk lane waits for."""
        if chat is None:
            return
        now = self._now()
        self._next_global = max(self._next_global, now) + self.global_interval
        state = self._chat(chat)
        state.ready_at = max(state.ready_at, now + self._interval(chat))

    def _pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._now() + seconds)

    async def _take_global(self) -> None:
        async with self._global_lock:
            while True:
                # GCRA: `_next_global` is the theoretical time of the next send; up to
                # `global_burst` sends may run ahead of it. Keeping to the schedule rather than
                # to when we woke means a sleep that overshoots does not lower the long-run rate,
                # and short bursts mean one wake-up serves several sends.
                now = self._now()
                tolerance = (self.global_burst - 1) * self.global_interval
                start = max(self._next_global - tolerance, self._paused_until)
                if start <= now:
                    self._next_global = max(self._next_global, now) + self.global_interval
                    return
                await self._sleep(start - now)

    async def _until(self, moment: float) -> None:
        while (left := moment - self._now()) > 0:
            await self._sleep(left)
        if self._aborted.is_set():
            raise SendAborted

    async def _sleep(self, seconds: float) -> None:
        """Sleep, or raise SendAborted as soon as abort() is called."""
        if self._aborted.is_set():
            raise SendAborted
        if self._wait is not None:
            await self._wait(seconds)
            if self._aborted.is_set():
                raise SendAborted
            return
        # Plain sleeps in slices (cheap: no task per wait), checking for abort() between them.
        deadline = self._now() + seconds
        while (left := deadline - self._now()) > 0:
            await asyncio.sleep(min(left, ABORT_CHECK))
            if self._aborted.is_set():
                raise SendAborted


def _is_group(chat: Any) -> bool:
    """Group and channel ids are negative; '@name' usernames are public groups or channels."""
    if isinstance(chat, str):
        return chat.startswith("@") or chat.lstrip().startswith("-")
    return isinstance(chat, int) and chat < 0
