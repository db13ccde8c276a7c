"""/plan: periods, local times, ids, agendas, attendance of held meetings, and paging."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.i18n import translator
from bot.render.plan import PAGE_LIMIT, page, plan_report_text
from bot.services.plan_report import build_plan_report, period_bounds
from scheduler.plan import default_plan
from scheduler.recurrence import occurrences, zone
from storage.db import Database
from tests.bot.secretary_data import LEADER, LI, SECRETARY, ZHAO, answer, branch, occ
from tests.fakes import updates
from tests.harness import Harness

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("today", "period", "first", "last"),
    [
        (dt.date(2026, 3, 2), "month", dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
        (dt.date(2024, 2, 10), "month", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        (dt.date(2026, 12, 31), "month", dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
        (dt.date(2026, 3, 2), "quarter", dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
        (dt.date(2026, 11, 2), "quarter", dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        (dt.date(2026, 5, 2), "year", dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    ],
)
def test_period_bounds_are_local_calendar_periods(
    today: dt.date, period: str, first: dt.date, last: dt.date
) -> None:
    assert period_bounds(today, period) == (first, last)


def test_month_lists_every_occurrence_in_local_time_with_ids(db: Database) -> None:
    ids = branch(db)
    report = build_plan_report(db, branch_id=ids["branch"], period="month", now=NOW)
    planned = [
        o
        for o in occurrences(default_plan(), 2026, zone("Asia/Shanghai"))
        if o.key[:7] == "2026-03"
    ]
    assert [(e.item_id, e.key) for e in report.entries] == [(o.item_id, o.key) for o in planned]
    text = plan_report_text(report, translator("en", "Asia/Shanghai"))
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    assert (
        f"#{meeting.id}  Fri, Mar 13, 2026 15:00  General members' meeting (all members)" in text
    )
    assert "Agenda: Relay and study" in text


def test_held_meetings_show_present_leave_absent_of_the_audience(db: Database) -> None:
    ids = branch(db)
    meeting = occ(db, ids["branch"], "group_meeting", "2026-02-12")  # Thu 12 Feb, held
    assert meeting.id is not None
    answer(db, meeting.id, ids["Member Li"], "present", checked_in_at=meeting.starts_at)
    answer(db, meeting.id, ids["Member Zhao"], "leave_approved", reason="sick")
    answer(db, meeting.id, ids["Member Qian"], "attending")
    report = build_plan_report(db, branch_id=ids["branch"], period="quarter", now=NOW)
    [entry] = [e for e in report.entries if e.occurrence_id == meeting.id]
    assert entry.tally is not None
    # 6 linked members of the two groups are expected; Wu never linked so never had a button.
    assert (entry.tally.audience, entry.tally.present, entry.tally.leave, entry.tally.absent) == (
        6,
        1,
        1,
        4,
    )
    future = [e for e in report.entries if e.starts_at > NOW]
    assert future and all(e.tally is None for e in future)
    text = plan_report_text(report, translator("en", "Asia/Shanghai"))
    assert "present 1, on leave 1, absent 4 (of 6)" in text


def test_cancelled_and_moved_occurrences_are_marked(db: Database) -> None:
    from bot.services.changes import EventRef, cancel, reschedule

    ids = branch(db)
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    lecture = occ(db, ids["branch"], "party_lecture", "2026-03-20")
    reschedule(
        db,
        branch_id=ids["branch"],
        actor_id=None,
        ref=EventRef(occurrence_id=meeting.id),
        day=dt.date(2026, 3, 16),
        at=dt.time(9, 0),
        now=NOW,
    )
    cancel(
        db, branch_id=ids["branch"], actor_id=None, ref=EventRef(occurrence_id=lecture.id), now=NOW
    )
    report = build_plan_report(db, branch_id=ids["branch"], period="month", now=NOW)
    text = plan_report_text(report, translator("zh_CN", "Asia/Shanghai"))
    assert "2026年3月16日 星期一 09:00" in text
    assert re.search(r"改期.*2026年3月13日", text)
    assert "已取消" in text


def test_a_year_is_split_into_pages_on_line_boundaries_never_cut(db: Database) -> None:
    ids = branch(db)
    report = build_plan_report(db, branch_id=ids["branch"], period="year", now=NOW)
    text = plan_report_text(report, translator("zh_CN", "Asia/Shanghai"))
    _first, number, total = page(text, 0)
    assert total > 1 and number == 0
    pages = [page(text, n)[0] for n in range(total)]
    assert all(len(p) <= PAGE_LIMIT for p in pages)
    assert "\n".join(pages) == text  # nothing cut, nothing lost
    assert all(f"#{e.occurrence_id} " in "\n".join(pages) for e in report.entries)
    assert page(text, 999)[1] == total - 1  # a stale page number shows the last page


# -------------------------------------------------------------------- through the bot (tier 3)


async def test_plan_command_answers_the_month_in_branch_language(harness: Harness) -> None:
    branch(harness.db, locale="zh_CN")
    await harness.feed(updates.command("plan", user_id=SECRETARY))
    text = harness.last_reply(SECRETARY)
    assert "2026年3月" in text and "党员大会" in text and "2026年3月13日 星期五 15:00" in text


async def test_plan_year_pages_with_buttons_and_turns_pages(harness: Harness) -> None:
    branch(harness.db)
    await harness.feed(updates.command("plan", "year", user_id=SECRETARY))
    sent = harness.api.sent("sendMessage")[-1]
    markup = sent["reply_markup"]["inline_keyboard"]
    [[forward]] = markup
    assert forward["callback_data"] == "pg1:63:1" and "▶" in forward["text"]
    assert "January 2026" in sent["text"] and "December 2026" not in sent["text"]
    message = harness.api.last_message(SECRETARY)
    assert message is not None
    await harness.feed(
        updates.callback_query("pg1:63:1", user_id=SECRETARY, message_id=message["message_id"])
    )
    edited = harness.api.sent("editMessageText")[-1]
    assert edited["text"] != sent["text"]
    labels = [b["text"] for row in edited["reply_markup"]["inline_keyboard"] for b in row]
    assert labels[0].startswith("◀ 1/")
    assert len(harness.answers()) == 1


async def test_plan_quarter_accepts_chinese_words(harness: Harness) -> None:
    branch(harness.db)
    await harness.feed(updates.command("plan", "季度", user_id=SECRETARY))
    assert "Q1 2026" in harness.last_reply(SECRETARY)


async def test_plan_bad_period_says_usage(harness: Harness) -> None:
    branch(harness.db)
    await harness.feed(updates.command("plan", "decade", user_id=SECRETARY))
    assert "Usage: /plan" in harness.last_reply(SECRETARY)


@pytest.mark.parametrize("user", [LI, LEADER, ZHAO])
async def test_plan_is_for_the_committee(harness: Harness, user: int) -> None:
    branch(harness.db)
    await harness.feed(updates.command("plan", user_id=user))
    assert "not available to your role" in harness.last_reply(user)


async def test_forged_page_button_from_a_member_is_refused(harness: Harness) -> None:
    branch(harness.db)
    await harness.feed(updates.callback_query("pg1:61:0", user_id=LI))
    [toast] = harness.answers()
    assert "not available to your role" in toast["text"]
    assert harness.api.sent("editMessageText") == []
