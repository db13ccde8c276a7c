"""Benchmark of the committee's export: SQL statements, time and peak memory at 20 and 200
branches.

A committee of BRANCHES branches of MEMBERS members each (the first 20 through a general
branch), each with a year of history as bench/secretary.py seeds it (answers, dues, talk
records) plus a meeting record (会议记录) of most required meetings held so far. For the
general branch (20 branches) and the committee (all of them) it prints the number of SQL
statements of one export (SQLAlchemy `before_cursor_execute`; the same number means no query
per branch or member), the median time of REPEAT runs, the workbook's size and the peak
Python memory of one run (tracemalloc, measured in a separate run as it slows Python down).

    .venv/bin/python bench/committee_export.py [--db sqlite|postgres|both]
        [--branches 200] [--members 50] [--repeat 3]

PostgreSQL: BRANCHBOT_BENCH_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
is the admin URL; a throw-away database is created and dropped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from sqlalchemy import event
from sqlmodel import select

from bench.secretary import NOW, backend, seed_branch
from bot.services.committee_export import export_committee, unit_scope
from scheduler.plan import branch_plan
from storage.db import Database
from storage.models import (
    Branch,
    MeetingMinutes,
    Occurrence,
    OrgLevel,
    OrgUnit,
    PartyGroup,
)

CREATED = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
GENERAL_SIZE = 20


def seed(db: Database, branches: int, members: int) -> None:
    """The committee, its general branch and the branches with their year."""
    with db.transaction() as s:
        committee = OrgUnit(name="党委", created_at=CREATED)
        s.add(committee)
        s.flush()
        general = OrgUnit(
            name="第一党总支",
            level=OrgLevel.GENERAL_BRANCH.value,
            parent_id=committee.id,
            created_at=CREATED,
        )
        s.add(general)
        s.flush()
        units = (committee.id, general.id)
    ids = [seed_branch(db, n, members) for n in range(1, branches + 1)]
    with db.transaction() as s:
        for n, branch_id in enumerate(ids):
            branch = s.get(Branch, branch_id)
            assert branch is not None
            branch.org_unit_id = units[1] if n < GENERAL_SIZE else units[0]
        _minutes(s, ids)


def _minutes(s: Any, ids: list[int]) -> None:
    """A record of each required meeting held so far, one in nine left unrecorded."""
    groups: dict[int, list[int]] = {}
    for g in s.exec(select(PartyGroup).where(PartyGroup.branch_id.in_(ids))):  # type: ignore[attr-defined]
        groups.setdefault(g.branch_id, []).append(g.id)
    branches = {b.id: b for b in s.exec(select(Branch).where(Branch.id.in_(ids)))}  # type: ignore[union-attr]
    rows = []
    for occ in s.exec(select(Occurrence).where(Occurrence.branch_id.in_(ids))):  # type: ignore[attr-defined]
        item = {i.id: i for i in branch_plan(branches[occ.branch_id]).items}.get(occ.item_id)
        if item is None or not item.is_required or occ.ends_at >= NOW or occ.id % 9 == 4:
            continue
        for scope in groups.get(occ.branch_id, []) if item.per_group else [0]:
            rows.append(
                MeetingMinutes(
                    branch_id=occ.branch_id,
                    occurrence_id=occ.id,
                    scope=scope,
                    group_id=scope or None,
                    held=occ.id % 23 != 5,
                    reason=None if occ.id % 23 != 5 else "书记外出学习",
                    topic="学习贯彻会议精神",
                    recorded_at=occ.ends_at + dt.timedelta(hours=5),
                )
            )
    s.add_all(rows)


def export(db: Database, unit: str) -> bytes:
    """The export as the bot makes it for a seat at `unit`."""
    found = unit_scope(db, unit)
    assert found is not None
    scope, _unit = found
    return export_committee(
        db,
        scope.branch_ids,
        unit_name=scope.unit_name,
        year=2026,
        now=NOW,
        locale="zh_CN",
        tz_name="Asia/Shanghai",
    ).xlsx


def run(name: str, args: argparse.Namespace) -> None:
    """Seed one backend and print its figures."""
    with backend(name) as db:
        start = time.perf_counter()
        seed(db, args.branches, args.members)
        print(
            f"\n== {name}: {args.branches} branches x {args.members} members; "
            f"seeded in {time.perf_counter() - start:.1f} s"
        )
        count = [0]

        def on_execute(*_args: Any) -> None:
            count[0] += 1

        event.listen(db.engine, "before_cursor_execute", on_execute)
        print(f"{'unit':<12}{'branches':>9}{'statements':>12}{'median s':>10}{'KiB':>9}"
              f"{'peak MiB':>10}")  # fmt: skip
        for unit, size in (("第一党总支", GENERAL_SIZE), ("党委", args.branches)):
            export(db, unit)  # warm-up: the year's occurrence rows exist from here on
            before = count[0]
            data = export(db, unit)
            statements = count[0] - before
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                export(db, unit)
                times.append(time.perf_counter() - t0)
            tracemalloc.start()
            export(db, unit)
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"{unit:<12}{min(size, args.branches):>9}{statements:>12}"
                f"{statistics.median(times):>10.2f}{len(data) / 1024:>9.0f}{peak / 2**20:>10.1f}"
            )
        event.remove(db.engine, "before_cursor_execute", on_execute)


def main() -> None:
    """Parse the options and run each backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--branches", type=int, default=200)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    one = args.db.replace("postgres", "postgresql")
    names = ["sqlite", "postgresql"] if args.db == "both" else [one]
    for name in names:
        run(name, args)


if __name__ == "__main__":
    main()
