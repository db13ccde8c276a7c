"""Meeting records (会议记录) through the real Application: asks, the flow, /minutes, /overdue.

The branch (tests/bot/answers_fixtures.py) has a secretary, a committee member, two party
groups with a leader each, and here a third group without a leader. Default plan times:
the general members' meeting of Fri 2026-03-13 runs 15:00-17:00 Shanghai (07:00-09:00 UTC),
the party group meeting of Thu 2026-03-12 16:00-17:00 (08:00-09:00 UTC).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

from openpyxl import load_workbook
from sqlmodel import select

from bot.buttons import button
from bot.ratelimit import BranchRateLimiter
from bot.services import minutes as svc
from bot.services.branch_year import load_branch, members_and_groups
from scheduler.compliance import Verdict, branch_compliance
from scheduler.records import branch_start
from storage.models import (
    AuditEntry,
    Conversation,
    Delivery,
    MeetingMinutes,
    MinutesAttachment,
    Occurrence,
)
from tests.bot.answers_fixtures import MEMBERS, World, cancel_occurrence, count, seed_started, tap
from tests.fakes import updates
from tests.harness import Harness

SEC, ZHAO, CHEN, LI, SUN, QIAN, WU = 9001, 9002, 2001, 1001, 1002, 2002, 1003
UTC = dt.UTC
AFTER_MEETING = dt.datetime(2026, 3, 13, 9, 30, tzinfo=UTC)  # 17:30 Shanghai, Fri
WITH_GROUP_3 = [*MEMBERS, ("Member Wu", WU, "member", "Group 3")]
ASKED = "has ended. Please record it"


def _seed(h: Harness) -> World:
    return seed_started(h, members=WITH_GROUP_3)


async def sweep(h: Harness, when: dt.datetime) -> None:
    """Run the real dispatcher at `when` until nothing due is left."""
    h.clock.set(when)
    limiter = h.app.bot.rate_limiter
    assert isinstance(limiter, BranchRateLimiter)
    limiter.private_interval = 0.0
    dispatcher = h.services.dispatcher
    assert dispatcher is not None
    for _ in range(20):
        if not (await dispatcher.run_once(when)).more:
            return


def asks(h: Harness, chat: int, title: str, phrase: str = ASKED) -> list[dict[str, Any]]:
    return [
        m
        for m in h.api.messages_to(chat)
        if title in str(m.get("text", "")) and phrase in str(m.get("text", ""))
    ]


def screen(h: Harness, chat: int) -> str:
    last = h.api.last_message(chat)
    assert last is not None
    return str(last.get("text", ""))


def buttons(h: Harness, chat: int) -> list[str]:
    last = h.api.last_message(chat)
    assert last is not None
    rows = last.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row]


async def press(h: Harness, data: str, user: int) -> dict[str, Any]:
    """Tap a button on the newest message of the user's chat (as a person would)."""
    last = h.api.last_message(user)
    return await tap(h, data, user_id=user, message_id=last["message_id"] if last else 1)


def photo(user_id: int, file_id: str = "large-id") -> dict[str, Any]:
    message = updates.message_dict(None, user_id=user_id)
    message["photo"] = [
        {"file_id": "small-id", "file_unique_id": "s1", "width": 90, "height": 90},
        {"file_id": file_id, "file_unique_id": "l1", "width": 1280, "height": 960},
    ]
    return {"update_id": updates.next_update_id(), "message": message}


def document(user_id: int) -> dict[str, Any]:
    message = updates.message_dict(None, user_id=user_id)
    message["document"] = {"file_id": "doc-id", "file_unique_id": "d1", "file_name": "sign.pdf"}
    return {"update_id": updates.next_update_id(), "message": message}


async def say(h: Harness, user: int, text: str) -> str:
    await h.feed(updates.message(text, user_id=user))
    return h.last_reply(user)


