"""`branchbot run` (long polling) as a real process against the fake Bot API over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.process import BotProcess, bot_env
from tests.fakes import updates
from tests.fakes.http_server import FakeBotApiServer

pytestmark = pytest.mark.e2e

MEMBER = 1001


@pytest.fixture
def fake() -> Iterator[FakeBotApiServer]:
    """The fake Bot API over HTTP (long polls held up to 1 s)."""
    with FakeBotApiServer() as server:
        yield server


def test_polling_bot_answers_start_and_stops_cleanly_on_sigterm(
    fake: FakeBotApiServer, tmp_path: Path
) -> None:
    with BotProcess("run", env=bot_env(fake, tmp_path), cwd=tmp_path) as proc:
        proc.wait_for(lambda: fake.polls_started >= 1, what="the first getUpdates")
        fake.core.push_update(updates.command("start", user_id=MEMBER))
        proc.wait_for(lambda: bool(fake.core.messages_to(MEMBER)), what="the reply to /start")
        assert "invite" in fake.core.messages_to(MEMBER)[0]["text"]

        code, seconds = proc.terminate(timeout=8.0)

    assert code == 0, proc.tail()
    assert seconds < 8.0
    assert fake.core.pending_updates == 0  # the answered update was confirmed before exit
    assert fake.core.count("deleteWebhook") >= 1  # polling clears any webhook first
    logs = proc.stderr
    assert "Traceback" not in logs
    assert fake.core.token.split(":", 1)[1] not in logs


def test_polling_bot_with_a_rejected_token_exits_with_one_line(
    fake: FakeBotApiServer, tmp_path: Path
) -> None:
    env = bot_env(fake, tmp_path, BOT_TOKEN="123456:WRONG-token-abcdefghij")
    with BotProcess("run", env=env, cwd=tmp_path) as proc:
        proc.wait_for(lambda: not proc.running, what="the refusal")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("branchbot: Telegram refused to start the bot")
    assert "WRONG-token" not in proc.stderr  # PTB logs the InvalidToken text: redacted


def test_polling_bot_with_an_unreachable_bot_api_exits_with_one_line(
    fake: FakeBotApiServer, tmp_path: Path
) -> None:
    from tests.e2e.process import free_port

    env = bot_env(fake, tmp_path, TELEGRAM_API_BASE=f"http://127.0.0.1:{free_port()}/bot")
    with BotProcess("run", env=env, cwd=tmp_path) as proc:
        proc.wait_for(lambda: not proc.running, what="the refusal", timeout=60.0)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("branchbot: Telegram refused to start the bot: cannot reach")
    assert "Traceback" not in proc.stderr
    assert fake.core.token.split(":", 1)[1] not in proc.stderr


def test_a_rejected_token_is_one_line_without_a_traceback(
    fake: FakeBotApiServer, tmp_path: Path
) -> None:
    env = bot_env(fake, tmp_path, BOT_TOKEN="123456:WRONG-token-abcdefghij")
    with BotProcess("run", env=env, cwd=tmp_path) as proc:
        proc.wait_for(lambda: not proc.running, what="the refusal")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "branchbot: Telegram refused to start the bot: Telegram rejected BOT_TOKEN "
        "(check it with @BotFather; /token shows it again)"
    ]


def test_health_and_metrics_are_served_in_polling_mode(
    fake: FakeBotApiServer, tmp_path: Path
) -> None:
    import json
    import urllib.request

    from tests.e2e.process import free_port

    port = free_port()
    with BotProcess(
        "run", "--health-port", str(port), env=bot_env(fake, tmp_path), cwd=tmp_path
    ) as proc:
        proc.wait_for(lambda: fake.polls_started >= 2, what="a completed getUpdates")
        proc.wait_for_log("event=bot.start")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            health = json.loads(r.read())
            assert r.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        code, _ = proc.terminate(timeout=8.0)
    assert code == 0, proc.tail()
    assert health["mode"] == "polling" and health["db"] == "ok"
    assert health["last_get_updates_s"] is not None
    for series in (
        "branchbot_reminders_total",
        "branchbot_ledger_backlog",
        "branchbot_tap_answer_seconds_bucket",
        "branchbot_updates_in_flight",
    ):
        assert (
            series in metrics
            or f"# HELP {series.removesuffix('_total').removesuffix('_bucket')}" in metrics
        )
    from bot import __version__

    assert f"version={__version__}" in proc.stderr


def test_restore_refuses_while_the_bot_runs_then_works_once_it_stopped(
    fake: FakeBotApiServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    env = bot_env(fake, tmp_path)
    monkeypatch.setenv("DATABASE_URL", env["DATABASE_URL"])
    monkeypatch.chdir(tmp_path)
    with BotProcess("run", env=env, cwd=tmp_path) as proc:
        proc.wait_for(lambda: fake.polls_started >= 1, what="the first getUpdates")
        assert main(["backup", "backup.db"]) == 0  # online, while the bot runs
        capsys.readouterr()
        assert main(["restore", "backup.db"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("branchbot: a bot is running on") and "bot.db.lock" in err
        code, _ = proc.terminate(timeout=8.0)
    assert code == 0, proc.tail()
    assert main(["restore", "backup.db"]) == 0
    assert "restored" in capsys.readouterr().out
