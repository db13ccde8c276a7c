"""/members, /bindgroup and /me: who sees what, and nothing private in a group."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import select

from bot.i18n import translator
from bot.render.members import roster_text
from bot.services.members import RosterGroup, RosterLine, RosterView
from scheduler.audience import in_audience
from scheduler.occurrences import sync_occurrences
from storage.models import (
    Attendance,
    AuditEntry,
    Branch,
    DuesPayment,
    Member,
    Occurrence,
)
from tests.fakes import updates
from tests.harness import Harness, seed_branch

GROUP_CHAT = -1001234567890
SIMPLE_PLAN = """
version = 1
name = { zh_CN = "测试计划", en = "Test plan" }

[[items]]
id = "monthly"
kind = "meeting"
audience = "all"
title = { zh_CN = "月度会议", en = "Monthly meeting" }
rhythm = { every = "month", day = 10 }
time = "15:00"
duration_minutes = 60

[[items]]
id = "committee"
kind = "meeting"
audience = "committee"
title = { zh_CN = "支委会", en = "Committee only" }
rhythm = { every = "month", day = 12 }
time = "15:00"
duration_minutes = 60
"""


def seed_people(harness: Harness) -> dict[str, int]:
    ids = seed_branch(
        harness.db,
        members=[
            ("Secretary Wang", 9001, "secretary", "Group 1"),
            ("Committee Chen", 9002, "committee", "Group 2"),
            ("Member Li", 1001, "member", "Group 1"),
            ("Member Zhou", None, "member", None),
            ("Member Sun", 1003, "member", "Group 2"),
        ],
    )
    with harness.db.transaction() as s:
        sun = s.get(Member, ids["Member Sun"])
        assert sun is not None
        sun.unreachable_reason = "Forbidden: bot was blocked by the user"
        sun.unreachable_since = dt.datetime(2026, 2, 20, 4, tzinfo=dt.UTC)
        s.add(sun)
    return ids


# -- /members ----------------------------------------------------------------------------------


async def test_members_shows_groups_roles_links_dues_and_reachability(harness: Harness) -> None:
    seed_people(harness)
    await harness.feed(updates.command("members", user_id=9001))
    text = harness.last_reply(9001)
    assert text.index("【Group 1】") < text.index("Member Li") < text.index("【Group 2】")
    assert "Member Zhou — member — ✗ not linked — CN¥12.50 a month — never linked" in text
    assert "Member Sun — member — ✓ linked — CN¥12.50 a month — blocked the bot since" in text
    assert "Feb 20, 2026" in text
    assert "Committee Chen — committee member — ✓ linked" in text
    assert "Secretary Wang — secretary" in text
    assert "【No party group】" in text


async def test_committee_may_see_members_but_a_member_may_not(harness: Harness) -> None:
    seed_people(harness)
    await harness.feed(updates.command("members", user_id=9002))
    assert "Member Li" in harness.last_reply(9002)
    await harness.feed(updates.command("members", user_id=1001))
    assert "not available to your role" in harness.last_reply(1001)


async def test_members_never_shows_another_branch(harness: Harness) -> None:
    seed_people(harness)
    seed_branch(harness.db, name="二支部", members=[("Outsider Ma", 7001, "member", "G")])
    await harness.feed(updates.command("members", user_id=9001))
    assert "Outsider Ma" not in "\n".join(harness.replies_to(9001))


async def test_members_in_a_group_chat_is_refused_without_the_roster(harness: Harness) -> None:
    seed_people(harness)
    await harness.feed(updates.command("members", user_id=9001, chat_id=GROUP_CHAT))
    text = harness.last_reply(GROUP_CHAT)
    assert "private chat" in text and "Member Li" not in text


async def test_a_long_roster_is_split_under_the_message_limit(harness: Harness) -> None:
    roster = [("Secretary Wang", 9001, "secretary", "Group 1")] + [
        (f"Member {i:03d} " + "长" * 60, None, "member", f"Group {i % 7}") for i in range(300)
    ]
    seed_branch(harness.db, members=roster)
    await harness.feed(updates.command("members", user_id=9001))
    chunks = harness.replies_to(9001)
    assert len(chunks) > 1 and all(len(c) <= 4096 for c in chunks)
    assert sum(c.count("\n• ") for c in chunks) + sum(c.startswith("• ") for c in chunks) == 301


def test_roster_text_is_plain_and_keeps_html_names() -> None:
    line = RosterLine("<b>Bold</b> & Co", "member", True, Decimal("3.00"), None, None)
    text = roster_text(
        RosterView("一支部", [RosterGroup("G & <i>", [line])]), translator("en", "UTC")
    )
    assert "<b>Bold</b> & Co — member — ✓ linked — CN¥3.00 a month" in text
    assert "【G & <i>】" in text


# -- /bindgroup --------------------------------------------------------------------------------


async def test_bindgroup_by_the_secretary_binds_the_group_and_is_audited(harness: Harness) -> None:
    seed_people(harness)
    await harness.feed(
        updates.command(
            "bindgroup", user_id=9001, chat_id=GROUP_CHAT, bot_username="branchbot_test"
        )
    )
    assert "now bound to 一支部" in harness.last_reply(GROUP_CHAT)
    with harness.db.read() as s:
        assert s.exec(select(Branch)).one().group_chat_id == GROUP_CHAT
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "branch.bindgroup")).one()
    assert str(GROUP_CHAT) in audit.detail
    await harness.feed(updates.command("bindgroup", user_id=9001, chat_id=GROUP_CHAT))
    assert "already bound" in harness.last_reply(GROUP_CHAT)


@pytest.mark.parametrize("user_id", [1001, 9002, 5555])
async def test_bindgroup_by_anyone_else_is_refused(harness: Harness, user_id: int) -> None:
    seed_people(harness)
    await harness.feed(updates.command("bindgroup", user_id=user_id, chat_id=GROUP_CHAT))
    assert harness.replies_to(GROUP_CHAT)
    with harness.db.read() as s:
        assert s.exec(select(Branch)).one().group_chat_id is None
        assert s.exec(select(AuditEntry)).all() == []


async def test_bindgroup_in_a_private_chat_explains(harness: Harness) -> None:
    seed_people(harness)
    await harness.feed(updates.command("bindgroup", user_id=9001))
    assert "in the group chat you want to bind" in harness.last_reply(9001)


async def test_command_for_another_bot_in_a_group_is_ignored(harness: Harness) -> None:
    seed_people(harness)
    await harness.feed(
        updates.command("bindgroup", user_id=9001, chat_id=GROUP_CHAT, bot_username="other_bot")
    )
    assert harness.replies_to(GROUP_CHAT) == []


# -- /me ---------------------------------------------------------------------------------------


def seed_history(harness: Harness, ids: dict[str, int]) -> None:
    """January: present; February: nothing recorded (absent); dues Jan paid, Feb declared."""
    with harness.db.transaction() as s:
        branch = s.get(Branch, ids["branch"])
        assert branch is not None
        branch.plan_toml = SIMPLE_PLAN
        s.add(branch)
        occs = sync_occurrences(s, branch, year=2026, now=harness.clock.now())
        jan = next(o for o in occs if o.key == "2026-01-10")
        assert jan.id is not None
        s.add(
            Attendance(
                occurrence_id=jan.id,
                member_id=ids["Member Li"],
                state="present",
                updated_at=harness.clock.now(),
            )
        )
        paid_at = dt.datetime(2026, 1, 20, tzinfo=dt.UTC)
        for month, confirmed in ((1, paid_at), (2, None)):
            s.add(
                DuesPayment(
                    member_id=ids["Member Li"],
                    year=2026,
                    month=month,
                    amount=Decimal("12.50"),
                    declared_at=paid_at,
                    confirmed_at=confirmed,
                )
            )


async def test_me_shows_next_events_dues_and_attendance(harness: Harness) -> None:
    ids = seed_people(harness)
    seed_history(harness, ids)
    await harness.feed(updates.command("me", user_id=1001))
    text = harness.last_reply(1001)
    assert text.startswith("Member Li — member, 一支部")
    assert "Mar 10, 2026 15:00  Monthly meeting" in text
    assert "Apr 10, 2026 15:00  Monthly meeting" in text
    assert "Committee only" not in text  # not this member's audience
    assert "Paid: January 2026" in text
    assert "Declared, awaiting confirmation: February 2026" in text
    assert "Owed: March 2026 (CN¥12.50 in total)" in text
    assert "present 1, on leave 0, absent 1" in text


async def test_me_for_the_committee_includes_committee_meetings(harness: Harness) -> None:
    ids = seed_people(harness)
    seed_history(harness, ids)
    await harness.feed(updates.command("me", user_id=9002))
    text = harness.last_reply(9002)
    assert "Committee only" in text
    assert "present 0, on leave 0, absent 4" in text  # Jan and Feb, both meetings


async def test_me_is_idempotent_on_occurrences(harness: Harness) -> None:
    seed_people(harness)
    await harness.feed(updates.command("me", user_id=1001))
    with harness.db.read() as s:
        first = len(s.exec(select(Occurrence)).all())
    await harness.feed(updates.command("me", user_id=1001))
    with harness.db.read() as s:
        assert len(s.exec(select(Occurrence)).all()) == first > 0


async def test_me_in_a_group_refuses_without_leaking(harness: Harness) -> None:
    ids = seed_people(harness)
    seed_history(harness, ids)
    await harness.feed(updates.command("me", user_id=1001, chat_id=GROUP_CHAT))
    text = harness.last_reply(GROUP_CHAT)
    assert "private chat" in text
    assert "¥" not in text and "Paid" not in text and "Member Li" not in text
    assert len(harness.replies_to(GROUP_CHAT)) == 1


async def test_me_in_chinese(harness: Harness) -> None:
    ids = seed_branch(harness.db, locale="zh_CN")
    with harness.db.transaction() as s:
        li = s.get(Member, ids["Member Li"])
        assert li is not None
        li.dues_amount = Decimal("0.00")
        s.add(li)
    await harness.feed(updates.command("me", user_id=1001))
    text = harness.last_reply(1001)
    assert "党员大会" in text or "党小组会" in text
    assert "尚未为您核定党费数额" in text


@pytest.mark.parametrize(
    ("audience", "role", "group_id", "expected"),
    [
        ("all", "member", None, True),
        ("committee", "member", 1, False),
        ("committee", "committee", None, True),
        ("leading_cadres", "secretary", None, True),
        ("groups", "member", 1, True),
        ("groups", "secretary", None, False),
        ("group_leaders", "group_leader", 1, True),
        ("group_leaders", "committee", 1, False),
        ("nobody_knows", "secretary", 1, False),
    ],
)
def test_audience_rule(audience: str, role: str, group_id: int | None, expected: bool) -> None:
    assert in_audience(audience, role, group_id) is expected
