"""Every Telegram command, who may use it and its menu description (SPEC section 3).

`/help` and the per-role, per-language command menus are both built from this one table.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.access import Need, allowed
from bot.i18n import N_, Translator


@dataclass(frozen=True)
class CommandInfo:
    """A command, the least role it needs, and its one-line description."""

    name: str
    need: Need
    description: str
    group_chat: bool = False  # also meaningful in a group chat
    admin: bool = False  # also open to ADMIN_TELEGRAM_IDS (in any branch)


COMMANDS: tuple[CommandInfo, ...] = (
    CommandInfo("start", Need.ANYONE, N_("link your account with an invite")),
    CommandInfo("help", Need.ANYONE, N_("what you can do here"), group_chat=True),
    CommandInfo("me", Need.MEMBER, N_("my events, dues and attendance")),
    CommandInfo("lang", Need.MEMBER, N_("switch language: 简体中文 / English")),
    CommandInfo("dues", Need.MEMBER, N_("my dues: amount, paid, owed")),
    CommandInfo("cancel", Need.MEMBER, N_("abort the conversation in progress")),
    CommandInfo("privacy", Need.ANYONE, N_("what the bot stores about you, and who sees it")),
    CommandInfo("talks", Need.GROUP_LEADER, N_("hand in this quarter's talk records")),
    CommandInfo("plan", Need.COMMITTEE, N_("the plan: month, quarter or year")),
    CommandInfo("overdue", Need.COMMITTEE, N_("who is behind")),
    CommandInfo("attendance", Need.COMMITTEE, N_("the roster of one event")),
    CommandInfo("members", Need.COMMITTEE, N_("members by group")),
    CommandInfo("pipeline", Need.COMMITTEE, N_("member development: everyone by stage")),
    CommandInfo("invite", Need.SECRETARY, N_("invite a member: NAME [group] [role]"), admin=True),
    CommandInfo("reschedule", Need.SECRETARY, N_("move an event: EVENT DATE TIME")),
    CommandInfo("cancelevent", Need.SECRETARY, N_("cancel one event: EVENT")),
    CommandInfo(
        "bindgroup", Need.SECRETARY, N_("bind this group chat to the branch"), group_chat=True
    ),
    CommandInfo("export", Need.SECRETARY, N_("registers as XLSX and the plan as .ics")),
    CommandInfo("digest", Need.SECRETARY, N_("the weekly digest, now")),
    CommandInfo("remove", Need.SECRETARY, N_("a member leaves: NAME (transfer or removal)")),
    CommandInfo("retention", Need.SECRETARY, N_("how long reasons and summaries are kept")),
    CommandInfo("roster", Need.SECRETARY, N_("the roster as a file, to edit and send back")),
    CommandInfo("settings", Need.SECRETARY, N_("time zone, language, dues day, reminders")),
    CommandInfo(
        "newbranch", Need.ADMIN, N_("create a branch: NAME [timezone] [language]"), admin=True
    ),
    CommandInfo("renamebranch", Need.ADMIN, N_("rename a branch: OLD NEW"), admin=True),
    CommandInfo("develop", Need.SECRETARY, N_("record a development step: NAME STEP DATE")),
)


def commands_for(role: str | None, *, is_admin: bool = False) -> list[CommandInfo]:
    """The commands someone with `role` may use (None: not a linked member)."""
    return [c for c in COMMANDS if allowed(role, c.need) or (is_admin and c.admin)]


def find_command(name: str) -> CommandInfo | None:
    """The command called `name` (without the slash), if it is one of ours."""
    return next((c for c in COMMANDS if c.name == name.lower()), None)


def describe(command: CommandInfo, tr: Translator) -> str:
    """The command's description in the reader's language."""
    return tr.gettext(command.description)
