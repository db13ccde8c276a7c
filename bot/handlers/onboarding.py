"""/start, /help, /lang, the bot joining a group, and the per-role, per-language command menus."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import filters

from bot.access import Need
from bot.buttons import Button, MalformedButton, button
from bot.concurrency import off_the_loop
from bot.context import BranchContext, Services
from bot.handlers.gate import refuse, reply, requires, seats_for, sender_of, with_seats
from bot.i18n import Translator, translator
from bot.menu import CommandInfo, commands_for, describe
from bot.profile import publish_descriptions
from bot.render.onboarding import (
    LANGUAGES,
    group_hello,
    help_text,
    invite_explanation,
    language_prompt,
    language_set,
    link_result,
    seat_link_result,
    welcome_back,
)
from bot.services.invites import LinkOutcome, LinkStatus, redeem_invite
from bot.services.members import (
    BLOCKED_REASON,
    MenuTarget,
    mark_blocked,
    mark_reachable,
    menu_targets,
    person_menu_target,
    set_locale,
)
from bot.services.org import mark_seat_reachable, mark_seat_unreachable
from storage.models import Role

log = logging.getLogger(__name__)
MENU_LANGUAGES = (("zh_CN", "zh"), ("en", "en"))  # our locale -> Telegram language_code
# An edited command must not run again (a second invite, a second redeem attempt).
NEW_MESSAGES = filters.UpdateType.MESSAGE
LANGUAGE_PATTERN = Button.pattern("lg")  # the language picker's buttons
_PRESENT = frozenset(
    {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
)


async def start_command(update: Update, context: BranchContext) -> None:
    """Link an account with an invite token, greet a member, or tell a stranger what to do."""
    assert update.effective_message is not None
    sender = sender_of(context)
    if context.args:
        outcome = redeem_invite(
            context.db,
            token=context.args[0],
            telegram_id=sender.telegram_id,
            now=context.clock.now(),
        )
        if outcome.status not in (LinkStatus.LINKED, LinkStatus.ALREADY):
            await reply(update, context, link_result(outcome, (), context.tr))
            return
        assert outcome.locale is not None and outcome.timezone is not None
        tr = translator(outcome.locale, outcome.timezone)
        if outcome.unit_name is not None:  # a seat above branches
            await _seat_linked(update, context, outcome, tr)
            return
        member = outcome.target.member if outcome.target is not None else True
        commands = commands_for(
            context.services.commands, outcome.role, is_admin=sender.is_admin, member=member
        )
        await reply(update, context, link_result(outcome, commands, tr))
        if outcome.target is not None:
            target = dataclasses.replace(outcome.target, is_admin=sender.is_admin)
            await refresh_menu(context.bot, target, context.services)
    elif sender.name is not None:
        mark_seat_reachable(context.db, telegram_id=sender.telegram_id)
        await reply(update, context, welcome_back(sender.name, context.tr))
    elif sender.is_admin:
        await reply(update, context, await _help_for(update, context))
    else:
        await reply(update, context, invite_explanation(context.tr))


async def _seat_linked(
    update: Update, context: BranchContext, outcome: LinkOutcome, tr: Translator
) -> None:
    """Greet a new seat holder with their unit, role and the commands seats give (from the
    table, by Need.ORG), and give their chat the menu of everything they may now do."""
    sender = sender_of(context)
    commands = [c for c in context.services.commands if c.need is Need.ORG]
    await reply(update, context, seat_link_result(outcome, commands, tr))
    target = person_menu_target(
        context.db,
        telegram_id=sender.telegram_id,
        is_admin=sender.is_admin,
        default_locale=context.services.settings.default_locale,
    )
    await refresh_menu(context.bot, target, context.services)


async def help_command(update: Update, context: BranchContext) -> None:
    """List exactly the commands this person may use (in a group: the group ones)."""
    await reply(update, context, await _help_for(update, context))


async def _help_for(update: Update, context: BranchContext) -> str:
    sender = await with_seats(context)  # a seat holder's /help lists the ORG commands too
    in_group = update.effective_chat is not None and update.effective_chat.type != ChatType.PRIVATE
    commands = commands_for(
        context.services.commands,
        sender.role,
        is_admin=sender.is_admin,
        member=sender.member,
        org=sender.org,
    )
    if in_group:
        commands = [c for c in commands if c.group_chat]
    return help_text(
        commands, context.tr, name=sender.name, is_admin=sender.is_admin, in_group=in_group
    )


async def lang_command(update: Update, context: BranchContext) -> None:
    """Offer the two languages as buttons."""
    assert update.effective_message is not None
    row = [
        InlineKeyboardButton(label, callback_data=button("lg", i))
        for i, (_l, label) in enumerate(LANGUAGES)
    ]
    keyboard = InlineKeyboardMarkup([row])
    await update.effective_message.reply_text(language_prompt(context.tr), reply_markup=keyboard)


@requires(Need.PERSON)
async def on_language(update: Update, context: BranchContext) -> None:
    """Remember the tapped language, confirm in it, and re-publish the member's menu."""
    query = update.callback_query
    assert query is not None  # guaranteed by the CallbackQueryHandler pattern
    try:
        choice = Button.parse(query.data).id
        locale = LANGUAGES[choice][0]
    except (MalformedButton, IndexError):
        await query.answer(context.tr.gettext("This button is no longer valid."), show_alert=True)
        return
    change = set_locale_for(context, locale)
    if change is None:
        await refuse(update, context, not_member=True)
        return
    tr, target = change
    text = language_set(locale, tr)
    await query.answer(text)
    await refresh_menu(context.bot, target, context.services)
    try:
        await query.edit_message_text(text)
    except BadRequest as exc:
        # The choice is stored; the edit is cosmetic. "Message is not modified" after a repeated
        # tap, or a message that is gone, must not turn into an error reply.
        log.info("language prompt not edited: %s", exc)


