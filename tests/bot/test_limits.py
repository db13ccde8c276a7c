"""Telegram's limits with a branch as big and as oddly named as real ones get.

A roster of 300 members with 200-character names (with zero-width and right-to-left marks),
4,000-character leave reasons and summaries, a busy year: every command a secretary or member
uses is sent through the real Application, and the fake Bot API refuses anything over a limit
the way Telegram does. Nothing may fail.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from bot.buttons import button
from bot.render.text import clip, fit, label
from bot.services.roster import parse_roster
from storage.db import Database
from storage.models import Attendance, Branch
from tests.bot.answers_fixtures import MEETING_START, MEMBERS, seed_started, send_reminder, tap
from tests.bot.secretary_data import answer, branch, occ, pay, talk
from tests.bot.test_reminders_flow import dispatcher as reminder_dispatcher
from tests.fakes import updates
from tests.harness import Harness
from tests.reminder_support import meeting_plan
from tests.reminder_support import seed as seed_reminders

SECRETARY, LI = 9001, 1001
N = 300
LONG_REASON = "出差在外地，" * 666 + "完"  # 3997 characters


def _name(i: int) -> str:
    # 200 characters: a zero-width space, right-to-left marks, and a long tail.
    head = f"成员{i:03d}\u200b\u202eRTL\u202c"
    return (head + "名" * 200)[:200]


def _big_branch(db: Database) -> dict[str, int]:
    members: list[tuple[str, int | None, str, str | None]] = [
        ("Secretary Wang", SECRETARY, "secretary", "第一党小组" + "组" * 190),
        ("Member Li", LI, "member", "第一党小组" + "组" * 190),
    ]
    members += [(_name(i), 100_000 + i, "member", "第一党小组" + "组" * 190) for i in range(N)]
    ids = branch(db, members=members, locale="zh_CN")
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    assert meeting.id is not None
    ids["meeting"] = meeting.id
    for i in range(N):
        state = "leave_requested" if i % 2 else "leave_approved"
        answer(db, meeting.id, ids[_name(i)], state, reason=LONG_REASON)
        pay(db, ids[_name(i)], 1, confirmed=bool(i % 3))
    talk(
        db,
        ids["branch"],
        ids["第一党小组" + "组" * 190],
        1,
        by=ids["Secretary Wang"],
        participants=[ids[_name(i)] for i in range(N)],
        summary=LONG_REASON,
    )
    return ids


def _assert_no_failed_send(h: Harness) -> None:
    failed = [(c.endpoint, c.status, c.params.get("text", "")[:80]) for c in h.api.errors()]
    assert failed == []
    for text in h.replies_to(SECRETARY) + h.replies_to(LI):
        assert "something went wrong" not in text


NOW = dt.datetime(2026, 3, 14, 2, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "argv",
    [
        ("members",),
        ("attendance",),
        ("attendance", "general_meeting@2026-03-13"),
        ("plan", "year"),
        ("plan", "quarter"),
        ("plan", "month"),
        ("overdue",),
        ("dues", "review"),
        ("digest",),
        ("talks",),
        ("me",),
        ("help",),
    ],
)
async def test_every_secretary_command_fits(harness: Harness, argv: tuple[str, ...]) -> None:
    harness.clock.current = NOW
    _big_branch(harness.db)
    await harness.feed(updates.command(*argv, user_id=SECRETARY))
    assert harness.replies_to(SECRETARY)
    _assert_no_failed_send(harness)


LONG = [
    (_name(i), tid, role, ("第一党小组" + "组" * 190))
    for i, (_, tid, role, _g) in enumerate(MEMBERS)
]


@pytest.mark.parametrize("reason", [LONG_REASON, LONG_REASON[:500], "短\u202e" + "理" * 480])
async def test_a_leave_request_with_a_long_reason_and_long_names(
    harness: Harness, reason: str
) -> None:
    w = seed_started(harness, members=LONG)
    harness.clock.set(MEETING_START - dt.timedelta(days=1))
    message_id = await send_reminder(harness, LI, w.meeting, w.ids[_name(3)])
    await tap(harness, button("lv", w.meeting), user_id=LI, message_id=message_id)
    await harness.feed(updates.message(reason, user_id=LI))
    _assert_no_failed_send(harness)
    if len(reason) > 500:  # refused with a clear answer, the question stays open
        assert "up to 500 characters" in harness.last_reply(LI)
    with harness.db.read() as s:
        row = s.exec(select(Attendance).where(Attendance.member_id == w.ids[_name(3)])).first()
    if row is not None and row.id is not None:
        request = harness.api.last_message(SECRETARY)
        assert request is not None
        await tap(
            harness, button("la", row.id), user_id=SECRETARY, message_id=request["message_id"]
        )
        _assert_no_failed_send(harness)
    harness.clock.set(MEETING_START + dt.timedelta(hours=3))
    for argv in (("attendance", f"#{w.meeting}"), ("digest",), ("overdue",), ("members",)):
        await harness.feed(updates.command(*argv, user_id=SECRETARY))
    await harness.feed(updates.command("me", user_id=LI))
    _assert_no_failed_send(harness)


def test_roster_names_lose_invisible_marks_so_they_match_what_is_typed() -> None:
    data = (
        "name,telegram_id,role,group,dues_amount,status\n"
        "张\u200b三\u202e,1001,member,第一\u200d党小组,12.50,full\n"
        "\u2066李四\u2069,,member,,3.00,\n"
    ).encode()
    rows = parse_roster(data, source="roster.csv")
    assert [(r.name, r.group) for r in rows] == [("张三", "第一党小组"), ("李四", None)]


async def test_dues_set_matches_a_name_typed_with_invisible_marks(harness: Harness) -> None:
    seed_started(harness)
    await harness.feed(
        updates.command("dues", "set", "Member\u200b", "\u202eSun", "6000", user_id=SECRETARY)
    )
    assert "¥" in harness.last_reply(SECRETARY)  # found: an amount is proposed


def test_button_labels_are_one_visible_line_of_at_most_64_characters() -> None:
    text = label("✎ " + _name(1) + "\nsecond line")
    assert len(text) == 64 and text.endswith("…")
    assert "\u202e" not in text and "\u200b" not in text and "\n" not in text


def _busy_plan() -> str:
    """Forty monthly items with long titles and agendas: a busy branch's year."""
    head = 'version = 1\nname = { zh_CN = "繁忙的计划", en = "Busy plan" }\ncountry = "CN"\n'
    items = []
    for i in range(40):
        title = f"活动{i:02d}" + "学" * 80
        agenda = "议程" * 400
        items.append(
            "[[items]]\n"
            f'id = "item_{i:02d}"\nkind = "meeting"\naudience = "all"\n'
            f'title = {{ zh_CN = "{title}", en = "{title}" }}\n'
            f'rhythm = {{ every = "month", day = {1 + i % 28} }}\ntime = "15:00"\n'
            "duration_minutes = 60\n"
            f'agenda = {{ zh_CN = "{agenda}", en = "{agenda}" }}\n'
        )
    return head + "\n".join(items)


