"""/privacy for everyone; /remove (a member leaves) and /retention for the secretary."""

from __future__ import annotations

from telegram import Update

from bot.access import Need
from bot.buttons import Button, button
from bot.context import BranchContext
from bot.handlers.gate import reply, sender_of
from bot.handlers.taps import answer, edit, on_button, query_of
from bot.keyboards import markup
from bot.render import privacy as text
from bot.render.text import refusal_text
from bot.services import leaving
from bot.services.events import Refusal
from storage.models import Branch


async def privacy_command(update: Update, context: BranchContext) -> None:
    """What is stored about the member, who sees it and how long it is kept."""
    sender = sender_of(context)
    days = None
    if sender.branch_id is not None:
        with context.db.read() as session:
            branch = session.get(Branch, sender.branch_id)
            days = branch.retention_days if branch else None
    await reply(update, context, text.privacy_text(days, context.tr))


async def remove_command(update: Update, context: BranchContext) -> None:
    """/remove NAME: ask how the member left (transfer or removal) before doing anything."""
    name = " ".join(context.args or [])
    if not name:
        await reply(update, context, text.remove_usage(context.tr))
        return
    found = leaving.find_for_removal(context.db, actor_id=sender_of(context).member_id, name=name)
    if found.refusal is Refusal.UNKNOWN:
        await reply(update, context, text.unknown_member(found.name, context.tr))
        return
    if found.refusal is Refusal.OWN_REQUEST:
        await reply(update, context, text.not_yourself(context.tr))
        return
    if found.refusal is not None or found.member_id is None:
        await reply(update, context, refusal_text(found.refusal or Refusal.UNKNOWN, context.tr))
        return
    _ = context.tr.gettext
    rows = [
        [
            (_("🚚 Transferred out"), button("rm", found.member_id, 1)),
            (_("✖ Removed"), button("rm", found.member_id, 2)),
        ]
    ]
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        text.removal_prompt(found.name, context.tr), reply_markup=markup(rows)
    )


@on_button("rm", need=Need.SECRETARY)
async def on_remove(update: Update, context: BranchContext, tapped: Button) -> None:
    """The secretary chose how the member left: record it (audited)."""
    member_id, code = tapped.args
    if not 1 <= code <= len(leaving.HOW_CODES):
        await answer(query_of(update), refusal_text(Refusal.UNKNOWN, context.tr))
        return
    how = leaving.HOW_CODES[code - 1]
    done = leaving.remove_member(
        context.db,
        actor_id=sender_of(context).member_id,
        member_id=member_id,
        how=how,
        now=context.clock.now(),
    )
    if done.refusal not in (None, Refusal.ALREADY):
        assert done.refusal is not None
        await answer(query_of(update), refusal_text(done.refusal, context.tr))
        return
    result = text.removal_done(
        done.name, (done.how or how) is leaving.LeaveHow.TRANSFER, context.tr
    )
    await answer(query_of(update), result)
    await edit(query_of(update), result, None)


async def retention_command(update: Update, context: BranchContext) -> None:
    """/retention [DAYS|off]: show or set how long reasons and summaries are kept."""
    args = context.args or []
    actor = sender_of(context).member_id
    if not args:
        current = leaving.retention_of(context.db, actor_id=actor)
        await reply(update, context, text.retention_text(current.days, context.tr))
        return
    word = args[0].lower()
    days = None if word in ("off", "关闭", "永久") else int(word) if word.isdigit() else 0
    result = leaving.set_retention(context.db, actor_id=actor, days=days, now=context.clock.now())
    if result.refusal is not None:
        await reply(update, context, text.retention_usage(context.tr))
        return
    await reply(update, context, text.retention_text(result.days, context.tr))


async def expire_job(context: BranchContext) -> None:
    """The daily job: reasons and summaries past the branch's retention become "given"."""
    leaving.expire_free_text(context.db, now=context.clock.now())
