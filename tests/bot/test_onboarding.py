"""/start, /help by role, /lang, and the bot being added to a group or blocked."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlmodel import select

from storage.models import Branch, Member
from tests.fakes import updates
from tests.harness import Harness, seed_branch

GROUP_CHAT = -1001234567890
STRANGER = 5555
ROSTER: list[tuple[str, int | None, str, str | None]] = [
    ("Secretary Wang", 9001, "secretary", "Group 1"),
    ("Committee Chen", 9002, "committee", "Group 1"),
    ("Leader Liu", 9003, "group_leader", "Group 1"),
    ("Member Li", 1001, "member", "Group 1"),
]
MEMBER_COMMANDS = {"start", "help", "me", "lang", "dues", "cancel", "privacy", "report"}
COMMITTEE_COMMANDS = MEMBER_COMMANDS | {"minutes", "plan", "overdue", "attendance", "members"}
COMMITTEE_COMMANDS |= {"pipeline", "compliance"}
HELP_BY_USER = {
    STRANGER: {"start", "help", "privacy"},
    1001: MEMBER_COMMANDS,
    9003: MEMBER_COMMANDS | {"talks", "minutes"},
    9002: COMMITTEE_COMMANDS,
    9001: COMMITTEE_COMMANDS
    | {"invite", "reschedule", "cancelevent", "bindgroup", "export", "digest"}
    | {"remove", "retention", "roster", "settings", "develop"},
}


def listed_commands(text: str) -> set[str]:
    return set(re.findall(r"^/(\w+) — ", text, flags=re.MULTILINE))


def member(harness: Harness, telegram_id: int) -> Member:
    with harness.db.read() as s:
        return s.exec(select(Member).where(Member.telegram_id == telegram_id)).one()


@pytest.mark.parametrize("user_id", sorted(HELP_BY_USER))
async def test_help_lists_exactly_the_commands_of_the_role(harness: Harness, user_id: int) -> None:
    seed_branch(harness.db, members=ROSTER)
    await harness.feed(updates.command("help", user_id=user_id))
    assert listed_commands(harness.last_reply(user_id)) == HELP_BY_USER[user_id]


async def test_help_in_a_group_lists_only_group_commands(harness: Harness) -> None:
    seed_branch(harness.db, members=ROSTER)
    await harness.feed(updates.command("help", user_id=9001, chat_id=GROUP_CHAT))
    text = harness.last_reply(GROUP_CHAT)
    assert listed_commands(text) == {"help", "bindgroup"}
    assert "private chat" in text


async def test_start_without_token_from_a_stranger_explains_and_stores_nothing(
    harness: Harness,
) -> None:
    seed_branch(harness.db)
    await harness.feed(updates.command("start", user_id=STRANGER))
    assert "Ask your branch secretary for an invite link" in harness.last_reply(STRANGER)
    with harness.db.read() as s:
        assert s.exec(select(Member).where(Member.telegram_id == STRANGER)).first() is None


@pytest.mark.parametrize("command", ["me", "members", "invite", "dues", "plan", "nonsense"])
async def test_every_command_from_a_stranger_gets_the_invite_explanation(
    harness: Harness, command: str
) -> None:
    await harness.feed(updates.command(command, "x", user_id=STRANGER))
    assert "invite link" in harness.last_reply(STRANGER)
    assert len(harness.replies_to(STRANGER)) == 1  # answered once, by the gate


async def test_a_strangers_button_tap_is_answered_and_ignored(harness: Harness) -> None:
    await harness.feed(updates.callback_query("lg1:1", user_id=STRANGER))
    (answer,) = harness.answers()
    assert "invite link" in answer["text"]


async def test_linked_member_start_again_clears_unreachable(harness: Harness) -> None:
    seed_branch(harness.db)
    with harness.db.transaction() as s:
        li = s.exec(select(Member).where(Member.telegram_id == 1001)).one()
        li.unreachable_reason = "Forbidden: bot was blocked by the user"
        li.unreachable_since = harness.clock.now() - dt.timedelta(days=3)
        s.add(li)
    await harness.feed(updates.command("start", user_id=1001))
    assert "Welcome back, Member Li" in harness.last_reply(1001)
    li = member(harness, 1001)
    assert li.unreachable_reason is None and li.unreachable_since is None


async def test_lang_buttons_switch_and_remember_the_language(harness: Harness) -> None:
    seed_branch(harness.db)
    await harness.feed(updates.command("lang", user_id=1001))
    prompt = harness.api.last_message(1001)
    assert prompt is not None
    buttons = [b["callback_data"] for b in prompt["reply_markup"]["inline_keyboard"][0]]
    assert buttons == ["lg1:0", "lg1:1"]

    await harness.feed(
        updates.callback_query("lg1:0", user_id=1001, message_id=prompt["message_id"])
    )

    assert member(harness, 1001).locale == "zh_CN"
    assert harness.answers()[-1]["text"] == "语言已设置为简体中文。"
    edited = harness.api.last_message(1001)
    assert edited is not None and edited["text"] == "语言已设置为简体中文。"
    assert "reply_markup" not in edited
    await harness.feed(updates.command("help", user_id=1001))
    assert "您可以使用以下命令" in harness.last_reply(1001)
    chat_scope = {"type": "chat", "chat_id": 1001}
    menu = harness.api.commands(chat_scope)
    assert {c["command"] for c in menu} == MEMBER_COMMANDS
    assert any("语言" in c["description"] for c in menu)


@pytest.mark.parametrize("data", ["lg1:7", "lg1:abc", "lg1:", "lg1:0:0"])
async def test_malformed_language_button_changes_nothing(harness: Harness, data: str) -> None:
    seed_branch(harness.db)
    await harness.feed(updates.callback_query(data, user_id=1001))
    assert "no longer valid" in harness.answers()[-1]["text"]
    assert member(harness, 1001).locale is None


async def test_bot_added_to_a_group_says_hello_and_stores_nothing(harness: Harness) -> None:
    seed_branch(harness.db)
    await harness.feed(
        updates.my_chat_member(
            new_status="member", old_status="left", user_id=STRANGER, chat_id=GROUP_CHAT
        )
    )
    assert "/bindgroup" in harness.last_reply(GROUP_CHAT)
    with harness.db.read() as s:
        assert s.exec(select(Branch)).one().group_chat_id is None
        assert s.exec(select(Member).where(Member.telegram_id == STRANGER)).first() is None


async def test_blocking_and_unblocking_the_bot_is_recorded(harness: Harness) -> None:
    seed_branch(harness.db)
    await harness.feed(updates.my_chat_member(new_status="kicked", user_id=1001))
    li = member(harness, 1001)
    assert li.unreachable_reason is not None and li.unreachable_since == harness.clock.now()
    await harness.feed(
        updates.my_chat_member(new_status="member", old_status="kicked", user_id=1001)
    )
    assert member(harness, 1001).unreachable_reason is None
