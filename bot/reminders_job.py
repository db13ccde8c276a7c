"""Wiring of the reminder engine into the Application: the alarm clock, not the database.

One repeating JobQueue job (the safety sweep, every DISPATCH_INTERVAL_S) calls
`Dispatcher.run_once`; after each run a one-off job is set for the next due instant (relative
delay, so a moved or jumping clock cannot confuse APScheduler, which runs in UTC) or, when the
run's send slice ran out, for "again at once". Nothing lives only in memory: a restart rebuilds
everything from the plan and the ledger. Jobs get a generous misfire grace time, coalescing and
max_instances=1 (APScheduler's defaults would silently skip a late tick), and the
dispatcher refuses to overlap itself anyway.

On SIGINT/SIGTERM the dispatcher is told to stop claiming and to hand back what it has not sent
before PTB stops the JobQueue (which waits for the running job), so shutdown takes seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
from typing import TYPE_CHECKING, Any, cast

from sqlmodel import col, func, select
from telegram.ext import JobQueue

from bot.context import BranchContext, Services
from bot.handlers import privacy
from bot.metrics import LEDGER_BACKLOG, REMINDERS
from bot.notifier import TelegramNotifier
from bot.ratelimit import BranchRateLimiter
from bot.settings import Settings
from scheduler.dispatch import Dispatcher, Report
from storage.db import Database
from storage.models import Delivery, DeliveryStatus

if TYPE_CHECKING:
    from bot.context import BranchApp

log = logging.getLogger(__name__)

# Enough for the dispatcher's sends in flight (16) plus answers to people; more connections
# only cost CPU (httpcore checks every pooled connection on each request).
CONNECTION_POOL_SIZE = 32
JOB_KWARGS: dict[str, Any] = {"misfire_grace_time": 3600, "coalesce": True, "max_instances": 1}
_NEXT = "dispatch-next"


def rate_limiter(settings: Settings) -> BranchRateLimiter:
    """The two-lane limiter, paced by the settings."""
    return BranchRateLimiter(
        global_per_s=settings.send_rate_per_s,
        private_per_s=settings.private_rate_per_s,
        group_per_min=settings.group_rate_per_min,
    )


def attach(app: BranchApp, services: Services) -> Dispatcher:
    """Give the services a dispatcher that sends through this Application's bot."""
    if services.dispatcher is None:
        notifier = TelegramNotifier(
            app.bot, services.db, default_locale=services.settings.default_locale
        )
        services.dispatcher = Dispatcher(services.db, notifier)
    return services.dispatcher


async def start(app: BranchApp) -> None:
    """Schedule the sweep and make SIGTERM stop the fan-out promptly (post_init)."""
    services: Services = app.bot_data["services"]
    assert app.job_queue is not None, "install python-telegram-bot[job-queue]"
    app.job_queue.run_repeating(
        dispatch_job,
        interval=services.settings.dispatch_interval_s,
        first=1,
        name="dispatch",
        job_kwargs=JOB_KWARGS,
    )
    # Reasons and summaries past a branch's retention become "reason given" (daily is enough).
    app.job_queue.run_repeating(privacy.expire_job, interval=86_400, first=60, name="retention")
    dispatcher = attach(app, services)
    loop = asyncio.get_running_loop()

    def stop() -> None:
        log.info("stop signal: handing back unsent reminders and shutting down")
        dispatcher.request_stop()
        raise SystemExit  # what PTB's own stop-signal handler does

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGABRT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop)


async def dispatch_job(context: BranchContext) -> None:
    """Wake the dispatcher; it decides what is due from the plan and the ledger."""
    dispatcher = context.services.dispatcher
    job_queue = cast("JobQueue[BranchContext] | None", context.job_queue)
    if dispatcher is None or job_queue is None:
        return
    report = await dispatcher.run_once(now=context.clock.now())
    if report.busy:
        return
    await _observe(context.services, report)
    if dispatcher.stopping:
        return
    for job in job_queue.get_jobs_by_name(_NEXT):
        job.schedule_removal()
    interval = context.services.settings.dispatch_interval_s
    if report.more:
        delay = 0.0
    else:
        now = context.clock.now()
        upcoming = dispatcher.next_due(now)
        if upcoming is None:
            return
        delay = (upcoming - now).total_seconds() + 0.5
        if delay >= interval:
            return  # the repeating sweep gets there first
    job_queue.run_once(dispatch_job, when=max(0.0, delay), name=_NEXT, job_kwargs=JOB_KWARGS)


# The report's counters, as the four outcomes /metrics shows.
OUTCOMES: dict[str, tuple[str, ...]] = {
    "sent": ("sent",),
    "failed": ("failed", "unreachable", "unknown"),
    "skipped": ("skipped", "late_skipped"),
    "retried": ("retried", "ambiguous"),
}


async def _observe(services: Services, report: Report) -> None:
    """Count one run's outcomes, refresh the backlog gauge, note the tick for /healthz."""
    for outcome, fields in OUTCOMES.items():
        n = sum(getattr(report, name) for name in fields)
        if n:
            REMINDERS.labels(outcome=outcome).inc(n)
    try:
        backlog = await asyncio.to_thread(due_backlog, services.db, services.clock.now())
    except Exception:  # a metric must never break the dispatcher's job
        log.debug("could not count the ledger backlog", exc_info=True)
    else:
        LEDGER_BACKLOG.set(backlog)
    if services.health is not None:
        services.health.ticked()


def due_backlog(db: Database, now: dt.datetime) -> int:
    """Reminders that are due but not yet sent (pending rows whose time has come)."""
    with db.read() as session:
        stmt = select(func.count()).where(
            col(Delivery.status) == DeliveryStatus.PENDING.value, col(Delivery.due_at) <= now
        )
        return int(session.exec(stmt).one())
