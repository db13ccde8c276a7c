"""/overdue: dues by month and streak, talk records, absences, no talk, unreachable; nudges."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlmodel import select

from bot.i18n import translator
from bot.render.overdue import overdue_text
from bot.services.charts import ChartData, chart_data, render_png
from bot.services.nudges import NudgeError, nudge_group
from bot.services.overdue import build_overdue
from storage.db import Database
from storage.models import Delivery, Member
from tests.bot.secretary_data import (
    LEADER,
    LI,
    SECRETARY,
    answer,
    audits,
    branch,
    deliveries,
    occ,
    pay,
    talk,
)
from tests.fakes import updates
from tests.fakes.clock import FrozenClock
from tests.harness import Harness

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Monday 2 March, 09:00 Shanghai
APRIL = dt.datetime(2026, 4, 2, 1, 0, tzinfo=dt.UTC)  # Q1's talk records are due by now
EN = translator("en", "Asia/Shanghai")


def _unreachable(db: Database, member_id: int, reason: str = "blocked") -> None:
    with db.transaction() as s:
        member = s.get(Member, member_id)
        assert member is not None
        member.unreachable_reason = reason
        s.add(member)


def _amount(db: Database, member_id: int, amount: str) -> None:
    with db.transaction() as s:
        member = s.get(Member, member_id)
        assert member is not None
        member.dues_amount = Decimal(amount)
        s.add(member)


def test_a_month_is_unpaid_once_its_dues_day_has_passed(db: Database) -> None:
    ids = branch(db)  # created 1 Jan 2026; dues days: 23 Jan, 27 Feb, 27 Mar
    pay(db, ids["Member Li"], 1)
    pay(db, ids["Member Li"], 2)
    pay(db, ids["Member Zhao"], 1)
    report = build_overdue(db, branch_id=ids["branch"], now=NOW)
    lags = {lag.name: lag for lag in report.dues}
    assert "Member Li" not in lags
    assert lags["Member Zhao"].unpaid == ((2026, 2),)
    assert lags["Member Qian"].unpaid == ((2026, 1), (2026, 2))
    assert lags["Member Qian"].owed == Decimal("25.00")
    assert all((2026, 3) not in lag.unpaid for lag in report.dues)  # March's day is the 27th


def test_declared_but_unconfirmed_is_listed_apart(db: Database) -> None:
    ids = branch(db)
    pay(db, ids["Member Li"], 1)
    pay(db, ids["Member Li"], 2, confirmed=False)
    report = build_overdue(db, branch_id=ids["branch"], now=NOW)
    [li] = [lag for lag in report.dues if lag.name == "Member Li"]
    assert (li.unpaid, li.declared, li.streak) == ((), ((2026, 2),), 0)
    text = overdue_text(report, EN)
    assert "Declared as paid, awaiting confirmation" in text
    assert "Member Li: February 2026" in text


def test_three_months_in_a_row_warn_and_six_reach_the_rules_limit(db: Database) -> None:
    ids = branch(db, now=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    for month in (6, 7, 8):
        pay(db, ids["Member Li"], month, year=2025)
        pay(db, ids["Member Zhao"], month, year=2025)
    for month in (9, 10, 11):
        pay(db, ids["Member Zhao"], month, year=2025)
    report = build_overdue(db, branch_id=ids["branch"], now=NOW)
    lags = {lag.name: lag for lag in report.dues}
    assert (lags["Member Li"].streak, lags["Member Li"].level) == (6, "limit")
    assert (lags["Member Zhao"].streak, lags["Member Zhao"].level) == (3, "warning")
    assert (lags["Member Qian"].streak, lags["Member Qian"].level) == (9, "limit")
    assert lags["Member Li"].unpaid[0] == (2025, 9)
    text = overdue_text(report, EN)
    assert "6 months in a row: the rules' limit" in text
    assert "⚠ 3 months in a row" in text


def test_members_without_an_approved_amount_are_exempt(db: Database) -> None:
    ids = branch(db)
    _amount(db, ids["Member Qian"], "0")
    report = build_overdue(db, branch_id=ids["branch"], now=NOW)
    assert "Member Qian" not in {lag.name for lag in report.dues}


def test_talk_records_are_missing_per_group_and_past_quarter(db: Database) -> None:
    ids = branch(db)
    talk(
        db,
        ids["branch"],
        ids["Group 1"],
        1,
        by=ids["Leader Zhou"],
        participants=[ids["Member Li"]],
    )
    assert build_overdue(db, branch_id=ids["branch"], now=NOW).talks == []  # due 31 March
    report = build_overdue(db, branch_id=ids["branch"], now=APRIL)
    assert [(g.group_id, g.quarters, g.leaders) for g in report.talks] == [
        (ids["Group 2"], (1,), ())
    ]
    assert "Group 2: Q1 (group leader: no group leader)" in overdue_text(report, EN)


def test_no_talk_this_year_names_everyone_not_in_a_record(db: Database) -> None:
    ids = branch(db)
    talk(
        db,
        ids["branch"],
        ids["Group 1"],
        1,
        by=ids["Leader Zhou"],
        participants=[ids["Member Li"], ids["Leader Zhou"]],
    )
    report = build_overdue(db, branch_id=ids["branch"], now=NOW)
    names = {p.name for p in report.no_talk}
    assert names == {"Secretary Wang", "Committee Sun", "Member Zhao", "Member Qian", "Member Wu"}


def test_absences_without_leave_of_the_last_three_months(db: Database) -> None:
    ids = branch(db)
    meeting = occ(db, ids["branch"], "group_meeting", "2026-02-12")
    assert meeting.id is not None
    for name in ("Secretary Wang", "Committee Sun", "Leader Zhou", "Member Li"):
        answer(db, meeting.id, ids[name], "present", checked_in_at=meeting.starts_at)
    answer(db, meeting.id, ids["Member Zhao"], "leave_requested", reason="travel")
    report = build_overdue(db, branch_id=ids["branch"], now=NOW)
    missed = {a.name: a.missed for a in report.absences}
    feb12 = [m for m in missed["Member Qian"] if m.occurrence_id == meeting.id]
    assert feb12 and feb12[0].title.en == "Party group meeting"
    for name in ("Member Li", "Member Zhao"):
        assert meeting.id not in {m.occurrence_id for m in missed.get(name, ())}
    assert "Member Wu" not in missed  # never linked, so never had a button


def test_unreachable_members_are_named_with_why(db: Database) -> None:
    ids = branch(db)
    _unreachable(db, ids["Member Qian"], "Forbidden: bot was blocked by the user")
    report = build_overdue(db, branch_id=ids["branch"], now=NOW)
    assert {(p.name, p.reason) for p in report.unreachable} == {
        ("Member Qian", "Forbidden: bot was blocked by the user"),
        ("Member Wu", ""),
    }
    text = overdue_text(report, EN)
    assert "Member Wu: never linked" in text and "Member Qian: refused: Forbidden" in text


def test_nudge_queues_one_row_per_reachable_laggard_once_a_day(db: Database) -> None:
    ids = branch(db)
    pay(db, ids["Member Zhao"], 1)
    pay(db, ids["Member Zhao"], 2)
    _unreachable(db, ids["Member Qian"])
    first = nudge_group(
        db,
        branch_id=ids["branch"],
        group_id=ids["Group 2"],
        actor_id=ids["Secretary Wang"],
        now=NOW,
    )
    # Group 2: Committee Sun owes; Zhao paid; Qian blocked; Wu never linked.
    assert (first.queued, first.already, set(first.unreachable)) == (
        1,
        0,
        {"Member Qian", "Member Wu"},
    )
    [row] = deliveries(db, "nudge")
    assert row.key == f"n:{ids['Group 2']}:2026-03-02:m{ids['Committee Sun']}"
    assert (row.chat_id, row.status, row.due_at) == (9002, "pending", NOW)
    payload = json.loads(row.payload)
    assert payload["reason"] == "dues" and payload["months"] == ["2026-01", "2026-02"]
    again = nudge_group(
        db,
        branch_id=ids["branch"],
        group_id=ids["Group 2"],
        actor_id=None,
        now=NOW + dt.timedelta(hours=3),
    )
    assert (again.queued, again.already) == (0, 1)
    assert len(deliveries(db, "nudge")) == 1
    assert [a["group"] for a in audits(db, "overdue.nudge")] == [ids["Group 2"]]
    tomorrow = nudge_group(
        db,
        branch_id=ids["branch"],
        group_id=ids["Group 2"],
        actor_id=None,
        now=NOW + dt.timedelta(days=1),
    )
    assert tomorrow.queued == 1


def test_group_leaders_are_nudged_about_missing_talk_records(db: Database) -> None:
    ids = branch(db)
    for name in ("Secretary Wang", "Leader Zhou", "Member Li"):
        for month in (1, 2, 3):
            pay(db, ids[name], month)
    nudge_group(db, branch_id=ids["branch"], group_id=ids["Group 1"], actor_id=None, now=APRIL)
    [row] = deliveries(db, "nudge")
    assert row.member_id == ids["Leader Zhou"]
    payload = json.loads(row.payload)
    assert payload["reasons"] == ["talks"] and payload["quarters"] == [1]


def test_nudging_another_branchs_group_is_refused(db: Database) -> None:
    ids = branch(db)
    other = branch(db, name="二支部", members=[("Other", 7001, "member", "Their group")])
    with db.read() as s:
        theirs = s.exec(select(Member).where(Member.id == other["Other"])).one().group_id
    assert theirs is not None
    with pytest.raises(NudgeError):
        nudge_group(db, branch_id=ids["branch"], group_id=theirs, actor_id=None, now=NOW)
    assert deliveries(db, "nudge") == []


def test_chart_data_counts_dues_and_attendance_by_group(db: Database) -> None:
    ids = branch(db)
    pay(db, ids["Member Li"], 1)
    meeting = occ(db, ids["branch"], "group_meeting", "2026-02-12")
    assert meeting.id is not None
    answer(db, meeting.id, ids["Member Li"], "present", checked_in_at=meeting.starts_at)
    data = chart_data(db, branch_id=ids["branch"], now=NOW)
    assert data.months == [1, 2, 3]
    assert data.dues == [pytest.approx(100 / 7), 0.0, None]  # all 7 have an amount
    # February, Group 1: committee meeting (Wang), group meeting and theme day (Wang, Zhou, Li)
    assert data.attendance["Group 1"][1] == pytest.approx(100 / 7)
    assert data.attendance["Group 1"][0] == 0.0 and data.attendance["Group 1"][2] is None


def test_chart_is_a_png_and_codes_group_names_it_cannot_draw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.services import charts

    monkeypatch.setattr(charts, "cjk_font", lambda: None)  # a server without a CJK font
    data = ChartData(
        2026,
        [1, 2],
        [50.0, None],
        ["第一党小组", "Group 2"],
        {"第一党小组": [100.0, None], "Group 2": [None, 50.0]},
    )
    chart = render_png(data, translator("zh_CN", "Asia/Shanghai"))
    assert chart.png.startswith(b"\x89PNG\r\n\x1a\n")
    assert chart.legend == "G1 = 第一党小组"


# -------------------------------------------------------------------- through the bot (tier 3)


async def test_overdue_command_lists_and_offers_nudges(harness: Harness) -> None:
    ids = branch(harness.db)
    await harness.feed(updates.command("overdue", user_id=SECRETARY))
    sent = harness.api.sent("sendMessage")[-1]
    assert "Dues unpaid" in sent["text"] and "Member Qian: 2 months unpaid" in sent["text"]
    buttons = [b for row in sent["reply_markup"]["inline_keyboard"] for b in row]
    assert {b["callback_data"] for b in buttons} == {
        f"nd1:{ids['Group 1']}",
        f"nd1:{ids['Group 2']}",
    }
    await harness.feed(updates.callback_query(f"nd1:{ids['Group 1']}", user_id=SECRETARY))
    [toast] = harness.answers()
    assert "reminders are on their way" in toast["text"]
    assert {r.member_id for r in deliveries(harness.db, "nudge")} == {
        ids["Secretary Wang"],
        ids["Leader Zhou"],
        ids["Member Li"],
    }


async def test_overdue_chart_sends_a_photo(harness: Harness, clock: FrozenClock) -> None:
    branch(harness.db)
    await harness.feed(updates.command("overdue", "--chart", user_id=SECRETARY))
    [photo] = harness.api.sent("sendPhoto")
    assert photo["photo"].content.startswith(b"\x89PNG")
    assert photo["chat_id"] == SECRETARY


@pytest.mark.parametrize("user", [LI, LEADER])
async def test_overdue_is_for_the_committee(harness: Harness, user: int) -> None:
    branch(harness.db)
    await harness.feed(updates.command("overdue", user_id=user))
    assert "not available to your role" in harness.last_reply(user)
    await harness.feed(updates.callback_query("nd1:1", user_id=user))
    assert "not available to your role" in harness.answers()[-1]["text"]
    with harness.db.read() as s:
        assert s.exec(select(Delivery)).all() == []


async def test_forged_nudge_for_another_branch_writes_nothing(harness: Harness) -> None:
    branch(harness.db)
    other = branch(harness.db, name="二支部", members=[("Other", 7001, "member", "Theirs")])
    with harness.db.read() as s:
        theirs = s.exec(select(Member).where(Member.id == other["Other"])).one().group_id
    await harness.feed(updates.callback_query(f"nd1:{theirs}", user_id=SECRETARY))
    assert "not in your branch" in harness.answers()[-1]["text"]
    assert deliveries(harness.db, "nudge") == []
