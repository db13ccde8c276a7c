"""The Notifier port: how the dispatcher hands one ledger row to Telegram, without `telegram`.

The dispatcher decides *what* goes out and records what happened; a Notifier (in production
`bot.notifier.TelegramNotifier`) renders the message in the recipient's language and zone, sends
it, and reports one `Outcome`. Tests use a scripted notifier.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class Kind(enum.StrEnum):
    """What a ledger row delivers (the first letter is its key's prefix)."""

    REMIND = "remind"
    DIGEST = "digest"
    CHANGE = "change"
    NUDGE = "nudge"
    OVERSIGHT = "oversight"  # a committee's weekly digest to one seat holder


@dataclass(frozen=True)
class Outgoing:
    """One ledger row, claimed and ready to be sent."""

    delivery_id: int
    key: str
    kind: str
    branch_id: int
    chat_id: int
    member_id: int | None
    occurrence_id: int | None
    due_at: dt.datetime
    # When the send happens (the dispatcher's clock): catch-up texts say "starts in 2 hours".
    now: dt.datetime
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def to_group(self) -> bool:
        """Whether this goes to the branch's group chat rather than to one member (or, for a
        committee digest, to one seat holder)."""
        return self.member_id is None and self.kind != Kind.OVERSIGHT.value


class Status(enum.StrEnum):
    """What happened to one send."""

    SENT = "sent"  # Telegram accepted it: message_id
    BLOCKED = "blocked"  # 403 / 400 "chat not found": the member cannot be reached (reason)
    RETRY = "retry"  # not sent, try again after `after` seconds (network error, 5xx, 429)
    AMBIGUOUS = "ambiguous"  # may or may not have arrived (read timeout)
    FAILED = "failed"  # will never work as it is (reason)
    MIGRATED = "migrated"  # the group became a supergroup: new_chat_id
    RELEASED = "released"  # not attempted because the bot is stopping
    SKIPPED = "skipped"  # not sent on purpose: cancelled, too late, recipient unreachable


@dataclass(frozen=True)
class Outcome:
    """The result of one delivery attempt."""

    status: Status
    message_id: int | None = None
    reason: str = ""
    after: float = 0.0
    new_chat_id: int | None = None

    @classmethod
    def sent(cls, message_id: int, *, note: str = "") -> Outcome:
        """Telegram accepted the message."""
        return cls(Status.SENT, message_id=message_id, reason=note)

    @classmethod
    def blocked(cls, reason: str) -> Outcome:
        """The recipient cannot be reached; do not retry."""
        return cls(Status.BLOCKED, reason=reason)

    @classmethod
    def retry(cls, after: float, reason: str) -> Outcome:
        """Not sent; try again later."""
        return cls(Status.RETRY, after=after, reason=reason)

    @classmethod
    def ambiguous(cls, reason: str) -> Outcome:
        """Maybe delivered, maybe not."""
        return cls(Status.AMBIGUOUS, reason=reason)

    @classmethod
    def failed(cls, reason: str) -> Outcome:
        """A permanent failure."""
        return cls(Status.FAILED, reason=reason)

    @classmethod
    def migrated(cls, new_chat_id: int) -> Outcome:
        """The group chat moved to `new_chat_id`."""
        return cls(Status.MIGRATED, new_chat_id=new_chat_id)

    @classmethod
    def skipped(cls, reason: str) -> Outcome:
        """Deliberately not sent."""
        return cls(Status.SKIPPED, reason=reason)

    @classmethod
    def released(cls) -> Outcome:
        """Not attempted: the bot is shutting down."""
        return cls(Status.RELEASED, reason="released at shutdown")


class Notifier(Protocol):
    """Renders and sends ledger rows."""

    def prepare(self, items: Sequence[Outgoing]) -> None:
        """Load what rendering `items` needs, in bulk (called in a worker thread)."""
        ...

    async def deliver(self, item: Outgoing) -> Outcome:
        """Send one item and say what happened; never raise for Telegram errors."""
        ...

    def abort(self) -> None:
        """Stop waiting for send slots: pending sends return `Outcome.released()`."""
        ...