@pytest.mark.parametrize("period", ["year", "quarter", "month"])
async def test_a_busy_plan_pages_without_a_failed_send(harness: Harness, period: str) -> None:
    harness.clock.current = NOW
    ids = branch(harness.db, locale="zh_CN")
    with harness.db.transaction() as s:
        b = s.get(Branch, ids["branch"])
        assert b is not None
        b.plan_toml = _busy_plan()
    await harness.feed(updates.command("plan", period, user_id=SECRETARY))
    first = harness.api.last_message(SECRETARY)
    assert first is not None
    _assert_no_failed_send(harness)
    pages = 1
    while first.get("reply_markup") and pages < 100:
        forward = [
            b["callback_data"]
            for row in first["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"].endswith("▶")
        ]
        if not forward:
            break
        await harness.feed(
            updates.callback_query(forward[0], user_id=SECRETARY, message_id=first["message_id"])
        )
        _assert_no_failed_send(harness)
        first = harness.api.message(SECRETARY, first["message_id"])
        assert first is not None
        pages += 1
    assert period != "year" or pages > 1


async def test_a_reminder_with_a_huge_agenda_is_split_and_its_buttons_still_work(
    harness: Harness,
) -> None:
    """The reminder goes out in parts, buttons on the last; a tap re-renders that part."""
    agenda = "传达学习全会精神；" * 700  # 6,300 characters
    plan = meeting_plan(extra="").replace(
        "duration_minutes = 60",
        f'duration_minutes = 60\nagenda = {{ zh_CN = "{agenda}", en = "{agenda}" }}',
    )
    seed_reminders(harness.db, members=1, plan=plan)
    harness.api.started(10_001)
    harness.clock.current = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    await reminder_dispatcher(harness).run_once(harness.clock.now())
    parts = harness.api.messages_to(10_001)
    assert len(parts) >= 2 and "reply_markup" in parts[-1]
    last = harness.api.last_message(10_001)
    assert last is not None
    attend = last["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await tap(harness, attend, user_id=10_001, message_id=last["message_id"])
    _assert_no_failed_send(harness)
    edited = harness.api.message(10_001, last["message_id"])
    assert edited is not None and edited["text"] != last["text"]  # shows the new answer


def test_clip_counts_as_telegram_does() -> None:
    """UTF-16 units: an emoji outside the BMP counts two; a cut never splits it."""
    assert clip("😀" * 3, 6) == "😀" * 3
    assert clip("😀" * 4, 6) == "😀😀…"
    assert fit("字" * 5000) == "字" * 4095 + "…"
