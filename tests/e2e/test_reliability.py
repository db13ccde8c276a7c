"""Reliability of the reminder engine as users run it: the real `python -m bot run` process.

Each test drives one or two bot processes against the fake Bot API over HTTP (with Telegram's
flood limits, scaled up x4 to keep the runs short), an SQLite file or a throw-away PostgreSQL
database, and a clock file (BRANCHBOT_CLOCK_FILE) that moves the processes' time.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from storage.db import Database
from storage.models import Attendance, Delivery, Occurrence
from tests.e2e.process import BotProcess, bot_env, set_clock
from tests.fakes.bot_api import FakeTelegram, FloodLimits
from tests.fakes.http_server import FakeBotApiServer
from tests.reminder_support import meeting_plan, seed

pytestmark = pytest.mark.e2e

SCALE = 4.0  # Telegram's limits x4: 1,000 reminders in ~10 s instead of ~40 s
DUE = dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC)  # Tuesday 09:00 Shanghai, 2 days before the 5th
PLAN = meeting_plan(reminders='[{ days_before = 2, at = "09:00" }]')
PG_ADMIN_URL = os.environ.get(
    "BRANCHBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def fake() -> Iterator[FakeBotApiServer]:
    """The fake Bot API over HTTP, enforcing Telegram's flood limits (scaled)."""
    with FakeBotApiServer(FakeTelegram(limits=FloodLimits(scale=SCALE))) as server:
        yield server


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"bb_e2e_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def env_for(fake: FakeBotApiServer, tmp: Path, url: str, clock: Path) -> dict[str, str]:
    return bot_env(
        fake,
        tmp,
        DATABASE_URL=url,
        BRANCHBOT_CLOCK_FILE=str(clock),
        DISPATCH_INTERVAL_S="1",
        SEND_RATE_PER_S=str(27 * SCALE),  # 90% of the fake's global cap
        PRIVATE_RATE_PER_S=str(SCALE),
        GROUP_RATE_PER_MIN=str(20 * SCALE),
    )


@pytest.fixture
def opened() -> Iterator[list[Database]]:
    """Databases a test opened, closed at its end (before a PostgreSQL one is dropped)."""
    dbs: list[Database] = []
    yield dbs
    for db in dbs:
        db.dispose()


def prepare(
    fake: FakeBotApiServer, url: str, members: int, plan: str = PLAN, *, keep: list[Database]
) -> Database:
    db = Database(url)
    keep.append(db)
    db.upgrade()
    seed(db, members=members, plan=plan)
    for n in range(members):
        fake.core.started(10_001 + n)
    return db


def per_chat(fake: FakeBotApiServer) -> Counter[int]:
    return Counter(int(m["chat_id"]) for m in fake.core.sent("sendMessage"))


def statuses(db: Database) -> Counter[str]:
    with db.read() as s:
        return Counter(s.exec(select(Delivery.status)).all())


def sent_counts(*procs: BotProcess) -> list[int]:
    """How many each process says it sent (its fan-out log lines)."""
    return [sum(int(n) for n in re.findall(r"(\d+) sent", p.stderr)) for p in procs]


