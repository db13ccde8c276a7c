"""Quarterly thought reports through the real Application: reminded, handed in on time and late,
amended, and seen by the secretary in /overdue, the digest and the registers."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from openpyxl import load_workbook
from sqlmodel import col, select

from bot.ratelimit import BranchRateLimiter
from storage.models import Delivery, Member, MemberStatus, Occurrence, ThoughtReport
from tests.bot.answers_fixtures import tap
from tests.fakes import updates
from tests.harness import Harness, seed_branch

SECRETARY, LEADER, LI, SUN, ZHANG, QIAN, OTHER_LEADER = 9001, 2001, 1001, 1002, 1003, 1004, 2002
PEOPLE: list[tuple[str, int | None, str, str | None]] = [
    ("Secretary Wang", SECRETARY, "secretary", "Group 1"),
    ("Leader Zhou", LEADER, "group_leader", "Group 1"),
    ("Leader Wu", OTHER_LEADER, "group_leader", "Group 2"),
    ("Probationer Li", LI, "member", "Group 1"),
    ("Probationer Sun", SUN, "member", "Group 1"),
    ("Probationer Zhang", ZHANG, "member", "Group 2"),
    ("Member Qian", QIAN, "member", "Group 1"),
]
PROBATIONARY = ("Probationer Li", "Probationer Sun", "Probationer Zhang")


def at(day: str, hour: int = 2) -> dt.datetime:
    """10:00 Shanghai of a day is 02:00 UTC."""
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


def seed(h: Harness) -> dict[str, int]:
    ids = seed_branch(h.db, members=PEOPLE, now=at("2026-01-01"))
    with h.db.transaction() as s:
        for row in s.exec(select(Member).where(col(Member.name).in_(PROBATIONARY))):
            row.status = MemberStatus.PROBATIONARY.value
            s.add(row)
    for chat in (SECRETARY, LEADER, OTHER_LEADER, LI, SUN, ZHANG, QIAN):
        h.api.started(chat)
    return ids


def photo(user_id: int) -> dict[str, Any]:
    message = updates.message_dict(None, user_id=user_id)
    message["photo"] = [
        {"file_id": "small-id", "file_unique_id": "s1", "width": 90, "height": 90},
        {"file_id": "large-id", "file_unique_id": "l1", "width": 1280, "height": 960},
    ]
    return {"update_id": updates.next_update_id(), "message": message}


def notices(h: Harness, chat: int) -> list[str]:
    """Texts and captions sent to a chat."""
    return [m.get("text") or m.get("caption") or "" for m in h.api.messages_to(chat)]


async def sweep(h: Harness, when: dt.datetime) -> None:
    h.clock.set(when)
    limiter = h.app.bot.rate_limiter
    assert isinstance(limiter, BranchRateLimiter)
    limiter.private_interval = 0.0
    dispatcher = h.services.dispatcher
    assert dispatcher is not None
    for _ in range(20):
        if not (await dispatcher.run_once(when)).more:
            return


def reports(h: Harness) -> dict[int, ThoughtReport]:
    with h.db.read() as s:
        return {r.member_id: r for r in s.exec(select(ThoughtReport))}


async def test_probationary_members_are_reminded_and_hand_in_on_time_and_late(
    harness: Harness,
) -> None:
    h = harness
    ids = seed(h)
    # 14 days before the quarter ends: only the probationary members are reminded.
    await sweep(h, at("2026-03-17", 1))
    with h.db.read() as s:
        reminded = {
            d.member_id
            for d, o in s.exec(
                select(Delivery, Occurrence).where(Delivery.occurrence_id == Occurrence.id)
            )
            if o.item_id == "thought_reports"
        }
    assert reminded == {ids[name] for name in PROBATIONARY}
    reminder = h.api.last_message(LI)
    assert reminder is not None and "Thought report" in reminder["text"]
    [[rp]] = reminder["reply_markup"]["inline_keyboard"]
    assert rp["callback_data"].startswith("hi")

    # On time, by the reminder's button: the group leader and the secretary are told.
    h.clock.set(at("2026-03-20"))
    await tap(h, rp["callback_data"], user_id=LI)
    assert "Q1 2026" in h.last_reply(LI)
    await h.feed(updates.message("I studied the Party Constitution this quarter.", user_id=LI))
    assert "is handed in." in h.last_reply(LI)
    assert any("Probationer Li handed in their Thought report for Q1 2026." in t
               and "Party Constitution" in t for t in notices(h, LEADER))  # fmt: skip
    assert any("Probationer Li handed in" in t for t in notices(h, SECRETARY))
    assert not any("Probationer Li" in t for t in notices(h, OTHER_LEADER))

    # Amended before the quarter ends, now as a photo.
    await h.feed(updates.command("report", user_id=LI))
    await h.feed(photo(LI))
    assert "is amended" in h.last_reply(LI)
    li = reports(h)[ids["Probationer Li"]]
    assert (li.file_id, li.photo, li.late, li.amended_at) == (
        "large-id",
        True,
        False,
        at("2026-03-20"),
    )
    assert h.api.sent("sendPhoto")[-1]["chat_id"] == LEADER

    # The last day's reminder goes only to those who have not handed in.
    before = len(h.api.messages_to(LI))
    await sweep(h, at("2026-03-31", 1))
    assert len(h.api.messages_to(LI)) == before
    assert "Thought report" in (h.api.last_message(SUN) or {}).get("text", "")

    # A full member hands nothing in.
    await h.feed(updates.command("report", user_id=QIAN))
    assert "nothing for you to hand in" in h.last_reply(QIAN)

    # After the quarter: Sun hands in Q1 late; Li can no longer change Q1 from its button.
    h.clock.set(at("2026-04-02"))
    await h.feed(updates.command("report", "Late", "but", "honest.", user_id=SUN))
    assert "is handed in, late." in h.last_reply(SUN)
    assert any("Probationer Sun handed in their Thought report for Q1 2026, late." in t
               for t in notices(h, SECRETARY))  # fmt: skip
    sun = reports(h)[ids["Probationer Sun"]]
    assert (sun.year, sun.quarter, sun.late, sun.text) == (2026, 1, True, "Late but honest.")
    await tap(h, rp["callback_data"], user_id=LI)
    await h.feed(updates.message("changed afterwards", user_id=LI))
    assert "can no longer be changed" in h.last_reply(LI)
    assert reports(h)[ids["Probationer Li"]].text is None

    # The secretary sees who has not handed in: /overdue, the digest and the register.
    await h.feed(updates.command("overdue", user_id=SECRETARY))
    overdue = h.last_reply(SECRETARY)
    assert "Thought report, Q1: not handed in" in overdue
    section = overdue.split("Thought report, Q1")[1]
    assert "Probationer Zhang" in section
    assert "Probationer Li" not in section and "Probationer Sun" not in section
    await h.feed(updates.command("digest", user_id=SECRETARY))
    digest = "\n".join(h.replies_to(SECRETARY)[-2:])
    assert "Thought report for Q1 (was due" in digest
    assert "1 of 3 still not handed in: Probationer Zhang" in digest
    assert "Thought report for Q2 (due" in digest
    await h.feed(updates.command("export", user_id=SECRETARY))
    docs = [d["document"] for d in h.api.sent("sendDocument")]
    xlsx = [d for d in docs if d.filename.endswith(".xlsx")][-1]
    sheet = load_workbook(io.BytesIO(bytes(xlsx.content)))["Thought report"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == set(PROBATIONARY)
    assert rows["Probationer Li"][2:4] == (dt.datetime(2026, 3, 20), "no")
    assert rows["Probationer Sun"][2:4] == (dt.datetime(2026, 4, 2), "yes")
    assert rows["Probationer Zhang"][2:4] == (None, None)

    # /me shows a probationary member their own quarters.
    await h.feed(updates.command("me", user_id=ZHANG))
    me = h.last_reply(ZHANG)
    assert "Thought report, Q1: not handed in yet" in me
    await h.feed(updates.command("me", user_id=SUN))
    assert "Thought report, Q1: handed in late" in h.last_reply(SUN)


async def test_people_not_yet_members_get_only_their_own_commands(harness: Harness) -> None:
    h = harness
    applicant, activist, candidate = 3001, 3002, 3003
    seed_branch(
        h.db,
        members=[
            *PEOPLE,
            ("Applicant Ma", applicant, "member", None),
            ("Activist He", activist, "member", "Group 1"),
            ("Candidate Lu", candidate, "member", "Group 1"),
        ],
        now=at("2026-01-01"),
    )
    with h.db.transaction() as s:
        for name, status in (("Applicant Ma", "applicant"), ("Activist He", "activist"),
                             ("Candidate Lu", "candidate")):  # fmt: skip
            row = s.exec(select(Member).where(Member.name == name)).one()
            row.status = status
            s.add(row)
    h.clock.set(at("2026-05-01"))
    refusal = "This is for Party members."
    for chat in (applicant, activist, candidate):
        for command in ("dues", "talks", "overdue", "digest"):
            await h.feed(updates.command(command, user_id=chat))
            assert h.last_reply(chat).startswith(refusal), (chat, command)
        await h.feed(updates.command("me", user_id=chat))
        assert "Your stage:" in h.last_reply(chat)
        await h.feed(updates.command("help", user_id=chat))
        listed = set(re.findall(r"^/(\w+) — ", h.last_reply(chat), flags=re.MULTILINE))
        assert listed == {"start", "help", "me", "lang", "cancel", "privacy", "report"}
    # An activist hands in thought reports (first the missed Q1, late); an applicant and a
    # candidate have none to hand in.
    await h.feed(updates.command("report", user_id=activist))
    assert "Thought report for Q1 2026" in h.last_reply(activist)
    await h.feed(updates.message("What I learned as an activist.", user_id=activist))
    assert "is handed in, late." in h.last_reply(activist)
    for chat in (applicant, candidate):
        await h.feed(updates.command("report", user_id=chat))
        assert "nothing for you to hand in" in h.last_reply(chat)
    # Their own command menu is as short.
    await h.app.post_init(h.app)  # type: ignore[misc]
    menu = {c["command"] for c in h.api.commands({"type": "chat", "chat_id": activist})}
    assert menu == {"start", "help", "me", "lang", "cancel", "privacy", "report"}
    # A full member still has the members' commands.
    await h.feed(updates.command("dues", user_id=QIAN))
    assert not h.last_reply(QIAN).startswith(refusal)
