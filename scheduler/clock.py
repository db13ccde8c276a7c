"""The one place that reads the wall clock; everything else receives `now` or a `Clock`."""

import datetime as dt
import os
import time
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current instant."""

    def now(self) -> dt.datetime:
        """Return the current instant as an aware UTC datetime."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        """Return the current instant as an aware UTC datetime."""
        return dt.datetime.now(dt.UTC)


class FileClock:
    """A clock read from a file holding an ISO instant: lets tests move a real process's time.

    Enabled with BRANCHBOT_CLOCK_FILE. The instant advances with real time from the moment the
    file was last written, so a process sees time flow normally between the test's jumps.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def now(self) -> dt.datetime:
        """The instant in the file plus the real time elapsed since it was written."""
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read().strip()
            written = os.stat(self.path).st_mtime
        except OSError:
            return dt.datetime.now(dt.UTC)
        base = dt.datetime.fromisoformat(text)
        if base.tzinfo is None:
            base = base.replace(tzinfo=dt.UTC)
        elapsed = max(0.0, time.time() - written)
        return base.astimezone(dt.UTC) + dt.timedelta(seconds=elapsed)


def clock_from_env() -> Clock:
    """The system clock, or a FileClock when BRANCHBOT_CLOCK_FILE names one (tests only)."""
    path = os.environ.get("BRANCHBOT_CLOCK_FILE")
    return FileClock(path) if path else SystemClock()
