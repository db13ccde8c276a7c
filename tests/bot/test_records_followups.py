"""The answers a quarter of real use found missing or stale, through the real Application."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from bot.buttons import button
from storage.db import Database
from storage.models import Attendance, Branch, Occurrence
from tests.bot.answers_fixtures import tap
from tests.bot.test_reminders_flow import MEETING, T0, dispatcher, started
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness
from tests.reminder_support import deliveries, meeting_plan, seed

MEMBER, SECRETARY = 10001, 10002


def _occurrence(h: Harness) -> Occurrence:
    with h.db.read() as s:
        return s.exec(select(Occurrence).where(Occurrence.key == "2026-03-05")).one()


async def test_the_reminder_card_shows_the_leave_decision(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=2, plan=meeting_plan(), roles=("member", "secretary"))
    started(api, MEMBER, SECRETARY)
    clock.set(T0)
    await dispatcher(harness).run_once(clock.now())
    occ = _occurrence(harness)
    [card] = [d.message_id for d in deliveries(harness.db) if d.chat_id == MEMBER]
    assert card is not None
    await tap(harness, button("lv", occ.id or 0), user_id=MEMBER, message_id=card)
    await harness.feed(updates.message("night shift", user_id=MEMBER))
    with harness.db.read() as s:
        row = s.exec(select(Attendance)).one()
    edits = [e for e in api.sent("editMessageText") if e["chat_id"] == MEMBER]
    assert "leave requested" in edits[-1]["text"]
    await tap(harness, button("ld", row.id or 0), user_id=SECRETARY)
    edits = [e for e in api.sent("editMessageText") if e["chat_id"] == MEMBER]
    assert edits[-1]["message_id"] == card
    assert "declined" in edits[-1]["text"] and "awaiting" not in edits[-1]["text"]


async def test_catching_up_sends_the_latest_reminder_once(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    """Down across both reminders of a meeting: one late reminder, the earlier superseded."""
    seed(harness.db, members=1, plan=meeting_plan())
    started(api, MEMBER)
    clock.set(MEETING - dt.timedelta(hours=6))  # 09:00 on the day: both reminders are due
    await dispatcher(harness).run_once(clock.now())
    [message] = api.messages_to(MEMBER)
    assert "ci1:" in str(message.get("reply_markup"))  # the day's reminder, with check-in
    rows = {r.key: r.status for r in deliveries(harness.db) if r.kind == "remind"}
    assert sorted(rows.values()) == ["sent", "skipped"]
    await dispatcher(harness).run_once(clock.now() + dt.timedelta(minutes=5))
    assert len(api.messages_to(MEMBER)) == 1


# ------------------------------------------------------------------ taps and texts that answer

LI, SUN, SECRETARY_W, COMMITTEE_Z = 1001, 1002, 9001, 9002


async def test_leave_after_check_in_says_why_it_is_refused(harness: Harness) -> None:
    from tests.bot.answers_fixtures import MEETING_START, seed_started

    w = seed_started(harness)
    harness.clock.set(MEETING_START - dt.timedelta(minutes=5))
    await tap(harness, button("ci", w.meeting), user_id=LI)
    refused = await tap(harness, button("lv", w.meeting), user_id=LI)
    assert "leave can no longer be requested" in refused["text"]


async def test_free_text_outside_a_conversation_gets_a_hint(harness: Harness) -> None:
    from tests.bot.answers_fixtures import seed_started

    seed_started(harness)
    await harness.feed(updates.message("hello, is the meeting on Friday?", user_id=LI))
    assert "/help" in harness.last_reply(LI)


async def test_make_up_button_answers_with_a_toast(harness: Harness) -> None:
    from tests.bot.answers_fixtures import MEETING_START, seed_started

    w = seed_started(harness)
    harness.clock.set(MEETING_START + dt.timedelta(days=2))
    toast = await tap(harness, button("mu", w.meeting, w.ids["Member Sun"]), user_id=SECRETARY_W)
    assert toast.get("text")


async def test_the_secretary_s_own_leave_goes_to_the_committee(harness: Harness) -> None:
    from tests.bot.answers_fixtures import MEETING_START, seed_started

    w = seed_started(harness)
    harness.clock.set(MEETING_START - dt.timedelta(days=1))
    await tap(harness, button("lv", w.meeting), user_id=SECRETARY_W)
    await harness.feed(updates.message("at the district meeting", user_id=SECRETARY_W))
    assert "branch committee" in harness.last_reply(SECRETARY_W)
    assert "at the district meeting" in harness.last_reply(COMMITTEE_Z)


def test_a_blank_dues_amount_is_refused() -> None:
    import pytest

    from bot.services.roster import RosterError, parse_roster

    roster = "name,telegram_id,role,group,dues_amount,status\n张三,,member,,,\n李四,,member,,0,\n"
    with pytest.raises(RosterError) as refused:
        parse_roster(roster.encode(), source="r.csv")
    assert [str(p) for p in refused.value.problems] == [
        "line 2: dues_amount is empty: give the monthly amount, or 0 if exempt"
    ]


async def test_groups_sort_as_people_count_them(harness: Harness) -> None:
    from tests.harness import seed_branch

    seed_branch(
        harness.db,
        members=[
            ("Secretary Wang", SECRETARY_W, "secretary", "第三党小组"),
            ("A", None, "member", "第一党小组"),
            ("B", None, "member", "第十党小组"),
            ("C", None, "member", "第二党小组"),
        ],
    )
    await harness.feed(updates.command("members", user_id=SECRETARY_W))
    text = harness.last_reply(SECRETARY_W)
    order = [text.index(g) for g in ("第一党小组", "第二党小组", "第三党小组", "第十党小组")]
    assert order == sorted(order)


async def test_dues_review_lists_months_in_order_and_confirms_all(harness: Harness) -> None:
    from decimal import Decimal

    from storage.models import DuesPayment
    from tests.bot.answers_fixtures import seed_started

    w = seed_started(harness)
    declared = dt.datetime(2026, 3, 20, 2, tzinfo=dt.UTC)
    with harness.db.transaction() as s:
        for name, month, minutes in (
            ("Member Li", 3, 0),
            ("Member Li", 1, 1),
            ("Member Sun", 2, 2),
        ):
            s.add(
                DuesPayment(
                    member_id=w.ids[name],
                    year=2026,
                    month=month,
                    amount=Decimal("12.50"),
                    declared_at=declared + dt.timedelta(minutes=minutes),
                )
            )
    harness.clock.set(declared + dt.timedelta(hours=1))
    await harness.feed(updates.command("dues", "review", user_id=SECRETARY_W))
    listing = harness.api.sent("sendMessage")[-1]
    lines = [line for line in listing["text"].splitlines() if line.startswith("•")]
    assert [line.split(" — ")[1] for line in lines] == [
        "January 2026",
        "February 2026",
        "March 2026",
    ]
    [confirm_all] = [
        b["callback_data"]
        for row in listing["reply_markup"]["inline_keyboard"]
        for b in row
        if b["callback_data"].startswith("da")
    ]
    toast = await tap(harness, confirm_all, user_id=SECRETARY_W)
    assert toast["text"] == "3 payments confirmed."
    with harness.db.read() as s:
        assert all(p.confirmed_at is not None for p in s.exec(select(DuesPayment)))


async def test_the_group_post_counts_check_ins_and_leave_then_check_in_is_present(
    harness: Harness,
) -> None:
    from tests.bot.answers_fixtures import MEETING_START, edits_of, seed_started, send_reminder

    group_chat = -1001234567890
    w = seed_started(harness)
    harness.clock.set(MEETING_START - dt.timedelta(days=1))
    message_id = await send_reminder(harness, group_chat, w.meeting, None)
    await tap(
        harness, button("lv", w.meeting), user_id=SUN, chat_id=group_chat, message_id=message_id
    )
    await harness.feed(updates.message("on duty", user_id=SUN))
    with harness.db.read() as s:
        row = s.exec(select(Attendance)).one()
    await tap(harness, button("la", row.id or 0), user_id=SECRETARY_W)
    harness.clock.set(MEETING_START - dt.timedelta(minutes=10))
    await tap(
        harness, button("ci", w.meeting), user_id=SUN, chat_id=group_chat, message_id=message_id
    )
    # the group's edit is coalesced (group rate limit): render the group view it will show
    from bot.i18n import translator
    from bot.render import reminders as reminders_text
    from bot.services.reminders import build_reminder_view

    with harness.db.read() as s:
        view = build_reminder_view(
            s, occurrence_id=w.meeting, member_id=None, now=harness.clock.now()
        )
    assert view is not None
    shown = reminders_text.reminder_text(view, translator("en", "Asia/Shanghai"))
    assert "Checked in: 1 of 7" in shown and "on leave: 0" in shown
    assert edits_of(harness, group_chat, message_id)


# ------------------------------------------------------------------------------- group chats

GROUP = -1001234567890


def _two_branches(h: Harness) -> dict[str, int]:
    from tests.harness import seed_branch

    a = seed_branch(h.db, name="一支部", members=[("Secretary Wang", 9001, "secretary", None)])
    b = seed_branch(h.db, name="二支部", members=[("Secretary Liu", 9101, "secretary", None)])
    for chat in (9001, 9101):
        h.api.started(chat)
    return {"a": a["branch"], "b": b["branch"]}


def _branch(h: Harness, branch_id: int) -> tuple[int | None, str]:
    from storage.models import Branch

    with h.db.read() as s:
        row = s.get(Branch, branch_id)
        assert row is not None
        return row.group_chat_id, row.delivery_mode


async def test_bindgroup_asks_how_reminders_go_and_the_answer_is_kept(harness: Harness) -> None:
    from bot.preview import preview_report

    ids = _two_branches(harness)
    await harness.feed(updates.command("bindgroup", user_id=9001, chat_id=GROUP))
    asked = harness.api.sent("sendMessage")[-1]
    assert "How should reminders go" in asked["text"]
    choices = [b["callback_data"] for row in asked["reply_markup"]["inline_keyboard"] for b in row]
    assert choices == [button("bd", 0), button("bd", 1), button("bd", 2)]
    toast = await tap(harness, button("bd", 2), user_id=9001, chat_id=GROUP)
    assert "group chat and to each member" in toast["text"]
    assert _branch(harness, ids["a"]) == (GROUP, "both")
    refused = await tap(harness, button("bd", 0), user_id=9101, chat_id=GROUP)
    assert _branch(harness, ids["a"]) == (GROUP, "both") and refused["text"]
    text = preview_report(
        harness.db,
        branch_name="一支部",
        first=dt.date(2026, 3, 1),
        last=dt.date(2026, 3, 31),
        now=harness.clock.now(),
    )
    assert "delivery both" in text and "+ group chat" in text


async def test_a_group_chat_belongs_to_one_branch(harness: Harness) -> None:
    ids = _two_branches(harness)
    await harness.feed(updates.command("bindgroup", user_id=9001, chat_id=GROUP))
    await harness.feed(updates.command("bindgroup", user_id=9101, chat_id=GROUP))
    assert "belongs to 一支部" in harness.last_reply(GROUP)
    assert "tried to bind" in harness.last_reply(9001)  # the owner's secretary is told
    assert _branch(harness, ids["a"])[0] == GROUP and _branch(harness, ids["b"])[0] is None


async def test_an_admin_may_move_a_group_chat_and_both_are_told(
    db: Database, clock: FrozenClock, api: FakeTelegram
) -> None:
    from tests.harness import settings_for

    h = Harness(db, clock, api, settings_for(api, admin_telegram_ids=[9101]))
    await h.start()
    try:
        ids = _two_branches(h)
        await h.feed(updates.command("bindgroup", user_id=9001, chat_id=GROUP))
        await h.feed(updates.command("bindgroup", user_id=9101, chat_id=GROUP))
        assert "moved from 一支部 to 二支部" in h.last_reply(GROUP)
        assert "was moved to 二支部" in h.last_reply(9001)
        assert _branch(h, ids["a"])[0] is None and _branch(h, ids["b"])[0] == GROUP
    finally:
        await h.stop()


async def test_rebinding_warns_that_it_replaces_the_earlier_group(harness: Harness) -> None:
    _two_branches(harness)
    await harness.feed(updates.command("bindgroup", user_id=9001, chat_id=GROUP))
    await harness.feed(updates.command("bindgroup", user_id=9001, chat_id=GROUP - 1))
    assert "replaces the branch's earlier group chat" in harness.last_reply(GROUP - 1)


async def test_a_declined_reason_is_not_shown_beside_a_later_check_in(harness: Harness) -> None:
    from bot.services.attendance_admin import roster
    from bot.services.changes import EventRef
    from tests.bot.answers_fixtures import MEETING_START, seed_started

    w = seed_started(harness)
    harness.clock.set(MEETING_START - dt.timedelta(days=1))
    await tap(harness, button("lv", w.meeting), user_id=LI)
    await harness.feed(updates.message("a family matter", user_id=LI))
    with harness.db.read() as s:
        row = s.exec(select(Attendance)).one()
    await tap(harness, button("ld", row.id or 0), user_id=SECRETARY_W)
    harness.clock.set(MEETING_START - dt.timedelta(minutes=5))
    await tap(harness, button("ci", w.meeting), user_id=LI)
    view = roster(
        harness.db,
        branch_id=w.branch_id,
        event=EventRef(occurrence_id=w.meeting),
        now=harness.clock.now(),
    )
    [li] = [line for line in view.lines if line.member_id == w.ids["Member Li"]]
    assert (li.state, li.leave_reason) == ("present", None)


async def test_a_new_branch_gets_no_digest_for_the_week_before_it_existed(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=2, plan=meeting_plan(), roles=("secretary", "committee"))
    started(api, MEMBER, SECRETARY)
    clock.set(dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC))  # Thursday; created at 08:00 local
    await dispatcher(harness).run_once(clock.now())
    assert [r for r in deliveries(harness.db) if r.kind == "digest"] == []
    clock.set(dt.datetime(2026, 1, 5, 0, 1, tzinfo=dt.UTC))  # the next Monday, 08:01
    await dispatcher(harness).run_once(clock.now())
    assert len([r for r in deliveries(harness.db) if r.kind == "digest"]) == 2


async def test_no_digest_before_a_branch_s_first_day_set_later(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    """`import --since` in the future: the weeks before that day get no digest either."""
    seed(harness.db, members=2, plan=meeting_plan(), roles=("secretary", "committee"))
    with harness.db.transaction() as s:
        branch = s.exec(select(Branch)).one()
        branch.starts_on = dt.date(2026, 1, 19)
    started(api, MEMBER, SECRETARY)
    clock.set(dt.datetime(2026, 1, 12, 0, 1, tzinfo=dt.UTC))  # Monday 12 January, 08:01
    await dispatcher(harness).run_once(clock.now())
    assert [r for r in deliveries(harness.db) if r.kind == "digest"] == []
    clock.set(dt.datetime(2026, 1, 19, 0, 1, tzinfo=dt.UTC))  # its first day, a Monday
    await dispatcher(harness).run_once(clock.now())
    assert len([r for r in deliveries(harness.db) if r.kind == "digest"]) == 2
