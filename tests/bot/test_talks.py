"""/talks through the real Application: the steps, buttons, files, and a restart mid-flow."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import select

from bot.buttons import button
from bot.services import talks
from storage.models import Conversation, TalkParticipant, TalkRecord
from tests.bot.answers_fixtures import World, count, seed_started, send_reminder, tap
from tests.fakes import updates
from tests.harness import Harness

LEADER, LI, SUN = 2001, 1001, 1002
NOW = dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC)


def photo(user_id: int) -> dict[str, Any]:
    """An update with a photo (two sizes, as Telegram sends them)."""
    message = updates.message_dict(None, user_id=user_id)
    message["photo"] = [
        {"file_id": "small-id", "file_unique_id": "s1", "width": 90, "height": 90},
        {"file_id": "large-id", "file_unique_id": "l1", "width": 1280, "height": 960},
    ]
    return {"update_id": updates.next_update_id(), "message": message}


def document(user_id: int) -> dict[str, Any]:
    """An update with a document (a scanned form)."""
    message = updates.message_dict(None, user_id=user_id)
    message["document"] = {"file_id": "doc-id", "file_unique_id": "d1", "file_name": "form.pdf"}
    return {"update_id": updates.next_update_id(), "message": message}


def _keyboard(h: Harness, chat_id: int) -> list[str]:
    last = h.api.last_message(chat_id)
    assert last is not None
    rows = last.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row]


async def _to_people_step(h: Harness) -> None:
    await h.feed(updates.command("talks", user_id=LEADER))
    assert "How many" in h.last_reply(LEADER)
    await h.feed(updates.message("3", user_id=LEADER))
    assert "Who took part" in h.last_reply(LEADER)


async def test_leader_hands_in_talk_records_step_by_step(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(NOW)
    await _to_people_step(harness)
    people = harness.api.last_message(LEADER)
    assert people is not None
    assert button("tm", w.ids["Member Li"]) in _keyboard(harness, LEADER)
    assert button("tm", w.ids["Member Sun"]) not in _keyboard(harness, LEADER)  # other group
    for name in ("Member Li", "Committee Zhao"):
        await tap(
            harness, button("tm", w.ids[name]), user_id=LEADER, message_id=people["message_id"]
        )
    await tap(
        harness, button("td", talks.DONE_PEOPLE), user_id=LEADER, message_id=people["message_id"]
    )
    await harness.feed(updates.message("Talked about the year's study plan.", user_id=LEADER))
    assert "photo or document" in harness.last_reply(LEADER)
    await harness.feed(photo(LEADER))
    assert "Handed in" in harness.last_reply(LEADER)
    with harness.db.read() as s:
        record = s.exec(select(TalkRecord)).one()
        people_ids = {p.member_id for p in s.exec(select(TalkParticipant))}
    assert (record.talks, record.file_id, record.late) == (3, "large-id", False)
    assert people_ids == {w.ids["Member Li"], w.ids["Committee Zhao"]}
    assert count(harness.db, Conversation) == 0


async def _skip_to_file(h: Harness, w: World) -> None:
    await _to_people_step(h)
    await tap(h, button("tm", w.ids["Member Li"]), user_id=LEADER)
    await tap(h, button("td", talks.DONE_PEOPLE), user_id=LEADER)
    await h.feed(updates.message("summary", user_id=LEADER))


async def test_skipping_the_form_saves_without_a_file(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(NOW)
    await _skip_to_file(harness, w)
    await tap(harness, button("td", talks.SKIP_FILE), user_id=LEADER)
    with harness.db.read() as s:
        record = s.exec(select(TalkRecord)).one()
    assert record.file_id is None and record.summary == "summary"


async def test_a_document_is_accepted_as_the_form(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(NOW)
    await _skip_to_file(harness, w)
    await harness.feed(document(LEADER))
    with harness.db.read() as s:
        assert s.exec(select(TalkRecord)).one().file_id == "doc-id"


async def test_restart_mid_flow_resumes_at_the_same_step(harness: Harness) -> None:
    """A leader who answered "how many talks?" before a restart is not asked again."""
    w = seed_started(harness)
    harness.clock.set(NOW)
    await _to_people_step(harness)
    await harness.stop()
    restarted = Harness(harness.db, harness.clock, harness.api, harness.settings)
    await restarted.start()
    try:
        await restarted.feed(updates.command("talks", user_id=LEADER))
        reply = restarted.last_reply(LEADER)
        assert "Continuing where you left off" in reply and "Who took part" in reply
        await tap(restarted, button("tm", w.ids["Member Li"]), user_id=LEADER)
        await tap(restarted, button("td", talks.DONE_PEOPLE), user_id=LEADER)
        await restarted.feed(updates.message("after the restart", user_id=LEADER))
        await tap(restarted, button("td", talks.SKIP_FILE), user_id=LEADER)
    finally:
        await restarted.stop()
        await harness.start()
    with harness.db.read() as s:
        record = s.exec(select(TalkRecord)).one()
    assert (record.talks, record.summary) == (3, "after the restart")


async def test_the_reminder_button_asks_privately(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(NOW)
    message_id = await send_reminder(harness, LEADER, w.talks, w.ids["Leader Chen"])
    await tap(harness, button("tk", w.talks), user_id=LEADER, message_id=message_id)
    assert "How many" in harness.last_reply(LEADER)


async def test_members_cannot_hand_in(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(NOW)
    await harness.feed(updates.command("talks", user_id=LI))
    assert "not available to your role" in harness.last_reply(LI)
    answer = await tap(harness, button("tk", w.talks), user_id=LI)
    assert "not available to your role" in answer["text"]
    assert count(harness.db, Conversation) == 0


async def test_forged_toggle_of_another_groups_member_changes_nothing(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(NOW)
    await _to_people_step(harness)
    answer = await tap(harness, button("tm", w.ids["Member Sun"]), user_id=LEADER)
    assert "no longer valid" in answer["text"]
    with harness.db.read() as s:
        flow = s.exec(select(Conversation)).one()
    assert '"selected": []' in flow.data


async def test_a_count_that_is_not_a_number_is_asked_again(harness: Harness) -> None:
    seed_started(harness)
    harness.clock.set(NOW)
    await harness.feed(updates.command("talks", user_id=LEADER))
    await harness.feed(updates.message("many", user_id=LEADER))
    reply = harness.last_reply(LEADER)
    assert "not a valid answer" in reply and "How many" in reply


async def test_an_earlier_quarter_is_handed_in_late(harness: Harness) -> None:
    w = seed_started(harness)
    harness.clock.set(dt.datetime(2026, 4, 3, 2, tzinfo=dt.UTC))
    await harness.feed(updates.command("talks", "2026Q1", user_id=LEADER))
    assert "marked late" in harness.last_reply(LEADER)
    await harness.feed(updates.message("0", user_id=LEADER))
    await tap(harness, button("td", talks.DONE_PEOPLE), user_id=LEADER)
    await harness.feed(updates.message("no talks, sorry", user_id=LEADER))
    await tap(harness, button("td", talks.SKIP_FILE), user_id=LEADER)
    with harness.db.read() as s:
        record = s.exec(select(TalkRecord)).one()
    assert (record.year, record.quarter, record.late, record.group_id) == (
        2026,
        1,
        True,
        _group_of(harness, w),
    )


def _group_of(h: Harness, w: World) -> int | None:
    from storage.models import Member

    with h.db.read() as s:
        member = s.get(Member, w.ids["Leader Chen"])
    return member.group_id if member else None


async def test_a_bad_quarter_explains_the_usage(harness: Harness) -> None:
    seed_started(harness)
    harness.clock.set(NOW)
    await harness.feed(updates.command("talks", "spring", user_id=LEADER))
    assert "Usage" in harness.last_reply(LEADER)
    await harness.feed(updates.command("talks", "2026Q3", user_id=LEADER))
    assert "not begun" in harness.last_reply(LEADER)


async def test_an_amendment_starts_from_what_was_handed_in(harness: Harness) -> None:
    """Adding a fourth talk keeps the participants, summary and form handed in before."""
    w = seed_started(harness)
    harness.clock.set(NOW)
    await _to_people_step(harness)
    for name in ("Member Li", "Committee Zhao"):
        await tap(harness, button("tm", w.ids[name]), user_id=LEADER)
    await tap(harness, button("td", talks.DONE_PEOPLE), user_id=LEADER)
    await harness.feed(updates.message("Talked about the study plan.", user_id=LEADER))
    await harness.feed(photo(LEADER))
    harness.clock.advance(days=3)
    await harness.feed(updates.command("talks", user_id=LEADER))
    assert "3 talks, 2 participants" in harness.last_reply(LEADER)
    await harness.feed(updates.message("4", user_id=LEADER))
    people = harness.api.last_message(LEADER)
    assert people is not None and "✅ Member Li" in str(people["reply_markup"])
    mid = people["message_id"]
    done = await tap(harness, button("td", talks.DONE_PEOPLE), user_id=LEADER, message_id=mid)
    assert done.get("text"), "Done must say what it did"
    summary_step = harness.api.sent("editMessageText")[-1]
    assert "Talked about the study plan." in summary_step["text"]
    kept = await tap(harness, button("td", talks.KEEP_SUMMARY), user_id=LEADER, message_id=mid)
    assert kept.get("text")
    skipped = await tap(harness, button("td", talks.SKIP_FILE), user_id=LEADER, message_id=mid)
    assert skipped.get("text")
    with harness.db.read() as s:
        record = s.exec(select(TalkRecord)).one()
        people_ids = {p.member_id for p in s.exec(select(TalkParticipant))}
    assert (record.talks, record.summary, record.file_id) == (
        4,
        "Talked about the study plan.",
        "large-id",
    )
    assert people_ids == {w.ids["Member Li"], w.ids["Committee Zhao"]}


async def test_talks_without_participants_are_refused(harness: Harness) -> None:
    seed_started(harness)
    harness.clock.set(NOW)
    await _to_people_step(harness)
    refused = await tap(harness, button("td", talks.DONE_PEOPLE), user_id=LEADER)
    assert "at least one participant" in refused["text"]
    with harness.db.read() as s:
        flow = s.exec(select(Conversation)).one()
    assert flow.step == talks.PEOPLE and count(harness.db, TalkRecord) == 0
