"""Group -1: resolve who sent each update, and the one access check used by every handler.

`identify_sender` runs before every handler. It stops early, with a clear answer and nothing
stored, for the cases no feature handler should ever see: a stranger using a command or a
button, and a private-chat command sent in a group (where its answer could leak one member's
data). `requires` is the per-command/per-button role check.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.access import Need, Seat, allowed
from bot.concurrency import off_the_loop
from bot.context import BranchContext, Sender
from bot.i18n import translator
from bot.menu import find_command
from bot.render.onboarding import invite_explanation
from bot.services import org
from bot.services.members import mark_reachable
from bot.services.org import mark_seat_reachable
from scheduler.development.rules import PRE_MEMBER
from storage import repositories as repo
from storage.db import Database
from storage.models import Branch, Member, OrgPerson, OrgUnit

Handler = Callable[[Update, BranchContext], Coroutine[Any, Any, Any]]
OPEN_TO_STRANGERS = frozenset({"start", "help", "privacy"})


async def identify_sender(update: Update, context: BranchContext) -> None:
    """Look up the member behind this update once, with their language; stop strangers early."""
    user = update.effective_user
    if user is None:
        return
    settings = context.services.settings
    is_admin = user.id in settings.admin_telegram_ids
    member, branch, seated = await off_the_loop(
        context.db, _member_and_branch, context.db, user.id
    )
    if member is not None and branch is not None and member.active:
        context.sender = Sender(
            telegram_id=user.id,
            member_id=member.id,
            branch_id=branch.id,
            name=member.name,
            role=member.role,
            group_id=member.group_id,
            is_admin=is_admin,
            tr=translator(member.locale or branch.locale, branch.timezone),
            member=member.status not in PRE_MEMBER,
        )
        if member.unreachable_reason is not None and _is_private_message(update):
            # They wrote to us, so they have (re)started the bot: reachable again.
            mark_reachable(context.db, telegram_id=user.id)
    elif seated is not None:
        # Not in any branch, but holding a seat above branches (committee, general branch).
        person, unit, seats = seated
        if person.unreachable_reason is not None and _is_private_message(update):
            mark_seat_reachable(context.db, telegram_id=user.id)  # they wrote to us again
        context.sender = Sender(
            telegram_id=user.id,
            member_id=None,
            branch_id=None,
            name=person.name,
            role=None,
            group_id=None,
            is_admin=is_admin,
            tr=translator(person.locale or unit.locale, unit.timezone),
            seats=seats,
        )
    else:
        tr = translator(
            user.language_code, settings.default_timezone, default_locale=settings.default_locale
        )
        context.sender = Sender(
            telegram_id=user.id,
            member_id=None,
            branch_id=None,
            name=None,
            role=None,
            group_id=None,
            is_admin=is_admin,
            tr=tr,
            seats=(),
        )
    await _stop_early(update, context)


Seated = tuple[OrgPerson, OrgUnit, tuple[Seat, ...]]


def _member_and_branch(
    db: Database, telegram_id: int
) -> tuple[Member | None, Branch | None, Seated | None]:
    """The member behind an account; for someone in no branch, their seats above branches."""
    with db.read() as session:
        member = repo.member_by_telegram_id(session, telegram_id=telegram_id)
        branch = repo.get_branch(session, member.branch_id) if member else None
        if member is not None and member.active:
            return member, branch, None
        seats = org.seats_of(session, telegram_id=telegram_id)
        if not seats:
            return member, branch, None
        person = session.get(OrgPerson, seats[0].person_id)
        unit = session.get(OrgUnit, seats[0].unit_id)
        assert person is not None and unit is not None
        return member, branch, (person, unit, seats)


async def with_seats(context: BranchContext) -> Sender:
    """The sender with their seats above branches looked up (once per update)."""
    sender = sender_of(context)
    if sender.seats is None:
        seats = await off_the_loop(context.db, seats_for, context.db, sender.telegram_id)
        sender = dataclasses.replace(sender, seats=seats)
        context.sender = sender
    return sender


def seats_for(db: Database, telegram_id: int) -> tuple[Seat, ...]:
    """The active seats of an account, in a read of their own."""
    with db.read() as session:
        return org.seats_of(session, telegram_id=telegram_id)


async def _stop_early(update: Update, context: BranchContext) -> None:
    """Answer and stop the updates no feature handler should see."""
    sender = context.sender
    assert sender is not None
    stranger = sender.member_id is None and not sender.is_admin and not sender.org
    name = command_of(update, context.bot.username)
    info = find_command(context.services.commands, name) if name else None
    private = _is_private(update)
    if stranger and update.callback_query is not None:
        await reply(update, context, invite_explanation(context.tr))
        raise ApplicationHandlerStop
    if stranger and name is not None and name not in OPEN_TO_STRANGERS:
        # In a group, a command we do not know may be meant for another bot: stay quiet.
        if private or info is not None:
            await reply(update, context, invite_explanation(context.tr))
        raise ApplicationHandlerStop
    if stranger and private and name is None and update.message is not None:
        await reply(update, context, invite_explanation(context.tr))
        raise ApplicationHandlerStop
    if info is not None and not private and not info.group_chat:
        await reply(update, context, private_hint(context))
        raise ApplicationHandlerStop


def private_hint(context: BranchContext) -> str:
    """The answer to a private-chat command sent in a group."""
    return context.tr.gettext("Please use this command in a private chat with me.")


def command_of(update: Update, bot_username: str | None) -> str | None:
    """The command this message starts with, lowercased; None if none or for another bot."""
    message = update.message
    if message is None or not message.text or not message.entities:
        return None
    first = message.entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None
    name, _at, target = message.text[1 : first.length].partition("@")
    if target and target.lower() != (bot_username or "").lower():
        return None
    return name.lower()


def _is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is None or chat.type == ChatType.PRIVATE


def _is_private_message(update: Update) -> bool:
    return update.message is not None and _is_private(update)


def requires(
    need: Need, *, private_only: bool = False, admins: bool = False
) -> Callable[[Handler], Handler]:
    """Let the handler run only for someone allowed `need`; everyone else gets a clear answer.

    `admins=True` also lets ADMIN_TELEGRAM_IDS in (by numeric id, never by username).
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(update: Update, context: BranchContext) -> Any:
            sender = context.sender
            if need is Need.ORG and sender is not None:
                sender = await with_seats(context)
            role = sender.role if sender else None
            member = sender.member if sender else True
            org_seat = sender is not None and sender.org
            admitted = admins and sender is not None and sender.is_admin
            if not allowed(role, need, member=member, org=org_seat) and not admitted:
                await refuse(
                    update, context, not_member=role is None and not org_seat,
                    pre_member=not member, seat_only=role is None and org_seat,
                )  # fmt: skip
                return None
            if private_only and not _is_private(update):
                await reply(update, context, private_hint(context))
                return None
            return await handler(update, context)

        return guarded

    return decorate


def sender_of(context: BranchContext) -> Sender:
    """The resolved sender (identify_sender always sets it for updates with a user)."""
    assert context.sender is not None
    return context.sender


async def refuse(
    update: Update,
    context: BranchContext,
    *,
    not_member: bool,
    pre_member: bool = False,
    seat_only: bool = False,
) -> None:
    """Say why the person may not do this; write nothing. `seat_only`: they hold a seat above
    branches but are in no branch, so a branch's commands are not theirs (no invite helps)."""
    if seat_only:
        text = context.tr.gettext(
            "You hold a seat above the branches, not a place in a branch, so this command is "
            "not for you. Send /help to see what you can do."
        )
    elif not_member:
        text = invite_explanation(context.tr)
    elif pre_member:
        text = context.tr.gettext(
            "This is for Party members. Until you are one, you can use /me, /lang, /privacy, "
            "/help and /cancel, and hand in your thought report with /report as an activist."
        )
    else:
        text = context.tr.gettext("Sorry, this is not available to your role.")
    await reply(update, context, text)


async def reply(update: Update, context: BranchContext, text: str) -> None:
    """Answer a command with a message, or a button tap with a toast."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
