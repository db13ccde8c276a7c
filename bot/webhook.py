"""Webhook mode: a small tornado server feeding the Application, with a health endpoint.

PTB's built-in `run_webhook` has no health endpoint, so this follows PTB's "custom webhook bot"
example: the Application runs without polling and our server puts each update on its
`update_queue`. Every POST must carry Telegram's secret token (Telegram sends it in the
X-Telegram-Bot-Api-Secret-Token header; anyone who learns the URL could post otherwise): a request
without it, or with a wrong one, is refused with 403 and logged, never processed. The URL path
comes from the webhook URL (default `/telegram`), never from the bot token.

Shutdown (SIGTERM/SIGINT): stop listening, answer 503 to anything still arriving so Telegram
retries it later, let in-flight requests finish, then `Application.stop()` handles the updates
already queued and waits for the running jobs (the reminder dispatcher) before exiting.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

from telegram import Bot, Update
from tornado.httpserver import HTTPServer
from tornado.web import Application as TornadoApp
from tornado.web import RequestHandler

from bot import __version__
from bot.logging_setup import log_event
from storage.db import Database, DatabaseError

if TYPE_CHECKING:
    from bot.context import BranchApp
    from bot.health import Health

log = logging.getLogger(__name__)

DEFAULT_PATH: Final = "/telegram"
HEALTH_PATH: Final = "/healthz"
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY: Final = 1024 * 1024  # updates are a few KB; Telegram's largest are far below this
HEALTH_TIMEOUT: Final = 3.0
DRAIN_TIMEOUT: Final = 2.0  # for in-flight webhook requests at shutdown


class WebhookError(RuntimeError):
    """Webhook mode cannot start; the message is one line for the operator."""


@dataclass(frozen=True)
class WebhookTarget:
    """The URL Telegram is given and the path our server answers on."""

    url: str
    path: str


def webhook_target(url: str, *, token: str) -> WebhookTarget:
    """Check the webhook URL and derive the path to listen on (default /telegram)."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise WebhookError(f"the webhook URL must be https://HOST/PATH (Telegram's rule): {url!r}")
    secret_half = token.partition(":")[2]
    if token in url or (secret_half and secret_half in url):
        raise WebhookError(
            "do not put the bot token in the webhook URL; WEBHOOK_SECRET protects it"
        )
    path = parts.path.rstrip("/") or DEFAULT_PATH
    if path == HEALTH_PATH:
        raise WebhookError(f"the webhook path cannot be {HEALTH_PATH} (the health endpoint)")
    return WebhookTarget(url=urlunsplit(parts._replace(path=path, fragment="")), path=path)


class WebhookState:
    """What the request handlers share."""

    def __init__(
        self, app: BranchApp, secret: str, db: Database, health: Health | None = None
    ) -> None:
        self.app = app
        self.health = health
        self.secret = secret.encode()
        self.db = db
        self.accepting = True
        self.received = 0
        self.refused = 0


def parse_update(body: bytes, bot: Bot) -> Update | None:
    """The update in a webhook body, or None if the body is not one."""
    try:
        data = json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        return None
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return None
    try:
        return Update.de_json(data, bot)
    # de_json trusts the shape of what it is given, so a malformed body breaks it anywhere:
    # KeyError, TypeError, AttributeError, OverflowError or OSError for an absurd date, ...
    except Exception as exc:
        log_event(log, "webhook.undecodable", level=logging.WARNING, error=type(exc).__name__)
        return None


