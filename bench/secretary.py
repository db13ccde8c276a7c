"""Benchmark of the secretary tools: SQL query counts and timings on SQLite and PostgreSQL.

A deployment of BRANCHES branches of MEMBERS members each, plus one branch of SMALL members,
with a full year of history (every meeting held so far answered and checked in, eleven months
of dues, three quarters of talk records). For /overdue, /plan year, the digest (/digest) and
the XLSX export it prints the number of SQL statements (SQLAlchemy `before_cursor_execute`)
for the small and the large branch - the same number means no query per member - and the
median time of REPEAT runs on each backend.

    .venv/bin/python bench/secretary.py [--members 500] [--branches 20] [--small 100]
        [--repeat 5] [--backends sqlite,postgresql]

PostgreSQL: BRANCHBOT_BENCH_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
is the admin URL; a throw-away database is created and dropped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert, text
from sqlmodel import SQLModel, select

import storage.models  # noqa: F401  (registers the tables)
from bot.i18n import translator
from bot.render.overdue import overdue_text
from bot.render.plan import plan_report_text
from bot.services.digest_now import digest_now
from bot.services.export import export_branch
from bot.services.overdue import build_overdue
from bot.services.plan_report import build_plan_report
from scheduler.audience import in_audience
from scheduler.occurrences import sync_occurrences
from scheduler.plan import branch_plan
from storage.db import Database
from storage.models import (
    Attendance,
    Branch,
    DuesPayment,
    Member,
    Occurrence,
    PartyGroup,
    TalkParticipant,
    TalkRecord,
)

NOW = dt.datetime(2026, 12, 28, 2, 0, tzinfo=dt.UTC)  # Monday 28 Dec 2026, 10:00 Shanghai
CREATED = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
GROUPS = 10
PG_ADMIN = os.environ.get(
    "BRANCHBOT_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def seed_branch(db: Database, number: int, members: int) -> int:
    """One branch with a year of history; returns its id."""
    with db.transaction() as s:
        branch = Branch(
            name=f"Branch {number:02d}",
            timezone="Asia/Shanghai",
            locale="zh_CN",
            created_at=CREATED,
        )
        s.add(branch)
        s.flush()
        assert branch.id is not None
        groups = [PartyGroup(branch_id=branch.id, name=f"第{g + 1}党小组") for g in range(GROUPS)]
        s.add_all(groups)
        s.flush()
        rows = [_member(branch.id, number, i, groups[i % GROUPS].id or 0) for i in range(members)]
        s.execute(insert(Member), rows)
        occs = sync_occurrences(s, branch, year=2026, now=CREATED, plan=branch_plan(branch))
        roster = s.exec(select(Member).where(Member.branch_id == branch.id)).all()
        _history(s, branch, occs, roster, groups)
        return branch.id


def _member(branch_id: int, number: int, i: int, group_id: int) -> dict[str, Any]:
    role = (
        "secretary" if i == 0 else "committee" if i < 5 else "group_leader" if i < 15 else "member"
    )
    linked = i % 50 != 7
    return {
        "branch_id": branch_id,
        "name": f"B{number:02d}-{i:04d}",
        "role": role,
        "telegram_id": number * 100_000 + i if linked else None,
        "group_id": group_id,
        "dues_amount": Decimal("12.50") + i % 7,
        "status": "probationary" if i % 10 == 9 else "full",
        "active": True,
        "linked_at": CREATED if linked else None,
        "unreachable_reason": "Forbidden: bot was blocked by the user" if i % 50 == 13 else None,
    }


def _history(
    s: Any, branch: Branch, occs: list[Occurrence], roster: Any, groups: list[Any]
) -> None:
    plan = branch_plan(branch)
    items = {item.id: item for item in plan.items}
    answers, payments = [], []
    for occ in occs:
        item = items[occ.item_id]
        if item.kind != "meeting" or occ.starts_at >= NOW:
            continue
        for m in roster:
            if not in_audience(item.audience, m.role, m.group_id):
                continue
            roll = (m.id * 31 + (occ.id or 0) * 17) % 100
            if roll < 80:
                answers.append(
                    {
                        "occurrence_id": occ.id,
                        "member_id": m.id,
                        "state": "present",
                        "checked_in_at": occ.starts_at,
                        "updated_at": occ.starts_at,
                    }
                )
            elif roll < 88:
                answers.append(
                    {
                        "occurrence_id": occ.id,
                        "member_id": m.id,
                        "state": "leave_approved",
                        "leave_reason": "出差",
                        "updated_at": occ.starts_at,
                    }
                )
            elif roll < 92:
                answers.append(
                    {
                        "occurrence_id": occ.id,
                        "member_id": m.id,
                        "state": "attending",
                        "updated_at": occ.starts_at,
                    }
                )
    for m in roster:
        last = 6 if m.id % 20 == 3 else 9 if m.id % 20 == 5 else 12
        for month in range(1, last):
            declared = dt.datetime(2026, month, 26, 3, tzinfo=dt.UTC)
            payments.append(
                {
                    "member_id": m.id,
                    "year": 2026,
                    "month": month,
                    "amount": m.dues_amount,
                    "declared_at": declared,
                    "confirmed_at": None if m.id % 19 == 0 else declared,
                }
            )
    s.execute(insert(Attendance), answers)
    s.execute(insert(DuesPayment), payments)
    for g, group in enumerate(groups):
        people = [m for m in roster if m.group_id == group.id]
        for quarter in (1, 2, 3):
            if g == 3 and quarter == 2:
                continue  # one group is behind
            record = TalkRecord(
                branch_id=branch.id or 0,
                group_id=group.id,
                year=2026,
                quarter=quarter,
                talks=5,
                summary="谈心谈话",
                late=False,
                submitted_by=people[0].id,
                submitted_at=dt.datetime(2026, 3 * quarter, 28, tzinfo=dt.UTC),
            )
            s.add(record)
            s.flush()
            talked = [{"record_id": record.id, "member_id": p.id} for p in people[quarter::7]]
            if talked:
                s.execute(insert(TalkParticipant), talked)


class Counter:
    """Counts SQL statements sent on an engine."""

    def __init__(self, db: Database) -> None:
        self.n = 0
        event.listen(db.engine, "before_cursor_execute", self._count)

    def _count(self, *_args: Any) -> None:
        self.n += 1


def measure(fn: Callable[[], object], counter: Counter, repeat: int) -> tuple[int, float]:
    """(queries of one run, median milliseconds of `repeat` runs) after one warm-up run."""
    fn()
    before = counter.n
    fn()
    queries = counter.n - before
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return queries, statistics.median(times)


def operations(db: Database, branch_id: int) -> dict[str, Callable[[], object]]:
    """The measured operations, each as the bot runs it (use case + rendering)."""
    tr = translator("zh_CN", "Asia/Shanghai")
    return {
        "/overdue": lambda: overdue_text(build_overdue(db, branch_id=branch_id, now=NOW), tr),
        "/plan year": lambda: plan_report_text(
            build_plan_report(db, branch_id=branch_id, period="year", now=NOW), tr
        ),
        "digest": lambda: digest_now(db, branch_id=branch_id, now=NOW),
        "export xlsx": lambda: export_branch(db, branch_id=branch_id, now=NOW),
    }


@contextmanager
def backend(name: str) -> Iterator[Database]:
    """An empty, migrated database on `name`, removed afterwards."""
    if name == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
            SQLModel.metadata.create_all(db.engine)
            yield db
            db.dispose()
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"bb_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}")
    try:
        SQLModel.metadata.create_all(db.engine)
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(name: str, args: argparse.Namespace) -> None:
    """Seed one backend and print its figures."""
    with backend(name) as db:
        start = time.perf_counter()
        small = seed_branch(db, 0, args.small)
        large = [seed_branch(db, n, args.members) for n in range(1, args.branches + 1)]
        with db.read() as s:
            answers = s.exec(text("SELECT count(*) FROM attendance")).one()[0]  # type: ignore[call-overload]
        print(
            f"\n== {name}: {args.branches} branches x {args.members} members + 1 x {args.small}; "
            f"{answers} answers; seeded in {time.perf_counter() - start:.1f} s"
        )
        counter = Counter(db)
        small_n, large_n = args.small, args.members
        print(
            f"{'operation':<13}{f'queries@{small_n}':>12}{f'queries@{large_n}':>12}"
            f"{f'ms@{small_n}':>10}{f'ms@{large_n}':>10}"
        )
        for op, fn in operations(db, large[0]).items():
            q_large, ms_large = measure(fn, counter, args.repeat)
            q_small, ms_small = measure(operations(db, small)[op], counter, args.repeat)
            print(f"{op:<13}{q_small:>12}{q_large:>12}{ms_small:>10.1f}{ms_large:>10.1f}")
        size = len(export_branch(db, branch_id=large[0], now=NOW).xlsx)
        print(f"export of one {args.members}-member year: {size / 1024:.0f} KiB")
        start = time.perf_counter()
        for branch_id in large:
            digest_now(db, branch_id=branch_id, now=NOW)
        print(
            f"digest of all {args.branches} branches: "
            f"{(time.perf_counter() - start) * 1000:.0f} ms"
        )


def main() -> None:
    """Parse the options and run each backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--branches", type=int, default=20)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    for name in args.backends.split(","):
        run(name.strip(), args)


if __name__ == "__main__":
    main()
