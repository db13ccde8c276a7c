"""/reschedule EVENT DATE TIME and /cancelevent EVENT (plain /cancel aborts a conversation)."""

from __future__ import annotations

from telegram import Update

from bot.context import BranchContext
from bot.handlers.gate import reply, sender_of
from bot.render.attendance import change_error, change_text
from bot.services.changes import (
    ChangeError,
    cancel,
    parse_day,
    parse_event_ref,
    parse_time,
    reschedule,
)


async def reschedule_command(update: Update, context: BranchContext) -> None:
    """Move one occurrence to a new local date and time; the reminded are told."""
    args = context.args or []
    sender = sender_of(context)
    assert sender.branch_id is not None  # requires() admitted a member
    try:
        if len(args) != 3:
            raise ChangeError("usage_reschedule")
        ref, day, at = parse_event_ref(args[0]), parse_day(args[1]), parse_time(args[2])
        result = reschedule(context.db, branch_id=sender.branch_id, actor_id=sender.member_id,
                            ref=ref, day=day, at=at, now=context.clock.now())  # fmt: skip
    except ChangeError as error:
        await reply(update, context, change_error(error.code, error.value, context.tr))
        return
    await reply(update, context, change_text(result, context.tr))


async def cancelevent_command(update: Update, context: BranchContext) -> None:
    """Cancel one occurrence; the reminded are told, pending reminders are dropped."""
    args = context.args or []
    sender = sender_of(context)
    assert sender.branch_id is not None  # requires() admitted a member
    try:
        if len(args) != 1:
            raise ChangeError("usage_cancel")
        result = cancel(context.db, branch_id=sender.branch_id, actor_id=sender.member_id,
                        ref=parse_event_ref(args[0]), now=context.clock.now())  # fmt: skip
    except ChangeError as error:
        await reply(update, context, change_error(error.code, error.value, context.tr))
        return
    await reply(update, context, change_text(result, context.tr))