class UpdateHandler(RequestHandler):
    """POST <path>: one update from Telegram."""

    def initialize(self, state: WebhookState) -> None:
        """Receive the shared state (tornado calls this per request)."""
        self.state = state

    async def post(self) -> None:
        """Check the secret, parse the update, queue it, answer 200 at once."""
        state = self.state
        given = self.request.headers.get(SECRET_HEADER)
        # Compare bytes: compare_digest refuses non-ASCII str, and headers may hold anything.
        ok = given is not None and hmac.compare_digest(
            given.encode("utf-8", "replace"), state.secret
        )
        if not ok:
            state.refused += 1
            log_event(
                log,
                "webhook.refused",
                level=logging.WARNING,
                reason="missing_secret" if given is None else "wrong_secret",
                remote=self.request.remote_ip,
            )
            self._answer(403, {"ok": False, "error": "forbidden"})
            return
        if not state.accepting:  # shutting down: Telegram retries non-2xx deliveries later
            self._answer(503, {"ok": False, "error": "shutting down"})
            return
        update = parse_update(self.request.body, state.app.bot)
        if update is None:
            size = len(self.request.body)
            log_event(log, "webhook.bad_request", level=logging.WARNING, bytes=size)
            self._answer(400, {"ok": False, "error": "not an update"})
            return
        state.received += 1
        if state.health is not None:
            state.health.requested()
        await state.app.update_queue.put(update)
        self._answer(200, {"ok": True})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class HealthHandler(RequestHandler):
    """GET /healthz: 200 when the process and the database answer, else 503."""

    def initialize(self, state: WebhookState) -> None:
        """Receive the shared state."""
        self.state = state

    async def get(self) -> None:
        """Check the database with a cheap query."""
        try:
            await asyncio.wait_for(asyncio.to_thread(self.state.db.check), HEALTH_TIMEOUT)
        except (DatabaseError, TimeoutError):
            log_event(log, "health.db_down", level=logging.WARNING)
            self.set_status(503)
            self.finish({"status": "error", "db": "down"})
            return
        if not self.state.accepting:
            self.set_status(503)
            self.finish({"status": "stopping", "db": "ok"})
            return
        self.finish({"status": "ok", "db": "ok"})


def make_web_app(state: WebhookState, path: str) -> TornadoApp:
    """The tornado application: the update endpoint and the health endpoint."""
    return TornadoApp(
        [
            (path, UpdateHandler, {"state": state}),
            (HEALTH_PATH, HealthHandler, {"state": state}),
        ]
    )


def run_webhook(
    app: BranchApp,
    *,
    target: WebhookTarget,
    secret: str,
    listen: str,
    port: int,
    db: Database,
    health: Health | None = None,
) -> None:
    """Serve the bot over a webhook until SIGTERM or SIGINT, then stop gracefully.

    The loop is driven the way PTB's own `run_polling`/`run_webhook` drive it: a stop signal
    raises SystemExit out of `run_forever` (other components - the reminder engine - install
    handlers that do the same), and the shutdown steps then run on the same loop, so whatever
    was in flight (an update being answered, a dispatcher run) is finished, not cancelled.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGABRT):
        loop.add_signal_handler(sig, _raise_system_exit)
    state = WebhookState(app, secret, db, health)
    server = HTTPServer(make_web_app(state, target.path), xheaders=True, max_body_size=MAX_BODY)
    try:
        loop.run_until_complete(app.initialize())
        if app.post_init:
            loop.run_until_complete(app.post_init(app))
        loop.run_until_complete(_listen(server, listen, port))
        loop.run_until_complete(app.start())
        loop.run_until_complete(
            app.bot.set_webhook(
                target.url,
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            )
        )
        log_event(
            log,
            "bot.start",
            mode="webhook",
            version=__version__,
            listen=listen,
            port=port,
            path=target.path,
        )
        loop.run_forever()
    except (KeyboardInterrupt, SystemExit):
        log_event(log, "bot.stopping", mode="webhook", received=state.received)
    finally:
        try:
            loop.run_until_complete(_stop_serving(server, state))
            if app.running:
                loop.run_until_complete(app.stop())
                if app.post_stop:
                    loop.run_until_complete(app.post_stop(app))
            loop.run_until_complete(app.shutdown())
            if app.post_shutdown:
                loop.run_until_complete(app.post_shutdown(app))
            log_event(log, "bot.stopped", mode="webhook", refused=state.refused)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            asyncio.set_event_loop(None)


def _raise_system_exit() -> None:
    raise SystemExit


async def _listen(server: HTTPServer, listen: str, port: int) -> None:
    """Bind the webhook server (inside the running loop, where tornado expects it)."""
    try:
        server.listen(port, address=listen)
    except OSError as exc:
        reason = exc.strerror or exc
        raise WebhookError(f"cannot listen on {listen}:{port}: {reason}") from None


async def _stop_serving(server: HTTPServer, state: WebhookState) -> None:
    """Stop accepting connections and let in-flight requests finish (bounded)."""
    server.stop()
    state.accepting = False
    try:
        await asyncio.wait_for(server.close_all_connections(), DRAIN_TIMEOUT)
    except TimeoutError:
        log_event(log, "webhook.drain_timeout", level=logging.WARNING, seconds=DRAIN_TIMEOUT)