def test_kill_9_mid_fanout_then_restart_reaches_everyone_with_bounded_duplicates(
    fake: FakeBotApiServer,
    tmp_path: Path,
    record_property: pytest.RecordProperty,
    opened: list[Database],
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db = prepare(fake, url, 1000, keep=opened)
    clock = tmp_path / "clock"
    set_clock(clock, DUE)
    env = env_for(fake, tmp_path, url, clock)
    with BotProcess("run", env=env, cwd=tmp_path) as first:
        first.wait_for(lambda: len(per_chat(fake)) >= 400, 60, what="400 reminders")
        first.kill()  # kill -9 in the middle of the fan-out
    in_flight = statuses(db)["sending"]
    delivered_before = len(per_chat(fake))
    assert 400 <= delivered_before < 1000
    with BotProcess("run", env=env, cwd=tmp_path) as second:
        second.wait_for(lambda: len(per_chat(fake)) == 1000, 90, what="every member")
        second.wait_for(lambda: statuses(db)["sent"] == 1000, 30, what="the ledger to settle")
        code, _seconds = second.terminate()
    duplicates = sum(n - 1 for n in per_chat(fake).values())
    record_property("duplicates_after_kill_9", duplicates)
    record_property("rows_in_flight_at_kill", in_flight)
    print(
        f"kill -9: {duplicates} duplicates; {in_flight} rows were claimed (in flight) at the kill"
    )
    assert code == 0
    assert duplicates <= in_flight  # only messages in flight at the kill can come twice
    assert fake.core.count("sendMessage", status=429) == 0


def test_sigterm_mid_fanout_exits_in_8_s_and_restart_misses_nothing_sends_nothing_twice(
    fake: FakeBotApiServer, tmp_path: Path, opened: list[Database]
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db = prepare(fake, url, 1000, keep=opened)
    clock = tmp_path / "clock"
    set_clock(clock, DUE)
    env = env_for(fake, tmp_path, url, clock)
    with BotProcess("run", env=env, cwd=tmp_path) as first:
        first.wait_for(lambda: len(per_chat(fake)) >= 300, 60, what="300 reminders")
        code, seconds = first.terminate(timeout=8.0)
    assert code == 0 and seconds < 8.0, first.tail()
    assert statuses(db)["sending"] == 0  # unsent rows were handed back, not left claimed
    assert len(per_chat(fake)) < 1000
    with BotProcess("run", env=env, cwd=tmp_path) as second:
        second.wait_for(lambda: len(per_chat(fake)) == 1000, 90, what="every member")
        second.wait_for(lambda: statuses(db)["sent"] == 1000, 30, what="the ledger to settle")
        second.terminate()
    assert max(per_chat(fake).values()) == 1  # zero duplicates


def test_downtime_sends_a_late_reminder_once_and_skips_one_for_a_started_event(
    fake: FakeBotApiServer, tmp_path: Path, opened: list[Database]
) -> None:
    """Down from 08:50 to 10:45: the 11:00 meeting's 09:00 reminder is sent late, once; the
    10:00 meeting's is recorded as skipped."""
    early = """
[[items]]
id = "early"
kind = "meeting"
audience = "all"
title = { zh_CN = "支委会", en = "Early meeting" }
rhythm = { every = "month", day = 3 }
time = "10:00"
duration_minutes = 30
reminders = [{ days_before = 0, at = "09:00" }]
"""
    plan = meeting_plan(day=3, time="11:00", reminders='[{ days_before = 0, at = "09:00" }]',
                        extra=early)  # fmt: skip
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db = prepare(fake, url, 3, plan, keep=opened)
    clock = tmp_path / "clock"
    set_clock(clock, DUE - dt.timedelta(minutes=10))  # 08:50
    env = env_for(fake, tmp_path, url, clock)
    with BotProcess("run", env=env, cwd=tmp_path) as before:
        before.wait_for(lambda: "Application started" in before.stderr, 30, what="start-up")
        time.sleep(1.5)  # one sweep: nothing is due yet
        before.terminate()
    assert fake.core.sent("sendMessage") == []
    set_clock(clock, DUE + dt.timedelta(hours=1, minutes=45))  # 10:45, after the downtime
    with BotProcess("run", env=env, cwd=tmp_path) as after:
        after.wait_for(lambda: len(fake.core.sent("sendMessage")) == 3, 30, what="catch-up")
        after.wait_for(lambda: statuses(db)["skipped"] == 3, 30, what="skips recorded")
        time.sleep(1.5)  # another sweep: still nothing more
        after.terminate()
    messages = fake.core.sent("sendMessage")
    assert len(messages) == 3 and per_chat(fake) == Counter({10001: 1, 10002: 1, 10003: 1})
    assert all("General meeting" in m["text"] and re.search(r"starts in 1\d minutes", m["text"])
               for m in messages)  # fmt: skip
    with db.read() as s:
        rows = s.exec(select(Delivery, Occurrence).join(Occurrence)).all()
    assert {(o.item_id, d.status) for d, o in rows} == {("meet", "sent"), ("early", "skipped")}


def test_two_replicas_on_postgresql_never_send_the_same_reminder_twice(
    fake: FakeBotApiServer,
    tmp_path: Path,
    pg_database: str,
    record_property: pytest.RecordProperty,
    opened: list[Database],
) -> None:
    db = prepare(fake, pg_database, 1000, keep=opened)
    clock = tmp_path / "clock"
    set_clock(clock, DUE)
    # A deploy overlap: both poll, and Telegram answers one of them 409 Conflict for a while.
    fake.core.fail_next(
        "getUpdates", 409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running", times=6,
    )  # fmt: skip
    env = env_for(fake, tmp_path, pg_database, clock)
    one, two = BotProcess("run", env=env, cwd=tmp_path), BotProcess("run", env=env, cwd=tmp_path)
    with one, two:
        one.wait_for(lambda: len(per_chat(fake)) == 1000, 120, what="every member")
        one.wait_for(lambda: statuses(db)["sent"] == 1000, 30, what="the ledger to settle")
        one.terminate()
        two.terminate()
    counts = per_chat(fake)
    shares = sent_counts(one, two)
    record_property("replica_shares", shares)
    print(f"two replicas: {shares} sends each, {sum(n - 1 for n in counts.values())} duplicates")
    assert len(counts) == 1000 and max(counts.values()) == 1
    assert fake.core.count("getUpdates", status=409) == 6


def test_sqlite_fanout_with_50_check_ins_a_second_never_locks(
    fake: FakeBotApiServer, tmp_path: Path, opened: list[Database]
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db = prepare(fake, url, 600, keep=opened)
    clock = tmp_path / "clock"
    set_clock(clock, DUE)
    env = env_for(fake, tmp_path, url, clock)
    errors: list[str] = []
    written = 0
    stop = threading.Event()

    def check_ins() -> None:
        """Another process-like writer: 50 check-ins a second, each its own transaction."""
        nonlocal written
        writer = Database(url)
        with writer.read() as s:
            occ = s.exec(select(Occurrence).where(Occurrence.key == "2026-03-05")).one()
        assert occ.id is not None
        member = 1
        while not stop.is_set() and member <= 600:
            began = time.monotonic()
            try:
                with writer.transaction() as s:
                    s.add(Attendance(occurrence_id=occ.id, member_id=member, state="attending",
                                     updated_at=DUE))  # fmt: skip
                written += 1
            except OperationalError as exc:
                errors.append(str(exc))
            member += 1
            time.sleep(max(0.0, 0.02 - (time.monotonic() - began)))
        writer.dispose()

    with BotProcess("run", env=env, cwd=tmp_path) as bot:
        bot.wait_for(lambda: statuses(db)["pending"] + statuses(db)["sent"] > 0, 30,
                     what="the fan-out to start")  # fmt: skip
        writer = threading.Thread(target=check_ins)
        writer.start()
        bot.wait_for(lambda: len(per_chat(fake)) == 600, 60, what="every member")
        stop.set()
        writer.join(30)
        bot.wait_for(lambda: statuses(db)["sent"] == 600, 30, what="the ledger to settle")
        bot.terminate()
    assert errors == []
    assert written >= 100
    assert "database is locked" not in bot.stderr
    with db.read() as s:
        assert len(s.exec(select(Attendance)).all()) == written
