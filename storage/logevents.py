"""`log_event`: one operational event per log line, with ids and counts as fields.

It lives in the lowest layer so that storage, scheduler and bot can all use it; the formatters
in `bot/logging_setup.py` render the fields as key=value or JSON, and redact secrets from the
whole line. Fields are for ids, codes and counts - never names, message texts or amounts tied
to a person.

    log_event(log, "fanout.done", branch=3, item="dues", occurrence=812, sent=40, blocked=2)
    -> ... INFO scheduler.dispatch event=fanout.done branch=3 item=dues occurrence=812 sent=40 ...
"""

from __future__ import annotations

import json
import logging
import re
from typing import Final

_BARE_VALUE: Final = re.compile(r"[^\s=\"\\]+")


def log_event(
    logger: logging.Logger, event: str, /, *, level: int = logging.INFO, **fields: object
) -> None:
    """Log one operational event with its fields: ids and counts, never personal data."""
    if not logger.isEnabledFor(level):
        return
    clean = {key: _plain(value) for key, value in fields.items()}
    text = " ".join([event, *(f"{key}={quote(value)}" for key, value in clean.items())])
    logger.log(level, "%s", text, extra={"event": event, "fields": clean}, stacklevel=2)


def _plain(value: object) -> object:
    """Numbers, booleans and None stay typed (for JSON logs); anything else becomes text."""
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def quote(value: object) -> str:
    """A value as it appears after `key=`: bare when it can be, JSON-quoted otherwise."""
    text = json.dumps(value) if value is None or isinstance(value, bool) else str(value)
    if text and _BARE_VALUE.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False)
