"""Benchmark: a burst of members tapping "Check in" within one second.

Each member has the real meeting reminder (rendered by the reminder engine) in their private
chat and taps Check in on it. The taps go through the in-process fake Bot API into the REAL
Application (`bot.app.build_application`: the gate, our handlers, the rate limiter), fed
through its update queue as polling would. In the same run the same burst hits a bare
python-telegram-bot Application whose only handler answers the query: the framework's ceiling.

Reported: all taps recorded (rows in the database), time from the tap entering the queue to
answerCallbackQuery (p50, p99, max), taps per second (taps / time from first tap to last
answer), and our rate as a ratio of the bare one. Two shapes: taps spread evenly over one
second, and all taps at once (the processing capacity).

    .venv/bin/python bench/checkin_burst.py [--members 500] [--db URL] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, text  # noqa: E402
from sqlmodel import SQLModel, select  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler  # noqa: E402

from bot import keyboards  # noqa: E402
from bot.app import build_application  # noqa: E402
from bot.buttons import button  # noqa: E402
from bot.context import Services  # noqa: E402
from bot.i18n import translator  # noqa: E402
from bot.render import reminders as reminders_text  # noqa: E402
from bot.services.reminders import build_reminder_view  # noqa: E402
from bot.settings import Settings  # noqa: E402
from scheduler.occurrences import sync_occurrences  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Attendance, Branch, Member, PartyGroup  # noqa: E402
from tests.fakes import updates  # noqa: E402
from tests.fakes.bot_api import FakeTelegram  # noqa: E402
from tests.fakes.clock import FrozenClock  # noqa: E402

MEETING = dt.datetime(2026, 3, 13, 7, 0, tzinfo=dt.UTC)  # the Q1 general meeting, 15:00 local
FIRST_ID = 100_000


@dataclass
class Result:
    """One burst's figures."""

    taps: int
    recorded: int
    latencies: list[float]
    rate: float

    def line(self, name: str) -> str:
        """A printable summary."""
        q = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return (
            f"{name:<22} recorded {self.recorded:>4}/{self.taps}  "
            f"p50 {q[49] * 1000:7.1f} ms  p99 {q[98] * 1000:7.1f} ms  "
            f"max {max(self.latencies) * 1000:7.1f} ms  {self.rate:7.0f} taps/s"
        )


def seed(db: Database, members: int) -> tuple[int, int]:
    """A branch of `members` linked members; returns (branch id, meeting occurrence id)."""
    SQLModel.metadata.create_all(db.engine)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with db.transaction() as s:
        branch = Branch(name="bench", timezone="Asia/Shanghai", locale="zh_CN", created_at=now)
        s.add(branch)
        s.flush()
        assert branch.id is not None
        group = PartyGroup(branch_id=branch.id, name="第一党小组")
        s.add(group)
        s.flush()
        s.add_all(
            Member(
                branch_id=branch.id,
                name=f"党员{i:04d}",
                telegram_id=FIRST_ID + i,
                group_id=group.id,
                dues_amount=Decimal("12.50"),
                linked_at=now,
            )
            for i in range(members)
        )
        rows = sync_occurrences(s, branch, year=2026, now=now)
        meeting = next(o for o in rows if o.item_id == "general_meeting" and o.key == "2026-03-13")
        assert meeting.id is not None
        return branch.id, meeting.id


async def send_reminders(
    app: Any, db: Database, occurrence_id: int, ids: dict[int, int], now: dt.datetime
) -> dict[int, int]:
    """Send each member the real reminder; return telegram id -> message id."""
    sent: dict[int, int] = {}
    with db.read() as s:
        members = {m.telegram_id: m.id for m in s.exec(select(Member))}
    for telegram_id in ids:
        with db.read() as s:
            view = build_reminder_view(
                s, occurrence_id=occurrence_id, member_id=members[telegram_id], now=now
            )
        assert view is not None
        tr = translator(view.locale, view.timezone)
        message = await app.bot.send_message(
            telegram_id,
            reminders_text.reminder_text(view, tr),
            reply_markup=keyboards.reminder_keyboard(view, tr),
        )
        sent[telegram_id] = message.message_id
    return sent


