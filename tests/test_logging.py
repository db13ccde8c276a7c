"""Logs: structured lines, and the bot token (or its secret half) never in any record."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import Update
from telegram.error import TimedOut
from telegram.ext import CommandHandler

from bot.app import build_application
from bot.context import BranchApp, BranchContext, Services
from bot.logging_setup import (
    MASK,
    JsonFormatter,
    KeyValueFormatter,
    configure_logging,
    log_event,
    uninstall_redaction,
)
from storage.db import Database
from tests import harness
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.fakes.http_server import FakeBotApiServer

USER = 1001
# Shaped like a real token (10 digits, 35-character secret half) so that nothing but the
# configured secrets could catch it if the pattern-based redaction were removed.
TOKEN = "5123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw7"
SECRET_HALF = TOKEN.split(":")[1]
WEBHOOK_SECRET = "wh-secret-0123456789abcdef"
LOUD = ("httpx", "httpcore", "telegram", "apscheduler", "tornado.access")


@pytest.fixture
def logs() -> Iterator[logging.Handler]:
    """Our logging configuration for one test, undone afterwards."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), {n: logging.getLogger(n).level for n in LOUD})
    handler = configure_logging("DEBUG", secrets=[TOKEN, WEBHOOK_SECRET])
    try:
        yield handler
    finally:
        uninstall_redaction()
        root.setLevel(saved[0])
        for h in list(root.handlers):
            if h not in saved[1]:
                root.removeHandler(h)
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)


def assert_clean(caplog: pytest.LogCaptureFixture) -> None:
    """No record, formatted line or traceback holds the token or its secret half."""
    assert caplog.records, "nothing was logged: the test would prove nothing"
    for record in caplog.records:
        texts = [record.getMessage(), caplog.handler.format(record)]
        texts.append(KeyValueFormatter().format(record))
        texts.append(JsonFormatter().format(record))
        if record.exc_info and record.exc_info[1] is not None:
            texts.append("".join(traceback.format_exception(record.exc_info[1])))
        for text in texts:
            assert SECRET_HALF not in text, f"token leaked by {record.name}: {text[:300]}"
            assert WEBHOOK_SECRET not in text, f"secret leaked by {record.name}"
    assert SECRET_HALF not in caplog.text


@pytest.fixture
def fake() -> Iterator[FakeBotApiServer]:
    """The fake Bot API over real HTTP (so that httpx and its logging are really used)."""
    core = FakeTelegram(token=TOKEN)
    core.started(USER)
    with FakeBotApiServer(core) as server:
        yield server


@pytest.fixture
async def app(
    fake: FakeBotApiServer, sqlite_db: Database, clock: FrozenClock
) -> AsyncIterator[BranchApp]:
    """The production Application talking HTTP to the fake."""
    settings = harness.settings_for(fake.core, telegram_api_base=fake.base_url)
    application = build_application(Services(settings=settings, db=sqlite_db, clock=clock))
    yield application
    if application._initialized:  # the test may not have got that far
        await application.shutdown()


async def test_token_never_reaches_a_log_record_or_traceback(
    logs: logging.Handler,
    caplog: pytest.LogCaptureFixture,
    fake: FakeBotApiServer,
    app: BranchApp,
) -> None:
    """Initialise, send, a 429, a timeout and a crashing handler, everything at DEBUG."""
    caplog.set_level(logging.DEBUG)
    for name in LOUD:  # louder than production on purpose: httpx logs URLs with the token
        caplog.set_level(logging.DEBUG, logger=name)

    async def boom(update: Update, context: BranchContext) -> None:
        raise RuntimeError(f"POST {fake.base_url}{TOKEN}/sendMessage failed")

    app.add_handler(CommandHandler("boom", boom), group=-3)  # before any gate
    await app.initialize()
    await app.bot.send_message(USER, "hello")
    fake.core.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await app.bot.send_message(USER, "after the flood wait")  # AIORateLimiter retries
    fake.core.delay_next("sendMessage", 2.0)
    with pytest.raises(TimedOut):
        await app.bot.send_message(USER, "too slow", read_timeout=0.2)
    logging.getLogger("bot.test").exception("send failed")
    await app.process_update(Update.de_json(updates.command("boom", user_id=USER), app.bot))

    assert fake.core.count("sendMessage", status=429) == 1
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx did log
    assert any(
        "unhandled error" in r.getMessage() and r.exc_info for r in caplog.records
    )  # the error handler logged the traceback
    assert_clean(caplog)
    assert any(MASK in r.getMessage() for r in caplog.records)


