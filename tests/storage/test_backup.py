"""`branchbot backup`: SQLite's online backup, consistent while the bot writes."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.cli import main
from storage import repositories as repo
from storage.backup import BackupError, backup_sqlite, restore_sqlite
from storage.db import Database
from storage.models import Branch

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def live(tmp_path: Path) -> tuple[str, int]:
    """A migrated SQLite file database in WAL mode with one branch; yields (url, branch id)."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    db = Database(url)
    db.upgrade()
    with db.transaction() as s:
        branch = Branch(name="一支部", created_at=T0)
        s.add(branch)
        s.flush()
        assert branch.id is not None
        branch_id = branch.id
    db.dispose()
    return url, branch_id


def _integrity(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]


def _audit_rows(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM auditentry").fetchone()[0])
    finally:
        conn.close()


class _Writer(threading.Thread):
    """Writes one audit row per transaction until told to stop, counting commits."""

    def __init__(self, url: str, branch_id: int) -> None:
        super().__init__(daemon=True)
        self.db = Database(url)
        self.branch_id = branch_id
        self.stop = threading.Event()
        self.committed = 0
        self.progress = threading.Condition()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                with self.db.transaction() as s:
                    repo.add_audit(s, branch_id=self.branch_id, action="test.write", at=T0)
                with self.progress:
                    self.committed += 1
                    self.progress.notify_all()
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            self.db.dispose()

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        with self.progress:
            assert self.progress.wait_for(lambda: self.committed >= count, timeout)


def test_backup_while_another_connection_writes_is_consistent(
    live: tuple[str, int], tmp_path: Path
) -> None:
    url, branch_id = live
    writer = _Writer(url, branch_id)
    writer.start()
    copies: list[tuple[int, int, Path, dict[str, int]]] = []
    try:
        for n in range(5):
            writer.wait_for(20 * (n + 1))
            before = writer.committed
            result = backup_sqlite(url, tmp_path / f"copy{n}.db")
            copies.append((before, writer.committed, result.path, result.rows))
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None
    previous = 0
    for before, after, path, rows in copies:
        assert _integrity(path) == ["ok"]
        in_copy = _audit_rows(path)
        # A snapshot: every row committed before the backup began, none invented (the writer
        # may have committed one more row than it had counted when `after` was read).
        assert before <= in_copy <= after + 1
        assert in_copy >= previous
        previous = in_copy
        assert rows["auditentry"] == in_copy
        assert rows["branch"] == 1
        assert rows["alembic_version"] == 1


def test_backup_is_one_self_contained_file(live: tuple[str, int], tmp_path: Path) -> None:
    url, _ = live
    target = tmp_path / "copy.db"
    result = backup_sqlite(url, target)
    assert result.size == target.stat().st_size > 0
    assert not Path(f"{target}-wal").exists()
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".copy")) == []


def test_backup_refuses_to_overwrite_unless_forced(live: tuple[str, int], tmp_path: Path) -> None:
    url, _ = live
    target = tmp_path / "copy.db"
    target.write_bytes(b"precious")
    with pytest.raises(BackupError, match="--force"):
        backup_sqlite(url, target)
    assert target.read_bytes() == b"precious"
    backup_sqlite(url, target, force=True)
    assert _integrity(target) == ["ok"]


def test_backup_refuses_the_live_file_itself(live: tuple[str, int], tmp_path: Path) -> None:
    url, _ = live
    with pytest.raises(BackupError, match="live database"):
        backup_sqlite(url, tmp_path / "live.db", force=True)
    assert _integrity(tmp_path / "live.db") == ["ok"]


def test_backup_refuses_postgresql_with_a_pg_dump_hint(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="pg_dump"):
        backup_sqlite("postgresql+psycopg://postgres@127.0.0.1/x", tmp_path / "c.db")
    assert not (tmp_path / "c.db").exists()


def test_restore_refuses_postgresql_with_a_pg_restore_hint(tmp_path: Path) -> None:
    (tmp_path / "b.db").write_bytes(b"")
    with pytest.raises(BackupError, match="pg_restore"):
        restore_sqlite("postgres://postgres@127.0.0.1/x", tmp_path / "b.db", stamp="t")


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_backup_refuses_an_in_memory_database(url: str, tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="in-memory"):
        backup_sqlite(url, tmp_path / "c.db")


def test_backup_of_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database"):
        backup_sqlite(f"sqlite:///{tmp_path / 'none.db'}", tmp_path / "c.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cli_backup_prints_size_and_row_counts(
    live: tuple[str, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, _ = live
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    assert main(["backup", "copy.db"]) == 0
    out, _ = capsys.readouterr()
    size = (tmp_path / "copy.db").stat().st_size
    assert f"copy.db ({size} bytes)" in out
    assert "branch 1" in out and "member 0" in out

    assert main(["backup", "copy.db"]) == 1
    _, err = capsys.readouterr()
    assert err.strip().count("\n") == 0 and "--force" in err
    assert main(["backup", "copy.db", "--force"]) == 0


def test_cli_backup_on_postgresql_exits_1_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/nowhere")
    assert main(["backup", "copy.db"]) == 1
    _, err = capsys.readouterr()
    assert err.startswith("branchbot: ") and "pg_dump" in err and err.count("\n") == 1
