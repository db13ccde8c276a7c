"""/develop (record a step of a person's way into the Party) and /pipeline (everyone by stage).

/develop NAME STEP YYYY-MM-DD [key=value ...]: names with spaces go in quotes; lists of people
are comma-separated (contacts=张三,李四). Only the secretary records; the committee may look.
"""

from __future__ import annotations

import datetime as dt
import shlex
from typing import Any

from telegram import Update

from bot.context import BranchContext
from bot.handlers.gate import sender_of
from bot.render import development as text
from bot.render.plan import page
from bot.services import development
from scheduler.development.rules import Step

PEOPLE_KEYS = ("by", "contacts", "introducers")
NUMBER_KEYS = ("hours", "days", "for", "against", "abstain", "months")


def parse(raw: str) -> dict[str, Any] | None:
    """The parts of a /develop command (None: it does not parse)."""
    try:
        words = shlex.split(raw)
    except ValueError:
        return None
    if len(words) < 3:
        return None
    name, step_word, day = words[:3]
    try:
        step = Step(step_word.lower())
        on = dt.date.fromisoformat(day)
    except ValueError:
        return None
    people: list[str] = []
    data: dict[str, Any] = {}
    reason = None
    for word in words[3:]:
        key, sep, value = word.partition("=")
        key = key.lower()
        if not sep:
            return None
        if key in PEOPLE_KEYS:
            people += [p.strip() for p in value.replace("，", ",").split(",") if p.strip()]
        elif key in NUMBER_KEYS:
            if not value.isdigit() or len(value) > 4:
                return None
            data[key] = int(value)
        elif key == "review":
            data["review"] = value.lower() in ("yes", "y", "1", "是", "done")
        elif key == "reason":
            reason = value.strip()[:500] or None
        else:
            return None
    return {"person": name, "step": step, "on": on, "people": people, "data": data,
            "reason": reason}  # fmt: skip


async def develop_command(update: Update, context: BranchContext) -> None:
    """Record one step; a step the rules do not allow is refused with the rule named."""
    sender = sender_of(context)
    message = update.effective_message
    assert sender.branch_id is not None and message is not None
    raw = (message.text or "").partition(" ")[2]
    parts = parse(raw)
    if parts is None:
        await message.reply_text(context.tr.gettext(text.USAGE))
        return
    result = development.record_step(
        context.db, branch_id=sender.branch_id, actor_id=sender.member_id,
        now=context.clock.now(), **parts,
    )  # fmt: skip
    await message.reply_text(text.recorded_text(result, context.tr))


async def pipeline_command(update: Update, context: BranchContext) -> None:
    """Everyone in the pipeline by stage with their next deadline, overdue ones first."""
    sender = sender_of(context)
    message = update.effective_message
    assert sender.branch_id is not None and message is not None
    entries = development.pipeline(context.db, branch_id=sender.branch_id, now=context.clock.now())
    body, _number, _total = page(text.pipeline_text(entries, context.tr), 0)
    await message.reply_text(body)
