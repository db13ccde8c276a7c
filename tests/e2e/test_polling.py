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
