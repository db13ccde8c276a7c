"""Benchmark of the committee's views: /branches and the weekly digest over 200 branches.

A committee (党委) with BRANCHES branches of MEMBERS members each: 20 of them through a general
branch (总支), the rest directly. A year of history to late December: every occurrence
materialised, most required meetings recorded (some recorded as not held, some never), every
members' meeting answered (a few on leave, a few absent), eleven months of dues (a few unpaid),
the talk records of three quarters. It times, as a seat holder sees them:

* `/branches year`, the service that builds it (`bot.services.oversight.branches_view`) and
  once through the real handler (the Application with the in-process fake Bot API);
* the committee digest build (`unit_digest` and its text), what the Monday dispatch renders;

and prints the SQL statements each takes (SQLAlchemy `before_cursor_execute`) for the general
branch's seat (20 branches) and the committee's seat (all of them): the same count means no
statement per branch or member.

    .venv/bin/python bench/committee.py [--db sqlite|postgres|both] [--branches 200]
        [--members 50] [--repeat 3]

PostgreSQL: BRANCHBOT_BENCH_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
is the admin URL; a throw-away database is created and dropped (bench/secretary.py's `backend`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert  # noqa: E402
from sqlmodel import col, select  # noqa: E402

import storage.models  # noqa: E402, F401  (registers the tables)
from bench.secretary import backend  # noqa: E402
from bot.access import Seat  # noqa: E402
from bot.i18n import translator  # noqa: E402
from bot.render.oversight import branches_text, digest_text  # noqa: E402
from bot.services.oversight import branches_view, unit_digest  # noqa: E402
from scheduler.compliance import Span  # noqa: E402
from scheduler.occurrences import sync_occurrences  # noqa: E402
from scheduler.plan import branch_plan  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import (  # noqa: E402
    Attendance,
    AttendanceState,
    Branch,
    DuesPayment,
    MeetingMinutes,
    Member,
    OrgLevel,
    OrgPerson,
    OrgUnit,
    PartyGroup,
    TalkRecord,
)
from tests.fakes import updates  # noqa: E402
from tests.fakes.bot_api import FakeTelegram  # noqa: E402
from tests.fakes.clock import FrozenClock  # noqa: E402
from tests.harness import Harness, settings_for  # noqa: E402

NOW = dt.datetime(2026, 12, 28, 2, 0, tzinfo=dt.UTC)  # Monday 28 Dec 2026, 10:00 Shanghai
CREATED = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
GROUPS = 5
GENERAL_BRANCHES = 20  # branches through the general branch
COMMITTEE_SEAT, GENERAL_SEAT = 7001, 7002


def seed(db: Database, branches: int, members: int) -> tuple[int, int]:
    """The committee and its branches with a year of history; (committee id, general id)."""
    with db.transaction() as s:
        top = OrgUnit(name="党委", level=OrgLevel.COMMITTEE.value, created_at=CREATED)
        s.add(top)
        s.flush()
        assert top.id is not None
        general = OrgUnit(
            name="第一党总支",
            level=OrgLevel.GENERAL_BRANCH.value,
            parent_id=top.id,
            created_at=CREATED,
        )
        s.add(general)
        s.flush()
        assert general.id is not None
        for unit, telegram_id in ((top.id, COMMITTEE_SEAT), (general.id, GENERAL_SEAT)):
            s.add(OrgPerson(unit_id=unit, name=f"书记{telegram_id}", telegram_id=telegram_id,
                            locale="en", linked_at=CREATED))  # fmt: skip
        units = (top.id, general.id)
    for number in range(branches):
        unit = units[1] if number < GENERAL_BRANCHES else units[0]
        seed_branch(db, number, members, unit)
    return units


def seed_branch(db: Database, number: int, members: int, unit_id: int) -> None:
    """One branch: members, a year of occurrences, records, answers, dues and talk records."""
    with db.transaction() as s:
        branch = Branch(name=f"第{number + 1:03d}支部", locale="zh_CN", created_at=CREATED,
                        org_unit_id=unit_id)  # fmt: skip
        s.add(branch)
        s.flush()
        assert branch.id is not None
        groups = [PartyGroup(branch_id=branch.id, name=f"第{g + 1}党小组") for g in range(GROUPS)]
        s.add_all(groups)
        s.flush()
        group_ids = [g.id for g in groups]
        base = 1_000_000 + number * 1000
        rows = [
            {
                "branch_id": branch.id, "name": f"党员{number:03d}-{i:03d}",
                "telegram_id": base + i if i % 17 else None,
                "role": "secretary" if i == 0 else ("committee" if i < 3 else "member"),
                "group_id": group_ids[i % GROUPS], "dues_amount": Decimal("10.00"),
                "status": "full", "active": True,
                "linked_at": CREATED if i % 17 else None,
            }
            for i in range(members)
        ]  # fmt: skip
        s.execute(insert(Member), rows)
        member_ids = list(
            s.exec(select(Member.id).where(Member.branch_id == branch.id).order_by(col(Member.id)))
        )
        occurrences = sync_occurrences(s, branch, year=2026, now=CREATED, plan=branch_plan(branch))
        plan = branch_plan(branch)
        items = {i.id: i for i in plan.items}
        minutes: list[dict[str, Any]] = []
        answers: list[dict[str, Any]] = []
        for occ in occurrences:
            item = items.get(occ.item_id)
            if item is None or not item.is_required or occ.ends_at > NOW:
                continue
            month = int(occ.key[5:7])
            if (number + month) % 11 == 0:
                continue  # never recorded
            held = (number * 7 + month) % 13 != 0
            scopes = group_ids if item.per_group else [0]
            minutes += [
                {
                    "branch_id": branch.id, "occurrence_id": occ.id, "scope": scope,
                    "group_id": scope or None, "held": held,
                    "reason": None if held else "书记外出学习", "topic": "学习",
                    "summary": "", "recorded_at": occ.ends_at + dt.timedelta(hours=2),
                }
                for scope in scopes
            ]  # fmt: skip
            if occ.item_id == "general_meeting" and held:
                for i, member_id in enumerate(member_ids):
                    if i % 10 == 9:
                        continue  # absent
                    state = AttendanceState.LEAVE_APPROVED if i % 10 == 8 else None
                    answers.append({
                        "occurrence_id": occ.id, "member_id": member_id,
                        "state": (state or AttendanceState.PRESENT).value,
                        "checked_in_at": None if state else occ.starts_at,
                        "updated_at": occ.starts_at,
                    })  # fmt: skip
        if minutes:
            s.execute(insert(MeetingMinutes), minutes)
        if answers:
            s.execute(insert(Attendance), answers)
        payments = [
            {
                "member_id": member_id, "year": 2026, "month": month, "amount": Decimal("10.00"),
                "declared_at": dt.datetime(2026, month, 20, 2, tzinfo=dt.UTC),
            }
            for month in range(1, 12)
            for i, member_id in enumerate(member_ids)
            if (i + month) % 20
        ]  # fmt: skip
        s.execute(insert(DuesPayment), payments)
        talks = [
            {
                "branch_id": branch.id, "group_id": g, "submitted_by": member_ids[0],
                "year": 2026, "quarter": q, "talks": 3, "summary": "",
                "submitted_at": dt.datetime(2026, 3 * q, 25, 2, tzinfo=dt.UTC), "late": False,
            }
            for q in (1, 2, 3)
            for g in group_ids
        ]  # fmt: skip
        s.execute(insert(TalkRecord), talks)


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def listener(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, int]:
    """(median seconds, statements of one run)."""
    times = []
    statements = 0
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), statements


def measure(db: Database, label: str, fn: Callable[[], object], repeat: int) -> list[str]:
    """One row of the table: statements of one run, median time of `repeat`."""
    with counting(db) as seen:
        fn()
    statements = len(seen)
    seconds, _ = timed(fn, repeat)
    return [label, str(statements), f"{seconds * 1000:.0f} ms"]


async def through_handler(db: Database, repeat: int) -> tuple[float, int, str]:
    """`/branches year` through the real Application (fake Bot API): median time, statements,
    and the first line of the answer."""
    clock = FrozenClock(NOW)
    api = FakeTelegram()
    h = Harness(db, clock, api, settings_for(api))
    await h.start()
    try:
        times, statements = [], 0
        for n in range(repeat + 1):
            with counting(db) as seen:
                start = time.perf_counter()
                await h.feed(updates.command("branches", "year", user_id=COMMITTEE_SEAT))
                elapsed = time.perf_counter() - start
            if n == 0:
                statements = len(seen)  # the first run also warms caches; timed runs follow
            else:
                times.append(elapsed)
        first = h.last_reply(COMMITTEE_SEAT).splitlines()[0]
        # Someone else's command while /branches year is being built: the view is built in a
        # worker thread, so the other person is answered meanwhile, not after it.
        alone = await _timed_feed(h, updates.command("help", user_id=GENERAL_SEAT))
        start = time.perf_counter()
        branches = asyncio.create_task(
            h.feed(updates.command("branches", "year", user_id=COMMITTEE_SEAT))
        )
        helped = asyncio.create_task(h.feed(updates.command("help", user_id=GENERAL_SEAT)))
        await helped
        meanwhile = time.perf_counter() - start  # both arrived together
        still_building = not branches.done()
        await branches
    finally:
        await h.stop()
    print(
        f"  /help from another seat holder: {alone * 1000:.0f} ms alone, "
        f"{meanwhile * 1000:.0f} ms when sent together with /branches year "
        f"({'still building when answered' if still_building else 'built before'})"
    )
    return statistics.median(times), statements, first


async def _timed_feed(h: Harness, update: object) -> float:
    start = time.perf_counter()
    await h.feed(update)  # type: ignore[arg-type]
    return time.perf_counter() - start


def run(name: str, args: argparse.Namespace) -> None:
    """Seed one backend and print its table."""
    with backend(name) as db:
        start = time.perf_counter()
        top, general = seed(db, args.branches, args.members)
        seeded = time.perf_counter() - start
        with db.read() as s:
            people = {p.telegram_id: p for p in s.exec(select(OrgPerson))}
        seats = {
            GENERAL_BRANCHES: [Seat(general, people[GENERAL_SEAT].id or 0, "secretary")],
            args.branches: [Seat(top, people[COMMITTEE_SEAT].id or 0, "secretary")],
        }
        tr = translator("zh_CN", "Asia/Shanghai")
        print(f"\n{name}: {args.branches} branches x {args.members} members, a year of "
              f"history (seeded in {seeded:.0f} s)")  # fmt: skip
        rows = [["what", "branches", "statements", "median"]]
        for count, seat in seats.items():
            unit = general if count == GENERAL_BRANCHES else top

            def service(seat: list[Seat] = seat, count: int = count) -> object:
                view = branches_view(db, seats=seat, span=Span.YEAR, now=NOW)
                assert len(view.cards) == count
                return branches_text(view, 0, tr)

            def digest(unit: int = unit, count: int = count) -> object:
                with db.read() as s:
                    view = unit_digest(s, unit_id=unit, now=NOW)
                assert view is not None and len(view.cards) == count
                return digest_text(view, tr)

            label, statements, median = measure(db, "/branches year (service)", service,
                                                args.repeat)  # fmt: skip
            rows.append([label, str(count), statements, median])
            label, statements, median = measure(db, "weekly digest build", digest, args.repeat)
            rows.append([label, str(count), statements, median])
        seconds, statements, first = asyncio.run(through_handler(db, args.repeat))
        rows.append(["/branches year (handler)", str(args.branches), str(statements),
                     f"{seconds * 1000:.0f} ms"])  # fmt: skip
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        print(f"  answer begins: {first}")


def main() -> None:
    """Parse the arguments and run each backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--branches", type=int, default=200)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.branches < GENERAL_BRANCHES:
        parser.error(f"--branches must be at least {GENERAL_BRANCHES}")
    for name in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        run(name, args)


if __name__ == "__main__":
    main()
