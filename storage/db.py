"""Engine, transactions and migrations, the same on SQLite (default) and PostgreSQL.

SQLite is put in WAL mode with foreign keys on and a busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes
fails at once with "database is locked", whatever the busy timeout.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"
# Who holds a connection at the same time: the bot's event loop and the threads of asyncio's
# default executor, min(32, CPUs + 4), where the dispatcher, exports, charts and (on PostgreSQL)
# the taps' use cases run; however many updates are in progress, no more than that.
POOL_SIZE = 5
POOL_MAX = min(32, (os.cpu_count() or 1) + 4) + 1


class DatabaseError(RuntimeError):
    """The database cannot be used; the message is one line for the user."""


def parse_database_url(url: str) -> URL:
    """Parse DATABASE_URL; `postgres://` (as many hosts and compose files write it) is PostgreSQL.

    A malformed URL is refused without repeating it: it may hold a password.
    """
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018  (a port that is not a number raises only when read)
    except (ArgumentError, ValueError):
        # ValueError: SQLAlchemy's parser gives up on an unescaped `@` or `:` in the password or
        # a port that is not a number; its message would quote the URL's pieces.
        raise DatabaseError(
            "DATABASE_URL is not a database URL (expected e.g. sqlite:///branchbot.db or "
            "postgresql://USER@HOST/DBNAME)"
        ) from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for `url`; SQLite gets WAL, foreign keys and immediate writes."""
    parsed = parse_database_url(url)
    if not parsed.drivername.startswith("sqlite"):
        try:
            return create_engine(
                parsed,
                echo=echo,
                pool_pre_ping=True,
                pool_size=POOL_SIZE,
                max_overflow=max(0, POOL_MAX - POOL_SIZE),
            )
        except (NoSuchModuleError, ImportError) as exc:
            raise DatabaseError(
                f"DATABASE_URL: unsupported database {parsed.drivername!r} "
                "(use sqlite:///FILE or postgresql://...)"
            ) from exc
    memory = parsed.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if memory:
        kwargs["poolclass"] = StaticPool  # one shared connection, as the SQLModel docs advise
    engine = create_engine(parsed, echo=echo, **kwargs)
    _configure_sqlite(engine, wal=not memory)
    return engine


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN, so that it can be BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = "DEFERRED" if connection.get_execution_options().get("readonly") else "IMMEDIATE"
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """An engine plus the transaction helpers every use case goes through."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)

    @property
    def dialect(self) -> str:
        """The backend's name: 'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: commit on success, roll back on any exception."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction that never takes SQLite's write lock."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(readonly=True)
            with Session(bind=conn, expire_on_commit=False) as session:
                try:
                    yield session
                finally:
                    # close(), not rollback(): loaded objects stay usable after the block.
                    session.close()

    def check(self) -> None:
        """Fail with a one-line DatabaseError if the database cannot be reached."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseError(
                f"cannot reach the database ({_safe(self.url)}): {reason}"
            ) from exc

    def upgrade(self) -> None:
        """Create the schema or bring it to the newest migration; safe to repeat."""
        self.check()
        with self.engine.begin() as conn:
            cfg = alembic_config(self.url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return parse_database_url(url).render_as_string(hide_password=True)
    except DatabaseError:
        return "<invalid url>"