def test_exception_messages_are_redacted_in_place(
    logs: logging.Handler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    try:
        try:
            raise KeyError(f"https://api.telegram.org/bot{TOKEN}/getMe")
        except KeyError as inner:
            raise RuntimeError(f"secret {WEBHOOK_SECRET} refused") from inner
    except RuntimeError:
        logging.getLogger("bot.test").exception("startup failed for %s", TOKEN)
    assert_clean(caplog)


def test_a_token_we_were_not_told_about_is_redacted_too(
    logs: logging.Handler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    other = "7000000001:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"
    logging.getLogger("bot.test").info("old token %s rotated", other)
    assert other.split(":")[1] not in caplog.text
    assert MASK in caplog.text


def test_noisy_libraries_stay_at_warning_and_telegram_at_info(logs: logging.Handler) -> None:
    configure_logging("DEBUG", secrets=[TOKEN])
    for name in ("httpx", "httpcore", "apscheduler", "tornado.access"):
        assert logging.getLogger(name).level == logging.WARNING, name
    assert logging.getLogger("telegram").level == logging.INFO
    configure_logging("ERROR", secrets=[TOKEN])
    assert logging.getLogger("telegram").level == logging.ERROR
    assert logging.getLogger("httpx").level == logging.ERROR


def test_configure_logging_twice_keeps_one_handler(logs: logging.Handler) -> None:
    configure_logging("INFO")
    configure_logging("INFO", fmt="json")
    ours = [h for h in logging.getLogger().handlers if type(h) is type(logs)]
    assert ours == [logs]
    assert isinstance(logs.formatter, JsonFormatter)


def test_events_render_as_key_value_lines(
    logs: logging.Handler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    log_event(
        logging.getLogger("bot.dispatch"),
        "fanout.done",
        branch=3,
        item="dues day",
        sent=40,
        blocked=2,
        final=True,
    )
    record = caplog.records[-1]
    line = KeyValueFormatter().format(record)
    assert line.endswith(
        'INFO bot.dispatch event=fanout.done branch=3 item="dues day" sent=40 blocked=2 final=true'
    )
    assert (
        record.getMessage() == 'fanout.done branch=3 item="dues day" sent=40 blocked=2 final=true'
    )


def test_events_render_as_json_with_typed_fields(
    logs: logging.Handler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    log_event(logging.getLogger("bot.dispatch"), "retry_after", chat=-100, seconds=3.5)
    data = json.loads(JsonFormatter().format(caplog.records[-1]))
    assert data["event"] == "retry_after"
    assert data["chat"] == -100 and data["seconds"] == 3.5
    assert data["level"] == "INFO" and data["logger"] == "bot.dispatch"
    assert data["ts"].endswith("Z")


def test_event_fields_are_redacted(
    logs: logging.Handler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    log_event(logging.getLogger("bot.test"), "oops", url=f"https://x/bot{TOKEN}/getMe")
    record = caplog.records[-1]
    assert SECRET_HALF not in JsonFormatter().format(record)
    assert SECRET_HALF not in KeyValueFormatter().format(record)
    assert SECRET_HALF not in record.getMessage()


def test_plain_messages_are_quoted(
    logs: logging.Handler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("telegram.ext.Application").info("Application started")
    line = KeyValueFormatter().format(caplog.records[-1])
    assert line.endswith('INFO telegram.ext.Application msg="Application started"')
