"""Online backup of the SQLite database while the bot keeps writing to it.

SQLite's backup API copies a consistent snapshot page by page; in WAL mode the copy reads one
snapshot while the bot's writers carry on. The copy is written next to the target under a
temporary name, checked with ``PRAGMA integrity_check`` and only then renamed into place, so a
failed or interrupted backup never leaves a half-written file under the name asked for.
PostgreSQL has its own tool for this (pg_dump), so it is refused with that hint.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
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


def sqlite_path(url: str) -> Path:
    """The database file of an SQLite DATABASE_URL, or a BackupError saying what to do."""
    try:  # never repeats a malformed URL: it may hold a password
        parsed = parse_database_url(url)
    except DatabaseError as exc:
        raise BackupError(str(exc)) from None
    if parsed.get_backend_name() == "postgresql":
        raise BackupError(
            "branchbot backup copies SQLite files; for PostgreSQL use "
            "pg_dump --format=custom --file=branchbot.dump DBNAME"
        )
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(f"cannot back up a {parsed.get_backend_name()} database")
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
