"""Benchmark: a burst of taps over a real network round trip, against a bare PTB bot.

The fake Bot API answers every method `--rtt` ms late (half before it records the call, half
after), as an ordinary server's round trip to Telegram does. N members tap *Check in* (or
*Attend*) within one second on the real meeting reminder; the taps go through the REAL
Application's update queue, as polling delivers them. In the same run the same burst hits a bare
python-telegram-bot Application with `concurrent_updates` whose handler answers and edits.

Reported per database: p50, p95 and max time from the tap to its answerCallbackQuery reaching
the fake, taps per second (taps / time from the first tap to the last answer), the ratio to the
bare bot, and that every tap was recorded exactly once. `--fail-answer` injects one 429
(retry_after=30) on the first answerCallbackQuery: the other members' answers must not wait.
`--flood N` makes the first member send N `/me` commands, 100 a second, from the start of the
burst instead of tapping (the flood gate answers the first few and one notice, then drops the
rest): the other members' figures show what the flood costs them, and the fake's call count
what it costs Telegram.

    python bench/network.py [--rtt 150] [--members 150 500] [--db sqlite postgresql] [--flood N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from checkin_burst import FIRST_ID, MEETING, seed, send_reminders  # noqa: E402
from common import PG_ADMIN_URL, percentile  # noqa: E402
from sqlalchemy import create_engine, func, text  # noqa: E402
from sqlmodel import select  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler  # noqa: E402

from bot.app import build_application  # noqa: E402
from bot.buttons import button  # noqa: E402
from bot.context import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Attendance  # noqa: E402
from tests.fakes import updates  # noqa: E402
from tests.fakes.bot_api import FakeTelegram, Network  # noqa: E402
from tests.fakes.clock import FrozenClock  # noqa: E402


class Figures:
    """One burst's measurements."""

    def __init__(self, taps: int, recorded: int, latencies: list[float], rate: float) -> None:
        self.taps, self.recorded, self.latencies, self.rate = taps, recorded, latencies, rate

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    def line(self, name: str) -> str:
        lat = self.latencies
        return (
            f"  {name:<24} answered {len(lat):>4}/{self.taps} recorded {self.recorded:>4}  "
            f"p50 {self.p(50):7.0f} ms  p95 {self.p(95):7.0f} ms  "
            f"max {max(lat, default=float('nan')) * 1000:7.0f} ms  {self.rate:6.1f} taps/s"
        )


async def pump(app: Any, flood: list[dict[str, Any]], spread: float) -> None:
    """Queue one member's flood of updates evenly over `spread` s."""
    start = time.monotonic()
    for n, update in enumerate(flood):
        delay = start + n * spread / len(flood) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await app.update_queue.put(Update.de_json(update, app.bot))


async def burst(
    app: Any,
    api: FakeTelegram,
    taps: list[dict[str, Any]],
    spread: float,
    skip: set[str],
    flood: list[dict[str, Any]] | None = None,
) -> tuple[list[float], float]:
    """Queue the taps over `spread` s; return tap->answer latencies and taps per second."""
    api.reset_calls()
    # A flood at 100 updates a second (1,000 in 10 s), running through the whole burst.
    flooding = asyncio.create_task(pump(app, flood, len(flood) / 100)) if flood else None
    put_at: dict[str, float] = {}
    step = spread / len(taps)
    start = time.monotonic()
    for n, tap in enumerate(taps):
        delay = start + n * step - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        put_at[tap["callback_query"]["id"]] = time.monotonic()
        await app.update_queue.put(Update.de_json(tap, app.bot))
    deadline = time.monotonic() + 300
    want = len(taps) - len(skip)
    while time.monotonic() < deadline:
        done = {
            c.params.get("callback_query_id")
            for c in api.calls
            if c.endpoint == "answerCallbackQuery" and c.status == 200
        }
        if len(done) >= want:
            break
        await asyncio.sleep(0.01)
    answers = {
        c.params["callback_query_id"]: c.t
        for c in api.calls
        if c.endpoint == "answerCallbackQuery" and c.status == 200
    }
    latencies = [answers[q] - t for q, t in put_at.items() if q in answers and q not in skip]
    if flooding is not None:
        await flooding
    rate = len(answers) / max(1e-9, max(answers.values(), default=0) - min(put_at.values()))
    return latencies, rate


def fresh_db(kind: str, tmp: str) -> tuple[Database, str | None]:
    """An empty migrated database: an SQLite file or a throw-away PostgreSQL database."""
    if kind == "sqlite":
        db = Database(f"sqlite:///{tmp}/net-{uuid.uuid4().hex[:6]}.db")
        db.upgrade()
        return db, None
    name = f"bb_net_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    db = Database(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    db.upgrade()
    return db, name


def drop_db(name: str | None) -> None:
    if name is None:
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


