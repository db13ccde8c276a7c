"""`/healthz` and `/metrics` on a port of their own, in polling and in webhook mode.

A small WSGI server in a daemon thread, so it answers even while the bot's event loop is busy
(a slow loop shows up as a stale tick, not as a hung health check). Healthy means:

- the database answers;
- polling mode: a getUpdates call completed recently (PTB long-polls every few seconds when idle);
- webhook mode: Telegram calls only when there is an update, so an idle bot may receive nothing
  for hours; the age of the last request is reported, not judged;
- the reminder dispatcher ticked recently (its sweep runs every DISPATCH_INTERVAL_S).

`/metrics` is the Prometheus text format of bot/metrics.py's registry.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app
from telegram.request import HTTPXRequest

from bot.metrics import REGISTRY
from scheduler.clock import Clock
from storage.db import Database, DatabaseError

# A long poll returns at least every 10 s (PTB's default timeout) when nothing happens.
POLL_STALE = dt.timedelta(minutes=2)
MIN_TICK_STALE = dt.timedelta(minutes=2)

StartResponse = Callable[..., Any]


class Health:
    """What the bot reports about itself; updated from the event loop, read by the server."""

    def __init__(
        self, clock: Clock, *, mode: str, db: Database, dispatch_interval_s: float = 30.0
    ) -> None:
        self.clock = clock
        self.mode = mode
        self.db = db
        self.started = clock.now()
        self.tick_stale = max(MIN_TICK_STALE, dt.timedelta(seconds=3 * dispatch_interval_s))
        self.last_poll: dt.datetime | None = None
        self.last_request: dt.datetime | None = None
        self.last_tick: dt.datetime | None = None

    def polled(self) -> None:
        """A getUpdates call came back."""
        self.last_poll = self.clock.now()

    def requested(self) -> None:
        """A webhook request from Telegram arrived."""
        self.last_request = self.clock.now()

    def ticked(self) -> None:
        """The reminder dispatcher finished a run."""
        self.last_tick = self.clock.now()

    def status(self) -> tuple[bool, dict[str, Any]]:
        """Whether the bot is healthy, and the facts behind it."""
        now = self.clock.now()
        facts: dict[str, Any] = {"mode": self.mode}
        problems = []
        try:
            self.db.check()
            facts["db"] = "ok"
        except DatabaseError:
            facts["db"] = "down"
            problems.append("database unreachable")
        if self.mode == "polling":
            facts["last_get_updates_s"] = _age(now, self.last_poll)
            if (now - (self.last_poll or self.started)) > POLL_STALE:
                problems.append("no getUpdates answer for over 2 minutes")
        else:
            facts["last_webhook_request_s"] = _age(now, self.last_request)
        facts["last_dispatcher_tick_s"] = _age(now, self.last_tick)
        if (now - (self.last_tick or self.started)) > self.tick_stale:
            problems.append("the reminder dispatcher has not run recently")
        facts["status"] = "ok" if not problems else "error"
        if problems:
            facts["problems"] = problems
        return not problems, facts

    def get_updates_request(self) -> HTTPXRequest:
        """The request object for getUpdates (PTB's default shape) that notes each answer."""
        return _NotingRequest(self, connection_pool_size=1)


class _NotingRequest(HTTPXRequest):
    def __init__(self, health: Health, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._health = health

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await super().do_request(*args, **kwargs)
        if code == 200:
            self._health.polled()
        return code, payload


def _age(now: dt.datetime, then: dt.datetime | None) -> float | None:
    return None if then is None else round((now - then).total_seconds(), 1)


def health_app(health: Health) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application: /healthz (JSON, 200 or 503) and /metrics (Prometheus)."""
    metrics = make_wsgi_app(REGISTRY)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            ok, facts = health.status()
            body = json.dumps(facts).encode()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /healthz or /metrics\n"]

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes every few seconds
        pass


@dataclass
class HealthServer:
    """A running health server; `close()` stops it."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        return int(self.server.server_address[1])

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_health(health: Health, listen: str, port: int) -> HealthServer:
    """Start serving /healthz and /metrics in a daemon thread; OSError if the port is taken."""
    server = make_server(
        listen, port, health_app(health), server_class=_Server, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="health", daemon=True)
    thread.start()
    return HealthServer(server, thread)
