"""Pure texts for /start, /help, /lang and the group greeting: (facts, Translator) -> str."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import Translator
from bot.menu import CommandInfo, describe
from bot.render.org import seat_role_name
from bot.services.invites import LinkOutcome, LinkStatus

# Each language is named in itself, whatever the reader's language (a /lang convention).
LANGUAGES: tuple[tuple[str, str], ...] = (("zh_CN", "简体中文"), ("en", "English"))


def invite_explanation(tr: Translator) -> str:
    """What a stranger is told: how to get an invite."""
    return tr.gettext(
        "I don't know you yet. Ask your branch secretary for an invite link, "
        "then open it to link your account."
    )


def command_lines(commands: Sequence[CommandInfo], tr: Translator) -> list[str]:
    """One line per command: the command and what it does."""
    return [f"/{c.name} — {describe(c, tr)}" for c in commands]


def help_text(
    commands: Sequence[CommandInfo],
    tr: Translator,
    *,
    name: str | None,
    is_admin: bool = False,
    in_group: bool = False,
) -> str:
    """/help: exactly the commands this person may use here."""
    _ = tr.gettext
    if name is None and not is_admin:
        head = [invite_explanation(tr), "", _("Commands you can use:")]
    elif name is None:
        head = [_("Commands you can use:")]
    else:
        head = [_("{name}, these are the commands you can use:").format(name=name)]
    lines = [*head, *command_lines(commands, tr)]
    if is_admin:
        admin_note = _(
            "As an administrator you can invite into any branch: "
            "/invite NAME [group] [role] branch=BRANCH"
        )
        lines += ["", admin_note]
    if in_group:
        lines += ["", _("Send /help to me in a private chat to see everything else.")]
    return "\n".join(lines)


def link_result(outcome: LinkOutcome, commands: Sequence[CommandInfo], tr: Translator) -> str:
    """The answer to /start <token>: a greeting with what they can do, or why nothing happened."""
    _ = tr.gettext
    fields = {"name": outcome.member_name or "", "branch": outcome.branch_name or ""}
    match outcome.status:
        case LinkStatus.LINKED:
            head = _("Welcome, {name}! Your Telegram account is now linked to {branch}.")
        case LinkStatus.ALREADY:
            head = _("Welcome back, {name}. Your account is already linked to {branch}.")
        case LinkStatus.USED:
            return _(
                "This invite link has already been used. Each link works only once; "
                "ask your branch secretary for a new one."
            )
        case LinkStatus.EXPIRED:
            return _(
                "This invite link has expired or was replaced by a newer one. "
                "Ask your branch secretary for a new one."
            )
        case LinkStatus.ACCOUNT_TAKEN if outcome.member_name:
            return _(
                "Your Telegram account is already linked to another member ({name}), "
                "so nothing was changed. If this is wrong, ask your branch secretary."
            ).format(**fields)
        case LinkStatus.ACCOUNT_TAKEN:
            return _(
                "Your Telegram account is already linked to another member, "
                "so nothing was changed. If this is wrong, ask your branch secretary."
            )
        case _:
            return _(
                "This invite link is not valid. Check that you opened the whole link, "
                "or ask your branch secretary for a new one."
            )
    return "\n".join(
        [head.format(**fields), "", _("Here is what you can do:"), *command_lines(commands, tr)]
    )


def welcome_back(name: str, tr: Translator) -> str:
    """/start from someone already linked."""
    return tr.gettext("Welcome back, {name}. Send /help to see what you can do.").format(name=name)


def language_prompt(tr: Translator) -> str:
    """/lang: the question above the two buttons."""
    return tr.gettext("Choose your language:")


def language_set(locale: str, tr: Translator) -> str:
    """The confirmation, written in the newly chosen language."""
    language = dict(LANGUAGES).get(locale, locale)
    return tr.gettext("Your language is now {language}.").format(language=language)


def group_hello(tr: Translator) -> str:
    """Said once when the bot is added to a group; nothing is stored."""
    return tr.gettext(
        "Hello! I am the branch assistant. A branch secretary can send /bindgroup here "
        "to receive the branch's group reminders in this chat."
    )


def seat_link_result(outcome: LinkOutcome, commands: Sequence[CommandInfo], tr: Translator) -> str:
    """The answer to /start <token> for a seat above branches: unit, role, what they can do."""
    _ = tr.gettext
    fields = {
        "name": outcome.member_name or "",
        "unit": outcome.unit_name or "",
        "role": seat_role_name(outcome.seat_role or "", tr),
    }
    if outcome.status is LinkStatus.ALREADY:
        head = _("Welcome back, {name}. You already hold the seat of {role} at {unit}.")
    else:
        head = _("Welcome, {name}! Your Telegram account now holds the seat of {role} at {unit}.")
    scope = _(
        "You see the branches of {unit} and of the units below it, read-only; "
        "no branch sees another."
    )
    return "\n".join(
        [
            head.format(**fields),
            scope.format(**fields),
            "",
            _("Here is what you can do:"),
            *command_lines(commands, tr),
        ]
    )
