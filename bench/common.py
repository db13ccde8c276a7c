"""Shared set-up of the reminder benchmarks: a fake Bot API process, a seeded database, the app.

Run from the repository root with the project's venv, e.g. `.venv/bin/python bench/fanout.py`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from bot.app import BranchApp, build_application  # noqa: E402
from bot.context import Services  # noqa: E402
from bot.ratelimit import BranchRateLimiter  # noqa: E402
from bot.settings import Settings  # noqa: E402
from scheduler.dispatch import Dispatcher  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Branch, Member, PartyGroup  # noqa: E402
from tests.fakes.clock import FrozenClock  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "BRANCHBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
UTC = dt.UTC
# Monday 2026-03-02 08:00 Shanghai: the weekly digest and the meeting's on-the-day reminder.
DUE = dt.datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
PLAN = """
version = 1
name = { zh_CN = "基准", en = "Benchmark" }
[[items]]
id = "meet"
kind = "meeting"
audience = "all"
title = { zh_CN = "党员大会", en = "General meeting" }
rhythm = { every = "month", day = 2 }
time = "15:00"
duration_minutes = 120
reminders = [{ days_before = 0, at = "08:00" }]
"""


class FakeServer:
    """bench/fake_server.py as a child process, driven over its stdin/stdout."""

    def __init__(self, scale: float, rtt_ms: float = 0.0) -> None:
        self.scale = scale
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "fake_server.py"), str(scale), str(rtt_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = json.loads(self._line())
        self.base_url: str = hello["base_url"]
        self.token: str = hello["token"]

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline()

    def call(self, op: str, **kw: Any) -> Any:
        """Send one command and return its answer."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self._line())

    def close(self) -> None:
        """Stop the server process."""
        with contextlib.suppress(Exception):
            assert self.proc.stdin is not None
            self.proc.stdin.write('{"op": "quit"}\n')
            self.proc.stdin.flush()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@contextlib.contextmanager
def database(kind: str) -> Iterator[Database]:
    """A fresh database: an SQLite file, or a throw-away PostgreSQL database."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
            db.upgrade()
            yield db
            db.dispose()
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"bb_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        db = Database(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
        db.upgrade()
        yield db
        db.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(db: Database, *, branches: int, members: int, first_id: int = 10_001) -> int:
    """Branches of `members` linked members each (1 in 20 on the committee; every other branch
    also posts to a group chat). Returns the number of members."""
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    uid = first_id
    with db.transaction() as s:
        for b in range(branches):
            branch = Branch(
                name=f"Branch {b:02d}",
                timezone="Asia/Shanghai",
                locale="zh_CN" if b % 2 else "en",
                created_at=now,
                plan_toml=PLAN,
                delivery_mode="both" if b % 2 else "direct",
                group_chat_id=-1_000_000 - b if b % 2 else None,
            )
            s.add(branch)
            s.flush()
            group = PartyGroup(branch_id=branch.id or 0, name="第一党小组")
            s.add(group)
            s.flush()
            rows = []
            for n in range(members):
                rows.append({
                    "branch_id": branch.id, "name": f"Member {b:02d}-{n:04d}", "telegram_id": uid,
                    "role": "committee" if n % 20 == 0 else "member", "group_id": group.id,
                    "dues_amount": Decimal("12.50"), "status": "full", "active": True,
                    "linked_at": now,
                })  # fmt: skip
                uid += 1
            s.execute(insert(Member), rows)
    return uid - first_id


def build(db: Database, server: FakeServer, *, rate: float, private: float, group: float,
          clock: FrozenClock, burst: int = 3) -> tuple[BranchApp, Dispatcher]:  # fmt: skip
    """The production Application wired to the fake server over real HTTP."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=server.token,
        telegram_api_base=server.base_url,
        database_url=db.url,
        send_rate_per_s=rate,
        private_rate_per_s=private,
        group_rate_per_min=group,
    )
    services = Services(settings=settings, db=db, clock=clock)
    app = build_application(services)
    assert services.dispatcher is not None
    limiter = app.bot.rate_limiter
    assert isinstance(limiter, BranchRateLimiter)
    limiter.global_burst = burst  # Telegram's tolerance for short bursts, scaled like its rates
    return app, services.dispatcher


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of sorted values."""
    if not values:
        return float("nan")
    rank = max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))
    return sorted(values)[rank]
