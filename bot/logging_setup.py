"""Structured logs without secrets: key=value lines (or JSON), the bot token redacted everywhere.

The token is part of every Bot API URL (`/bot<TOKEN>/method`), and httpx logs request URLs at
INFO; exception texts can carry the URL too. So the redaction happens when a
record is *created* (a log record factory), before any handler - ours, a test's `caplog`, a
library's - sees it: the message, its arguments, the formatted traceback and the exception
messages themselves. Formatters redact their output once more.

Use `log_event(log, "fanout.done", branch=3, item="dues", sent=40, blocked=2)` (from
`storage.logevents`, re-exported here) for anything an operator may grep for: an event name plus
ids and counts, never names or message texts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal, TextIO
from urllib.parse import unquote, urlsplit

from storage.logevents import log_event, quote

__all__ = [
    "MASK",
    "REDACTOR",
    "JsonFormatter",
    "KeyValueFormatter",
    "Redactor",
    "configure_logging",
    "install_redaction",
    "log_event",
    "redact",
    "uninstall_redaction",
    "url_password",
]

MASK: Final = "[REDACTED]"
# A Bot API token anywhere (also one we were not told about, e.g. after a rotation).
_TOKEN_RE: Final = re.compile(r"\d{5,20}:[A-Za-z0-9_-]{30,}")
# The password of any URL, even a malformed one ("postgresql:/u:pw@h/db"): scheme, user, then
# everything up to the last "@" of the word.
_URL_PASSWORD_RE: Final = re.compile(
    r"\b([A-Za-z][A-Za-z0-9+.\-]*:/{0,2}[^\s/:@'\"]*:)[^\s'\"]+(?=@)"
)
_MIN_SECRET: Final = 8  # shorter values would redact ordinary words

# Loggers that must stay quiet whatever LOG_LEVEL says: httpx/httpcore log URLs (with the
# token); APScheduler logs every run of the dispatcher tick at INFO; tornado.access logs
# every webhook request.
# alembic logs every migration step at INFO on every command that checks the schema.
QUIET: Final = ("httpx", "httpcore", "apscheduler", "tornado.access", "alembic")

LogFormat = Literal["text", "json"]


class Redactor:
    """Replaces the configured secrets (and anything shaped like a bot token) with a mask."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()

    def set_secrets(self, values: Iterable[str | None]) -> None:
        """Redact these values from now on; a bot token's secret half is redacted on its own."""
        found: set[str] = set()
        for value in values:
            if not value:
                continue
            found.add(value)
            _, sep, half = value.partition(":")
            if sep:
                found.add(half)
        # Longest first, so that a token is masked whole before its secret half is.
        self._secrets = tuple(
            sorted((s for s in found if len(s) >= _MIN_SECRET), key=len, reverse=True)
        )

    def redact(self, text: str) -> str:
        """Return `text` without any secret."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _URL_PASSWORD_RE.sub(rf"\1{MASK}", text)
        return _TOKEN_RE.sub(MASK, text)

    def scrub(self, record: logging.LogRecord) -> None:
        """Redact a record in place: message, arguments, traceback and exception messages."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken %-format; logging reports it at emit time
            message = None
        if message is not None:
            clean = self.redact(message)
            if clean != message:
                record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            self._scrub_exception(record.exc_info[1])
            record.exc_text = self.redact(_plain.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)

    def _scrub_exception(self, exc: BaseException) -> None:
        """Redact the messages of an exception and its causes, in place."""
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            current.args = tuple(self.redact(a) if isinstance(a, str) else a for a in current.args)
            message = getattr(current, "message", None)  # telegram.error.TelegramError
            if isinstance(message, str):
                # A read-only property on some exception types.
                with contextlib.suppress(AttributeError):
                    current.message = self.redact(message)  # type: ignore[attr-defined]
            current = current.__cause__ or current.__context__


_plain = logging.Formatter()
REDACTOR: Final = Redactor()


def redact(text: object, secrets: Iterable[str | None] = ()) -> str:
    """`text` as a string without `secrets`, the configured ones, tokens or URL passwords.

    Call it wherever text leaves the process: a log line, an admin report, a CLI error line.
    """
    clean = REDACTOR.redact(str(text))
    extra = [s for s in secrets if s]
    if not extra:
        return clean
    own = Redactor()
    own.set_secrets(extra)
    return own.redact(clean)


def url_password(url: str | None) -> str | None:
    """The password in `url` (a database URL), if it has one; also for malformed URLs."""
    if not url:
        return None
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        return unquote(password)
    match = _URL_PASSWORD_RE.search(url)
    if match is None:
        return None
    return url[match.end(1) : url.rindex("@", match.end(1))] or None


class KeyValueFormatter(logging.Formatter):
    """`2026-03-02T01:00:00.123Z INFO bot.webhook event=webhook.refused reason=wrong_secret`."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record as a key=value line (a traceback follows on its own lines)."""
        head = f"{_timestamp(record)} {record.levelname} {record.name}"
        fields = getattr(record, "fields", None)
        event = getattr(record, "event", None)
        if isinstance(event, str) and isinstance(fields, Mapping):
            body = " ".join(
                [f"event={quote(event)}", *(f"{k}={quote(v)}" for k, v in fields.items())]
            )
        else:
            body = f"msg={quote(record.getMessage())}"
        line = f"{head} {body}"
        extra = _exception_text(self, record)
        return REDACTOR.redact(f"{line}\n{extra}" if extra else line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, then event and fields, or msg."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record as a JSON line."""
        data: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        event = getattr(record, "event", None)
        if isinstance(event, str) and isinstance(fields, Mapping):
            data["event"] = event
            data.update({k: v for k, v in fields.items() if k not in data})
        else:
            data["msg"] = record.getMessage()
        extra = _exception_text(self, record)
        if extra:
            data["exc"] = extra
        return REDACTOR.redact(json.dumps(data, ensure_ascii=False, default=str))


def _timestamp(record: logging.LogRecord) -> str:
    instant = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    parts = []
    if record.exc_info:
        if not record.exc_text:
            record.exc_text = formatter.formatException(record.exc_info)
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(formatter.formatStack(record.stack_info))
    return "\n".join(parts)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is now (so repeated CLI runs in one process behave)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignore: the stream is always the current standard error."""


def install_redaction(secrets: Iterable[str | None] = ()) -> None:
    """Redact `secrets` from every log record created from now on (idempotent)."""
    REDACTOR.set_secrets(secrets)
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_branchbot_redacting", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        REDACTOR.scrub(record)
        return record

    redacting_factory._branchbot_redacting = True  # type: ignore[attr-defined]
    redacting_factory._branchbot_previous = factory  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


def uninstall_redaction() -> None:
    """Restore the record factory that was in place before `install_redaction` (tests)."""
    factory = logging.getLogRecordFactory()
    previous = getattr(factory, "_branchbot_previous", None)
    if previous is not None:
        logging.setLogRecordFactory(previous)
    REDACTOR.set_secrets(())


def configure_logging(
    level: str | int = "INFO",
    *,
    fmt: LogFormat = "text",
    secrets: Iterable[str | None] = (),
) -> logging.Handler:
    """Send logs to stderr as key=value lines (or JSON), with `secrets` redacted everywhere.

    Safe to call repeatedly: the one stderr handler is reused. Returns that handler.
    """
    install_redaction(secrets)
    numeric = logging.getLevelName(level) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root.setLevel(numeric)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric))
    # python-telegram-bot's DEBUG lines carry whole updates (names, texts): INFO at most.
    logging.getLogger("telegram").setLevel(max(logging.INFO, numeric))
    return handler
