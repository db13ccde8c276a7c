"""Benchmark: computing what is due for 1,000 and 10,000 members (no sending).

    .venv/bin/python bench/due_sweep.py [--db sqlite|postgresql|both] [--sweeps 10]

20 branches of 50 and of 500 members. The ledger is first filled by one fan-out to a notifier
that accepts everything; then `run_once` is timed in steady state (the sweep: recover, sync
check, load facts, due rules, ledger-key lookup, plus one empty claim), counting SQL
statements. The statement count must not grow with the number of members.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time
from collections.abc import Sequence

from common import DUE, database, seed
from sqlalchemy import event

from scheduler.dispatch import Dispatcher
from scheduler.notify import Outcome, Outgoing
from storage.db import Database


class AcceptAll:
    """A notifier that 'sends' everything at once."""

    def prepare(self, items: Sequence[Outgoing]) -> None:
        """Nothing to load."""

    async def deliver(self, item: Outgoing) -> Outcome:
        """Accept."""
        return Outcome.sent(1)

    def abort(self) -> None:
        """Nothing to abort."""


async def sweeps(db: Database, n: int) -> tuple[int, list[float]]:
    """Fill the ledger, then time `n` steady-state sweeps; return (statements, ms per sweep)."""
    dispatcher = Dispatcher(db, AcceptAll())
    report = await dispatcher.run_once(DUE)
    while report.more:
        report = await dispatcher.run_once(DUE)
    statements: list[int] = []
    times: list[float] = []
    for k in range(n):
        count = [0]

        def on_execute(*_args: object, seen: list[int] = count) -> None:
            seen[0] += 1

        event.listen(db.engine, "before_cursor_execute", on_execute)
        began = time.perf_counter()
        await dispatcher.run_once(DUE + dt.timedelta(seconds=30 * (k + 1)))
        times.append(1000 * (time.perf_counter() - began))
        event.remove(db.engine, "before_cursor_execute", on_execute)
        statements.append(count[0])
    assert len(set(statements)) == 1, statements
    return statements[0], times


def main() -> None:
    """Print statements and time per sweep for each size and database."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sweeps", type=int, default=10)
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    for kind in kinds:
        counts = []
        for members in (50, 500):
            with database(kind) as db:
                total = seed(db, branches=20, members=members)
                queries, times = asyncio.run(sweeps(db, args.sweeps))
            counts.append(queries)
            print(
                f"db={kind} members={total} sql_statements_per_sweep={queries} "
                f"sweep_ms_median={statistics.median(times):.0f} sweep_ms_max={max(times):.0f}",
                flush=True,
            )
        print(f"{kind}: {'PASS' if counts[0] == counts[1] else 'FAIL'} (statements {counts})")


if __name__ == "__main__":
    main()