async def burst(
    app: Any,
    api: FakeTelegram,
    taps: list[dict[str, Any]],
    spread: float,
    recorded: Callable[[], int],
) -> Result:
    """Put the taps on the application's update queue over `spread` seconds; measure answers."""
    api.reset_calls()
    put_at: dict[str, float] = {}
    step = spread / len(taps) if spread else 0.0
    start = time.monotonic()
    for n, tap in enumerate(taps):
        if step:
            delay = start + n * step - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        put_at[tap["callback_query"]["id"]] = time.monotonic()
        await app.update_queue.put(Update.de_json(tap, app.bot))
    deadline = time.monotonic() + 120
    # The fake records calls synchronously and has no event to wait on: poll it.
    while api.count("answerCallbackQuery") < len(taps) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    await app.update_queue.join()
    answers = {
        c.params["callback_query_id"]: c.t
        for c in api.calls
        if c.endpoint == "answerCallbackQuery"
    }
    latencies = [answers[q] - t for q, t in put_at.items() if q in answers]
    rate = len(answers) / (max(answers.values()) - min(put_at.values()))
    return Result(len(taps), recorded(), latencies, rate)


def _taps(occurrence_id: int, messages: dict[int, int]) -> list[dict[str, Any]]:
    return [
        updates.callback_query(button("ci", occurrence_id), user_id=uid, message_id=mid)
        for uid, mid in messages.items()
    ]


async def run_ours(url: str, members: int, spread: float) -> Result:
    """The burst against the real Application, on a fresh database."""
    db = Database(url)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
            SQLModel.metadata.create_all(db.engine)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    _branch_id, occurrence_id = seed(db, members)
    api = FakeTelegram()
    clock = FrozenClock(MEETING - dt.timedelta(minutes=10))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=api.token,
        database_url=url,
        telegram_api_base="http://fake.invalid/bot",
    )
    app = build_application(Services(settings=settings, db=db, clock=clock), request=api.request())
    ids = {FIRST_ID + i: i for i in range(members)}
    for telegram_id in ids:
        api.started(telegram_id)
    await app.initialize()
    await app.start()
    try:
        messages = await send_reminders(app, db, occurrence_id, ids, clock.now())

        def recorded() -> int:
            with db.read() as s:
                return int(
                    s.exec(
                        select(func.count())
                        .select_from(Attendance)
                        .where(Attendance.checked_in_at.is_not(None))
                    ).one()
                )  # type: ignore[union-attr]

        return await burst(app, api, _taps(occurrence_id, messages), spread, recorded)
    finally:
        await app.stop()
        await app.shutdown()
        db.dispose()


async def run_bare(members: int, spread: float) -> Result:
    """The same burst against a bare Application whose handler only answers the query."""
    api = FakeTelegram()
    count = 0

    async def on_tap(update: Update, _context: Any) -> None:
        nonlocal count
        assert update.callback_query is not None
        await update.callback_query.answer()
        count += 1

    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(api.token)
        .base_url("http://fake.invalid/bot")
        .request(api.request())
        .build()
    )
    app.add_handler(CallbackQueryHandler(on_tap))
    await app.initialize()
    await app.start()
    try:
        messages = {FIRST_ID + i: i + 1 for i in range(members)}
        return await burst(app, api, _taps(1, messages), spread, lambda: count)
    finally:
        await app.stop()
        await app.shutdown()


async def main(argv: list[str]) -> int:
    """Run both bursts (spread over a second, then all at once) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--db", default="", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    for shape, spread in (("within 1 s", 1.0), ("all at once", 0.0)):
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                url = args.db or f"sqlite:///{tmp}/bench.sqlite"
                ours = await run_ours(url, args.members, spread)
            bare = await run_bare(args.members, spread)
            print(f"-- {args.members} taps {shape} ({url.split(':')[0]})")
            print(ours.line("branchbot check-in"))
            print(bare.line("bare PTB handler"))
            print(f"{'ratio (ours / bare)':<22} {ours.rate / bare.rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
