"""Shared fixtures: a clock, and databases on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.db import Database
from tests.fakes.clock import FrozenClock

if TYPE_CHECKING:
    from tests.fakes.bot_api import FakeTelegram
    from tests.harness import Harness

PG_ADMIN_URL = os.environ.get(
    "BRANCHBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# CI sets this so that an unreachable PostgreSQL fails the run instead of skipping tests.
REQUIRE_PG = os.environ.get("BRANCHBOT_REQUIRE_POSTGRES") == "1"


@pytest.fixture
def clock() -> FrozenClock:
    """A clock frozen at Monday 2026-03-02 09:00 Shanghai (01:00 UTC)."""
    return FrozenClock(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test run, migrated to head."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"bb_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    db.upgrade()
    db.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """An empty database with the full schema, on each backend."""
    if request.param == "sqlite":
        database = Database("sqlite://")
        SQLModel.metadata.create_all(database.engine)
        yield database
        database.dispose()
        return
    database = Database(request.getfixturevalue("pg_url"))
    _truncate(database)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db() -> Iterator[Database]:
    """An empty in-memory SQLite database (for tests that need only one backend)."""
    database = Database("sqlite://")
    SQLModel.metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def api() -> FakeTelegram:
    """The in-process fake Bot API."""
    from tests.fakes.bot_api import FakeTelegram

    return FakeTelegram()


@pytest.fixture
async def harness(db: Database, clock: FrozenClock, api: FakeTelegram) -> AsyncIterator[Harness]:
    """The real Application wired to the fake API, on each database backend."""
    from tests.harness import Harness, settings_for

    h = Harness(db, clock, api, settings_for(api))
    await h.start()
    try:
        yield h
    finally:
        await h.stop()
