"""Secrets never leave: token, webhook secret and database password in no output at all.

Secrets are planted in configuration and fed through every error path the bot has; then every
admin report, reply, log line and CLI error line is searched for them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy.exc
from telegram import Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import CommandHandler

from bot.cli import main
from bot.context import BranchContext
from bot.logging_setup import MASK, configure_logging, redact, uninstall_redaction, url_password
from storage.db import Database
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness, settings_for

TOKEN = "5123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw7"
SECRET_HALF = TOKEN.split(":")[1]
WEBHOOK_SECRET = "wh-secret-0123456789abcdef"
DB_PASSWORD = "Db-pa55word-xyz"
DATABASE_URL = f"postgresql+psycopg://branchbot:{DB_PASSWORD}@db.example:5432/branchbot"
ADMIN, USER = 7001, 1001
SECRETS = (SECRET_HALF, WEBHOOK_SECRET, DB_PASSWORD)


def _errors() -> dict[str, BaseException]:
    """Exceptions whose text carries a secret, each in its own way."""
    params = {"token": TOKEN, "url": DATABASE_URL}
    try:
        (b"\xff" + TOKEN.encode()).decode("utf-8")
    except UnicodeDecodeError as exc:
        exc.reason = f"bad byte near {TOKEN}"  # str() is built from attributes, not args
        decode = exc
    return {
        # SQLAlchemy appends the statement's parameters to str(), not to args
        "db": sqlalchemy.exc.IntegrityError("INSERT INTO t VALUES (?)", params, Exception("dup")),
        "decode": decode,
        "api": BadRequest(f"Bad Request: chat not found for /bot{TOKEN}/sendMessage"),
        "network": NetworkError(f"connect to {DATABASE_URL} failed; secret {WEBHOOK_SECRET}"),
        "markup": ValueError("a <tag> & 'quotes' in a plain message"),
    }


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked: {text[:300]}"


@pytest.fixture
def logs() -> Iterator[None]:
    """Logging as `branchbot run` configures it (secrets from the settings), at DEBUG."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    configure_logging("DEBUG", secrets=[TOKEN, WEBHOOK_SECRET, DB_PASSWORD])
    try:
        yield
    finally:
        uninstall_redaction()
        root.setLevel(saved[0])
        for h in list(root.handlers):
            if h not in saved[1]:
                root.removeHandler(h)


@pytest.fixture
async def bot(sqlite_db: Database, clock: FrozenClock, logs: None) -> AsyncIterator[Harness]:
    api = FakeTelegram(token=TOKEN)
    api.started(ADMIN)
    settings = settings_for(
        api,
        admin_telegram_ids=str(ADMIN),
        webhook_secret=WEBHOOK_SECRET,
        database_url=DATABASE_URL,
    )
    h = Harness(sqlite_db, clock, api, settings)
    errors = _errors()

    async def boom(update: Update, context: BranchContext) -> None:
        raise errors[(context.args or ["db"])[0]]

    h.app.add_handler(CommandHandler("boom", boom), group=-3)  # before every gate
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


