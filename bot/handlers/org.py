"""/org: the organisation above branches, from Telegram (the same actions as `branchbot org`).

Open to the deployment's admins and to seat holders (Need.ORG, admin=True in the table); what
each may change is decided by `bot.services.org_admin` (a unit's secretary: seats in their own
subtree; admins: everything; anyone else with a seat: `/org` to read their subtree).
"""

from __future__ import annotations

from telegram import LinkPreviewOptions, Update

from bot.context import BranchContext
from bot.handlers.gate import reply, with_seats
from bot.handlers.onboarding import refresh_menu
from bot.render import org as text
from bot.render.text import split_message
from bot.services.members import person_menu_target
from bot.services.org_admin import (
    Actor,
    OrgRefused,
    OrgRequest,
    Problem,
    add_unit,
    attach_branch,
    detach_branch,
    org_tree,
    parse_org,
    remove_unit,
    rename_unit,
    seat_person,
    unseat_person,
)

ADMIN_ONLY = frozenset({"add", "attach", "detach", "rename", "remove"})


async def org_command(update: Update, context: BranchContext) -> None:
    """`/org [ACTION …]`; with no action, the tree this person may see."""
    message = update.effective_message
    assert message is not None
    sender = await with_seats(context)
    actor = Actor(is_admin=sender.is_admin, seats=sender.seats or ())
    parts = (message.text or "").split(maxsplit=1)
    try:
        request = parse_org(parts[1] if len(parts) > 1 else "")
        if request.action in ADMIN_ONLY and not actor.is_admin:
            raise OrgRefused(Problem.NOT_ALLOWED)
        answer = await _act(update, context, request, actor)
    except OrgRefused as error:
        await reply(update, context, text.refused(error, context.tr))
        return
    for chunk in split_message(answer):
        await message.reply_text(chunk, link_preview_options=LinkPreviewOptions(is_disabled=True))


async def _act(update: Update, context: BranchContext, request: OrgRequest, actor: Actor) -> str:
    tr, db, now = context.tr, context.db, context.clock.now()
    settings = context.services.settings
    args = request.args
    match request.action:
        case "add":
            added = add_unit(
                db,
                args[0],
                general_branch=request.general_branch,
                under=request.under,
                timezone=request.timezone,
                language=request.language,
                default_timezone=settings.default_timezone,
                default_locale=settings.default_locale,
                now=now,
            )
            return text.unit_added(added, tr)
        case "attach":
            return text.attached(args[0], args[1], attach_branch(db, args[0], args[1]), tr)
        case "detach":
            return text.detached(args[0], detach_branch(db, args[0]), tr)
        case "seat":
            issued = seat_person(
                db,
                args[0],
                args[1],
                role=request.role,
                again=request.again,
                actor=actor,
                actor_telegram_id=context.sender.telegram_id if context.sender else None,
                now=now,
                ttl_days=settings.invite_ttl_days,
            )
            link = f"https://t.me/{context.bot.username}?start={issued.token}"
            return text.seat_issued(issued, link, tr)
        case "unseat":
            done = unseat_person(
                db,
                args[0],
                args[1],
                actor=actor,
                actor_telegram_id=context.sender.telegram_id if context.sender else None,
            )
            if done.telegram_id is not None:  # their menu loses what the seat gave
                target = person_menu_target(
                    db,
                    telegram_id=done.telegram_id,
                    is_admin=done.telegram_id in settings.admin_telegram_ids,
                    default_locale=settings.default_locale,
                )
                await refresh_menu(context.bot, target, context.services)
            return text.unseated(done, tr)
        case "rename":
            rename_unit(db, args[0], args[1])
            return text.renamed(args[0], args[1], tr)
        case "remove":
            remove_unit(db, args[0])
            return text.removed(args[0], tr)
        case _:
            return text.tree_text(org_tree(db, actor=actor), tr)
