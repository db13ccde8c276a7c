"""/invite, /members, /bindgroup and /me."""

from __future__ import annotations

from telegram import LinkPreviewOptions, Update
from telegram.constants import ChatType

from bot.access import Need
from bot.buttons import Button
from bot.context import BranchContext
from bot.handlers.gate import refuse, reply, sender_of
from bot.handlers.onboarding import refresh_menu
from bot.handlers.taps import answer, edit, on_button, query_of, send_private
from bot.i18n import translator
from bot.keyboards import markup
from bot.render.development import me_lines
from bot.render.members import (
    bind_notice,
    bind_text,
    delivery_keyboard,
    delivery_text,
    invite_denied,
    invite_issued,
    invite_usage,
    me_text,
    roster_text,
)
from bot.render.text import refusal_text, split_message
from bot.services.development import my_stage
from bot.services.events import Refusal
from bot.services.invites import InviteDenied, InviteUsageError, create_invite, parse_invite
from bot.services.me import my_overview
from bot.services.members import BindStatus, bind_group, branch_roster, set_delivery
from storage.models import DeliveryMode


def _arguments(text: str | None) -> str:
    """Everything after the command word, untouched (quotes matter to /invite)."""
    parts = (text or "").split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


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


async def members_command(update: Update, context: BranchContext) -> None:
    """The branch's members by group, with role, link, dues amount and reachability."""
    assert update.effective_message is not None
    view = branch_roster(context.db, telegram_id=sender_of(context).telegram_id)
    if view is None:
        await refuse(update, context, not_member=False)
        return
    for chunk in split_message(roster_text(view, context.tr)):
        await update.effective_message.reply_text(chunk)


async def bindgroup_command(update: Update, context: BranchContext) -> None:
    """Bind the group chat this is sent in to the secretary's branch."""
    chat = update.effective_chat
    assert chat is not None
    _ = context.tr.gettext
    if chat.type == ChatType.PRIVATE:
        await reply(update, context, _("Send /bindgroup in the group chat you want to bind."))
        return
    sender = sender_of(context)
    outcome = bind_group(
        context.db,
        telegram_id=sender.telegram_id,
        chat_id=chat.id,
        now=context.clock.now(),
        is_admin=sender.is_admin,
    )
    if outcome.status is BindStatus.NOT_SECRETARY:
        await refuse(update, context, not_member=False)
        return
    for telegram_id, locale in outcome.tell:  # the other branch's secretaries
        tr = translator(locale or context.tr.locale_name, context.tr.tz.zone or "UTC")
        await send_private(context, telegram_id, bind_notice(outcome, chat.title or "", tr))
    if outcome.status is BindStatus.TAKEN:
        await reply(update, context, bind_text(outcome, context.tr))
        return
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        bind_text(outcome, context.tr), reply_markup=markup(delivery_keyboard(context.tr))
    )


@on_button("bd", need=Need.SECRETARY)
async def on_delivery_choice(update: Update, context: BranchContext, tapped: Button) -> None:
    """The secretary's answer to "how should reminders go?": private, group chat or both."""
    query = query_of(update)
    chat = update.effective_chat
    modes = (DeliveryMode.DIRECT, DeliveryMode.GROUP, DeliveryMode.BOTH)
    if chat is None or tapped.id >= len(modes):
        await answer(query, refusal_text(Refusal.UNKNOWN, context.tr))
        return
    outcome = set_delivery(
        context.db,
        telegram_id=sender_of(context).telegram_id,
        chat_id=chat.id,
        mode=modes[tapped.id],
        now=context.clock.now(),
    )
    if outcome.status is BindStatus.NOT_SECRETARY:
        await answer(query, refusal_text(Refusal.NOT_ALLOWED, context.tr))
        return
    chosen = delivery_text(outcome.delivery_mode, context.tr)
    await answer(query, chosen)
    await edit(query, chosen)


async def me_command(update: Update, context: BranchContext) -> None:
    """My upcoming events, my dues this year and my attendance this year."""
    assert update.effective_message is not None
    view = my_overview(
        context.db, telegram_id=sender_of(context).telegram_id, now=context.clock.now()
    )
    if view is None:
        await refuse(update, context, not_member=True)
        return
    member_id = sender_of(context).member_id
    now = context.clock.now()
    stage = my_stage(context.db, member_id=member_id, now=now) if member_id else None
    text = "\n".join([me_text(view, context.tr), *me_lines(stage, context.tr)])
    for chunk in split_message(text):
        await update.effective_message.reply_text(chunk)
