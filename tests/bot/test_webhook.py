"""The webhook server in-process: secret token, malformed bodies, health, shutdown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot.app import build_application
from bot.context import BranchApp, Services
from bot.webhook import (
    SECRET_HEADER,
    WebhookError,
    WebhookState,
    make_web_app,
    webhook_target,
)
from storage.db import Database
from tests import harness
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock

SECRET = "test-secret_0123456789"
TOKEN = "123456:TEST-token-abcdefghij"
USER = 1001


# ---------------------------------------------------------------- the URL and path (tier 1)


@pytest.mark.parametrize(
    ("url", "expected_url", "path"),
    [
        ("https://bot.example.org/telegram", "https://bot.example.org/telegram", "/telegram"),
        ("https://bot.example.org", "https://bot.example.org/telegram", "/telegram"),
        ("https://bot.example.org/", "https://bot.example.org/telegram", "/telegram"),
        (
            "https://bot.example.org:8443/tg/hook/",
            "https://bot.example.org:8443/tg/hook",
            "/tg/hook",
        ),
        ("https://bot.example.org/hook#frag", "https://bot.example.org/hook", "/hook"),
    ],
)
def test_webhook_path_comes_from_the_url(url: str, expected_url: str, path: str) -> None:
    target = webhook_target(url, token=TOKEN)
    assert (target.url, target.path) == (expected_url, path)


@pytest.mark.parametrize(
    "url",
    [
        "http://bot.example.org/telegram",
        "bot.example.org/telegram",
        "https:///telegram",
        "https://bot.example.org/healthz",
        f"https://bot.example.org/{TOKEN}",
        f"https://bot.example.org/hook/{TOKEN.split(':')[1]}",
    ],
)
def test_unusable_webhook_urls_are_refused(url: str) -> None:
    with pytest.raises(WebhookError):
        webhook_target(url, token=TOKEN)


# ---------------------------------------------------------------- the server (tier 3)


@dataclass
class Served:
    app: BranchApp
    state: WebhookState
    api: FakeTelegram
    client: httpx.AsyncClient

    async def post(self, body: Any, secret: str | None = SECRET) -> int:
        headers = {"Content-Type": b"application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret.encode()  # bytes: a header may hold non-ASCII
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = await self.client.post("/telegram", content=raw, headers=headers)
        return response.status_code

    async def settled(self) -> None:
        """Wait until every queued update has been handled."""
        await asyncio.wait_for(self.app.update_queue.join(), 10)


async def _serve(db: Database, clock: FrozenClock, api: FakeTelegram) -> AsyncIterator[Served]:
    settings = harness.settings_for(api)
    app = build_application(
        Services(settings=settings, db=db, clock=clock),
        request=api.request(),
        get_updates_request=api.request(),
    )
    await app.initialize()
    await app.start()
    state = WebhookState(app, SECRET, db)
    server = HTTPServer(make_web_app(state, "/telegram"))
    sockets = bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        try:
            yield Served(app, state, api, client)
        finally:
            server.stop()
            await server.close_all_connections()
            await app.stop()
            await app.shutdown()


@pytest.fixture
async def served(
    sqlite_db: Database, clock: FrozenClock, api: FakeTelegram
) -> AsyncIterator[Served]:
    """Our webhook server on a free port, feeding the real Application (in-process fake API)."""
    async for s in _serve(sqlite_db, clock, api):
        yield s


def start_update(user_id: int = USER) -> dict[str, Any]:
    return updates.command("start", user_id=user_id)


async def test_update_with_the_right_secret_is_handled(served: Served) -> None:
    served.api.started(USER)
    assert await served.post(start_update()) == 200
    await served.settled()
    assert len(served.api.messages_to(USER)) == 1


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET[:-1], SECRET + "x", "密钥"])
async def test_update_without_the_right_secret_is_refused_and_not_handled(
    served: Served, secret: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    served.api.started(USER)
    assert await served.post(start_update(), secret=secret) == 403
    await served.settled()
    assert served.api.messages_to(USER) == []
    assert served.state.received == 0 and served.state.refused == 1
    refusal = [r for r in caplog.records if getattr(r, "event", None) == "webhook.refused"]
    assert len(refusal) == 1
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"\xff", b"null", b"[]", b'"text"', b"{}", b'{"update_id": "1"}'],
)
async def test_a_body_that_is_not_an_update_gets_400(served: Served, body: bytes) -> None:
    assert await served.post(body) == 400
    assert served.state.received == 0


async def test_an_update_with_a_broken_message_gets_400_not_500(served: Served) -> None:
    assert await served.post({"update_id": 5, "message": {"text": "no chat, no date"}}) == 400
    assert await served.post({"update_id": 6, "callback_query": 3}) == 400


async def test_while_stopping_updates_get_503_so_telegram_retries(served: Served) -> None:
    served.api.started(USER)
    served.state.accepting = False
    assert await served.post(start_update()) == 503
    await served.settled()
    assert served.api.messages_to(USER) == []
    response = await served.client.get("/healthz")
    assert response.status_code == 503


async def test_health_is_ok_when_the_database_answers(served: Served) -> None:
    response = await served.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "db": "ok"})


async def test_health_is_503_when_the_database_is_down(
    clock: FrozenClock, api: FakeTelegram, tmp_path: Any
) -> None:
    down = Database(f"sqlite:///{tmp_path}/missing-dir/bot.db")
    async for served in _serve(down, clock, api):
        response = await served.client.get("/healthz")
        assert (response.status_code, response.json()) == (503, {"status": "error", "db": "down"})
    down.dispose()
