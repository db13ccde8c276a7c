"""The committee's view of its branches through the real bot: /branches, /compliance, opening a
branch read-only, and the seat holders' weekly digest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import col, select

from bot.preview import preview_report
from bot.ratelimit import BranchRateLimiter
from storage.db import Database
from storage.models import Delivery, OrgLevel, OrgPerson
from tests.fakes import updates
from tests.fakes.clock import FrozenClock
from tests.harness import Harness
from tests.oversight_data import add_branch, add_seat, add_unit, complete_record

COMMITTEE_SECRETARY, GENERAL_SECRETARY = 7001, 7002
ONE, TWO, THREE = 1100, 1200, 1300  # the branch secretaries' Telegram ids
MARCH_END = dt.datetime(2026, 3, 31, 2, tzinfo=dt.UTC)  # Tue Mar 31, 10:00 Shanghai
MONDAY = dt.datetime(2026, 4, 6, 1, tzinfo=dt.UTC)  # Mon Apr 6, 09:00 Shanghai


def people(secretary: int, prefix: str) -> list[tuple[str, int | None, str, str | None]]:
    return [
        (f"{prefix} Secretary", secretary, "secretary", "Group 1"),
        (f"{prefix} Li", secretary + 1, "member", "Group 1"),
        (f"{prefix} Zhao", secretary + 2, "member", "Group 2"),
        (f"{prefix} Qian", secretary + 3, "member", "Group 2"),
    ]


def committee(db: Database, *, now: dt.datetime) -> dict[str, int]:
    """Party Committee with Branch One and Three directly and Branch Two through General
    Branch; March complete except: Branch Two skipped its committee meeting (recorded as not
    held, with the reason), Branch Three never recorded its theme Party day."""
    top = add_unit(db, "Party Committee")
    general = add_unit(db, "General Branch", level=OrgLevel.GENERAL_BRANCH, parent=top)
    ids = {"committee": top, "general": general}
    ids["seat"] = add_seat(db, top, "Committee Secretary Hu", COMMITTEE_SECRETARY)
    ids["general seat"] = add_seat(
        db, general, "General Secretary Ma", GENERAL_SECRETARY, locale="zh_CN"
    )
    with db.transaction() as s:
        for name, unit, secretary in (
            ("Branch One", top, ONE),
            ("Branch Two", general, TWO),
            ("Branch Three", top, THREE),
        ):
            built = add_branch(s, name, unit_id=unit, people=people(secretary, name.split()[1]))
            ids[name] = built.branch_id
        complete_record(
            s,
            ids["Branch One"],
            months=[(2026, 3)],
            now=now,
        )
        complete_record(
            s,
            ids["Branch Two"],
            months=[(2026, 3)],
            now=now,
            not_held={("committee_meeting", "2026-03-03"): "the secretary was in hospital"},
        )
        complete_record(
            s,
            ids["Branch Three"],
            months=[(2026, 3)],
            now=now,
            skip=[("theme_party_day", "2026-03-27")],
        )
    return ids


def keyboard(h: Harness, chat: int) -> list[dict[str, Any]]:
    sent = [m for m in h.api.sent("sendMessage") if m["chat_id"] == chat][-1]
    return [b for row in sent["reply_markup"]["inline_keyboard"] for b in row]


async def tap(h: Harness, chat: int, data: str) -> None:
    """Tap a button of the last message the bot sent to `chat` (edits go to that message)."""
    message = h.api.last_message(chat)
    message_id = message["message_id"] if message is not None else 1
    await h.feed(updates.callback_query(data, user_id=chat, message_id=message_id))


def edited(h: Harness) -> str:
    return str(h.api.sent("editMessageText")[-1]["text"])


async def test_the_committee_secretary_sees_which_branch_missed_which_meeting(
    harness: Harness, clock: FrozenClock
) -> None:
    h = harness
    clock.set(MARCH_END)
    ids = committee(h.db, now=MARCH_END)
    await h.feed(updates.command("branches", user_id=COMMITTEE_SECRETARY))
    text = h.last_reply(COMMITTEE_SECRETARY)
    assert text.startswith("Branches — 2026-03 (month), worst first")
    # Worst first: the missed committee meeting costs the baseline, as does a theme day never
    # recorded; the complete branch scores 100.
    two, three, one = (text.index(f"{n} —") for n in ("Branch Two", "Branch Three", "Branch One"))
    assert sorted([two, three]) == [min(two, three), max(two, three)] and one > max(two, three)
    assert "✅ Branch One — 100/100 · baseline met" in text
    assert (
        "• Branch committee meeting 2026-03: missed — reason: the secretary was in hospital"
        in text
    )
    assert "• Theme Party day 2026-03: not recorded — record due by Mon, Mar 30" in text
    assert "🔻 Branch Two — " in text and "🔻 Branch Three — " in text
    assert text.count("baseline not met") == 2
    assert (
        "meetings on time 100% · attendance 100% · dues on time 100% · "
        "talk records and thought reports — · unreachable 0 · development deadlines missed 0"
    ) in text
    # Open Branch Two read-only: its meetings, then who is behind; no nudge buttons.
    opens = {b["text"]: b["callback_data"] for b in keyboard(h, COMMITTEE_SECRETARY)}
    assert set(opens) == {"Branch One", "Branch Two", "Branch Three"}
    await tap(h, COMMITTEE_SECRETARY, opens["Branch Two"])
    text = edited(h)
    assert text.startswith("Meetings of Branch Two — 2026-03 (month)")
    assert (
        "❌ Branch committee meeting 2026-03: missed — reason: the secretary was in hospital"
        in text
    )
    markup = h.api.sent("editMessageText")[-1]["reply_markup"]["inline_keyboard"]
    behind = markup[0][0]
    assert behind["text"] == "Who is behind"
    await tap(h, COMMITTEE_SECRETARY, behind["callback_data"])
    text = edited(h)
    assert text.startswith("Branch Two\nWho is behind — 2026")
    assert "Tap a group below" not in text
    buttons = [b for row in h.api.sent("editMessageText")[-1]["reply_markup"]["inline_keyboard"]
               for b in row]  # fmt: skip
    assert not [b for b in buttons if b["callback_data"].startswith("nd1:")]
    assert ids["Branch Two"]


async def test_a_general_branch_seat_sees_only_its_branches_and_forged_buttons_are_refused(
    harness: Harness, clock: FrozenClock
) -> None:
    h = harness
    clock.set(MARCH_END)
    ids = committee(h.db, now=MARCH_END)
    await h.feed(updates.command("branches", user_id=GENERAL_SECRETARY))
    text = h.last_reply(GENERAL_SECRETARY)
    assert text.startswith("各支部情况 — 2026-03（月），从差到好")
    assert "Branch Two" in text
    assert "Branch One" not in text and "Branch Three" not in text
    sent_before = len(h.api.sent("editMessageText"))
    forged = f"ob1:{ids['Branch One']}:0:0:0"
    await tap(h, GENERAL_SECRETARY, forged)
    assert "不在您所在党组织的管辖范围内" in h.answers()[-1]["text"]
    await tap(h, GENERAL_SECRETARY, f"ob1:{ids['Branch One']}:0:1:0")
    assert "不在您所在党组织的管辖范围内" in h.answers()[-1]["text"]
    assert len(h.api.sent("editMessageText")) == sent_before
    # Its own branch opens (in the seat holder's language).
    await tap(h, GENERAL_SECRETARY, f"ob1:{ids['Branch Two']}:0:0:0")
    assert edited(h).startswith(
        "Branch Two会议落实情况 — 2026-03（月）\n❌ 支委会 2026-03：未召开"
    )


async def test_a_branch_secretary_without_a_seat_has_no_branches(
    harness: Harness, clock: FrozenClock
) -> None:
    h = harness
    clock.set(MARCH_END)
    ids = committee(h.db, now=MARCH_END)
    await h.feed(updates.command("branches", user_id=ONE))
    assert "not available to your role" in h.last_reply(ONE)
    await tap(h, ONE, f"ob1:{ids['Branch Two']}:0:0:0")
    assert "not available to your role" in h.answers()[-1]["text"]
    # /compliance shows their own branch only.
    await h.feed(updates.command("compliance", user_id=THREE))
    text = h.last_reply(THREE)
    assert text.startswith("Meetings of Branch Three — 2026-03 (month)")
    assert "⚠ Theme Party day 2026-03: not recorded — record due by Mon, Mar 30" in text
    assert "Branch Two" not in text and "hospital" not in text
    assert "baseline not met" in text
    # A member who is not on the committee may not.
    await h.feed(updates.command("compliance", user_id=THREE + 1))
    assert "not available to your role" in h.last_reply(THREE + 1)


async def sweep(h: Harness, clock: FrozenClock, when: dt.datetime) -> None:
    clock.set(when)
    limiter = h.app.bot.rate_limiter
    assert isinstance(limiter, BranchRateLimiter)
    limiter.private_interval = 0.0
    dispatcher = h.services.dispatcher
    assert dispatcher is not None
    for _ in range(20):
        if not (await dispatcher.run_once(when)).more:
            return


def digests_to(h: Harness, chat: int) -> list[str]:
    return [t for t in h.replies_to(chat) if t.startswith("📊")]


async def test_the_weekly_digest_tells_each_seat_holder_which_branches_are_behind_and_why(
    harness: Harness, clock: FrozenClock
) -> None:
    h = harness
    clock.set(MONDAY)
    committee(h.db, now=MONDAY)
    for chat in (COMMITTEE_SECRETARY, GENERAL_SECRETARY):
        h.api.started(chat)
    await sweep(h, clock, MONDAY)
    await sweep(h, clock, MONDAY + dt.timedelta(hours=3))  # again: nothing twice
    [text] = digests_to(h, COMMITTEE_SECRETARY)
    assert text.splitlines()[0] == "📊 Party Committee: the branches this week (2026-03 – 2026-04)"
    assert (
        "🔻 Branch Three (56.7/100): Theme Party day 2026-03 not recorded "
        "— record due by Mon, Mar 30\n"
    ) in text
    assert (
        "🔻 Branch Two (56.7/100): Branch committee meeting 2026-03 missed "
        "— reason: the secretary was in hospital\n"
    ) in text
    assert "✅ Fine: Branch One\n" in text
    # The general branch's seat sees its own branch only, in their language.
    [text] = digests_to(h, GENERAL_SECRETARY)
    assert text.splitlines()[0] == "📊 General Branch：本周各支部情况（2026-03 – 2026-04）"
    assert (
        "🔻 Branch Two（56.7/100）：支委会 2026-03 未召开 — 事由：the secretary was in hospital"
        in text
    )
    assert "Branch One" not in text and "Branch Three" not in text
    with h.db.read() as s:
        keys = sorted(
            d.key for d in s.exec(select(Delivery).where(Delivery.kind == "oversight")).all()
        )
    assert len(keys) == 2 and all(k.startswith("o:") and ":2026-W15:p" in k for k in keys)

    # A seat holder who blocked the bot is marked unreachable, and gets nothing more.
    h.api.block(GENERAL_SECRETARY)
    await sweep(h, clock, MONDAY + dt.timedelta(days=7))
    with h.db.read() as s:
        person = s.exec(select(OrgPerson).where(OrgPerson.telegram_id == GENERAL_SECRETARY)).one()
        assert person.unreachable_reason is not None
    await sweep(h, clock, MONDAY + dt.timedelta(days=14))
    with h.db.read() as s:
        theirs = s.exec(
            select(Delivery).where(
                Delivery.kind == "oversight", col(Delivery.key).endswith(f":p{person.id}")
            )
        ).all()
    assert len(theirs) == 2  # weeks 15 and 16; none for week 17
    assert len(digests_to(h, COMMITTEE_SECRETARY)) == 3


SEPTEMBER = dt.datetime(2026, 9, 10, 2, tzinfo=dt.UTC)  # Thu Sep 10, 10:00 Shanghai


async def test_compliance_for_a_quarter_and_a_year_of_a_branch_that_joined_mid_year(
    harness: Harness, clock: FrozenClock
) -> None:
    h = harness
    clock.set(SEPTEMBER)
    with h.db.transaction() as s:
        built = add_branch(
            s, "Branch Late", unit_id=None, people=people(ONE, "Late"),
            starts_on=dt.date(2026, 7, 1),
        )  # fmt: skip
        complete_record(s, built.branch_id, months=[(2026, 7), (2026, 8)], now=SEPTEMBER)
    await h.feed(updates.command("compliance", "quarter", user_id=ONE))
    text = h.last_reply(ONE)
    assert text.startswith("Meetings of Branch Late — 2026-Q3 (quarter)")
    assert "✅ Branch committee meeting 2026-07: on time (held Tue, Jul 7, recorded " in text
    assert "✅ Party group meeting 2026-08 (Group 2): on time" in text
    # September's committee meeting (Tue Sep 1) was due to be recorded by Fri Sep 4.
    assert "⚠ Branch committee meeting 2026-09: not recorded — record due by Fri, Sep 4" in text
    assert "▫ General members' meeting 2026-Q3: upcoming — Fri, Sep 11, 2026 15:00" in text
    assert "baseline not met" in text
    await h.feed(updates.command("compliance", "year", user_id=ONE))
    year = "\n".join([h.last_reply(ONE)] + [str(m["text"]) for m in h.api.sent("editMessageText")])
    assert h.last_reply(ONE).startswith("Meetings of Branch Late — 2026 (year)")
    # Nothing before the branch's first day is owed: the year starts in July.
    assert "2026-07" in year and "2026-06" not in year and "2026-01" not in year
    assert "▫ Theme Party day 2026-12: upcoming" in year
    assert "on time 9 · not recorded 1 · upcoming 21" in year
    await h.feed(updates.command("compliance", "decade", user_id=ONE))
    assert h.last_reply(ONE) == "Usage: /compliance [month|quarter|year] [last]"


async def test_branches_pages_and_the_preview_lists_the_committee_digest(
    harness: Harness, clock: FrozenClock
) -> None:
    h = harness
    clock.set(MARCH_END)
    ids = committee(h.db, now=MARCH_END)
    with h.db.transaction() as s:
        for n in range(7):
            built = add_branch(s, f"Branch Z{n}", unit_id=ids["committee"],
                               people=people(5000 + 10 * n, f"Z{n}"))  # fmt: skip
            complete_record(s, built.branch_id, months=[(2026, 3)], now=MARCH_END)
    await h.feed(updates.command("branches", user_id=COMMITTEE_SECRETARY))
    first = h.last_reply(COMMITTEE_SECRETARY)
    buttons = keyboard(h, COMMITTEE_SECRETARY)
    assert [b["callback_data"] for b in buttons if b["callback_data"].startswith("pg1:")] == [
        "pg1:81:1"
    ]
    assert len([b for b in buttons if b["callback_data"].startswith("ob1:")]) == 8
    await tap(h, COMMITTEE_SECRETARY, "pg1:81:1")
    second = edited(h)
    shown = [n for n in [f"Branch Z{i}" for i in range(7)] + ["Branch One"] if n in second]
    assert len(shown) == 2 and not any(f"{n} —" in first for n in shown)
    # `branchbot preview` lists the Monday digest of the two seats above Branch Two.
    report = preview_report(h.db, branch_name="Branch Two", first=dt.date(2026, 4, 6),
                            last=dt.date(2026, 4, 12), now=MARCH_END)  # fmt: skip
    assert "oversight Committee digest to the seat holders above the branch  -> 2 recipients" in (
        report
    )


async def test_last_month_is_there_after_it_ends_for_the_committee_and_the_branch(
    harness: Harness, clock: FrozenClock
) -> None:
    h = harness
    clock.set(MARCH_END)
    committee(h.db, now=MARCH_END)
    clock.set(MONDAY)  # April: this month has nothing settled yet
    await h.feed(updates.command("branches", user_id=COMMITTEE_SECRETARY))
    april = h.last_reply(COMMITTEE_SECRETARY)
    assert april.startswith("Branches — 2026-04 (month)") and "reason:" not in april
    for words in (("last", "month"), ("month", "last"), ("上月",)):
        await h.feed(updates.command("branches", *words, user_id=COMMITTEE_SECRETARY))
        march = h.last_reply(COMMITTEE_SECRETARY)
        assert march.startswith("Branches — 2026-03 (month), worst first"), words
        assert "missed — reason: the secretary was in hospital" in march
    # Opening a branch from last month's view shows last month, and "back" returns to it.
    opens = {b["text"]: b["callback_data"] for b in keyboard(h, COMMITTEE_SECRETARY)}
    await tap(h, COMMITTEE_SECRETARY, opens["Branch Three"])
    assert edited(h).startswith("Meetings of Branch Three — 2026-03 (month)")
    assert "Theme Party day 2026-03: not recorded" in edited(h)
    markup = h.api.sent("editMessageText")[-1]["reply_markup"]["inline_keyboard"]
    await tap(h, COMMITTEE_SECRETARY, markup[0][1]["callback_data"])  # ◀ All branches
    assert edited(h).startswith("Branches — 2026-03 (month)")
    # Last quarter is Q1; a branch secretary's own /compliance reads last month too.
    await h.feed(updates.command("branches", "last", "quarter", user_id=COMMITTEE_SECRETARY))
    assert h.last_reply(COMMITTEE_SECRETARY).startswith("Branches — 2026-Q1 (quarter)")
    await h.feed(updates.command("compliance", "last", user_id=THREE))
    assert h.last_reply(THREE).startswith("Meetings of Branch Three — 2026-03 (month)")
    await h.feed(updates.command("compliance", "last", "last", user_id=THREE))
    assert h.last_reply(THREE).startswith("Usage: /compliance [month|quarter|year] [last]")
