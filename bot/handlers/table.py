"""Every command and button of the bot, declared once, in the order they are tried.

A command's entry gives its name, the least role it needs, whether it is private-only or also
open to the deployment's admins, its menu description and its handler: the role check
(`gate.requires`), the Telegram command menus and /help are all built from it. A button action
is declared where its handler lives, with `@on_button(code, need=...)`, which gives both its
callback pattern and the parsed button; it is listed here once. docs/extending.md shows how to
add a command, a button and a plan item kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.access import Need
from bot.context import BranchApp, Services
from bot.handlers import (
    attendance,
    attendance_admin,
    changes,
    conversation,
    development,
    dues,
    export,
    members,
    minutes,
    onboarding,
    org,
    overdue,
    oversight,
    plan,
    privacy,
    reports,
    secretary,
    setup,
    talks,
)
from bot.handlers.gate import Handler, requires
from bot.handlers.onboarding import NEW_MESSAGES
from bot.handlers.taps import ButtonAction
from bot.i18n import N_
from bot.menu import CommandInfo


@dataclass(frozen=True)
class Command:
    """A Telegram command: what the menu says about it, and what it does."""

    info: CommandInfo
    handler: Handler
    # Which messages reach it; None: PTB's default (new and edited messages). A filter that
    # needs the services (a database lookup) is given as a function of them.
    filters: filters.BaseFilter | Callable[[Services], filters.BaseFilter] | None = None
    in_menu: bool = True  # a variant such as `/me export` is not a menu entry of its own


def _c(
    name: str,
    need: Need,
    description: str,
    handler: Handler,
    *,
    private_only: bool = False,
    group_chat: bool = False,
    admin: bool = False,
    only: filters.BaseFilter | Callable[[Services], filters.BaseFilter] | None = None,
    in_menu: bool = True,
) -> Command:
    info = CommandInfo(name, need, description, group_chat=group_chat, admin=admin,
                       private_only=private_only)  # fmt: skip
    return Command(info, handler, only, in_menu)


# The menu order is this order. The first matching handler wins: `/me export` comes before `/me`,
# `/plan file|default` before `/plan`.
COMMANDS: tuple[Command, ...] = (
    _c("start", Need.ANYONE, N_("link your account with an invite"), onboarding.start_command,
       only=NEW_MESSAGES),
    _c("help", Need.ANYONE, N_("what you can do here"), onboarding.help_command,
       group_chat=True, only=NEW_MESSAGES),
    _c("me", Need.PERSON, N_("my events, dues and attendance"), export.me_export_command,
       private_only=True, only=export.ME_EXPORT, in_menu=False),
    _c("me", Need.PERSON, N_("my events, dues and attendance"), members.me_command,
       private_only=True, only=NEW_MESSAGES),
    _c("lang", Need.PERSON, N_("switch language: 简体中文 / English"), onboarding.lang_command,
       only=NEW_MESSAGES),
    _c("dues", Need.MEMBER, N_("my dues: amount, paid, owed"), dues.dues_command,
       private_only=True),
    _c("cancel", Need.PERSON, N_("abort the conversation in progress"),
       conversation.cancel_command),
    _c("privacy", Need.ANYONE, N_("what the bot stores about you, and who sees it"),
       privacy.privacy_command),
    _c("report", Need.PERSON, N_("hand in this quarter's thought report"),
       reports.report_command, private_only=True),
    _c("talks", Need.GROUP_LEADER, N_("hand in this quarter's talk records"),
       talks.talks_command, private_only=True),
    _c("minutes", Need.RECORDER, N_("meeting records: record or correct a meeting"),
       minutes.minutes_command, private_only=True),
    _c("plan", Need.SECRETARY, N_("the plan: month, quarter or year"), setup.plan_file_command,
       private_only=True, only=setup.PLAN_WORDS, in_menu=False),
    _c("plan", Need.COMMITTEE, N_("the plan: month, quarter or year"), plan.plan_command),
    _c("overdue", Need.COMMITTEE, N_("who is behind"), overdue.overdue_command,
       private_only=True),
    _c("compliance", Need.COMMITTEE, N_("required meetings held and recorded"),
       oversight.compliance_command, private_only=True),
    _c("branches", Need.ORG, N_("the branches below your seat: scorecards, worst first"),
       oversight.branches_command, private_only=True),
    _c("attendance", Need.COMMITTEE, N_("the roster of one event"),
       attendance_admin.attendance_command, private_only=True),
    _c("members", Need.COMMITTEE, N_("members by group"), members.members_command,
       private_only=True, only=NEW_MESSAGES),
    _c("pipeline", Need.COMMITTEE, N_("member development: everyone by stage"),
       development.pipeline_command, private_only=True),
    _c("invite", Need.SECRETARY, N_("invite a member: NAME [group] [role]"),
       members.invite_command, admin=True, only=NEW_MESSAGES),
    _c("reschedule", Need.SECRETARY, N_("move an event: EVENT DATE TIME"),
       changes.reschedule_command, private_only=True),
    _c("cancelevent", Need.SECRETARY, N_("cancel one event: EVENT"),
       changes.cancelevent_command, private_only=True),
    _c("bindgroup", Need.SECRETARY, N_("bind this group chat to the branch"),
       members.bindgroup_command, group_chat=True, only=NEW_MESSAGES),
    # A seat holder's /export (someone in no branch, or `/export committee`): before the
    # branch's, which stays as it was for branch secretaries.
    _c("export", Need.ORG, N_("the committee's year: measures, verdicts, registers, scores"),
       export.committee_export_command, private_only=True, only=export.committee_filter),
    _c("export", Need.SECRETARY, N_("registers as XLSX and the plan as .ics"),
       export.export_command, private_only=True),
    _c("digest", Need.SECRETARY, N_("the weekly digest, now"), secretary.digest_command,
       private_only=True),
    _c("remove", Need.SECRETARY, N_("a member leaves: NAME (transfer or removal)"),
       privacy.remove_command, private_only=True),
    _c("retention", Need.SECRETARY, N_("how long reasons and summaries are kept"),
       privacy.retention_command, private_only=True),
    _c("roster", Need.SECRETARY, N_("the roster as a file, to edit and send back"),
       setup.roster_command, private_only=True),
    _c("settings", Need.SECRETARY, N_("time zone, language, dues day, reminders"),
       setup.settings_command, private_only=True),
    _c("newbranch", Need.ADMIN, N_("create a branch: NAME [timezone] [language]"),
       setup.newbranch_command, admin=True, private_only=True),
    _c("renamebranch", Need.ADMIN, N_("rename a branch: OLD NEW"),
       setup.renamebranch_command, admin=True, private_only=True),
    _c("develop", Need.SECRETARY, N_("record a development step: NAME STEP DATE"),
       development.develop_command, private_only=True),
    # Seats above branches (Need.ORG) and the deployment's admins; what each may change is
    # decided in bot/services/org_admin.py.
    _c("org", Need.ORG, N_("the organisation above branches: units, seats, invite links"),
       org.org_command, admin=True, private_only=True, only=NEW_MESSAGES),
)  # fmt: skip

BUTTONS: tuple[ButtonAction, ...] = (
    # meetings: attend, leave, check in, leave decisions, make-up (补课)
    attendance.on_attend,
    attendance.on_request_leave,
    attendance.on_check_in,
    attendance.on_decide_leave,
    attendance.on_make_up,
    # dues
    dues.on_paid,
    dues.on_pay_months,
    dues.on_confirm_payment,
    dues.on_confirm_all,
    dues.on_set_amount,
    # talk records
    talks.on_talks_button,
    talks.on_toggle,
    talks.on_step_done,
    # meeting records (会议记录)
    minutes.on_record,
    minutes.on_choice,
    # thought reports
    reports.on_report_button,
    # secretary tools
    plan.on_plan_page,
    overdue.on_overdue_page,
    overdue.on_nudge,
    # the committee's views: /compliance pages, /branches pages, one branch opened read-only
    oversight.on_compliance_page,
    oversight.on_branches_page,
    oversight.on_open_branch,
    attendance_admin.on_pick,
    attendance_admin.on_mark,
    members.on_delivery_choice,
    privacy.on_remove,
    # branch setup: import/apply or cancel a preview; a /settings choice
    setup.on_confirm,
    setup.on_setting,
)


def menu() -> tuple[CommandInfo, ...]:
    """The commands as the menus and /help list them."""
    return tuple(c.info for c in COMMANDS if c.in_menu)


def _other_handlers(services: Services) -> list[BaseHandler[Any, Any, Any]]:
    """Handlers that are neither a command nor an action button, in the order they are tried."""
    # New messages only: an edited earlier answer must not count as the next step's answer.
    in_flow = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    in_flow = in_flow & conversation.InFlow(services.db, services.clock)
    stray = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
    # A roster or plan file, unless it answers another flow's question (the talk-records form):
    # before the flow's file handler.
    setup_file = filters.UpdateType.MESSAGE & filters.Document.ALL
    setup_file = setup_file & setup.SetupFile(services.db, services.clock)
    return [
        MessageHandler(setup_file, setup.on_document),
        # the language picker answers an invalid choice itself
        CallbackQueryHandler(onboarding.on_language, pattern=onboarding.LANGUAGE_PATTERN),
        ChatMemberHandler(onboarding.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
        # the awaited thought report: a text, a photo or a document
        MessageHandler(
            (filters.TEXT & ~filters.COMMAND | filters.PHOTO | filters.Document.ALL)
            & filters.UpdateType.MESSAGE
            & filters.ChatType.PRIVATE
            & reports.InReport(services.db, services.clock),
            reports.on_report_message,
        ),
        # the next private message of a multi-step flow
        MessageHandler(filters.TEXT & ~filters.COMMAND & in_flow, conversation.on_flow_text),
        MessageHandler(
            (filters.PHOTO | filters.Document.ALL) & in_flow, conversation.on_flow_file
        ),
        # last: a private text outside any flow gets a hint instead of silence
        MessageHandler(stray, conversation.on_stray_text),
        # buttons no feature produced (the pattern matches only those)
        CallbackQueryHandler(conversation.on_unknown_button, pattern=conversation.not_ours),
    ]


def handlers(services: Services) -> Sequence[BaseHandler[Update, Any, Any]]:
    """Every group-0 handler, built from the table."""
    found: list[BaseHandler[Any, Any, Any]] = []
    for command in COMMANDS:
        info = command.info
        guarded = requires(info.need, private_only=info.private_only, admins=info.admin)
        only = command.filters
        if only is None:
            found.append(CommandHandler(info.name, guarded(command.handler)))
        else:
            if not isinstance(only, filters.BaseFilter):
                only = only(services)
            found.append(CommandHandler(info.name, guarded(command.handler), filters=only))
    for action in BUTTONS:
        guarded = requires(action.need, private_only=action.private_only)
        found.append(CallbackQueryHandler(guarded(action), pattern=action.pattern))
    return found + _other_handlers(services)


def register(app: BranchApp, services: Services) -> None:
    """Add every command and button handler to group 0, and publish the command menu."""
    services.commands = menu()
    for handler in handlers(services):
        app.add_handler(handler)
