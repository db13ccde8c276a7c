"""Members who leave, /privacy, how long free text is kept, and incomes that do not linger."""

from __future__ import annotations

import datetime as dt
import io
import json

from openpyxl import load_workbook
from sqlmodel import select

from bot.buttons import button
from bot.services.export import export_branch
from bot.services.leaving import expire_free_text
from storage.models import Attendance, Branch, Delivery, Member, TalkRecord
from tests.bot.secretary_data import (
    LEADER,
    LI,
    SECRETARY,
    answer,
    audits,
    branch,
    occ,
    pay,
    reminded,
    talk,
)
from tests.fakes import updates
from tests.harness import Harness

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def _member(h: Harness, member_id: int) -> Member:
    with h.db.read() as s:
        member = s.get(Member, member_id)
    assert member is not None
    return member


async def _remove(h: Harness, name: str, code: int) -> str:
    await h.feed(updates.command("remove", *name.split(), user_id=SECRETARY))
    prompt = h.api.last_message(SECRETARY)
    assert prompt is not None and "How did they leave?" in prompt["text"]
    data = [b["callback_data"] for b in prompt["reply_markup"]["inline_keyboard"][0]]
    await h.feed(
        updates.callback_query(data[code - 1], user_id=SECRETARY, message_id=prompt["message_id"])
    )
    done = h.api.message(SECRETARY, prompt["message_id"])
    assert done is not None
    return str(done["text"])


async def test_a_member_who_transfers_out_is_unlinked_and_receives_nothing(
    harness: Harness,
) -> None:
    harness.clock.current = NOW
    ids = branch(harness.db)
    li = ids["Member Li"]
    past = occ(harness.db, ids["branch"], "group_meeting", "2026-02-12")
    future = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    assert past.id is not None and future.id is not None
    answer(harness.db, past.id, li, "leave_approved", reason="出差")
    answer(harness.db, future.id, li, "leave_requested", reason="家中有事")
    pay(harness.db, li, 1)
    reminded(harness.db, ids["branch"], future.id, li, LI)
    with harness.db.transaction() as s:  # a reminder still queued for them
        row = s.exec(select(Delivery)).one()
        row.status = "pending"
    await harness.feed(updates.command("start", user_id=LI))  # linked, talking to the bot

    result = await _remove(harness, "Member Li", 1)

    assert "Member Li has left the branch (transferred out)" in result
    member = _member(harness, li)
    assert (member.active, member.telegram_id, member.linked_at) == (False, None, None)
    assert member.left_at == NOW and member.left_how == "transfer"
    with harness.db.read() as s:
        states = {a.occurrence_id: a.leave_reason for a in s.exec(select(Attendance))}
        delivery = s.exec(select(Delivery)).one()
    assert states == {past.id: "出差"}  # past history kept, the future answer gone
    assert delivery.status == "skipped"
    assert audits(harness.db, "member.left") == [
        {"member_id": li, "how": "transfer", "actor": ids["Secretary Wang"]}
    ]
    # They are a stranger to the bot now.
    before = len(harness.replies_to(LI))
    await harness.feed(updates.command("me", user_id=LI))
    assert "invite link" in harness.last_reply(LI) and len(harness.replies_to(LI)) == before + 1
    # The registers keep their name in past attendance and dues only.
    sheets = load_workbook(
        io.BytesIO(export_branch(harness.db, branch_id=ids["branch"], now=NOW).xlsx)
    )
    names = {
        ws.title: {c.value for c in ws["A"] if c.value} | {c.value for c in ws["D"] if c.value}
        for ws in sheets.worksheets
    }
    assert "Member Li" in names["Dues register"] and "Member Li" in names["Attendance"]


