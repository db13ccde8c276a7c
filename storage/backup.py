"""Online backup of the SQLite database while the bot keeps writing to it.

SQLite's backup API copies a consistent snapshot page by page; in WAL mode the copy reads one
snapshot while the bot's writers carry on. The copy is written next to the target under a
temporary name, checked with ``PRAGMA integrity_check`` and only then renamed into place, so a
failed or interrupted backup never leaves a half-written file under the name asked for.
PostgreSQL has its own tool for this (pg_dump), so it is refused with that hint.

`restore_sqlite` puts a backup back: see its docstring for how it knows no bot is running.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from storage.db import DatabaseError, parse_database_url


class BackupError(RuntimeError):
    """The backup cannot be made; the message is one line for the operator."""


@dataclass(frozen=True)
class BackupResult:
    """What was written: the file, its size in bytes and the rows of each table."""

    path: Path
    size: int
    rows: dict[str, int]


def sqlite_path(url: str, *, restoring: bool = False) -> Path:
    """The database file of an SQLite DATABASE_URL, or a BackupError saying what to do."""
    try:  # never repeats a malformed URL: it may hold a password
        parsed = parse_database_url(url)
    except DatabaseError as exc:
        raise BackupError(str(exc)) from None
    if parsed.get_backend_name() == "postgresql":
        if restoring:
            raise BackupError(
                "branchbot restore replaces SQLite files; for PostgreSQL use "
                "pg_restore --clean --dbname=DBNAME branchbot.dump"
            )
        raise BackupError(
            "branchbot backup copies SQLite files; for PostgreSQL use "
            "pg_dump --format=custom --file=branchbot.dump DBNAME"
        )
    if parsed.get_backend_name() != "sqlite":
        what = "restore" if restoring else "back up"
        raise BackupError(f"cannot {what} a {parsed.get_backend_name()} database")
    if parsed.database in (None, "", ":memory:") or parsed.database.startswith("file::memory:"):
        raise BackupError("DATABASE_URL names an in-memory SQLite database: nothing to back up")
    return Path(parsed.database)


def backup_sqlite(url: str, target: Path, *, force: bool = False) -> BackupResult:
    """Copy the live SQLite database at `url` to `target`; refuse to overwrite unless `force`."""
    source = sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"no database at {source} (run: branchbot init)")
    target = Path(target)
    if target.exists() and not force:
        raise BackupError(f"{target} exists; add --force to overwrite it")
    if target.is_dir():
        raise BackupError(f"{target} is a directory; give a file name")
    if target.resolve() == source.resolve():
        raise BackupError(f"{target} is the live database itself")
    folder = target.parent if str(target.parent) else Path()
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise BackupError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    os.close(fd)
    temp = Path(temp_name)
    try:
        rows = _copy(source, temp)
        os.replace(temp, target)
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {source} failed: {exc}") from None
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return BackupResult(path=target, size=target.stat().st_size, rows=rows)


def _copy(source: Path, temp: Path) -> dict[str, int]:
    """Back `source` up into `temp`, make the copy a single self-contained file, count rows."""
    # mode=ro: the backup never writes to the live database (and never creates one).
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(temp)
    try:
        src.backup(dst)  # one step: a consistent snapshot even while others write
        # The copy inherits WAL mode; a plain rollback journal makes it one portable file.
        dst.execute("PRAGMA journal_mode=DELETE")
        problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError(f"the copy fails integrity_check: {problems[0]}")
        return _row_counts(dst)
    finally:
        dst.close()
        src.close()


def _row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    counts = {}
    for table in tables:
        quoted = '"' + table.replace('"', '""') + '"'
        counts[table] = int(conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])
    return counts


# ---------------------------------------------------------------- restore

LOCK_SUFFIX = ".lock"


class BotRunningError(BackupError):
    """A bot holds the database's run lock."""


def lock_path(database: Path) -> Path:
    """The lock file next to an SQLite database, e.g. branchbot.db.lock."""
    return database.with_name(database.name + LOCK_SUFFIX)


