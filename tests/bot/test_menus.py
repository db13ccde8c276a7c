"""Command menus: per language, per role (per-chat scopes), group chats, refreshed on changes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.access import Need
from bot.handlers.table import menu
from storage.db import Database
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness, seed_branch
from tests.harness import settings_for as settings_for

COMMANDS = menu()

ADMIN = 777
PRIVATE = {"type": "all_private_chats"}
GROUPS = {"type": "all_group_chats"}
MEMBER_COMMANDS = ["start", "help", "me", "lang", "dues", "cancel", "privacy", "report"]
ROSTER: list[tuple[str, int | None, str, str | None]] = [
    ("Secretary Wang", 9001, "secretary", "Group 1"),
    ("Committee Chen", 9002, "committee", "Group 1"),
    ("Leader Liu", 9003, "group_leader", "Group 1"),
    ("Member Li", 1001, "member", "Group 1"),
    ("Member Zhou", None, "committee", None),  # never linked: no chat to set a menu for
]


@pytest.fixture
async def menu_harness(
    db: Database, clock: FrozenClock, api: FakeTelegram
) -> AsyncIterator[Harness]:
    """A harness whose deployment has one admin who is not a member."""
    h = Harness(
        db, clock, api, settings_for(api, admin_telegram_ids=(ADMIN,), default_locale="zh_CN")
    )
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


def chat(user_id: int) -> dict[str, Any]:
    return {"type": "chat", "chat_id": user_id}


def names(commands: list[dict[str, Any]]) -> list[str]:
    return [c["command"] for c in commands]


async def test_menus_per_language_role_and_group(menu_harness: Harness) -> None:
    h = menu_harness
    seed_branch(h.db, members=ROSTER)  # branch language: en
    await h.app.post_init(h.app)  # type: ignore[misc]
    api = h.api

    assert names(api.commands(PRIVATE, "en")) == MEMBER_COMMANDS
    assert names(api.commands(PRIVATE, "zh")) == MEMBER_COMMANDS
    assert names(api.commands(PRIVATE)) == MEMBER_COMMANDS  # no language: the default locale
    assert api.commands(PRIVATE, "en")[0]["description"] == "link your account with an invite"
    assert re.search(r"[\u4e00-\u9fff]", api.commands(PRIVATE, "zh")[0]["description"])
    assert api.commands(PRIVATE)[0] == api.commands(PRIVATE, "zh")[0]
    for language in ("en", "zh", ""):
        assert names(api.commands(GROUPS, language)) == ["help", "bindgroup"]

    secretary = names(api.commands(chat(9001)))
    # not a group leader; not an admin; no seat above branches (the commands that need one)
    seat_only = {c.name for c in COMMANDS if c.need is Need.ORG} - {
        c.name for c in COMMANDS if c.need is not Need.ORG
    }
    not_theirs = {"talks", "newbranch", "renamebranch", *seat_only}
    # a command with an entry per role (/export) is listed once
    assert secretary == list(dict.fromkeys(c.name for c in COMMANDS if c.name not in not_theirs))
    assert "invite" not in names(api.commands(chat(9002)))
    assert "members" in names(api.commands(chat(9002)))
    # a group leader hands in talk records and records their group's meetings (/minutes)
    assert names(api.commands(chat(9003))) == [*MEMBER_COMMANDS, "talks", "minutes"]
    assert api.commands(chat(9001))[0]["description"] == "link your account with an invite"
    assert api.commands(chat(1001)) == []  # plain members share the private-chat menu
    assert names(api.commands(chat(ADMIN))) == [
        "start", "help", "privacy", "invite", "newbranch", "renamebranch", "org"
    ]  # fmt: skip

    assert api.errors("setMyCommands") == []
    assert names(api.commands(None, "en")) == MEMBER_COMMANDS  # the default scope
    # Bounded: 3 languages x 3 shared scopes, plus one per privileged person (3 linked + admin).
    assert api.count("setMyCommands") == 9 + 4


async def test_a_role_change_refreshes_that_members_menu(menu_harness: Harness) -> None:
    h = menu_harness
    seed_branch(h.db, members=ROSTER)
    await h.feed(updates.command("invite", '"Member Li"', "committee", user_id=9001))
    assert "members" in names(h.api.commands(chat(1001)))


async def test_linking_a_group_leader_gives_them_their_menu(menu_harness: Harness) -> None:
    h = menu_harness
    seed_branch(h.db, members=ROSTER)
    await h.feed(updates.command("invite", "Zhang", "G2", "group_leader", user_id=9001))
    token = re.findall(r"start=([\w-]+)", h.last_reply(9001))[0]
    await h.feed(updates.command("start", token, user_id=2002))
    assert "talks" in names(h.api.commands(chat(2002)))


async def test_choosing_a_language_gives_a_member_a_menu_in_it(menu_harness: Harness) -> None:
    h = menu_harness
    seed_branch(h.db, members=ROSTER)
    await h.feed(updates.callback_query("lg1:1", user_id=1001))
    menu = h.api.commands(chat(1001))
    assert names(menu) == MEMBER_COMMANDS
    assert menu[0]["description"] == "link your account with an invite"