@pytest.mark.parametrize("kind", ["db", "decode", "api", "network"])
async def test_no_secret_in_the_admin_report_the_reply_or_the_logs(
    bot: Harness, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await bot.feed(updates.command("boom", kind, user_id=USER))
    reports = bot.replies_to(ADMIN)
    assert len(reports) == 1 and reports[0].startswith("branchbot error: ")
    assert MASK in reports[0]  # something was there, and it was masked
    for text in [*reports, *bot.replies_to(USER), caplog.text]:
        assert_clean(text)
    for record in caplog.records:
        assert_clean(logging.Formatter().format(record))


async def test_a_failing_get_updates_is_one_line_without_the_token(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """While the Bot API is unreachable, polling reports each retry with no update: no
    traceback, no admin report (it could not be sent), and never the token in the URL."""
    caplog.set_level(logging.DEBUG)
    error = NetworkError(f"httpx.ConnectError: https://api.example/bot{TOKEN}/getUpdates")
    await bot.app.process_error(None, error)
    records = [r for r in caplog.records if r.name == "bot.handlers.errors"]
    assert [r.levelname for r in records] == ["WARNING"]
    assert records[0].exc_info is None and "unreachable" in records[0].getMessage()
    assert_clean(caplog.text)
    assert bot.replies_to(ADMIN) == []


async def test_the_admin_report_is_plain_text_not_html_escaped(bot: Harness) -> None:
    await bot.feed(updates.command("boom", "markup", user_id=USER))
    (report,) = bot.replies_to(ADMIN)
    assert "a <tag> & 'quotes' in a plain message" in report
    assert "&lt;" not in report and "&#x27;" not in report


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgresql:/u:secretpw@h/db", "secretpw"),  # malformed: one slash
        ("postgresql+psycopg://bb:s3cr%40t@db:5432/x", "s3cr@t"),
        ("postgresql://u:p@ss@h/d", "p@ss"),
        ("sqlite:///branchbot.db", None),
    ],
)
def test_url_passwords_are_found_and_masked(url: str, password: str | None) -> None:
    assert url_password(url) == password
    masked = redact(f"invalid DATABASE_URL {url!r}: cannot parse")
    if password:
        assert password not in masked and MASK in masked
    else:
        assert url in masked


@pytest.mark.parametrize(
    ("env", "argv"),
    [
        ({"DATABASE_URL": "postgresql:/u:secretpw-1@h/db"}, ["init"]),
        ({"DATABASE_URL": "postgresql://u:secretpw-1@127.0.0.1:1/db"}, ["init"]),
        # SQLAlchemy's parser raises ValueError on these, quoting the URL's pieces
        ({"DATABASE_URL": "postgresql://u:p@ss:secretpw-1@h/db"}, ["init"]),
        (
            {"DATABASE_URL": "postgresql://u:secretpw-1@h:notaport/db"},
            ["export-roster", "--branch", "x", "--out", "r.csv"],
        ),
        (
            {"DATABASE_URL": "postgres://u:secretpw-1@h:5432:5433/db"},
            ["preview", "--branch", "x", "--from", "2026-01-01", "--to", "2026-01-02"],
        ),
        ({"DATABASE_URL": "postgresql://u:secretpw-1@[::1/db"}, ["backup", "b.db"]),
        ({"BOT_TOKEN": "12:secretpw-1"}, ["init"]),  # a malformed token is not echoed
        (
            {"BOT_TOKEN": TOKEN, "WEBHOOK_SECRET": "secretpw-1"},
            ["run", "--webhook", "http://u:secretpw-1@example.org/hook"],
        ),
    ],
)
def test_cli_error_lines_carry_no_secret(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    argv: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bb.db'}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        code = main(argv)
    finally:
        uninstall_redaction()
    out, err = capsys.readouterr()
    assert code != 0 and err.startswith("branchbot: ")
    assert "secretpw-1" not in out + err


async def test_webhook_errors_log_no_secret(
    sqlite_db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Bodies that cannot be decoded, or break the update parser, carrying the secrets."""
    from tests.bot.test_webhook import SECRET, TOKEN, _serve

    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    configure_logging("DEBUG", secrets=[TOKEN, SECRET])
    caplog.set_level(logging.DEBUG)
    api = FakeTelegram(token=TOKEN)
    try:
        async for served in _serve(sqlite_db, clock, api):
            bodies: list[object] = [
                b"\xff\xfe" + TOKEN.encode() + SECRET.encode(),  # not UTF-8
                {"update_id": 1, "message": {"text": TOKEN, "date": "x" + SECRET}},  # de_json
                {"update_id": 2, "message": TOKEN},
            ]
            for body in bodies:
                assert await served.post(body) in (200, 400)
            assert await served.post({"update_id": 3}, secret=SECRET + TOKEN) == 403
            await served.settled()
    finally:
        uninstall_redaction()
        root.setLevel(saved[0])
        for h in list(root.handlers):
            if h not in saved[1]:
                root.removeHandler(h)
    assert caplog.records
    for text in [caplog.text, *(logging.Formatter().format(r) for r in caplog.records)]:
        assert TOKEN.split(":")[1] not in text and SECRET not in text