async def run_ours(
    kind: str, members: int, rtt: float, action: str, fail_answer: bool, flood: int = 0
) -> tuple[Figures, int]:
    """The burst against the real Application; returns figures and answers dropped."""
    with tempfile.TemporaryDirectory() as tmp:
        db, pg_name = fresh_db(kind, tmp)
        try:
            _branch, occurrence_id = seed(db, members)
            api = FakeTelegram()
            clock = FrozenClock(MEETING - dt.timedelta(minutes=10 if action == "ci" else 60 * 24))
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                bot_token=api.token,
                database_url=db.url,
                telegram_api_base="http://fake.invalid/bot",
            )
            services = Services(settings=settings, db=db, clock=clock)
            app = build_application(services, request=api.request())
            ids = {FIRST_ID + i: i for i in range(members)}
            for telegram_id in ids:
                api.started(telegram_id)
            await app.initialize()
            await app.start()
            try:
                messages = await send_reminders(app, db, occurrence_id, ids, clock.now())
                api.set_network(Network(round_trip=rtt))
                taps = [
                    updates.callback_query(
                        button(action, occurrence_id), user_id=uid, message_id=mid
                    )
                    for uid, mid in messages.items()
                ]
                skip: set[str] = set()
                if fail_answer:
                    api.fail_next("answerCallbackQuery", 429, "Too Many Requests", retry_after=30)
                    skip.add(taps[0]["callback_query"]["id"])
                flooding = None
                if flood:
                    flooder = taps.pop(0)["callback_query"]["from"]["id"]
                    flooding = [updates.command("me", user_id=flooder) for _ in range(flood)]
                latencies, rate = await burst(app, api, taps, 1.0, skip, flooding)
                await app.update_queue.join()
                if flood:
                    calls = [c for c in api.calls if c.params.get("chat_id") == flooder]
                    print(f"  flood: {flood} /me from one member -> {len(calls)} Bot API calls")
                with db.read() as s:
                    col = Attendance.checked_in_at if action == "ci" else Attendance.updated_at
                    recorded = int(
                        s.exec(
                            select(func.count()).select_from(Attendance).where(col.is_not(None))  # type: ignore[union-attr]
                        ).one()
                    )
                dropped = int(getattr(app.bot.rate_limiter, "dropped_answers", -1))
                return Figures(len(taps), recorded, latencies, rate), dropped
            finally:
                await app.stop()
                await app.shutdown()
        finally:
            db.dispose()
            drop_db(pg_name)


async def run_bare(members: int, rtt: float) -> Figures:
    """The same burst against a bare Application with concurrent_updates: answer, then edit."""
    api = FakeTelegram()
    count = 0

    async def on_tap(update: Update, _context: Any) -> None:
        nonlocal count
        query = update.callback_query
        assert query is not None
        await query.answer("noted")
        count += 1
        await query.edit_message_text(f"noted {count}")

    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(api.token)
        .base_url("http://fake.invalid/bot")
        .request(api.request())
        .concurrent_updates(True)
        .build()
    )
    app.add_handler(CallbackQueryHandler(on_tap))
    await app.initialize()
    await app.start()
    try:
        messages = {}
        for i in range(members):
            api.started(FIRST_ID + i)
            sent = await app.bot.send_message(FIRST_ID + i, "meeting")
            messages[FIRST_ID + i] = sent.message_id
        api.set_network(Network(round_trip=rtt))
        taps = [
            updates.callback_query("ci:1", user_id=uid, message_id=mid)
            for uid, mid in messages.items()
        ]
        latencies, rate = await burst(app, api, taps, 1.0, set())
        await app.update_queue.join()
        return Figures(members, count, latencies, rate)
    finally:
        await app.stop()
        await app.shutdown()


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtt", type=float, nargs="+", default=[150.0], help="round trip, ms")
    parser.add_argument("--members", type=int, nargs="+", default=[150, 500])
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--action", choices=["ci", "at"], default="ci")
    parser.add_argument("--fail-answer", action="store_true")
    parser.add_argument("--flood", type=int, default=0, help="/me commands from one member")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    for rtt_ms in args.rtt:
        for members in args.members:
            bare = await run_bare(members, rtt_ms / 1000)
            fault = ", one 429 (retry_after=30) on an answer" if args.fail_answer else ""
            shape = f"{members} taps ({args.action}) within 1 s, round trip {rtt_ms:.0f} ms"
            print(f"-- {shape}{fault}")
            print(bare.line("bare PTB (answer+edit)"))
            for kind in args.db:
                ours, dropped = await run_ours(
                    kind, members, rtt_ms / 1000, args.action, args.fail_answer, args.flood
                )
                print(ours.line(f"branchbot {kind}"))
                print(
                    f"  {'':<24} taps/s ratio {ours.rate / bare.rate:.2f}  "
                    f"p95 ratio {ours.p(95) / bare.p(95):.2f}  answers dropped {dropped}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
