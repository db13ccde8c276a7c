"""Benchmark: a 10,000-reminder fan-out against the fake Bot API enforcing Telegram's limits.

    .venv/bin/python bench/fanout.py [--db sqlite|postgresql|both] [--scale 8]

20 branches x 500 members: at Monday 08:00 every member gets the meeting's on-the-day reminder,
committee members also the weekly digest (a second message to the same chat: the per-chat
limit is exercised), and every other branch also posts to its group chat. The fake Bot API runs
in its own process with Telegram's limits x `scale` (FloodLimits(scale=...)); the bot paces at
95% of that cap. Reported: achieved send rate vs. the cap, 429 answers, bot CPU per delivered
message (this process only: the server's CPU is not counted), and the per-chat / per-group
maxima seen by the server (scaled windows).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from collections import Counter

from common import DUE, FakeServer, build, database, seed
from sqlmodel import select

from storage.models import Delivery
from tests.fakes.clock import FrozenClock


async def fanout(kind: str, scale: float, branches: int, members: int) -> dict[str, object]:
    """Run one fan-out and return its figures."""
    server = FakeServer(scale)
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
            began, cpu = time.monotonic(), time.process_time()
            runs = 0
            while True:
                clock.set(DUE + dt.timedelta(seconds=time.monotonic() - began))
                report = await dispatcher.run_once(clock.now())
                runs += 1
                if not report.more:
                    break
            cpu, wall = time.process_time() - cpu, time.monotonic() - began
            await app.shutdown()
            with db.read() as s:
                statuses = Counter(s.exec(select(Delivery.status)).all())
            stats = server.call("stats", scale=scale)
    finally:
        server.close()
    sent = int(stats["sent"])
    span = float(stats["last"]) - float(stats["first"])
    rate = (sent - 1) / span if span > 0 else float("nan")
    return {
        "db": kind,
        "scale": scale,
        "cap_per_s": cap,
        "messages": sent,
        "ledger": dict(statuses),
        "wall_s": round(wall, 1),
        "runs": runs,
        "rate_per_s": round(rate, 1),
        "rate_vs_cap": round(rate / cap, 3),
        "http_429": stats["http_429"],
        "cpu_ms_per_message": round(1000 * cpu / max(1, sent), 3),
        "bot_cpu_s": round(cpu, 1),
        "server_cpu_s": round(float(stats["server_cpu_s"]), 1),
        "max_per_private_chat_per_scaled_1s": stats["max_private_per_window"],
        "max_per_group_per_scaled_60s": stats["max_group_per_window"],
    }


def main() -> None:
    """Parse the options and print one result block per database."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, default=8.0)
    parser.add_argument("--branches", type=int, default=20)
    parser.add_argument("--members", type=int, default=500)
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    for kind in kinds:
        result = asyncio.run(fanout(kind, args.scale, args.branches, args.members))
        print(" ".join(f"{k}={v}" for k, v in result.items()), flush=True)
        ok = (
            float(result["rate_vs_cap"]) >= 0.9  # type: ignore[arg-type]
            and result["http_429"] == 0
            and float(result["cpu_ms_per_message"]) <= 2.0  # type: ignore[arg-type]
            and result["max_per_private_chat_per_scaled_1s"] == 1
            and int(result["max_per_group_per_scaled_60s"]) <= 20  # type: ignore[call-overload]
        )
        print(f"{kind}: {'PASS' if ok else 'FAIL'}", flush=True)


if __name__ == "__main__":
    main()
