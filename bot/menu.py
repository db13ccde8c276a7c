"""What the menus and /help say about a command, and who may use it (Telegram-free).

The commands themselves are declared in `bot.handlers.table`, which builds these entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.access import Need, allowed
from bot.i18n import Translator


@dataclass(frozen=True)
class CommandInfo:
    """A command, the least role it needs, and its one-line description."""

    name: str
    need: Need
    description: str
    group_chat: bool = False  # also meaningful in a group chat
    admin: bool = False  # also open to ADMIN_TELEGRAM_IDS (in any branch)
    private_only: bool = False  # in a group chat it only says "ask me privately"


def commands_for(
    commands: Sequence[CommandInfo],
    role: str | None,
    *,
    is_admin: bool = False,
    member: bool = True,
    org: bool = False,
) -> list[CommandInfo]:
    """The commands someone with `role` may use (None: not linked; `member=False`: linked but
    not yet a Party member; `org`: holding a seat above branches). A command with an entry per
    role (a seat holder's /export beside a secretary's) is listed once, by its last entry the
    person may use: the branch's own, for someone who has both."""
    found: dict[str, CommandInfo] = {}
    for c in commands:
        if allowed(role, c.need, member=member, org=org) or (is_admin and c.admin):
            found.pop(c.name, None)
            found[c.name] = c
    order = {c.name: n for n, c in enumerate(commands)}
    return sorted(found.values(), key=lambda c: order[c.name])


def find_command(commands: Sequence[CommandInfo], name: str) -> CommandInfo | None:
    """The command called `name` (without the slash), if it is one of ours."""
    return next((c for c in commands if c.name == name.lower()), None)


def describe(command: CommandInfo, tr: Translator) -> str:
    """The command's description in the reader's language."""
    return tr.gettext(command.description)