def findings(h: Harness, w: World) -> dict[tuple[str, str, int], Verdict]:
    """scheduler.compliance's verdicts for March 2026, by (item, planned day, scope)."""
    now = h.clock.now()
    with h.db.read() as s:
        ctx = load_branch(s, w.branch_id, now=now)
        members, _groups = members_and_groups(s, w.branch_id)
        rows = s.exec(select(Occurrence).where(Occurrence.branch_id == w.branch_id)).all()
        records = {(r.occurrence_id, r.scope): r for r in s.exec(select(MeetingMinutes)).all()}
        found = branch_compliance(
            ctx.plan,
            rows,
            records,
            groups=sorted({m.group_id for m in members if m.group_id is not None}),
            tz=ctx.tz,
            first=dt.date(2026, 3, 1),
            last=dt.date(2026, 3, 31),
            start=branch_start(ctx.branch),
            now=now,
        )
    return {
        (f.slot.item_id, f.slot.planned_on.isoformat(), f.slot.scope): f.verdict for f in found
    }


async def record_held(h: Harness, w: World, user: int = SEC, *, topic: str | None = None) -> None:
    """Record the general members' meeting as held, from the ask's button to Save."""
    await h.feed(updates.callback_query(button("mr", w.meeting, 0), user_id=user))
    assert "Was the meeting held?" in screen(h, user)
    await press(h, button("mc", svc.C_HELD, 0), user)
    if topic is None:
        assert "The plan's topic:" in screen(h, user)
        await press(h, button("mc", svc.C_KEEP_TOPIC, 0), user)
    else:
        await say(h, user, topic)
    assert "Who chaired the meeting" in screen(h, user)
    assert buttons(h, user)[0] == button("mc", svc.C_HOST, w.ids["Secretary Wang"])
    await press(h, button("mc", svc.C_HOST, w.ids["Secretary Wang"]), user)
    assert "Who took the minutes" in screen(h, user)
    assert "Nobody of the branch" in await say(h, user, "Nobody Such")
    await say(h, user, "Committee Zhao")
    assert "summary of the decisions" in screen(h, user)
    assert "too long" in await say(h, user, "x" * (svc.MAX_SUMMARY + 1))
    await say(h, user, "Elected the delegates; approved the study plan.")
    await h.feed(photo(user))
    assert "Received (1)" in h.last_reply(user)
    await h.feed(document(user))  # the second file: the sign-in sheet
    assert "Received (2)" in h.last_reply(user)
    await press(h, button("mc", svc.C_FILES_DONE, 0), user)
    review = screen(h, user)
    assert "Please check, then Save." in review and "Present (0)" in review
    await press(h, button("mc", svc.C_SAVE, 0), user)


# ---------------------------------------------------------------------------- the asks


