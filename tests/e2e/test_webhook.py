"""`branchbot run --webhook URL` as a real process: secret token, health, graceful SIGTERM."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.webhook import SECRET_HEADER
from tests.e2e.process import BotProcess, bot_env, free_port
from tests.fakes import updates
from tests.fakes.http_server import FakeBotApiServer

pytestmark = pytest.mark.e2e

SECRET = "e2e-webhook-secret_0123456789"
URL = "https://example.invalid/telegram"
MEMBER, INTRUDER = 1001, 2002


@pytest.fixture
def fake() -> Iterator[FakeBotApiServer]:
    """The fake Bot API over HTTP."""
    with FakeBotApiServer() as server:
        yield server


@pytest.fixture
def bot(fake: FakeBotApiServer, tmp_path: Path) -> Iterator[tuple[BotProcess, int]]:
    """The webhook bot, started and with its webhook set; yields (process, port)."""
    port = free_port()
    env = bot_env(
        fake,
        tmp_path,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
        LOG_LEVEL="DEBUG",  # the most talkative level must still keep the secrets
    )
    with BotProcess("run", "--webhook", URL, env=env, cwd=tmp_path) as proc:
        proc.wait_for(lambda: bool(fake.core.webhook.get("url")), what="setWebhook")
        proc.wait_for_log("event=bot.start")
        yield proc, port


def request(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any] | None]:
    """One HTTP request to the bot's server; returns (status, JSON body or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, None


def post_update(
    port: int, fake: FakeBotApiServer, update: dict[str, Any], secret: str | None
) -> int:
    """POST an update as Telegram would (its sender has started the bot)."""
    fake.core.observe(update)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    status, _ = request(port, "POST", "/telegram", json.dumps(update).encode(), headers)
    return status


def test_webhook_is_set_with_the_secret_token(
    bot: tuple[BotProcess, int], fake: FakeBotApiServer
) -> None:
    webhook = fake.core.webhook
    assert webhook["url"] == URL
    assert webhook["secret_token"] == SECRET
    assert "callback_query" in webhook["allowed_updates"]
    assert "message" in webhook["allowed_updates"]


def test_update_with_the_secret_gets_a_reply(
    bot: tuple[BotProcess, int], fake: FakeBotApiServer
) -> None:
    proc, port = bot
    assert post_update(port, fake, updates.command("start", user_id=MEMBER), SECRET) == 200
    proc.wait_for(lambda: bool(fake.core.messages_to(MEMBER)), what="the reply to /start")
    assert "invite" in fake.core.messages_to(MEMBER)[0]["text"]


def test_update_without_or_with_a_wrong_secret_is_refused_and_logged(
    bot: tuple[BotProcess, int], fake: FakeBotApiServer
) -> None:
    proc, port = bot
    forged = updates.command("start", user_id=INTRUDER)
    assert post_update(port, fake, forged, None) == 403
    assert post_update(port, fake, forged, "not-the-secret") == 403
    assert post_update(port, fake, forged, SECRET[:-1]) == 403
    # A real update after them: once it is answered, the forged ones would have been too.
    assert post_update(port, fake, updates.command("start", user_id=MEMBER), SECRET) == 200
    proc.wait_for(lambda: bool(fake.core.messages_to(MEMBER)), what="the reply to /start")
    assert fake.core.messages_to(INTRUDER) == []
    proc.wait_for_log("reason=wrong_secret")
    assert "event=webhook.refused reason=missing_secret remote=127.0.0.1" in proc.stderr
    assert proc.stderr.count("event=webhook.refused") == 3


def test_malformed_bodies_get_400_and_the_bot_carries_on(
    bot: tuple[BotProcess, int], fake: FakeBotApiServer
) -> None:
    proc, port = bot
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    for body in (b"{not json", b"[1, 2]", b'{"no_update_id": 1}', b"\xff\xfe", b""):
        status, _ = request(port, "POST", "/telegram", body, headers)
        assert status == 400, body
    assert request(port, "GET", "/telegram", headers=headers)[0] == 405
    assert request(port, "POST", "/elsewhere", b"{}", headers)[0] == 404
    assert post_update(port, fake, updates.command("start", user_id=MEMBER), SECRET) == 200
    proc.wait_for(lambda: bool(fake.core.messages_to(MEMBER)), what="the reply to /start")


