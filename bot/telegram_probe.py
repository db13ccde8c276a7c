"""Ask the Bot API who we are and where updates go, before starting and from `doctor`.

Errors become one line naming the cause (a rejected token, an unreachable Bot API), never the
token and never a traceback: PTB's own start-up retry loop logs a long traceback for the same
failures, so `branchbot run` asks first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from bot.logging_setup import REDACTOR
from bot.settings import Settings

PROBE_TIMEOUT = 15.0


class ProbeError(RuntimeError):
    """The Bot API refused or could not be reached; the message is one line."""


@dataclass(frozen=True)
class Probe:
    """What Telegram says about this bot."""

    username: str
    webhook_url: str
    pending_updates: int
    last_webhook_error: str | None


def api_host(settings: Settings) -> str:
    """The Bot API's host for messages (the base URL never holds the token, the path does)."""
    return urlsplit(settings.telegram_api_base).netloc or settings.telegram_api_base


async def probe_async(settings: Settings, *, wait: float = PROBE_TIMEOUT) -> Probe:
    """getMe and getWebhookInfo with a bot of its own (short timeouts, no retries)."""
    request = HTTPXRequest(connect_timeout=wait, read_timeout=wait, write_timeout=wait)
    bot = Bot(
        settings.token(),
        base_url=settings.telegram_api_base,
        base_file_url=settings.telegram_api_file_base or "https://api.telegram.org/file/bot",
        request=request,
        get_updates_request=HTTPXRequest(connect_timeout=wait, read_timeout=wait),
    )
    try:
        async with bot:  # initialize() asks getMe
            info = await bot.get_webhook_info()
            return Probe(
                username=bot.username,
                webhook_url=info.url or "",
                pending_updates=info.pending_update_count,
                last_webhook_error=info.last_error_message,
            )
    except InvalidToken:
        raise ProbeError(
            "Telegram rejected BOT_TOKEN (check it with @BotFather; /token shows it again)"
        ) from None
    except (TimedOut, NetworkError) as exc:
        reason = REDACTOR.redact(str(exc)) or type(exc).__name__
        raise ProbeError(f"cannot reach the Bot API at {api_host(settings)}: {reason}") from None
    except TelegramError as exc:
        raise ProbeError(f"the Bot API refused: {REDACTOR.redact(str(exc))}") from None


def probe(settings: Settings, *, timeout: float = PROBE_TIMEOUT) -> Probe:
    """`probe_async` on a loop of its own (the caller's loop, if any, is left alone)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(probe_async(settings, wait=timeout))
    finally:
        loop.close()