def set_locale_for(context: BranchContext, locale: str) -> tuple[Translator, MenuTarget] | None:
    """Store the sender's language; their translator and menu target, or None if not a member."""
    sender = sender_of(context)
    change = set_locale(context.db, telegram_id=sender.telegram_id, locale=locale)
    if change is None:
        return None
    target = dataclasses.replace(change.target, is_admin=sender.is_admin)
    return translator(change.locale, change.timezone), target


async def on_my_chat_member(update: Update, context: BranchContext) -> None:
    """Greet a group the bot was added to; note a member blocking or unblocking the bot."""
    change = update.my_chat_member
    assert change is not None
    old, new = change.old_chat_member.status, change.new_chat_member.status
    if change.chat.type == ChatType.PRIVATE:
        if new == ChatMemberStatus.BANNED:  # "kicked": the user blocked the bot
            mark_blocked(context.db, telegram_id=change.chat.id, now=context.clock.now())
            mark_seat_unreachable(
                context.db,
                telegram_id=change.chat.id,
                reason=BLOCKED_REASON,
                now=context.clock.now(),
            )
        elif new == ChatMemberStatus.MEMBER:
            mark_reachable(context.db, telegram_id=change.chat.id)
            mark_seat_reachable(context.db, telegram_id=change.chat.id)
        return
    if new in _PRESENT and old not in _PRESENT:
        try:
            await context.bot.send_message(change.chat.id, group_hello(context.tr))
        except TelegramError:  # e.g. added without the right to post: nothing to do
            log.info("could not greet group %s", change.chat.id)


def _bot_commands(commands: Sequence[CommandInfo], tr: Translator) -> list[BotCommand]:
    # Telegram wants 1-256 characters per description.
    return [BotCommand(c.name, (describe(c, tr) or c.name)[:256]) for c in commands]


async def _publish(
    bot: Bot, commands: Sequence[CommandInfo], scope: BotCommandScope, services: Services
) -> None:
    """One scope in each language, plus the no-language fallback in the default locale."""
    tz = services.settings.default_timezone
    for locale, code in MENU_LANGUAGES:
        await bot.set_my_commands(
            _bot_commands(commands, translator(locale, tz)), scope=scope, language_code=code
        )
    default = translator(services.settings.default_locale, tz)
    await bot.set_my_commands(_bot_commands(commands, default), scope=scope)


async def set_command_menus(bot: Bot, services: Services) -> None:
    """Publish the menus: members' (default and private chats), group ones, each privileged one."""
    members = commands_for(services.commands, Role.MEMBER.value)
    await _publish(bot, members, BotCommandScopeDefault(), services)
    await _publish(bot, members, BotCommandScopeAllPrivateChats(), services)
    group = [c for c in services.commands if c.group_chat]
    await _publish(bot, group, BotCommandScopeAllGroupChats(), services)
    settings = services.settings
    targets = menu_targets(
        services.db, admin_ids=settings.admin_telegram_ids, default_locale=settings.default_locale
    )
    for target in targets:
        await refresh_menu(bot, target, services)
    await publish_descriptions(bot, default_locale=settings.default_locale)


async def refresh_menu(bot: Bot, target: MenuTarget, services: Services) -> None:
    """Give one person's private chat the menu of their role in their language (or the default)."""
    scope = BotCommandScopeChat(target.telegram_id)
    if not target.org:  # a member (language change, new role) may hold a seat besides
        seats = await off_the_loop(services.db, seats_for, services.db, target.telegram_id)
        target = dataclasses.replace(target, org=bool(seats))
    try:
        if target.needs_own_menu:
            commands = commands_for(
                services.commands,
                target.role,
                is_admin=target.is_admin,
                member=target.member,
                org=target.org,
            )
            tr = translator(target.locale, services.settings.default_timezone)
            await bot.set_my_commands(_bot_commands(commands, tr), scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except TelegramError as exc:  # one person's menu must not stop start-up or a reply
        log.warning("could not set the command menu of %s: %s", target.telegram_id, exc)