@contextlib.contextmanager
def run_lock(url: str) -> Iterator[None]:
    """Held by `branchbot run` for its whole life on an SQLite file (nothing for PostgreSQL).

    A shared `flock` on DB.lock: several bot processes may hold it; a restore needs it
    exclusively, so it refuses while any bot runs, and a bot refuses to start mid-restore.
    The kernel drops the lock when the process ends, however it ends: no stale lock files.
    """
    try:
        path = sqlite_path(url)
    except BackupError:  # PostgreSQL or in-memory: restore does not apply
        yield
        return
    with _flock(lock_path(path), exclusive=False) as held:
        if not held:
            raise BotRunningError(
                f"a restore of {path} is in progress ({lock_path(path)} is locked); "
                "start the bot when it has finished"
            )
        yield


@contextlib.contextmanager
def _flock(path: Path, *, exclusive: bool) -> Iterator[bool]:
    """Try to take an flock on `path` without waiting; yield whether it was taken."""
    import fcntl  # POSIX only, like the systemd deployment

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise BackupError(f"cannot open the lock file {path}: {exc.strerror or exc}") from None
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the lock


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did."""

    database: Path
    source: Path
    size: int
    rows: dict[str, int]
    revision: str | None
    kept_aside: list[Path]
    removed: list[Path]


def restore_sqlite(url: str, backup: Path, *, stamp: str) -> RestoreResult:
    """Put `backup` in place of the SQLite database at `url`, keeping the current one aside.

    Refuses while a bot runs on the database (its run lock), and before touching anything
    checks that the backup is a sound SQLite database of branchbot's. The current file and its
    -wal/-shm are renamed to `<name>.before-restore-<stamp>` (the -wal may hold the newest
    committed writes, so it is kept with the file, not deleted); the restored file then has no
    -wal/-shm beside it that could be replayed onto it.
    """
    target = sqlite_path(url, restoring=True)
    backup = Path(backup)
    if not backup.is_file():
        raise BackupError(f"no backup file at {backup}")
    if target.exists() and backup.resolve() == target.resolve():
        raise BackupError(f"{backup} is the live database itself")
    rows, revision = _check_backup(backup)
    with _flock(lock_path(target), exclusive=True) as held:
        if not held:
            raise BotRunningError(
                f"a bot is running on {target} (it holds {lock_path(target)}); "
                "stop it first (e.g. systemctl stop branchbot), then restore"
            )
        folder = target.parent
        temp = folder / f".{target.name}.restore.tmp"
        try:
            _copy_file(backup, temp)
            kept, removed = _set_aside(target, stamp)
            os.replace(temp, target)
        except OSError as exc:
            raise BackupError(f"cannot restore into {target}: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
    return RestoreResult(target, backup, target.stat().st_size, rows, revision, kept, removed)


def _check_backup(backup: Path) -> tuple[dict[str, int], str | None]:
    """The backup's row counts and schema revision, or a BackupError if it is not sound."""
    try:
        conn = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise BackupError(f"{backup}: cannot open it as SQLite: {exc}") from None
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"{backup} fails SQLite's integrity check: {problems[0]}")
        rows = _row_counts(conn)
        if "branch" not in rows or "alembic_version" not in rows:
            raise BackupError(f"{backup} is an SQLite database but not a branchbot one")
        found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return rows, (str(found[0]) if found else None)
    except sqlite3.DatabaseError as exc:  # "file is not a database", a damaged header, ...
        raise BackupError(f"{backup} is not a sound SQLite database: {exc}") from None
    finally:
        conn.close()


def _copy_file(source: Path, temp: Path) -> None:
    with source.open("rb") as src, temp.open("wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())


def _set_aside(target: Path, stamp: str) -> tuple[list[Path], list[Path]]:
    """Rename the database and its -wal/-shm out of the way; return (kept, removed)."""
    kept: list[Path] = []
    removed: list[Path] = []
    aside = target.with_name(f"{target.name}.before-restore-{stamp}")
    if target.exists():
        os.replace(target, aside)
        kept.append(aside)
    for suffix in ("-wal", "-shm", "-journal"):
        side = target.with_name(target.name + suffix)
        if not side.exists():
            continue
        if suffix == "-shm" or not kept:  # the shared-memory index is rebuilt; nothing to keep
            side.unlink()
            removed.append(side)
        else:
            os.replace(side, aside.with_name(aside.name + suffix))
            kept.append(aside.with_name(aside.name + suffix))
    return kept, removed
