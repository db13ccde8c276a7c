"""Updates of different people run concurrently; each person's updates run in arrival order.

python-telegram-bot processes one update at a time unless the Application gets an update
processor. With a 150-400 ms round trip to Telegram, one tap costs two or three round trips (the
answer, the edit), so a meeting's worth of taps handled one after another leaves the last member
waiting tens of seconds, past the window in which Telegram still accepts the answer.

`PerSenderUpdateProcessor` keys every update by its sender (falling back to its chat):

* updates with different keys run concurrently, at most `limit` at a time;
* updates with the same key run strictly one after another, in the order they were received:
  a *Request leave* tap and the reason typed right after it, the steps of a multi-step flow, a
  double tap. Someone sending many updates at once waits for their own, not for a slot: the
  per-key wait comes before the concurrency bound.

The time an update was received is kept in a context variable, `received_at()`, so that the
rate limiter can tell how old a tap is when its answer goes out (and drop answers Telegram
would refuse as too old).

Answers before edits: a burst of taps is limited by the CPU, not by slots, and each tap's edit
(building and rendering the member's view) costs about as much as recording it. `answers_first()`
lets that edit wait while other taps are still unanswered (at most `EDIT_PATIENCE` s), so a burst
is answered first and the edits follow; `answered()` is called when a tap's answer went out.

An early handler group that raises `ApplicationHandlerStop` (a gate) works as before: the
processor only schedules `Application.process_update`, which handles it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, Final, ParamSpec, TypeVar

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.metrics import UPDATES_IN_FLIGHT
from storage.db import Database

P = ParamSpec("P")
T = TypeVar("T")

# PTB's own semaphore (taken before `do_process_update`) only bounds how many updates may be
# waiting; the bound on work in progress is `limit`, taken after the per-sender wait.
MAX_WAITING: Final = 100_000
EDIT_PATIENCE: Final = 2.0  # seconds an edit waits at most for other taps' answers

_RECEIVED: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "branchbot_update_received", default=None
)


@dataclasses.dataclass
class _Tap:
    processor: PerSenderUpdateProcessor
    counted: bool = False  # among the processor's unanswered taps
    answered: bool = False
    task: asyncio.Task[Any] | None = None  # the task processing it
    holding: bool = False  # whether that task holds a slot right now


_TAP: contextvars.ContextVar[_Tap | None] = contextvars.ContextVar("branchbot_tap", default=None)


def answered() -> None:
    """The tap being handled has been answered (or its answer given up): edits may go."""
    tap = _TAP.get()
    if tap is not None and not tap.answered:
        tap.answered = True
        if tap.counted:
            tap.processor.tap_answered()


async def answers_first() -> None:
    """Before a tap's edit: wait (up to EDIT_PATIENCE s) while other taps wait for answers.

    The tap being handled counts as answered from here on, whether its answer went out or not.
    """
    answered()
    tap = _TAP.get()
    if tap is not None and tap.holding and tap.task is asyncio.current_task():
        await tap.processor.answers_first(tap)


async def off_the_loop(db: Database, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a use case's database work where it least delays other people's taps.

    PostgreSQL: in a worker thread, so the event loop serves other taps while this one waits
    for the server (the loop was otherwise blocked on every query's round trip). SQLite: on the
    loop, as before; its queries are CPU work in this process, threads only add overhead, and
    one writer on the loop never contends with itself for SQLite's write lock (measured with
    bench/network.py: 500 taps, p95 about 200 ms on the loop, 230-390 ms in threads).
    """
    if db.dialect == "sqlite":
        return fn(*args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)


async def in_worker(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a long read-only report (a committee's scorecards over many branches) in a worker
    thread, on SQLite too: it reads and computes for seconds, and on the loop every other
    person's tap would wait for it. In a thread the loop keeps running (the interpreter hands
    the GIL over every few milliseconds), and SQLite's WAL lets a reader run beside the writer.
    """
    return await asyncio.to_thread(fn, *args, **kwargs)


def received_at() -> float | None:
    """Event-loop time at which the update being handled was received (None outside one)."""
    return _RECEIVED.get()


def sender_key(update: object) -> int | None:
    """Whose turn an update waits for: its sender, else its chat; None runs it freely."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


@dataclasses.dataclass
class _Turn:
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    users: int = 0  # updates holding or waiting for the lock


class PerSenderUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across senders (at most `limit` at a time), in order per sender."""

    def __init__(self, limit: int) -> None:
        """`limit`: how many updates may be processed at the same time."""
        super().__init__(MAX_WAITING)
        if limit < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.limit = limit
        self._slots = asyncio.BoundedSemaphore(limit)
        self._turns: dict[int, _Turn] = {}
        self.in_flight = 0
        self.unanswered = 0  # taps received and not answered yet
        self._quiet: asyncio.Event | None = None  # set while no tap is unanswered

    def tap_answered(self) -> None:
        """One tap fewer waits for its answer."""
        self.unanswered = max(0, self.unanswered - 1)
        if self.unanswered == 0 and self._quiet is not None:
            self._quiet.set()

    async def answers_first(self, tap: _Tap) -> None:
        """Give up the slot while other taps wait for their answers (up to EDIT_PATIENCE s).

        Called by a handler that holds a slot, after answering its own tap. The sender's turn
        is kept, so their next update still waits for this one.
        """
        if self.unanswered == 0:
            return
        if self._quiet is None:
            self._quiet = asyncio.Event()
        self._quiet.clear()
        tap.holding = False
        self._slots.release()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quiet.wait(), EDIT_PATIENCE)
        finally:
            await self._slots.acquire()  # cancelled here: not holding, nothing to release
            tap.holding = True

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: PTB awaits the running updates itself."""

    async def do_process_update(self, update: object, coroutine: Awaitable[object]) -> None:
        """Wait for this sender's earlier updates, then for a slot, then process."""
        _RECEIVED.set(asyncio.get_running_loop().time())
        if isinstance(update, Update) and update.callback_query is not None:
            _TAP.set(_Tap(self))
        try:
            await self._in_turn(sender_key(update), coroutine)
        finally:
            answered()  # a tap whose handler never answered it no longer holds edits back

    async def _in_turn(self, key: int | None, coroutine: Awaitable[object]) -> None:
        if key is None:
            self._count_tap()
            await self._in_slot(coroutine)
            return
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = _Turn()
        turn.users += 1
        try:
            # asyncio.Lock is first-come first-served, and this point is reached in the order
            # PTB took the updates off its queue: the sender's updates keep their order.
            async with turn.lock:
                # Counted once its own turn has come: a double tap's second press, waiting
                # for the first, must not hold back the first one's edit.
                self._count_tap()
                await self._in_slot(coroutine)
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[key]

    def _count_tap(self) -> None:
        tap = _TAP.get()
        if tap is not None and not tap.answered:
            tap.counted = True
            self.unanswered += 1

    async def _in_slot(self, coroutine: Awaitable[object]) -> None:
        tap = _TAP.get() or _Tap(self)  # not a tap: holds its slot throughout
        await self._slots.acquire()
        tap.task, tap.holding = asyncio.current_task(), True
        try:
            await self._run(coroutine)
        finally:
            if tap.holding:  # answers_first() may have given it up and not got it back
                tap.holding = False
                self._slots.release()

    async def _run(self, coroutine: Awaitable[object]) -> None:
        self.in_flight += 1
        UPDATES_IN_FLIGHT.inc()
        try:
            await coroutine
        finally:
            self.in_flight -= 1
            UPDATES_IN_FLIGHT.dec()
