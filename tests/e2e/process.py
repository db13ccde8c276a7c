"""Run the real `python -m bot ...` process for end-to-end tests: env, start, wait, stop, logs.

Every wait is bounded and polls; the process is always killed when the `with` block ends, so a
failing test never leaves a bot running. stderr and stdout are collected by reader threads
(a full pipe would otherwise block the bot).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from tests.fakes.http_server import FakeBotApiServer

# Settings the developer's shell might carry into the bot; the tests set their own.
_BRANCHBOT_VARS = (
    "BOT_TOKEN",
    "DATABASE_URL",
    "TELEGRAM_API_BASE",
    "TELEGRAM_API_FILE_BASE",
    "DEFAULT_TIMEZONE",
    "DEFAULT_LOCALE",
    "ADMIN_TELEGRAM_IDS",
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "WEBHOOK_LISTEN",
    "WEBHOOK_PORT",
    "INVITE_TTL_DAYS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "BRANCHBOT_CLOCK_FILE",
)


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def bot_env(server: FakeBotApiServer, workdir: Path, **overrides: str) -> dict[str, str]:
    """An environment for the bot against `server`, with an SQLite file in `workdir`."""
    env = {k: v for k, v in os.environ.items() if k not in _BRANCHBOT_VARS}
    env.update(
        {
            "BOT_TOKEN": server.core.token,
            "TELEGRAM_API_BASE": server.base_url,
            "TELEGRAM_API_FILE_BASE": server.base_file_url,
            "DATABASE_URL": f"sqlite:///{workdir / 'bot.db'}",
            "DEFAULT_LOCALE": "en",
            "DEFAULT_TIMEZONE": "Asia/Shanghai",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


def set_clock(path: Path, instant: dt.datetime) -> None:
    """Move the bot processes' time (BRANCHBOT_CLOCK_FILE; it advances with real time from now).

    Written to a temporary file and renamed into place: `Path.write_text` truncates first, so
    a process reading the clock at that moment would find an empty file and fail to parse it
    (an unhandled error in whatever job or handler asked for the time).
    """
    part = path.with_name(path.name + ".part")
    part.write_text(instant.isoformat(), encoding="utf-8")
    os.replace(part, path)


class BotProcess:
    """`python -m bot *args` as a child process."""

    def __init__(self, *args: str, env: Mapping[str, str], cwd: Path) -> None:
        self.args = args
        self.env = dict(env)
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self._err: list[str] = []
        self._out: list[str] = []
        self._lock = threading.Lock()
        self._readers: list[threading.Thread] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> BotProcess:
        """Start the process (from `cwd`, so that no developer .env is read)."""
        if self.proc is not None:
            raise RuntimeError("already started")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *self.args],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        for stream, sink in ((self.proc.stderr, self._err), (self.proc.stdout, self._out)):
            reader = threading.Thread(target=self._pump, args=(stream, sink), daemon=True)
            reader.start()
            self._readers.append(reader)
        return self

    def _pump(self, stream: IO[bytes], sink: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            with self._lock:
                sink.append(raw.decode("utf-8", "replace"))
        stream.close()

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self.proc is not None
        return self.proc.pid

    @property
    def running(self) -> bool:
        """Whether the process is still alive."""
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code, once it has exited."""
        return None if self.proc is None else self.proc.poll()

    def signal(self, sig: int) -> None:
        """Send a signal to the process (if it still runs)."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(sig)

    def terminate(self, timeout: float = 8.0) -> tuple[int, float]:
        """SIGTERM, then wait up to `timeout` s; return (exit code, seconds it took).

        On timeout the process is killed and AssertionError raised with the log tail.
        """
        assert self.proc is not None
        began = time.monotonic()
        self.signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"did not exit within {timeout} s of SIGTERM\n{self.tail()}"
            ) from None
        self._join_readers()
        return code, time.monotonic() - began

    def kill(self) -> None:
        """SIGKILL and reap the process (if it still runs)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(10)
        finally:
            self._join_readers()

    def _join_readers(self) -> None:
        for reader in self._readers:
            reader.join(timeout=5)

    # ------------------------------------------------------------------ observing

    @property
    def stderr(self) -> str:
        """Everything the process wrote to stderr so far (its logs)."""
        with self._lock:
            return "".join(self._err)

    @property
    def stdout(self) -> str:
        """Everything the process wrote to stdout so far."""
        with self._lock:
            return "".join(self._out)

    def tail(self, lines: int = 40) -> str:
        """The last lines of stderr, for failure messages."""
        return "\n".join(self.stderr.splitlines()[-lines:])

    def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 30.0,
        *,
        what: str = "condition",
        interval: float = 0.05,
    ) -> None:
        """Poll `predicate` until true; fail with the log tail on timeout or if the bot dies."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return
            if not self.running:
                raise AssertionError(
                    f"bot exited ({self.returncode}) while waiting for {what}\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}\n{self.tail()}"
                )
            time.sleep(interval)

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        """Wait until `text` appears in stderr."""
        self.wait_for(lambda: text in self.stderr, timeout, what=repr(text))

    # ------------------------------------------------------------------ context manager

    def __enter__(self) -> BotProcess:
        """Start the process."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Kill the process whatever happened."""
        self.kill()
