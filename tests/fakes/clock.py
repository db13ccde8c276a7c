"""A controllable clock for tests: aware UTC, moved only by the test."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass


def _require_aware(instant: dt.datetime) -> dt.datetime:
    """Return ``instant`` in UTC, refusing naive datetimes."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"FrozenClock needs an aware datetime, got naive {instant!r}")
    return instant.astimezone(dt.UTC)


def system_seconds() -> float:
    """Return real POSIX seconds: the fakes' one sanctioned read of the wall clock."""
    return time.time()


@dataclass
class FrozenClock:
    """A clock that stands still until the test moves it."""

    current: dt.datetime

    def __post_init__(self) -> None:
        self.current = _require_aware(self.current)

    def now(self) -> dt.datetime:
        """Return the current instant (aware, UTC)."""
        return self.current

    def advance(self, **delta: float) -> None:
        """Move forward by ``datetime.timedelta(**delta)``; going backwards is refused."""
        step = dt.timedelta(**delta)
        if step < dt.timedelta(0):
            raise ValueError(f"FrozenClock only moves forward, got {step!r}")
        self.current = self.current + step

    def set(self, instant: dt.datetime) -> None:
        """Jump to ``instant`` (aware; may be earlier, for replaying scenarios)."""
        self.current = _require_aware(instant)

    def timestamp(self) -> float:
        """Return the current instant as POSIX seconds (fits ``FakeTelegram(clock=...)``)."""
        return self.current.timestamp()
