"""The ``FakeTelegram`` core behind a real HTTP server on 127.0.0.1 (for end-to-end tests)."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
from email.message import Message
from email.parser import HeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.bot_api import FakeTelegram, UploadedFile, decode_params

log = logging.getLogger(__name__)

MAX_BODY: Final = 64 * 1024 * 1024
_API_PATH_RE: Final = re.compile(r"/bot([^/]+)/([^/]+)/?")


class MalformedRequest(ValueError):
    """The request body or headers could not be parsed."""


def _error_body(status: int, description: str) -> bytes:
    """Return a Bot API error body."""
    return json.dumps(
        {"ok": False, "error_code": status, "description": description}, ensure_ascii=False
    ).encode()


def _header_params(content_type: str) -> Message:
    """Parse a Content-Type value so its parameters can be read with ``get_param``."""
    holder = Message()
    holder["content-type"] = content_type
    return holder


def parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Parse a multipart/form-data body: text parts become str, file parts ``UploadedFile``."""
    boundary = _header_params(content_type).get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise MalformedRequest("multipart body without boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise MalformedRequest("multipart body is not terminated")
    fields: dict[str, Any] = {}
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise MalformedRequest("multipart part is not framed by CRLF")
        raw_headers, sep, content = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise MalformedRequest("multipart part without header/body separator")
        try:
            headers = HeaderParser().parsestr(raw_headers.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise MalformedRequest("multipart headers are not UTF-8") from exc
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise MalformedRequest("multipart part without a name")
        filename = headers.get_filename()
        if filename is not None:
            mime_type = (
                headers.get_content_type()
                if headers["content-type"]
                else ("application/octet-stream")
            )
            fields[name] = UploadedFile(filename, content, mime_type)
        else:
            try:
                fields[name] = content.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MalformedRequest(f"form field {name!r} is not UTF-8") from exc
    return fields


def parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    """Parse a urlencoded, multipart or JSON request body into raw fields."""
    if not body:
        return {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    try:
        if media_type == "multipart/form-data":
            return parse_multipart(body, content_type)
        if media_type in ("application/x-www-form-urlencoded", ""):
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        if media_type == "application/json":
            decoded = json.loads(body.decode("utf-8"))
            if not isinstance(decoded, dict):
                raise MalformedRequest("JSON body is not an object")
            return decoded
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedRequest(str(exc)) from exc
    raise MalformedRequest(f"unsupported content type {media_type!r}")


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its owner and forgets threads on close."""

    daemon_threads = True
    block_on_close = False
    # socketserver's default listen backlog is 5: a burst of new connections from a bot with
    # many updates in flight overflowed it and got connections reset. Telegram does not do that.
    request_queue_size = 1024

    def __init__(self, owner: FakeBotApiServer, host: str) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.writing: set[socket.socket] = set()  # connections in the middle of an answer
        self.cut = False  # stop() has cut the connections: write no more answers
        self.connections_lock = threading.Lock()
        super().__init__((host, 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log handler crashes instead of printing to stderr; ignore dropped sockets."""
        log.debug("fake Bot API connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Serves ``/bot<token>/<method>`` from the owner's core."""

    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without TCP_NODELAY each answer waits ~40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        """Track the connection so ``stop()`` can cut it."""
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        """Forget the connection."""
        with contextlib.suppress(OSError):
            super().finish()
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Send access logs to ``logging`` at DEBUG instead of stderr."""
        log.debug("fake Bot API: " + format, *args)

    def do_POST(self) -> None:
        """Answer a POST."""
        self._answer()

    def do_GET(self) -> None:
        """Answer a GET (Telegram accepts both)."""
        self._answer()

    def _read_body(self) -> bytes:
        """Read the request body (Content-Length or chunked)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                size = int(line, 16)
                total += size
                if total > MAX_BODY:
                    raise MalformedRequest("body too large")
                if size == 0:
                    self.rfile.readline(1024)
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY:
            raise MalformedRequest("bad Content-Length")
        body = self.rfile.read(length)
        if len(body) != length:
            raise MalformedRequest("body shorter than Content-Length")
        return body

    def _send(self, status: int, payload: bytes) -> None:
        """Write a JSON response, ignoring clients that already went away.

        An answer is written whole or not at all: once ``stop()`` has cut the connections no
        answer starts, and ``stop()`` does not cut a connection while its answer is being
        written (it closes once written). A client therefore sees a complete answer or a
        connection closed without one, never half an answer.
        """
        server = self.server
        with server.connections_lock:
            if server.cut:
                self.close_connection = True
                return
            server.writing.add(self.connection)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True
        finally:
            with server.connections_lock:
                server.writing.discard(self.connection)
                if server.cut:
                    self.close_connection = True

    def _answer(self) -> None:
        """Parse, dispatch to the core, and answer one request."""
        owner = self.server.owner
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._send(400, _error_body(400, "Bad Request: malformed HTTP request"))
            return
        match = _API_PATH_RE.fullmatch(url.path)
        if match is None:
            self._send(404, _error_body(404, "Not Found"))
            return
        token, method = match.groups()
        # The simulated network: half the round trip before the core sees the call, half after.
        trip = owner.core.round_trip(method)
        if trip and owner.stopping.wait(trip / 2):
            self.close_connection = True
            return
        if token != owner.core.token:
            self._send(401, _error_body(401, "Unauthorized"))
            return
        try:
            fields: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
            fields |= parse_body(body, self.headers.get("Content-Type", ""))
        except MalformedRequest as exc:
            self._send(400, _error_body(400, f"Bad Request: {exc}"))
            return
        if method.lower() == "getupdates":
            self._long_poll(decode_params(fields))
        try:
            outcome = owner.core.serve(token, method, fields)
        except Exception:  # a bug in the fake must surface, but not kill the server
            log.exception("fake Bot API crashed on %s", method)
            self._send(500, _error_body(500, "Internal Server Error"))
            return
        if outcome.dropped:
            self.close_connection = True
            return
        if outcome.delay:
            owner.stopping.wait(outcome.delay)
        if trip:
            owner.stopping.wait(trip / 2)
        self._send(outcome.status, outcome.payload())

    def _long_poll(self, params: dict[str, Any]) -> None:
        """Hold getUpdates up to min(timeout, cap) s while there is nothing to return."""
        owner = self.server.owner
        timeout = params.get("timeout")
        offset = params.get("offset")
        owner.note_poll()
        if isinstance(timeout, int | float) and timeout > 0:
            owner.core.wait_for_updates(
                offset if isinstance(offset, int) else None,
                min(float(timeout), owner.long_poll_cap),
                cancelled=owner.stopping.is_set,
            )


class FakeBotApiServer:
    """Serves one ``FakeTelegram`` core at ``http://127.0.0.1:<port>/bot<token>/<method>``."""

    def __init__(
        self,
        core: FakeTelegram | None = None,
        *,
        host: str = "127.0.0.1",
        long_poll_cap: float = 1.0,
    ) -> None:
        self.core = core or FakeTelegram()
        self.host = host
        self.long_poll_cap = long_poll_cap
        self.stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._polls = threading.Condition()
        self.polls_started = 0

    def start(self) -> FakeBotApiServer:
        """Bind to a free port and serve in a background thread."""
        if self._httpd is not None:
            raise RuntimeError("FakeBotApiServer already started")
        self.stopping.clear()
        self._httpd = _Server(self, self.host)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-bot-api-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut open connections, without waiting for held long polls."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.stopping.set()
        self.core.wake()
        httpd.shutdown()
        with httpd.connections_lock:
            httpd.cut = True
            # A connection whose answer is being written is left to finish and close itself.
            open_connections = list(httpd.connections - httpd.writing)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None

    def note_poll(self) -> None:
        """Count a getUpdates request (called by the handler before it long-polls)."""
        with self._polls:
            self.polls_started += 1
            self._polls.notify_all()

    def wait_until_polling(self, count: int = 1, timeout: float | None = 5.0) -> bool:
        """Block until ``count`` getUpdates requests have arrived in total."""
        with self._polls:
            return self._polls.wait_for(lambda: self.polls_started >= count, timeout)

    @property
    def port(self) -> int:
        """Return the bound port."""
        if self._httpd is None:
            raise RuntimeError("FakeBotApiServer is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Return ``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Return the value for ``TELEGRAM_API_BASE`` / ``Bot(base_url=...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Return the value for ``Bot(base_file_url=...)``."""
        return f"{self.url}/file/bot"

    def __enter__(self) -> FakeBotApiServer:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()
