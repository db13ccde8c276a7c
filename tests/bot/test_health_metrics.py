"""/healthz's judgement and the reminder engine's numbers on /metrics."""

from __future__ import annotations

import json
import urllib.request

from bot import reminders_job
from bot.context import BranchContext
from bot.health import Health, serve_health
from bot.metrics import LEDGER_BACKLOG, REGISTRY, REMINDERS
from storage.db import Database
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness
from tests.reminder_support import meeting_plan, seed


def _sent() -> float:
    return REMINDERS.labels(outcome="sent")._value.get()


async def test_a_dispatcher_run_counts_sent_reminders_and_the_backlog(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=3, plan=meeting_plan())
    for chat in (10001, 10002, 10003):
        api.started(chat)
    health = Health(clock, mode="polling", db=harness.db)
    harness.services.health = health
    before = _sent()
    dispatcher = harness.services.dispatcher
    assert dispatcher is not None
    dispatcher.flush_interval = 0.01
    harness.app.bot.rate_limiter.private_interval = 0.01  # type: ignore[union-attr]
    await reminders_job.dispatch_job(BranchContext(application=harness.app))
    assert len(api.sent("sendMessage")) == 3
    assert _sent() - before == 3
    assert LEDGER_BACKLOG._value.get() == 0
    assert health.last_tick == clock.now()


def test_healthz_turns_503_when_polling_or_the_dispatcher_stall(
    sqlite_db: Database, clock: FrozenClock
) -> None:
    health = Health(clock, mode="polling", db=sqlite_db, dispatch_interval_s=30)
    server = serve_health(health, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.port}"
    try:
        health.polled()
        health.ticked()
        assert _get(url + "/healthz")[0] == 200
        clock.advance(minutes=1)
        health.polled()
        clock.advance(minutes=2)  # the dispatcher's last tick is now 3 minutes old
        code, body = _get(url + "/healthz")
        assert code == 503
        facts = json.loads(body)
        assert facts["problems"] == ["the reminder dispatcher has not run recently"]
        health.ticked()
        clock.advance(minutes=3)
        health.ticked()
        code, body = _get(url + "/healthz")
        assert code == 503
        assert json.loads(body)["problems"] == ["no getUpdates answer for over 2 minutes"]
        code, body = _get(url + "/metrics")
        assert code == 200
        assert "# TYPE branchbot_reminders_total counter" in body
        assert body == _exposition()
    finally:
        server.close()


def test_webhook_mode_does_not_require_requests_from_telegram(
    sqlite_db: Database, clock: FrozenClock
) -> None:
    health = Health(clock, mode="webhook", db=sqlite_db)
    clock.advance(hours=5)
    health.ticked()
    ok, facts = health.status()
    assert ok, facts
    assert facts["last_webhook_request_s"] is None


def _exposition() -> str:
    from prometheus_client import generate_latest

    return generate_latest(REGISTRY).decode()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
