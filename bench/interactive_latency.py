"""Benchmark: how fast members' button taps are answered while a 10,000-reminder fan-out runs
and Telegram answers one send with 429 retry_after=30.

    .venv/bin/python bench/interactive_latency.py [--db sqlite|postgresql] [--scale 4] [--rtt 150]

The bot runs as in production (polling the fake Bot API over HTTP, the real handlers answering
"Attend" taps on the reminders just sent); the fake runs in its own process with Telegram's
limits x `scale`. Two taps a second are pushed during the whole fan-out; latency is from the
moment a tap is available to getUpdates until the fake receives answerCallbackQuery.
Targets: p95 <= 1 s, p99 <= 3 s. `--rtt` gives every Bot API call that round trip (ms). Every
5 s a committee member sends /overdue: the time to its first reply is reported too (target:
within 1 s), and the fan-out's pace as a share of the configured rate (target: >= 0.9).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import time

from common import DUE, FakeServer, build, database, percentile, seed
from sqlmodel import select

from storage.models import Member, Occurrence
from tests.fakes.clock import FrozenClock


async def run(
    kind: str, scale: float, branches: int, members: int, rtt: float = 0.0
) -> dict[str, object]:
    """One fan-out with taps; return the latency figures."""
    server = FakeServer(scale, rtt)
    try:
        with database(kind) as db:
            n = seed(db, branches=branches, members=members)
            server.call("start_users", first=10_001, count=n)
            cap = 30.0 * scale
            clock = FrozenClock(DUE)
            app, dispatcher = build(db, server, rate=0.95 * cap, private=scale,
                                    group=20.0 * scale, clock=clock,
                                    burst=round(3 * scale))  # fmt: skip
            await app.initialize()
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=10)
            began = time.monotonic()

            async def fan_out() -> None:
                while True:
                    clock.set(DUE + dt.timedelta(seconds=time.monotonic() - began))
                    report = await dispatcher.run_once(clock.now())
                    if not report.more:
                        return

            sending = asyncio.create_task(fan_out())
            await asyncio.sleep(3)  # the fan-out is under way
            server.call("fail_next", endpoint="sendMessage", status=429, retry_after=30,
                        description="Too Many Requests: retry after 30")  # fmt: skip
            with db.read() as s:
                occ_of = {o.branch_id: o.id for o in s.exec(select(Occurrence).where(
                    Occurrence.key == "2026-03-02", Occurrence.item_id == "meet"))}  # fmt: skip
                people = [(m.telegram_id, occ_of[m.branch_id]) for m in s.exec(select(Member))]
            taps = itertools.cycle(people[: n // 2])
            secretary = people[0][0]  # the first member of a branch is on its committee
            ticks = 0
            while not sending.done():
                user, occ = next(taps)
                server.call("push_callback", user_id=user, data=f"at1:{occ}")
                if ticks % 10 == 0:
                    server.call("push_command", user_id=secretary, name="overdue")
                ticks += 1
                await asyncio.sleep(0.5)
            await sending
            fanout_s = time.monotonic() - began
            await asyncio.sleep(2)  # the last taps get answered
            stats = server.call("stats", scale=scale)
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
    finally:
        server.close()
    lat = [float(x) for x in stats["latencies"]]
    overdue = [float(x) for x in stats["command_latencies"]]
    return {
        "db": kind,
        "scale": scale,
        "messages": stats["sent"],
        "http_429": stats["http_429"],
        "taps": stats["callbacks_pushed"],
        "answered": stats["callbacks_answered"],
        "p50_s": round(percentile(lat, 50), 3),
        "p95_s": round(percentile(lat, 95), 3),
        "p99_s": round(percentile(lat, 99), 3),
        "max_s": round(max(lat, default=float("nan")), 3),
        "overdue_n": len(overdue),
        "overdue_p95_s": round(percentile(overdue, 95), 3),
        "overdue_max_s": round(max(overdue, default=float("nan")), 3),
        "fanout_s": round(fanout_s, 1),
        # the 429's 30 s pause is not the limiter's fault: leave it out of the pace
        "pace_of_configured": round(
            int(stats["sent"]) / max(1.0, fanout_s - 30) / (0.95 * cap),  # type: ignore[call-overload]
            2,
        ),
        "max_per_private_chat_per_scaled_1s": stats["max_private_per_window"],
        "max_per_group_per_scaled_60s": stats["max_group_per_window"],
    }


def main() -> None:
    """Parse options, run, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", type=float, default=4.0)
    parser.add_argument("--branches", type=int, default=20)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--rtt", type=float, default=0.0, help="round trip of every call, ms")
    args = parser.parse_args()
    result = asyncio.run(run(args.db, args.scale, args.branches, args.members, args.rtt))
    print(" ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    ok = (
        float(result["p95_s"]) <= 1.0  # type: ignore[arg-type]
        and float(result["p99_s"]) <= 3.0  # type: ignore[arg-type]
        and result["answered"] == result["taps"]
    )
    print("PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
