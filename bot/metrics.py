"""Numbers for monitoring, served in Prometheus text format at ``/metrics``.

One registry of our own (not the process-wide default) so that tests and a second Application in
the same process start from known values, and so `/metrics` shows only branchbot's series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REMINDERS = Counter(
    "branchbot_reminders",
    "Reminder deliveries by outcome: sent, failed, skipped or retried.",
    ["outcome"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "branchbot_telegram_429",
    "Bot API calls that Telegram answered with 429 Too Many Requests, by lane (bulk, answer).",
    ["lane"],
    registry=REGISTRY,
)
LEDGER_BACKLOG = Gauge(
    "branchbot_ledger_backlog",
    "Reminders that are due but not yet sent.",
    registry=REGISTRY,
)
TAP_ANSWER_SECONDS = Histogram(
    "branchbot_tap_answer_seconds",
    "Time from receiving a button tap to its answerCallbackQuery.",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 15.0),
    registry=REGISTRY,
)
UPDATES_IN_FLIGHT = Gauge(
    "branchbot_updates_in_flight",
    "Updates being processed right now.",
    registry=REGISTRY,
)
