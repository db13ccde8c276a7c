"""/invite, /members, /bindgroup and /me."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import LinkPreviewOptions, Update
from telegram.constants import ChatType
from telegram.ext import CommandHandler

from bot.access import Need
from bot.context import BranchContext
from bot.handlers.gate import refuse, reply, requires, sender_of
from bot.handlers.onboarding import NEW_MESSAGES, refresh_menu
from bot.render_members import invite_denied, invite_issued, invite_usage, me_text, roster_text
from bot.render_util import split_message
from bot.services.invites import InviteDenied, InviteUsageError, create_invite, parse_invite
from bot.services.me import my_overview
from bot.services.members import BindStatus, bind_group, branch_roster

if TYPE_CHECKING:
    from bot.app import BranchApp


def _arguments(text: str | None) -> str:
    """Everything after the command word, untouched (quotes matter to /invite)."""
    parts = (text or "").split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


@requires(Need.SECRETARY, admins=True)
async def invite_command(update: Update, context: BranchContext) -> None:
    """Create (or reuse) a member and answer a one-time invite deep link."""
    assert update.effective_message is not None
    sender, tr = sender_of(context), context.tr
    try:
        request = parse_invite(_arguments(update.effective_message.text))
    except InviteUsageError as error:
        await reply(update, context, invite_usage(error, tr))
        return
    result = create_invite(
        context.db,
        request,
        actor_telegram_id=sender.telegram_id,
        is_admin=sender.is_admin,
        now=context.clock.now(),
        ttl_days=context.services.settings.invite_ttl_days,
    )
    if isinstance(result, InviteDenied):
        await reply(update, context, invite_denied(result.reason, tr, branch=request.branch))
        return
    link = f"https://t.me/{context.bot.username}?start={result.token}"
    await update.effective_message.reply_text(
        invite_issued(result, link, tr), link_preview_options=LinkPreviewOptions(is_disabled=True)
    )
    if result.refresh is not None:  # a linked member's role changed: their menu changes too
        await refresh_menu(context.bot, result.refresh, context.services)


@requires(Need.COMMITTEE, private_only=True)
async def members_command(update: Update, context: BranchContext) -> None:
    """The branch's members by group, with role, link, dues amount and reachability."""
    assert update.effective_message is not None
    view = branch_roster(context.db, telegram_id=sender_of(context).telegram_id)
    if view is None:
        await refuse(update, context, not_member=False)
        return
    for chunk in split_message(roster_text(view, context.tr)):
        await update.effective_message.reply_text(chunk)


@requires(Need.SECRETARY)
async def bindgroup_command(update: Update, context: BranchContext) -> None:
    """Bind the group chat this is sent in to the secretary's branch."""
    chat = update.effective_chat
    assert chat is not None
    _ = context.tr.gettext
    if chat.type == ChatType.PRIVATE:
        await reply(update, context, _("Send /bindgroup in the group chat you want to bind."))
        return
    outcome = bind_group(
        context.db,
        telegram_id=sender_of(context).telegram_id,
        chat_id=chat.id,
        now=context.clock.now(),
    )
    if outcome.status is BindStatus.NOT_SECRETARY:
        await refuse(update, context, not_member=False)
        return
    if outcome.status is BindStatus.ALREADY:
        text = _("This group chat is already bound to {branch}.")
    else:
        text = _("This group chat is now bound to {branch}. Group reminders will be posted here.")
    await reply(update, context, text.format(branch=outcome.branch_name))


@requires(Need.MEMBER, private_only=True)
async def me_command(update: Update, context: BranchContext) -> None:
    """My upcoming events, my dues this year and my attendance this year."""
    assert update.effective_message is not None
    view = my_overview(
        context.db, telegram_id=sender_of(context).telegram_id, now=context.clock.now()
    )
    if view is None:
        await refuse(update, context, not_member=True)
        return
    for chunk in split_message(me_text(view, context.tr)):
        await update.effective_message.reply_text(chunk)


def register(app: BranchApp) -> None:
    """Register this feature's handlers."""
    app.add_handler(CommandHandler("invite", invite_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("members", members_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("bindgroup", bindgroup_command, filters=NEW_MESSAGES))
    app.add_handler(CommandHandler("me", me_command, filters=NEW_MESSAGES))