async def test_the_ask_goes_to_the_responsible_once_after_the_end(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    await sweep(h, dt.datetime(2026, 3, 12, 8, 30, tzinfo=UTC))  # the group meeting is on
    assert asks(h, CHEN, "Party group meeting") == []
    await sweep(h, dt.datetime(2026, 3, 12, 9, 5, tzinfo=UTC))  # it has ended
    await sweep(h, dt.datetime(2026, 3, 12, 9, 20, tzinfo=UTC))  # again: nothing twice
    groups = _groups(h, w)
    for chat, group in ((CHEN, "Group 1"), (QIAN, "Group 2"), (SEC, "Group 3")):
        sent = asks(h, chat, "Party group meeting")
        assert len(sent) == 1, chat
        data = [b["callback_data"] for row in sent[0]["reply_markup"]["inline_keyboard"]
                for b in row]  # fmt: skip
        assert data == [button("mr", w.occ("group_meeting", "2026-03-12"), groups[group])]
        assert f"Party group meeting — {group} (" in sent[0]["text"]
    for chat in (ZHAO, LI, SUN, WU):  # not responsible for a party group meeting
        assert asks(h, chat, "Party group meeting") == []
    with h.db.read() as s:
        keys = [d.key for d in s.exec(select(Delivery)) if d.key.startswith("m:")]
    assert len(keys) == 3 and all(":ask@202603120900:" in k for k in keys)


async def test_a_cancelled_meeting_is_not_asked(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    cancel_occurrence(h.db, w.meeting)
    await sweep(h, AFTER_MEETING)
    assert asks(h, SEC, "General members' meeting") == []
    assert count(h.db, Delivery, occurrence_id=w.meeting, kind="nudge") == 0


async def test_nothing_is_asked_before_the_branch_start(harness: Harness) -> None:
    from storage.models import Branch

    h = harness
    w = _seed(h)
    with h.db.transaction() as s:
        branch = s.get(Branch, w.branch_id)
        assert branch is not None
        branch.starts_on = dt.date(2026, 3, 13)
        s.add(branch)
    await sweep(h, dt.datetime(2026, 3, 12, 9, 5, tzinfo=UTC))
    assert asks(h, CHEN, "Party group meeting") == []
    assert asks(h, SEC, "Party group meeting") == []
    await sweep(h, AFTER_MEETING)  # the first meeting on or after the start is asked
    assert len(asks(h, SEC, "General members' meeting")) == 1


async def test_an_ask_recorded_before_it_could_be_sent_is_dropped(harness: Harness) -> None:
    """Planned (in the ledger, pending) but recorded before the sender claimed it."""
    from scheduler import ledger
    from scheduler.dispatch import _new_row
    from scheduler.minutes import minutes_asks
    from storage.models import Branch

    h = harness
    w = _seed(h)
    with h.db.transaction() as s:
        branch = s.get(Branch, w.branch_id)
        assert branch is not None
        due, _later = minutes_asks(s, [branch], now=AFTER_MEETING, since=AFTER_MEETING)
        planned = [p for p in due if p.occurrence_id == w.meeting]
        assert [p.chat_id for p in planned] == [SEC]
        ledger.insert_rows(s, [_new_row(p, "pending") for p in planned])
    h.clock.set(AFTER_MEETING)
    await record_held(h, w)
    await sweep(h, AFTER_MEETING + dt.timedelta(minutes=5))
    assert asks(h, SEC, "General members' meeting") == []
    with h.db.read() as s:
        row = s.exec(
            select(Delivery).where(Delivery.occurrence_id == w.meeting, Delivery.kind == "nudge")
        ).one()
    assert (row.status, row.error) == ("skipped", "the meeting was recorded meanwhile")


def _groups(h: Harness, w: World) -> dict[str, int]:
    with h.db.read() as s:
        _members, groups = members_and_groups(s, w.branch_id)
    return {g.name: gid for gid, g in groups.items()}


# ---------------------------------------------------------------------------- the flow


async def test_recording_a_held_meeting_in_a_few_taps(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    await sweep(h, AFTER_MEETING)
    assert len(asks(h, SEC, "General members' meeting")) == 1
    await record_held(h, w)
    assert "recorded as held" in screen(h, SEC)
    with h.db.read() as s:
        row = s.exec(select(MeetingMinutes)).one()
        files = s.exec(select(MinutesAttachment)).all()
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "minutes.record")).one()
    assert (row.occurrence_id, row.scope, row.held) == (w.meeting, 0, True)
    assert row.topic.startswith("Hear and review") or row.topic  # the plan's agenda, kept
    assert (row.host_id, row.recorder_id) == (w.ids["Secretary Wang"], w.ids["Committee Zhao"])
    assert row.summary == "Elected the delegates; approved the study plan."
    assert (row.recorded_by, row.recorded_at) == (w.ids["Secretary Wang"], AFTER_MEETING)
    assert [(f.file_id, f.photo, f.what) for f in files] == [
        ("large-id", True, "minutes"),
        ("doc-id", False, "sign_in"),
    ]
    assert audit.actor_id == w.ids["Secretary Wang"]
    assert json.loads(audit.detail)["occurrence"] == w.meeting
    assert count(h.db, Conversation) == 0
    assert findings(h, w)[("general_meeting", "2026-03-13", 0)] is Verdict.ON_TIME
    await sweep(h, dt.datetime(2026, 3, 16, 1, 0, tzinfo=UTC))  # recorded: no follow-up
    assert asks(h, SEC, "General members' meeting", "is due today") == []


async def test_not_held_cancelled_needs_a_reason(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    h.clock.set(AFTER_MEETING)
    await h.feed(updates.callback_query(button("mr", w.meeting, 0), user_id=SEC))
    await press(h, button("mc", svc.C_NOT_HELD, 0), SEC)
    assert "postponed to a later time, or cancelled" in screen(h, SEC)
    await press(h, button("mc", svc.C_CANCELLED, 0), SEC)
    assert "Please send some text." in await say(h, SEC, "   ")
    assert "recorded as not held" in await say(h, SEC, "Flood warning: the hall was closed.")
    with h.db.read() as s:
        row = s.exec(select(MeetingMinutes)).one()
        occ = s.get(Occurrence, w.meeting)
    assert (row.held, row.reason) == (False, "Flood warning: the hall was closed.")
    assert occ is not None and occ.status == "scheduled"  # its time passed: nobody is told
    assert count(h.db, Delivery, kind="change") == 0
    assert findings(h, w)[("general_meeting", "2026-03-13", 0)] is Verdict.MISSED


async def test_not_held_postponed_moves_the_meeting_and_asks_again(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    await sweep(h, dt.datetime(2026, 3, 10, 1, 0, tzinfo=UTC))  # members are reminded
    await sweep(h, AFTER_MEETING)
    await h.feed(updates.callback_query(button("mr", w.meeting, 0), user_id=SEC))
    await press(h, button("mc", svc.C_NOT_HELD, 0), SEC)
    await press(h, button("mc", svc.C_POSTPONE, 0), SEC)
    assert "like 2026-03-20 15:00" in await say(h, SEC, "next friday")
    assert "must be in the future" in await say(h, SEC, "2026-03-01 15:00")
    assert "moved to" in await say(h, SEC, "2026-03-20 15:00")
    with h.db.read() as s:
        occ = s.get(Occurrence, w.meeting)
        changes = s.exec(select(Delivery).where(Delivery.kind == "change")).all()
        moved = s.exec(
            select(AuditEntry).where(AuditEntry.action == "occurrence.reschedule")
        ).all()
    assert occ is not None and occ.starts_at == dt.datetime(2026, 3, 20, 7, 0, tzinfo=UTC)
    assert changes and len(moved) == 1  # /reschedule's use case: the reminded are told
    assert count(h.db, MeetingMinutes) == 0
    before = len(asks(h, SEC, "General members' meeting"))
    await sweep(h, dt.datetime(2026, 3, 20, 9, 5, tzinfo=UTC))  # after the new end
    assert len(asks(h, SEC, "General members' meeting")) == before + 1


async def test_a_group_meeting_offers_only_cancelled(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    h.clock.set(AFTER_MEETING)
    group = _groups(h, w)["Group 1"]
    occ = w.occ("group_meeting", "2026-03-12")
    await h.feed(updates.callback_query(button("mr", occ, group), user_id=CHEN))
    await press(h, button("mc", svc.C_NOT_HELD, 0), CHEN)
    assert buttons(h, CHEN) == [button("mc", svc.C_CANCELLED, 0)]
    answer = await press(h, button("mc", svc.C_POSTPONE, 0), CHEN)  # a forged Postponed
    assert answer.get("show_alert") and "not available" in answer["text"]


async def test_a_group_leader_records_their_groups_meeting(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    h.clock.set(AFTER_MEETING)
    group = _groups(h, w)["Group 1"]
    occ = w.occ("group_meeting", "2026-03-12")
    await h.feed(updates.callback_query(button("mr", occ, group), user_id=CHEN))
    assert "Party group meeting" in screen(h, CHEN) and "Group 1" in screen(h, CHEN)
    await press(h, button("mc", svc.C_HELD, 0), CHEN)
    await press(h, button("mc", svc.C_KEEP_TOPIC, 0), CHEN)
    await press(h, button("mc", svc.C_HOST, w.ids["Leader Chen"]), CHEN)
    await press(h, button("mc", svc.C_RECORDER, w.ids["Member Li"]), CHEN)
    await say(h, CHEN, "Studied the Constitution.")
    await press(h, button("mc", svc.C_FILES_DONE, 0), CHEN)
    review = screen(h, CHEN)
    # Only the group's members, by the shared rule (nobody checked in: absent).
    assert "Absent (4): Committee Zhao, Leader Chen, Member Li, Secretary Wang" in review
    assert "Member Sun" not in review
    assert button("mc", svc.C_ATTENDANCE, 0) not in buttons(h, CHEN)  # no hand marks
    await press(h, button("mc", svc.C_SAVE, 0), CHEN)
    with h.db.read() as s:
        row = s.exec(select(MeetingMinutes)).one()
    assert (row.scope, row.group_id, row.recorder_id) == (group, group, w.ids["Member Li"])
    verdicts = findings(h, w)
    assert verdicts[("group_meeting", "2026-03-12", group)] is Verdict.ON_TIME
    group2 = _groups(h, w)["Group 2"]
    assert verdicts[("group_meeting", "2026-03-12", group2)] is Verdict.AWAITING_RECORD


async def test_correct_attendance_opens_the_hand_mark_roster(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    h.clock.set(AFTER_MEETING)
    await h.feed(updates.callback_query(button("mr", w.meeting, 0), user_id=SEC))
    await press(h, button("mc", svc.C_HELD, 0), SEC)
    await press(h, button("mc", svc.C_KEEP_TOPIC, 0), SEC)
    await press(h, button("mc", svc.C_HOST, w.ids["Secretary Wang"]), SEC)
    await press(h, button("mc", svc.C_RECORDER, w.ids["Secretary Wang"]), SEC)
    await say(h, SEC, "Decided.")
    await press(h, button("mc", svc.C_FILES_DONE, 0), SEC)
    review = h.api.last_message(SEC)
    assert review is not None and "Present (0)" in str(review["text"])
    await press(h, button("mc", svc.C_ATTENDANCE, 0), SEC)
    roster = h.api.last_message(SEC)
    assert roster is not None and roster["message_id"] != review["message_id"]
    marks = [b for b in buttons(h, SEC) if b.startswith("mk1:")]
    assert marks  # the existing /attendance hand-mark buttons
    # The review stays, with its Save button.
    assert button("mc", svc.C_SAVE, 0) in [
        b["callback_data"] for row in review["reply_markup"]["inline_keyboard"] for b in row
    ]


# ---------------------------------------------------------------------------- follow-up


async def test_follow_up_then_overdue_then_recorded_late(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    await sweep(h, AFTER_MEETING)
    await sweep(h, dt.datetime(2026, 3, 15, 1, 0, tzinfo=UTC))
    assert asks(h, SEC, "General members' meeting", "is due today") == []
    await sweep(h, dt.datetime(2026, 3, 16, 1, 0, tzinfo=UTC))  # 09:00 of the last day
    assert len(asks(h, SEC, "General members' meeting", "is due today")) == 1
    await h.feed(updates.command("overdue", user_id=SEC))
    due = "General members' meeting Fri, Mar 13: to be recorded by Secretary Wang"
    assert due not in h.last_reply(SEC)  # not past the deadline yet
    h.clock.set(dt.datetime(2026, 3, 16, 16, 0, tzinfo=UTC))  # Mar 17 00:00 Shanghai
    await h.feed(updates.command("overdue", user_id=SEC))
    reply = h.last_reply(SEC)
    assert "📋 Meetings not recorded" in reply
    assert due in reply
    await h.feed(updates.command("minutes", user_id=SEC))
    assert "General members' meeting Fri, Mar 13: not recorded (was due Mon, Mar 16)" in (
        h.last_reply(SEC)
    )
    assert findings(h, w)[("general_meeting", "2026-03-13", 0)] is Verdict.NOT_RECORDED
    await record_held(h, w)
    assert findings(h, w)[("general_meeting", "2026-03-13", 0)] is Verdict.LATE
    await h.feed(updates.command("overdue", user_id=SEC))
    assert due not in h.last_reply(SEC)


# ---------------------------------------------------------------------------- corrections


async def test_correction_via_minutes_is_audited_and_keeps_recorded_at(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    h.clock.set(AFTER_MEETING)
    await record_held(h, w)
    later = dt.datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
    h.clock.set(later)
    await h.feed(updates.command("minutes", user_id=ZHAO))
    listing = h.last_reply(ZHAO)
    assert "General members' meeting" in listing and "recorded, held" in listing
    assert button("mr", w.meeting, 0) in buttons(h, ZHAO)
    await press(h, button("mr", w.meeting, 0), ZHAO)
    assert "corrects the record" in screen(h, ZHAO)
    await press(h, button("mc", svc.C_HELD, 0), ZHAO)
    assert "Topic recorded before" in screen(h, ZHAO)
    await say(h, ZHAO, "Delegates elected; the study plan approved.")
    await press(h, button("mc", svc.C_HOST, w.ids["Secretary Wang"]), ZHAO)
    await press(h, button("mc", svc.C_RECORDER, w.ids["Committee Zhao"]), ZHAO)
    assert "keep the one recorded before" in screen(h, ZHAO)
    await press(h, button("mc", svc.C_KEEP_SUMMARY, 0), ZHAO)
    await press(h, button("mc", svc.C_FILES_DONE, 0), ZHAO)
    assert "Files: 2" in screen(h, ZHAO)  # the files recorded before are kept
    await press(h, button("mc", svc.C_SAVE, 0), ZHAO)
    assert "record corrected (changed: Topic)" in screen(h, ZHAO)
    with h.db.read() as s:
        row = s.exec(select(MeetingMinutes)).one()
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "minutes.amend")).one()
    assert row.topic == "Delegates elected; the study plan approved."
    assert (row.recorded_at, row.recorded_by) == (AFTER_MEETING, w.ids["Secretary Wang"])
    assert (row.amended_at, row.amended_by) == (later, w.ids["Committee Zhao"])
    old, new = json.loads(audit.detail)["changes"]["topic"]
    assert new == "Delegates elected; the study plan approved." and old != new
    assert findings(h, w)[("general_meeting", "2026-03-13", 0)] is Verdict.ON_TIME


async def test_a_recorded_meeting_is_corrected_not_moved(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    h.clock.set(AFTER_MEETING)
    await record_held(h, w)
    await h.feed(updates.callback_query(button("mr", w.meeting, 0), user_id=SEC))
    await press(h, button("mc", svc.C_NOT_HELD, 0), SEC)
    assert "corrected, not moved" in screen(h, SEC)
    assert buttons(h, SEC) == [button("mc", svc.C_CANCELLED, 0)]
    answer = await press(h, button("mc", svc.C_POSTPONE, 0), SEC)
    assert "not available" in answer["text"]
    await press(h, button("mc", svc.C_CANCELLED, 0), SEC)
    assert "record corrected" in await say(h, SEC, "It was not quorate after all.")
    with h.db.read() as s:
        row = s.exec(select(MeetingMinutes)).one()
        occ = s.get(Occurrence, w.meeting)
    assert (row.held, row.reason, row.topic) == (False, "It was not quorate after all.", "")
    assert occ is not None and occ.starts_at == dt.datetime(2026, 3, 13, 7, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------- safety


async def test_forged_stale_and_wrong_role_buttons_are_refused(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    h.clock.set(AFTER_MEETING)
    # A plain member cannot record, nor list.
    await h.feed(updates.callback_query(button("mr", w.meeting, 0), user_id=LI))
    await h.feed(updates.command("minutes", user_id=LI))
    assert "not available to your role" in h.last_reply(LI)
    # A group leader cannot record the general meeting, nor another group's meeting.
    answer = await tap(h, button("mr", w.meeting, 0), user_id=CHEN)
    assert "not available to your role" in answer["text"]
    group2 = _groups(h, w)["Group 2"]
    answer = await tap(h, button("mr", w.occ("group_meeting", "2026-03-12"), group2), user_id=CHEN)
    assert "not available to your role" in answer["text"]
    # Forged: an occurrence that does not exist, a scope on a meeting that has none.
    answer = await tap(h, button("mr", 999_999, 0), user_id=SEC)
    assert "no longer valid" in answer["text"]
    answer = await tap(h, button("mr", w.meeting, group2), user_id=SEC)
    assert "no longer valid" in answer["text"]
    # A meeting that has not ended yet.
    answer = await tap(h, button("mr", w.occ("general_meeting", "2026-06-12"), 0), user_id=SEC)
    assert "has not ended yet" in answer["text"]
    # Stale: a button of a step already passed.
    await h.feed(updates.callback_query(button("mr", w.meeting, 0), user_id=SEC))
    await press(h, button("mc", svc.C_HELD, 0), SEC)
    answer = await press(h, button("mc", svc.C_HELD, 0), SEC)
    assert "no longer valid" in answer["text"]
    answer = await press(h, button("mc", svc.C_HOST, 999_999), SEC)
    assert "no longer valid" in answer["text"]
    # /cancel aborts cleanly; a later tap of the flow is refused.
    await h.feed(updates.command("cancel", user_id=SEC))
    assert count(h.db, Conversation) == 0
    answer = await press(h, button("mc", svc.C_KEEP_TOPIC, 0), SEC)
    assert "no longer valid" in answer["text"]
    assert count(h.db, MeetingMinutes) == 0


async def test_two_recorders_at_once_leave_one_record(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    h.clock.set(AFTER_MEETING)
    await h.feed(updates.callback_query(button("mr", w.meeting, 0), user_id=SEC))
    await press(h, button("mc", svc.C_NOT_HELD, 0), SEC)
    await press(h, button("mc", svc.C_CANCELLED, 0), SEC)
    await record_held(h, w, ZHAO)  # Zhao saves first
    reply = await say(h, SEC, "The hall was closed.")
    assert "already recorded by Committee Zhao" in reply
    with h.db.read() as s:
        row = s.exec(select(MeetingMinutes)).one()
    assert (row.held, row.recorded_by) == (True, w.ids["Committee Zhao"])
    await press(h, button("mc", svc.C_SAVE, 0), ZHAO)  # a double tap on Save
    assert count(h.db, MeetingMinutes) == 1


async def test_restart_mid_flow_continues(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    h.clock.set(AFTER_MEETING)
    await h.feed(updates.callback_query(button("mr", w.meeting, 0), user_id=SEC))
    await press(h, button("mc", svc.C_HELD, 0), SEC)
    await say(h, SEC, "The year's work report")
    await h.stop()
    restarted = Harness(h.db, h.clock, h.api, h.settings)
    await restarted.start()
    try:
        reply = await say(restarted, SEC, "Secretary Wang")  # the host, typed
        assert "Who took the minutes" in reply
        await say(restarted, SEC, "Secretary Wang")
        await say(restarted, SEC, "Approved the report.")
        await press(restarted, button("mc", svc.C_FILES_DONE, 0), SEC)
        await press(restarted, button("mc", svc.C_SAVE, 0), SEC)
    finally:
        await restarted.stop()
        await h.start()
    with h.db.read() as s:
        row = s.exec(select(MeetingMinutes)).one()
    assert (row.topic, row.summary) == ("The year's work report", "Approved the report.")


# ---------------------------------------------------------------------------- the register


async def test_register_sheet_lists_held_and_not_held_with_inert_text(harness: Harness) -> None:
    h = harness
    w = _seed(h)
    h.clock.set(AFTER_MEETING)
    await record_held(h, w, topic='=HYPERLINK("x") <b>bold</b>')
    committee = w.committee_meeting
    await h.feed(updates.callback_query(button("mr", committee, 0), user_id=SEC))
    await press(h, button("mc", svc.C_NOT_HELD, 0), SEC)
    await press(h, button("mc", svc.C_CANCELLED, 0), SEC)
    await say(h, SEC, "@SUM(1) the secretary was ill")
    await h.feed(updates.command("export", user_id=SEC))
    docs = [d["document"] for d in h.api.sent("sendDocument")]
    xlsx = [d for d in docs if d.filename.endswith(".xlsx")][-1]
    book = load_workbook(io.BytesIO(bytes(xlsx.content)))
    sheet = book["Meeting records"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Date and time", "Meeting", "Party group", "Held"]
    assert len(rows) == 2
    not_held, held = rows  # by meeting time: the committee meeting of Mar 3 first
    assert not_held[1] == "Branch committee meeting" and not_held[3] == "no"
    assert held[1] == "General members' meeting" and held[3] == "yes"
    assert held[6:8] == ["Secretary Wang", "Committee Zhao"]
    assert held[12] == 2 and held[13] == dt.datetime(2026, 3, 13, 17, 30)
    assert held[5] == '=HYPERLINK("x") <b>bold</b>'  # shown as typed, never a formula
    assert not_held[4] == "@SUM(1) the secretary was ill"
    for ws_row in sheet.iter_rows(min_row=2):
        for cell in ws_row:
            assert cell.data_type != "f", cell.coordinate
            if isinstance(cell.value, str) and cell.value[:1] in "=@":
                assert cell.quotePrefix, cell.coordinate


def _add_records(w: World, keys: list[tuple[str, str]]) -> None:
    with w.db.transaction() as s:
        for item, day in keys:
            row = MeetingMinutes(
                branch_id=w.branch_id,
                occurrence_id=w.occ(item, day),
                topic=f"topic {day}",
                summary="s",
                recorded_at=AFTER_MEETING,
            )
            s.add(row)
            s.flush()
            assert row.id is not None
            s.add(MinutesAttachment(minutes_id=row.id, file_id="f", added_at=AFTER_MEETING))


def test_the_register_reads_records_in_a_constant_number_of_queries(db: Any) -> None:
    from bot.services.export import export_branch
    from tests.bot.answers_fixtures import QueryCounter, seed

    w = seed(db, locale="zh_CN")
    counts = []
    for keys in (
        [("general_meeting", "2026-03-13")],
        [
            ("committee_meeting", "2026-03-03"),
            ("committee_meeting", "2026-02-03"),
            ("party_lecture", _first("party_lecture", db)),
        ],
    ):
        _add_records(w, keys)
        export_branch(db, branch_id=w.branch_id, now=AFTER_MEETING)  # the year's rows exist
        with QueryCounter(db) as counter:
            export = export_branch(db, branch_id=w.branch_id, now=AFTER_MEETING)
        book = load_workbook(io.BytesIO(export.xlsx))
        counts.append((counter.count, book["三会一课记录"].max_row))
    assert counts[0][1] == 2 and counts[1][1] == 5  # header + 1, then header + 4
    assert counts[0][0] == counts[1][0]


def _first(item: str, db: Any) -> str:
    """The planned day of the first 2026 occurrence of a default-plan item (Jan-Mar)."""
    from scheduler.plan import default_plan
    from scheduler.recurrence import item_dates

    return min(item_dates(default_plan().item(item), 2026)).isoformat()


async def test_the_ask_in_chinese_and_in_the_preview(harness: Harness) -> None:
    from bot.preview import preview_report

    h = harness
    w = _seed(h)
    with h.db.transaction() as s:
        from storage.models import Branch

        branch = s.get(Branch, w.branch_id)
        assert branch is not None
        branch.locale = "zh_CN"
        s.add(branch)
    report = preview_report(
        h.db,
        branch_name="一支部",
        first=dt.date(2026, 3, 13),
        last=dt.date(2026, 3, 16),
        now=dt.datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert "ask to record 党员大会 [general_meeting]" in report
    assert "2026-03-16 09:00" in report  # the follow-up on the last day of the window
    await sweep(h, AFTER_MEETING)
    sent = asks(h, SEC, "党员大会", "已结束，请记录")
    assert len(sent) == 1
    label = sent[0]["reply_markup"]["inline_keyboard"][0][0]["text"]
    assert label == "📝 记录本次会议"
