"""The typed context every handler receives, and the per-update sender it carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from telegram.ext import Application, CallbackContext, ExtBot

from bot.access import Seat
from bot.i18n import Translator, translator
from bot.menu import CommandInfo
from bot.services.oversight import BranchesCache
from bot.services.tap_views import TapViews
from bot.settings import Settings
from scheduler.clock import Clock
from scheduler.dispatch import Dispatcher
from storage.db import Database

if TYPE_CHECKING:
    from bot.health import Health


@dataclass
class GroupEdits:
    """Coalesced edits of group-chat reminders (Telegram allows about 20 a minute per group)."""

    last: dict[int, float] = field(default_factory=dict)  # chat id -> loop time of last edit
    pending: set[tuple[int, int]] = field(default_factory=set)  # (chat id, message id)


@dataclass
class Services:
    """Long-lived collaborators, built once by the CLI (or a test) and shared by handlers."""

    settings: Settings
    db: Database
    clock: Clock
    # The reminder engine; build_application creates it when left None.
    dispatcher: Dispatcher | None = None
    # What /healthz reports (`branchbot run` only; None in tests that do not serve it).
    health: Health | None = None
    # The command menu, from the registration table (set by build_application).
    commands: tuple[CommandInfo, ...] = ()
    # Re-rendering state of the answer buttons: cached meeting views, coalesced group edits.
    tap_views: TapViews = field(default_factory=TapViews)
    group_edits: GroupEdits = field(default_factory=lambda: GroupEdits())
    # Recent committee scorecard views (/branches pages reuse them for a minute).
    reports: BranchesCache = field(default_factory=lambda: BranchesCache())

    @property
    def default_tr(self) -> Translator:
        """The deployment's default language and zone."""
        return translator(self.settings.default_locale, self.settings.default_timezone)


@dataclass(frozen=True)
class Sender:
    """Who sent this update, resolved once per update by the identify gate."""

    telegram_id: int
    member_id: int | None
    branch_id: int | None
    name: str | None
    role: str | None
    group_id: int | None
    is_admin: bool
    tr: Translator
    member: bool = True  # False: linked, but not yet a Party member (applicant ... candidate)
    # Their seats above branches (committee, general branch); None: not looked up for this
    # update (only strangers to every branch and ORG commands and buttons look them up).
    seats: tuple[Seat, ...] | None = None

    @property
    def org(self) -> bool:
        """Whether they hold a seat above branches (as far as looked up)."""
        return bool(self.seats)


class BranchContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """CallbackContext with typed access to the services and the resolved sender."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.sender: Sender | None = None

    @property
    def services(self) -> Services:
        """The shared services."""
        return cast(Services, self.bot_data["services"])  # the codebase's only bot_data lookup

    @property
    def clock(self) -> Clock:
        """The injected clock."""
        return self.services.clock

    @property
    def db(self) -> Database:
        """The database."""
        return self.services.db

    @property
    def tr(self) -> Translator:
        """The translator for whoever sent this update."""
        return self.sender.tr if self.sender else self.services.default_tr


BranchApp = Application[Any, BranchContext, Any, Any, Any, Any]
