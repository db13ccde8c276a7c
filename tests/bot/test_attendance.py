"""Meeting buttons through the real Application: taps, edits, leave requests, group chats."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlmodel import select

from bot.buttons import button
from storage.models import Attendance, Conversation
from tests.bot.answers_fixtures import (
    MEETING_START,
    World,
    count,
    edits_of,
    seed_started,
    send_reminder,
    tap,
)
from tests.fakes import updates
from tests.harness import Harness

LI, SUN, SECRETARY, COMMITTEE = 1001, 1002, 9001, 9002
GROUP_CHAT = -1001234567890
IN_WINDOW = MEETING_START - dt.timedelta(minutes=2)  # 14:58 in Shanghai
BEFORE = MEETING_START - dt.timedelta(days=1)


def _state(h: Harness, w: World, name: str) -> Attendance | None:
    with h.db.read() as s:
        return s.exec(
            select(Attendance).where(
                Attendance.occurrence_id == w.meeting, Attendance.member_id == w.ids[name]
            )
        ).first()


async def test_check_in_records_the_time_and_edits_the_reminder(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(IN_WINDOW)
    message_id = await send_reminder(harness, LI, w.meeting, w.ids["Member Li"])
    answer = await tap(harness, button("ci", w.meeting), user_id=LI, message_id=message_id)
    assert "14:58" in answer["text"]
    row = _state(harness, w, "Member Li")
    assert row is not None and (row.state, row.checked_in_at) == ("present", IN_WINDOW)
    (edited,) = edits_of(harness, LI, message_id)
    assert "14:58" in edited


async def test_second_tap_changes_nothing(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(IN_WINDOW)
    message_id = await send_reminder(harness, LI, w.meeting, w.ids["Member Li"])
    await tap(harness, button("ci", w.meeting), user_id=LI, message_id=message_id)
    harness.clock.advance(minutes=3)
    again = await tap(harness, button("ci", w.meeting), user_id=LI, message_id=message_id)
    assert "14:58" in again["text"]  # the first time stands
    assert count(harness.db, Attendance) == 1
    assert len(edits_of(harness, LI, message_id)) == 1  # edited once, not twice


async def test_concurrent_double_tap_makes_one_record(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(IN_WINDOW)
    message_id = await send_reminder(harness, LI, w.meeting, w.ids["Member Li"])
    taps = [
        updates.callback_query(button("ci", w.meeting), user_id=LI, message_id=message_id)
        for _ in range(2)
    ]
    await asyncio.gather(*(harness.feed(t) for t in taps))
    assert count(harness.db, Attendance) == 1
    assert len(harness.answers()) == 2


async def test_check_in_before_its_window_says_when_it_opens(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(MEETING_START - dt.timedelta(hours=1))
    message_id = await send_reminder(harness, LI, w.meeting, w.ids["Member Li"])
    answer = await tap(harness, button("ci", w.meeting), user_id=LI, message_id=message_id)
    assert answer["text"] == "Check-in opens at 14:30."
    assert count(harness.db, Attendance) == 0
    assert edits_of(harness, LI, message_id) == []


async def test_check_in_after_its_window_is_closed(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(MEETING_START + dt.timedelta(hours=2, minutes=1))
    answer = await tap(harness, button("ci", w.meeting), user_id=LI)
    assert answer["text"] == "Check-in closed at 17:00."
    assert count(harness.db, Attendance) == 0


async def test_attend_then_leave_then_attend_again(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(BEFORE)
    message_id = await send_reminder(harness, LI, w.meeting, w.ids["Member Li"])
    await tap(harness, button("at", w.meeting), user_id=LI, message_id=message_id)
    assert "attending" in edits_of(harness, LI, message_id)[-1]
    await tap(harness, button("lv", w.meeting), user_id=LI, message_id=message_id)
    await harness.feed(updates.message("night shift at the ward", user_id=LI))
    row = _state(harness, w, "Member Li")
    assert row is not None and row.state == "leave_requested"
    assert "leave requested" in edits_of(harness, LI, message_id)[-1]
    await tap(harness, button("at", w.meeting), user_id=LI, message_id=message_id)
    row = _state(harness, w, "Member Li")
    assert row is not None and (row.state, row.leave_reason) == ("attending", None)


async def test_attend_after_the_start_is_refused(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(MEETING_START + dt.timedelta(minutes=1))
    answer = await tap(harness, button("at", w.meeting), user_id=LI)
    assert "already started" in answer["text"]
    assert count(harness.db, Attendance) == 0


async def test_leave_request_goes_to_the_secretaries_and_the_decision_to_the_member(
    harness: Harness,
) -> None:
    w = seed_started(harness)
    harness.clock.set(BEFORE)
    message_id = await send_reminder(harness, LI, w.meeting, w.ids["Member Li"])
    answer = await tap(harness, button("lv", w.meeting), user_id=LI, message_id=message_id)
    assert "reason" in answer["text"]
    assert "reason" in harness.last_reply(LI)
    await harness.feed(updates.message("surgery shift", user_id=LI))
    assert "sent to the secretary" in harness.last_reply(LI)
    for approver in (SECRETARY, COMMITTEE):
        request = harness.api.last_message(approver)
        assert request is not None and "surgery shift" in request["text"]
        assert "Member Li" in request["text"]
    request = harness.api.last_message(SECRETARY)
    assert request is not None
    attendance_id = _state(harness, w, "Member Li").id  # type: ignore[union-attr]
    assert attendance_id is not None
    decided = await tap(
        harness, button("la", attendance_id), user_id=SECRETARY, message_id=request["message_id"]
    )
    assert decided["text"] == "Approved."
    assert "approved by Secretary Wang" in harness.last_reply(LI)
    assert "Approved by Secretary Wang" in edits_of(harness, SECRETARY, request["message_id"])[-1]
    late = await tap(harness, button("ld", attendance_id), user_id=COMMITTEE)
    assert "Approved by Secretary Wang" in late["text"]
    row = _state(harness, w, "Member Li")
    assert row is not None and (row.state, row.decided_by) == (
        "leave_approved",
        w.ids["Secretary Wang"],
    )


async def test_a_member_cannot_decide_leave_with_a_forged_button(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(BEFORE)
    await tap(harness, button("lv", w.meeting), user_id=LI)
    await harness.feed(updates.message("family matter", user_id=LI))
    row = _state(harness, w, "Member Li")
    assert row is not None and row.id is not None
    answer = await tap(harness, button("la", row.id), user_id=SUN)
    assert "not available to your role" in answer["text"]
    assert _state(harness, w, "Member Li").state == "leave_requested"  # type: ignore[union-attr]


async def test_cancel_aborts_the_leave_request(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(BEFORE)
    await tap(harness, button("lv", w.meeting), user_id=LI)
    await harness.feed(updates.command("cancel", user_id=LI))
    assert "Cancelled" in harness.last_reply(LI)
    await harness.feed(updates.message("this is not a reason", user_id=LI))
    assert count(harness.db, Attendance) == 0
    assert count(harness.db, Conversation) == 0


async def test_cancel_without_a_flow_says_so(harness: Harness) -> None:
    seed_started(harness)
    await harness.feed(updates.command("cancel", user_id=LI))
    assert harness.last_reply(LI) == "There is nothing to cancel."


async def test_a_message_outside_any_flow_is_left_to_others(harness: Harness) -> None:
    seed_started(harness)
    await harness.feed(updates.message("hello there", user_id=LI))
    assert count(harness.db, Attendance) == 0
    assert not any("leave" in r for r in harness.replies_to(LI))


async def test_leave_reason_survives_a_restart(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(BEFORE)
    await tap(harness, button("lv", w.meeting), user_id=LI)
    await harness.stop()
    restarted = Harness(harness.db, harness.clock, harness.api, harness.settings)
    await restarted.start()
    try:
        await restarted.feed(updates.message("travelling for work", user_id=LI))
    finally:
        await restarted.stop()
        await harness.start()
    row = _state(harness, w, "Member Li")
    assert row is not None and row.leave_reason == "travelling for work"


async def test_group_chat_tap_records_the_presser_and_shows_counts_only(
    harness: Harness,
) -> None:
    w = seed_started(harness)
    harness.clock.set(BEFORE)
    message_id = await send_reminder(harness, GROUP_CHAT, w.meeting, None)
    await tap(
        harness, button("lv", w.meeting), user_id=SUN, chat_id=GROUP_CHAT, message_id=message_id
    )
    assert "reason" in harness.last_reply(SUN)  # asked privately, not in the group
    await harness.feed(updates.message("my private medical appointment", user_id=SUN))
    answer = await tap(
        harness, button("at", w.meeting), user_id=LI, chat_id=GROUP_CHAT, message_id=message_id
    )
    assert answer["text"] == "Noted: you will attend."
    assert _state(harness, w, "Member Li").state == "attending"  # type: ignore[union-attr]
    group_texts = harness.replies_to(GROUP_CHAT) + edits_of(harness, GROUP_CHAT, message_id)
    assert group_texts and all("medical" not in t and "Member" not in t for t in group_texts)
    assert any("on leave: 1" in t for t in edits_of(harness, GROUP_CHAT, message_id))


async def test_not_in_the_audience_gets_a_clear_answer(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(COMMITTEE_DAY_BEFORE)
    answer = await tap(harness, button("at", w.committee_meeting), user_id=LI)
    assert "not one of yours" in answer["text"]
    assert count(harness.db, Attendance) == 0


COMMITTEE_DAY_BEFORE = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)


async def test_stranger_tap_is_answered_and_writes_nothing(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(IN_WINDOW)
    answer = await tap(harness, button("ci", w.meeting), user_id=777)
    assert "invite link" in answer["text"]
    assert count(harness.db, Attendance) == 0


async def test_make_up_note_is_recorded(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(MEETING_START + dt.timedelta(days=2))
    data = button("mu", w.meeting, w.ids["Member Sun"])
    await tap(harness, data, user_id=SECRETARY)
    assert "Make-up" in harness.last_reply(SECRETARY)
    await harness.feed(updates.message("studied the minutes", user_id=SECRETARY))
    assert "made up" in harness.last_reply(SECRETARY)
    row = _state(harness, w, "Member Sun")
    assert row is not None and row.made_up_note == "studied the minutes"


async def test_each_member_sees_their_own_state_during_a_burst(harness: Harness) -> None:
    """Edits in a burst reuse the meeting's view; each still shows the presser's own time."""
    w = seed_started(harness)
    harness.clock.set(IN_WINDOW)
    li_message = await send_reminder(harness, LI, w.meeting, w.ids["Member Li"])
    sun_message = await send_reminder(harness, SUN, w.meeting, w.ids["Member Sun"])
    await tap(harness, button("ci", w.meeting), user_id=LI, message_id=li_message)
    harness.clock.advance(minutes=1)
    await tap(harness, button("ci", w.meeting), user_id=SUN, message_id=sun_message)
    (li_edit,) = edits_of(harness, LI, li_message)
    (sun_edit,) = edits_of(harness, SUN, sun_message)
    assert "14:58" in li_edit and "14:59" not in li_edit
    assert "14:59" in sun_edit and "14:58" not in sun_edit


async def test_chinese_branch_sees_the_check_in_in_chinese(harness: Harness) -> None:
    w = seed_started(harness, locale="zh_CN")
    harness.clock.set(IN_WINDOW)
    message_id = await send_reminder(harness, LI, w.meeting, w.ids["Member Li"])
    answer = await tap(harness, button("ci", w.meeting), user_id=LI, message_id=message_id)
    assert answer["text"] == "✅ 已签到 14:58"
    assert "✅ 已签到 14:58" in edits_of(harness, LI, message_id)[-1]
    harness.clock.set(MEETING_START - dt.timedelta(hours=1))
    late = await tap(harness, button("ci", w.committee_meeting), user_id=SECRETARY)
    assert late["text"] == "签到已于 18:00 结束。"  # the committee meeting of March 3