def test_health_endpoint_reports_ok(bot: tuple[BotProcess, int]) -> None:
    _, port = bot
    assert request(port, "GET", "/healthz") == (200, {"status": "ok", "db": "ok"})


def test_sigterm_finishes_the_send_in_flight_and_exits_0_within_8_s(
    bot: tuple[BotProcess, int], fake: FakeBotApiServer
) -> None:
    proc, port = bot
    fake.core.delay_next("sendMessage", 1.5)  # Telegram is slow to answer this one
    assert post_update(port, fake, updates.command("start", user_id=MEMBER), SECRET) == 200
    proc.wait_for(lambda: fake.core.count("sendMessage") >= 1, what="the reply in flight")

    code, seconds = proc.terminate(timeout=8.0)

    assert code == 0, proc.tail()
    assert seconds < 8.0
    logs = proc.stderr
    assert "event=bot.stopped" in logs
    assert "CancelledError" not in logs and "Traceback" not in logs, proc.tail()
    assert len(fake.core.messages_to(MEMBER)) == 1
    assert fake.core.token.split(":", 1)[1] not in logs
    assert SECRET not in logs


def test_webhook_mode_without_a_secret_refuses_to_start(
    fake: FakeBotApiServer, tmp_path: Path
) -> None:
    env = bot_env(fake, tmp_path, WEBHOOK_PORT=str(free_port()))
    with BotProcess("run", "--webhook", URL, env=env, cwd=tmp_path) as proc:
        proc.wait_for(lambda: not proc.running, what="the refusal")
        assert proc.returncode == 1
        assert "WEBHOOK_SECRET" in proc.stderr
    assert fake.core.webhook == {}


def test_a_plain_http_webhook_url_is_refused(fake: FakeBotApiServer, tmp_path: Path) -> None:
    env = bot_env(fake, tmp_path, WEBHOOK_SECRET=SECRET, WEBHOOK_PORT=str(free_port()))
    with BotProcess("run", "--webhook", "http://example.invalid/hook", env=env, cwd=tmp_path) as p:
        p.wait_for(lambda: not p.running, what="the refusal")
        assert p.returncode == 1
        last = p.stderr.strip().splitlines()[-1]
        assert last.startswith("branchbot: ") and "https://" in last
        assert "Traceback" not in p.stderr


def test_health_port_in_webhook_mode_counts_requests_and_serves_metrics(
    fake: FakeBotApiServer, tmp_path: Path
) -> None:
    port, health_port = free_port(), free_port()
    env = bot_env(
        fake,
        tmp_path,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
        HEALTH_PORT=str(health_port),
    )
    with BotProcess("run", "--webhook", URL, env=env, cwd=tmp_path) as proc:
        proc.wait_for_log("event=bot.start")
        status, facts = request(health_port, "GET", "/healthz")
        assert status == 200 and facts is not None
        assert facts["mode"] == "webhook" and facts["last_webhook_request_s"] is None
        assert post_update(port, fake, updates.command("start", user_id=MEMBER), SECRET) == 200
        status, facts = request(health_port, "GET", "/healthz")
        assert facts is not None and facts["last_webhook_request_s"] is not None
        conn = http.client.HTTPConnection("127.0.0.1", health_port, timeout=10)
        conn.request("GET", "/metrics")
        metrics = conn.getresponse().read().decode()
        conn.close()
        code, _ = proc.terminate(timeout=8.0)
    assert code == 0, proc.tail()
    assert "# TYPE branchbot_reminders_total counter" in metrics
    assert "branchbot_ledger_backlog" in metrics
    assert "version=" in proc.stderr