async def test_removal_needs_the_secretary_and_a_real_member(harness: Harness) -> None:
    harness.clock.current = NOW
    ids = branch(harness.db)
    await harness.feed(updates.command("remove", "Member", "Zhao", user_id=LI))
    assert "not available to your role" in harness.last_reply(LI)
    await harness.feed(updates.command("remove", "Nobody", user_id=SECRETARY))
    assert "no member called Nobody" in harness.last_reply(SECRETARY)
    await harness.feed(updates.command("remove", "Secretary", "Wang", user_id=SECRETARY))
    assert "cannot remove yourself" in harness.last_reply(SECRETARY)
    # A forged button from a group leader changes nothing.
    await harness.feed(updates.callback_query(button("rm", ids["Member Zhao"], 2), user_id=LEADER))
    assert _member(harness, ids["Member Zhao"]).active
    assert audits(harness.db, "member.left") == []
    assert "removed from the branch" in await _remove(harness, "Member Zhao", 2)
    assert _member(harness, ids["Member Zhao"]).left_how == "removed"


async def test_privacy_tells_what_is_stored_and_who_sees_it(harness: Harness) -> None:
    branch(harness.db)
    await harness.feed(updates.command("privacy", user_id=LI))
    text = harness.last_reply(LI)
    assert "What this bot stores about you" in text and "Who sees it" in text
    assert "keeps them until a secretary changes this" in text and "/me export" in text
    await harness.feed(updates.command("privacy", user_id=555))  # not a member: told too
    assert "What this bot stores about you" in harness.last_reply(555)


async def test_retention_replaces_old_reasons_and_summaries(harness: Harness) -> None:
    harness.clock.current = NOW
    ids = branch(harness.db, locale="zh_CN")
    old = occ(harness.db, ids["branch"], "group_meeting", "2026-01-08")
    recent = occ(harness.db, ids["branch"], "group_meeting", "2026-02-12")
    assert old.id is not None and recent.id is not None
    answer(harness.db, old.id, ids["Member Li"], "leave_approved", reason="工资条显示月收入8000元")
    answer(harness.db, recent.id, ids["Member Li"], "leave_approved", reason="出差")
    talk(harness.db, ids["branch"], ids["Group 1"], 1, by=ids["Leader Zhou"], participants=[],
         summary="谈心谈话", at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))  # fmt: skip
    await harness.feed(updates.command("retention", "30", user_id=SECRETARY))
    assert "30" in harness.last_reply(SECRETARY)
    assert audits(harness.db, "retention.set")[0]["days"] == 30
    assert expire_free_text(harness.db, now=NOW) == 2
    with harness.db.read() as s:
        reasons = {a.occurrence_id: a.leave_reason for a in s.exec(select(Attendance))}
        summary = s.exec(select(TalkRecord)).one().summary
    assert reasons == {old.id: "已说明理由", recent.id: "出差"}
    assert summary == "已提交摘要"
    assert expire_free_text(harness.db, now=NOW) == 0  # idempotent
    await harness.feed(updates.command("retention", "off", user_id=SECRETARY))
    with harness.db.read() as s:
        b = s.get(Branch, ids["branch"])
        assert b is not None and b.retention_days is None
    await harness.feed(updates.command("retention", "-3", user_id=SECRETARY))
    assert "/retention" in harness.last_reply(SECRETARY)


async def test_the_income_typed_into_dues_set_does_not_linger(harness: Harness) -> None:
    ids = branch(harness.db)
    command = updates.command("dues", "set", "Member", "Li", "8123", user_id=SECRETARY)
    harness.api.observe(command)  # Telegram has the secretary's message
    await harness.feed(command)
    assert harness.api.incoming(SECRETARY) == []  # deleted
    proposal = harness.api.last_message(SECRETARY)
    assert proposal is not None
    data = proposal["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await harness.feed(
        updates.callback_query(data, user_id=SECRETARY, message_id=proposal["message_id"])
    )
    texts = [json.dumps(m, ensure_ascii=False) for m in harness.api.sent("sendMessage")]
    texts += [json.dumps(m, ensure_ascii=False) for m in harness.api.sent("editMessageText")]
    assert texts and not any("8123" in t or "8,123" in t for t in texts)
    assert _member(harness, ids["Member Li"]).dues_amount > 0
