"""`branchbot doctor`: one line per finding, non-zero exit when the bot would not start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from tests.fakes.http_server import FakeBotApiServer


@pytest.fixture
def fake() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer() as server:
        yield server


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeBotApiServer) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("WEBHOOK_URL", "WEBHOOK_SECRET", "HEALTH_PORT", "DEFAULT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bb.db'}")
    monkeypatch.setenv("BOT_TOKEN", fake.core.token)
    monkeypatch.setenv("TELEGRAM_API_BASE", fake.base_url)
    return tmp_path


def _doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    capsys.readouterr()  # drop what earlier commands printed
    code = main(["doctor", *args])
    return code, capsys.readouterr().out.splitlines()


def _line(lines: list[str], area: str) -> str:
    found = [line for line in lines if line.split(":")[0].split()[-1] == area]
    assert found, (area, lines)
    return found[0]


def test_a_ready_deployment(
    workdir: Path, fake: FakeBotApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0
    code, lines = _doctor(capsys)
    assert code == 0, lines
    assert lines[-1] == "ready to run"
    assert _line(lines, "telegram") == f"ok    telegram: token valid: @{fake.core.username}"
    assert _line(lines, "database").startswith("ok    database: sqlite at migration")
    assert _line(lines, "catalogs") == "ok    catalogs: zh_CN and en complete"
    assert _line(lines, "webhook").startswith("ok    webhook: none set")
    assert all(line.split()[0] in ("ok", "warn", "FAIL") for line in lines[:-1])


def test_a_leftover_webhook_while_polling_is_a_problem(
    workdir: Path, fake: FakeBotApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0
    fake.core.handle("setWebhook", {"url": "https://old.example/telegram"})
    code, lines = _doctor(capsys)
    assert code == 1
    assert _line(lines, "webhook").startswith("FAIL  webhook: a webhook is set (https://old.")


def test_offline_skips_telegram_and_a_rejected_token_fails(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123456:WRONG-token-abcdefghij")
    assert main(["init"]) == 0
    code, lines = _doctor(capsys, "--offline")
    assert code == 0
    assert _line(lines, "telegram") == "ok    telegram: not asked (--offline)"
    code, lines = _doctor(capsys)
    assert code == 1
    assert _line(lines, "telegram").startswith("FAIL  telegram: Telegram rejected BOT_TOKEN")
    assert "WRONG-token" not in "\n".join(lines)


def test_empty_database_bad_zone_and_missing_catalog(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import i18n

    monkeypatch.setattr(i18n, "LOCALES_DIR", workdir)
    code, lines = _doctor(capsys, "--offline")
    assert code == 1
    assert _line(lines, "database").startswith("warn  database: sqlite reachable but empty")
    assert _line(lines, "catalogs").startswith("FAIL  catalogs: zh_CN: no catalog under")


def test_unreachable_database_never_shows_its_password(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql:/u:secretpw@h/db")
    code, lines = _doctor(capsys, "--offline")
    assert code == 1
    assert _line(lines, "database").startswith(
        "FAIL  database: DATABASE_URL is not a database URL"
    )
    assert "secretpw" not in "\n".join(lines)


def test_invalid_settings_are_a_finding(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Mars/Olympus")
    code, lines = _doctor(capsys, "--offline")
    assert code == 1
    assert lines == ["FAIL  config: DEFAULT_TIMEZONE: unknown time zone 'Mars/Olympus'"]


def test_no_cjk_font_is_a_warning_not_a_failure(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.services import charts

    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    assert main(["init"]) == 0
    code, lines = _doctor(capsys, "--offline")
    assert code == 0
    assert _line(lines, "charts").startswith("warn  charts: no CJK font")
