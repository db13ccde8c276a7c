"""DATABASE_URL as operators write it: postgres:// works, a bad URL never shows its password."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import __version__
from bot.cli import main
from storage.backup import BackupError, sqlite_path
from storage.db import Database, DatabaseError, parse_database_url

BAD = "postgresql:/u:secretpw@h/db"


def test_postgres_scheme_means_postgresql() -> None:
    assert parse_database_url("postgres://u:pw@h:5432/db").drivername == "postgresql+psycopg"
    assert parse_database_url("postgresql://u:pw@h/db").drivername == "postgresql+psycopg"


@pytest.mark.postgres
def test_postgres_scheme_reaches_the_test_database(pg_url: str) -> None:
    scheme, rest = pg_url.split("://", 1)
    assert scheme.startswith("postgresql")
    db = Database("postgres://" + rest)
    try:
        db.check()
        assert db.dialect == "postgresql"
    finally:
        db.dispose()


@pytest.mark.parametrize("url", [BAD, "://secretpw@", "mysql+nodriver://u:secretpw@h/db"])
def test_a_malformed_url_is_one_line_without_its_password(url: str) -> None:
    with pytest.raises(DatabaseError) as info:
        Database(url)
    assert "secretpw" not in str(info.value)
    assert "\n" not in str(info.value)


def test_backup_never_prints_the_password_of_a_malformed_url() -> None:
    with pytest.raises(BackupError) as info:
        sqlite_path(BAD)
    assert "secretpw" not in str(info.value)
    with pytest.raises(BackupError, match="pg_dump"):
        sqlite_path("postgres://u:secretpw@h/db")


@pytest.mark.parametrize("command", [["init"], ["backup", "x.db"], ["restore", "x.db"]])
def test_cli_says_one_line(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.db").write_bytes(b"")
    monkeypatch.setenv("DATABASE_URL", BAD)
    assert main(command) == 1
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and "secretpw" not in err + out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"branchbot {__version__}"
