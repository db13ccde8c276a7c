"""Builds the python-telegram-bot Application: the gates, then the registration table.

`branchbot run` and the tests use this same function, so tests exercise the production wiring.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationBuilder,
    ContextTypes,
    TypeHandler,
)
from telegram.request import BaseRequest

from bot import reminders_job
from bot.concurrency import PerSenderUpdateProcessor
from bot.context import BranchApp, BranchContext, Services
from bot.handlers import errors, flood, gate, onboarding, table

log = logging.getLogger(__name__)


def build_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> BranchApp:
    """Wire the bot: gates first, then commands and buttons by feature, then errors."""
    settings = services.settings
    builder = (
        ApplicationBuilder()
        .token(settings.token())
        .base_url(settings.telegram_api_base)
        .context_types(ContextTypes(context=BranchContext))
        # Two lanes: paced bulk fan-out, immediate answers; 429s retried.
        .rate_limiter(reminders_job.rate_limiter(settings))
        # Different people at once, each person's updates in order (a leave tap, then the reason)
        .concurrent_updates(PerSenderUpdateProcessor(settings.max_concurrent_updates))
        .post_init(_post_init)
    )
    if settings.telegram_api_file_base:
        builder = builder.base_file_url(settings.telegram_api_file_base)
    if request is not None:  # tests: the in-process fake Bot API
        builder = builder.request(request)
    else:  # a bounded pool: httpx scans every pooled connection on each request (CPU)
        # Each update in progress waits on at most one request at a time; the rest is the fan-out.
        pool = reminders_job.CONNECTION_POOL_SIZE + settings.max_concurrent_updates
        builder = builder.connection_pool_size(pool)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    app: BranchApp = builder.build()
    app.bot_data["services"] = services
    reminders_job.attach(app, services)  # the reminder engine sends through this bot

    app.add_handler(TypeHandler(Update, flood.FloodGate(services.clock, settings).check), group=-2)
    # group -1: who is this? (member, role, language) — resolved once per update
    app.add_handler(TypeHandler(Update, gate.identify_sender), group=-1)

    # group 0: every command and button, from the one registration table
    table.register(app, services)

    app.add_error_handler(errors.report_error)
    return app


async def _post_init(app: BranchApp) -> None:
    """Start-up work that needs the bot: command menus."""
    try:
        await onboarding.set_command_menus(app.bot, app.bot_data["services"])
    except TelegramError as exc:
        # The menus and descriptions are cosmetic and set again at the next start; a Bot API
        # hiccup here must not keep the reminder engine below from starting.
        log.warning("could not set the command menus: %s", exc)
    await reminders_job.start(app)  # the dispatch sweep; SIGTERM hands back unsent rows
