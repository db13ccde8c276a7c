"""`branchbot restore`: backup -> damage -> restore -> the data is back; never under a running bot."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from storage.backup import BackupError, BotRunningError, restore_sqlite, run_lock
from storage.db import Database
from storage.models import Branch

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'live.db'}")
    return tmp_path


def _branches(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM branch ORDER BY name")]
    finally:
        conn.close()


def _add_branch(url: str, name: str) -> None:
    db = Database(url)
    db.upgrade()
    with db.transaction() as s:
        s.add(Branch(name=name, created_at=T0))
    db.dispose()


def test_backup_damage_restore_brings_the_data_back(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{workdir / 'live.db'}"
    _add_branch(url, "一支部")
    assert main(["backup", "backup.db"]) == 0
    _add_branch(url, "二支部")  # written after the backup
    live = workdir / "live.db"
    # as a crash leaves them: a write-ahead log and its index beside the file
    (workdir / "live.db-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\0" * 4092)
    (workdir / "live.db-shm").write_bytes(b"\0" * 32768)
    with live.open("r+b") as f:  # damage: overwrite the header and the first pages
        f.write(b"\0" * 8192)
    capsys.readouterr()

    assert main(["restore", "backup.db"]) == 0
    out = capsys.readouterr().out
    assert _branches(live) == ["一支部"]
    assert "restored" in out and "schema revision" in out
    assert not (workdir / "live.db-wal").exists() and not (workdir / "live.db-shm").exists()
    aside = sorted(workdir.glob("live.db.before-restore-*"))
    names = [re.sub(r"\d{8}T\d{6}Z", "STAMP", p.name) for p in aside]
    assert names == [  # the damaged file and its -wal kept, the -shm not
        "live.db.before-restore-STAMP",
        "live.db.before-restore-STAMP-wal",
    ]
    assert "kept the previous file as" in out
    assert "removed stale" in out and "live.db-shm" in out
    # the restored database is usable by the bot's own code
    db = Database(url)
    db.upgrade()
    db.dispose()


def test_restore_refuses_while_a_bot_runs_and_leaves_everything_alone(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'live.db'}"
    _add_branch(url, "一支部")
    assert main(["backup", "backup.db"]) == 0
    _add_branch(url, "二支部")
    with run_lock(url):  # what `branchbot run` holds for its whole life
        with pytest.raises(BotRunningError, match=r"a bot is running on .*live\.db\.lock"):
            restore_sqlite(url, workdir / "backup.db", stamp="x")
        with run_lock(url), pytest.raises(BotRunningError):  # a second bot may share it
            restore_sqlite(url, workdir / "backup.db", stamp="x")
    assert _branches(workdir / "live.db") == ["一支部", "二支部"]
    assert not list(workdir.glob("*before-restore*"))


def test_a_bot_does_not_start_during_a_restore(workdir: Path) -> None:
    from storage.backup import _flock, lock_path

    url = f"sqlite:///{workdir / 'live.db'}"
    _add_branch(url, "一支部")
    with _flock(lock_path(workdir / "live.db"), exclusive=True) as held:
        assert held
        with pytest.raises(BotRunningError, match="restore"), run_lock(url):
            pass


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a database at all" * 100, "not a sound SQLite database"),
        (None, "not a branchbot one"),
    ],
)
def test_a_bad_backup_is_refused_before_anything_moves(
    workdir: Path, content: bytes | None, message: str
) -> None:
    url = f"sqlite:///{workdir / 'live.db'}"
    _add_branch(url, "一支部")
    bad = workdir / "bad.db"
    if content is None:
        sqlite3.connect(bad).execute("CREATE TABLE t (x)").connection.close()
    else:
        bad.write_bytes(content)
    with pytest.raises(BackupError, match=message):
        restore_sqlite(url, bad, stamp="x")
    assert _branches(workdir / "live.db") == ["一支部"]
    assert not list(workdir.glob("*before-restore*"))


def test_restore_is_for_sqlite_only(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:secretpw@127.0.0.1:1/db")
    (workdir / "b.db").write_bytes(b"x")
    assert main(["restore", "b.db"]) == 1
    err = capsys.readouterr().err
    assert "pg_restore" in err and "secretpw" not in err
