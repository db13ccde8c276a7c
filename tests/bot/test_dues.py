"""Dues through the real Application: I paid, /dues, several months, review, approved amounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlmodel import select

from bot.buttons import button
from storage.models import AuditEntry, DuesPayment, Member
from tests.bot.answers_fixtures import count, edits_of, seed_started, send_reminder, tap
from tests.fakes import updates
from tests.harness import Harness

LI, SUN, LEADER, SECRETARY, COMMITTEE = 1001, 1002, 2001, 9001, 9002
GROUP_CHAT = -1001234567890
DUES_DAY = dt.datetime(2026, 3, 27, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


async def test_i_paid_records_the_month_and_edits_the_reminder(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(DUES_DAY)
    message_id = await send_reminder(harness, LI, w.dues, w.ids["Member Li"])
    answer = await tap(harness, button("pd", w.dues), user_id=LI, message_id=message_id)
    assert "¥12.50" in answer["text"] and "March 2026" in answer["text"]
    with harness.db.read() as s:
        payment = s.exec(select(DuesPayment)).one()
    assert (payment.year, payment.month, payment.amount) == (2026, 3, Decimal("12.50"))
    assert payment.confirmed_at is None
    assert "You have paid" in edits_of(harness, LI, message_id)[-1]


async def test_second_i_paid_records_nothing_more(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(DUES_DAY)
    message_id = await send_reminder(harness, LI, w.dues, w.ids["Member Li"])
    await tap(harness, button("pd", w.dues), user_id=LI, message_id=message_id)
    again = await tap(harness, button("pd", w.dues), user_id=LI, message_id=message_id)
    assert again["text"].startswith("Already recorded")
    assert count(harness.db, DuesPayment) == 1


async def test_group_i_paid_keeps_amounts_out_of_the_group(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(DUES_DAY)
    message_id = await send_reminder(harness, GROUP_CHAT, w.dues, None)
    answer = await tap(
        harness, button("pd", w.dues), user_id=SUN, chat_id=GROUP_CHAT, message_id=message_id
    )
    assert "¥12.50" in answer["text"]  # the toast is shown to the presser only
    (edited,) = edits_of(harness, GROUP_CHAT, message_id)
    assert "¥" not in edited and "Member Sun" not in edited
    assert "1 of" in edited


async def test_dues_shows_amount_paid_and_owed_with_buttons(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(DUES_DAY)
    await tap(harness, button("pd", w.dues), user_id=LI)
    await harness.feed(updates.command("dues", user_id=LI))
    reply = harness.api.last_message(LI)
    assert reply is not None
    assert "¥12.50" in reply["text"]
    assert "January 2026, February 2026" in reply["text"]
    data = [b["callback_data"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert data == [button("pm", 2026, 1), button("pm", 2026, 2), button("pa", 2026)]


async def test_all_owed_months_are_declared_with_one_tap(harness: Harness) -> None:
    seed_started(harness)
    harness.clock.set(DUES_DAY)
    await harness.feed(updates.command("dues", user_id=LI))
    reply = harness.api.last_message(LI)
    assert reply is not None
    answer = await tap(harness, button("pa", 2026), user_id=LI, message_id=reply["message_id"])
    assert "¥37.50" in answer["text"]
    assert count(harness.db, DuesPayment) == 3
    assert "nothing — thank you!" in edits_of(harness, LI, reply["message_id"])[-1]


async def test_a_future_month_cannot_be_declared(harness: Harness) -> None:
    seed_started(harness)
    harness.clock.set(DUES_DAY)
    answer = await tap(harness, button("pm", 2026, 9), user_id=LI)
    assert "not begun" in answer["text"]
    assert count(harness.db, DuesPayment) == 0


async def test_dues_in_a_group_chat_points_to_the_private_chat(harness: Harness) -> None:
    seed_started(harness)
    await harness.feed(updates.command("dues", user_id=LI, chat_id=GROUP_CHAT))
    assert "private chat" in harness.last_reply(GROUP_CHAT)
    assert "¥" not in harness.last_reply(GROUP_CHAT)


async def test_committee_confirms_receipt_from_the_review_list(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(DUES_DAY)
    await tap(harness, button("pd", w.dues), user_id=LI)
    await harness.feed(updates.command("dues", "review", user_id=COMMITTEE))
    listing = harness.api.last_message(COMMITTEE)
    assert listing is not None and "Member Li" in listing["text"]
    (row,) = listing["reply_markup"]["inline_keyboard"]
    answer = await tap(
        harness, row[0]["callback_data"], user_id=COMMITTEE, message_id=listing["message_id"]
    )
    assert answer["text"] == "Confirmed: Member Li, March 2026."
    with harness.db.read() as s:
        payment = s.exec(select(DuesPayment)).one()
    assert payment.confirmed_by == w.ids["Committee Zhao"]
    assert "No payments await" in edits_of(harness, COMMITTEE, listing["message_id"])[-1]


async def test_a_member_cannot_confirm_or_review(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(DUES_DAY)
    await tap(harness, button("pd", w.dues), user_id=LI)
    with harness.db.read() as s:
        payment_id = s.exec(select(DuesPayment)).one().id
    assert payment_id is not None
    answer = await tap(harness, button("dc", payment_id), user_id=SUN)
    assert "not available to your role" in answer["text"]
    await harness.feed(updates.command("dues", "review", user_id=SUN))
    assert "not available to your role" in harness.last_reply(SUN)
    assert count(harness.db, DuesPayment, confirmed_at=None) == 1


async def test_secretary_computes_and_confirms_an_approved_amount(harness: Harness) -> None:
    w = seed_started(harness)
    await harness.feed(updates.command("dues", "set", "Member", "Li", "6000", user_id=SECRETARY))
    proposal = harness.api.last_message(SECRETARY)
    assert proposal is not None and "¥90.00" in proposal["text"]
    (row,) = proposal["reply_markup"]["inline_keyboard"]
    assert row[0]["callback_data"] == button("ds", w.ids["Member Li"], 9000)
    await tap(
        harness, row[0]["callback_data"], user_id=SECRETARY, message_id=proposal["message_id"]
    )
    with harness.db.read() as s:
        member = s.get(Member, w.ids["Member Li"])
        audit = s.exec(select(AuditEntry)).one()
    assert member is not None and member.dues_amount == Decimal("90.00")
    assert "6000" not in audit.detail


async def test_retired_and_student_categories(harness: Harness) -> None:
    seed_started(harness)
    await harness.feed(
        updates.command("dues", "set", "Member Sun", "6000", "retired", user_id=SECRETARY)
    )
    assert "¥60.00" in harness.last_reply(SECRETARY)
    await harness.feed(
        updates.command("dues", "set", "Member Sun", "0", "学生", user_id=SECRETARY)
    )
    assert "¥0.20" in harness.last_reply(SECRETARY)


async def test_forged_amount_button_from_a_member_writes_nothing(harness: Harness) -> None:
    w = seed_started(harness)
    answer = await tap(harness, button("ds", w.ids["Member Li"], 1), user_id=LI)
    assert "not available to your role" in answer["text"]
    with harness.db.read() as s:
        member = s.get(Member, w.ids["Member Li"])
    assert member is not None and member.dues_amount == Decimal("12.50")
    assert count(harness.db, AuditEntry) == 0


async def test_malformed_dues_set_explains_the_usage(harness: Harness) -> None:
    seed_started(harness)
    await harness.feed(updates.command("dues", "set", "Member Li", "lots", user_id=SECRETARY))
    assert "Usage" in harness.last_reply(SECRETARY)
    await harness.feed(updates.command("dues", "set", "Nobody", "5000", user_id=SECRETARY))
    assert "no member called Nobody" in harness.last_reply(SECRETARY)
