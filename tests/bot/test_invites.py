"""Invites: /invite makes a one-time deep link, /start <token> links the account, abuse is refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import SQLModel, func, select

from bot.services.invites import (
    InviteArgs,
    InviteIssued,
    InviteUsageError,
    LinkStatus,
    UsageProblem,
    create_invite,
    parse_invite,
    redeem_invite,
)
from storage.db import Database
from storage.models import AuditEntry, Invite, Member, PartyGroup, Role
from tests.conftest import _truncate
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness, seed_branch
from tests.harness import settings_for as settings_for

LINK = re.compile(r"https://t\.me/branchbot_test\?start=([A-Za-z0-9_-]+)")
SECRETARY, MEMBER, NEWCOMER = 9001, 1001, 2002


def count(db: Database, model: type[SQLModel]) -> int:
    with db.read() as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


async def invite(harness: Harness, *args: str, user_id: int = SECRETARY) -> str:
    """Send /invite and return the token of the link in the answer."""
    await harness.feed(updates.command("invite", *args, user_id=user_id))
    found = LINK.search(harness.last_reply(user_id))
    assert found, harness.last_reply(user_id)
    return found.group(1)


def member_named(db: Database, name: str) -> Member | None:
    with db.read() as s:
        return s.exec(select(Member).where(Member.name == name)).first()


# -- tier 1: parsing ---------------------------------------------------------------------------


def test_invite_arguments_are_name_group_role() -> None:
    assert parse_invite("张三 第一党小组 group_leader") == InviteArgs(
        "张三", "第一党小组", Role.GROUP_LEADER
    )


def test_quotes_allow_spaces_including_typographic_quotes() -> None:
    assert parse_invite('"Zhang San" "Group 1" committee') == InviteArgs(
        "Zhang San", "Group 1", Role.COMMITTEE
    )
    assert parse_invite("“Zhang San”") == InviteArgs("Zhang San")


def test_a_lone_second_word_that_names_a_role_is_the_role() -> None:
    assert parse_invite("张三 支委") == InviteArgs("张三", None, Role.COMMITTEE)
    assert parse_invite("张三 第二组") == InviteArgs("张三", "第二组", None)


def test_branch_option_names_the_branch() -> None:
    assert parse_invite("张三 branch=二支部") == InviteArgs("张三", branch="二支部")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", UsageProblem.EMPTY_NAME),
        ('""', UsageProblem.EMPTY_NAME),
        ("   ", UsageProblem.EMPTY_NAME),
        ('"Zhang San', UsageProblem.UNBALANCED_QUOTES),
        ("a b c d", UsageProblem.TOO_MANY),
        ("张三 组 boss", UsageProblem.UNKNOWN_ROLE),
        ("x" * 201, UsageProblem.TOO_LONG),
    ],
)
def test_bad_arguments_name_the_problem(raw: str, problem: UsageProblem) -> None:
    with pytest.raises(InviteUsageError) as caught:
        parse_invite(raw)
    assert caught.value.problem is problem


# -- tier 2: the use cases on both databases ---------------------------------------------------


def test_token_is_stored_only_as_its_hash(db: Database, clock: FrozenClock) -> None:
    seed_branch(db)
    issued = create_invite(
        db,
        InviteArgs("New One"),
        actor_telegram_id=SECRETARY,
        is_admin=False,
        now=clock.now(),
        ttl_days=7,
    )
    assert isinstance(issued, InviteIssued)
    assert len(issued.token) >= 32
    with db.read() as s:
        stored = s.exec(select(Invite)).one()
    assert stored.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in stored.token_hash
    assert stored.expires_at == clock.now() + dt.timedelta(days=7)


def test_a_token_links_once(db: Database, clock: FrozenClock) -> None:
    seed_branch(db)
    issued = create_invite(
        db,
        InviteArgs("New One"),
        actor_telegram_id=SECRETARY,
        is_admin=False,
        now=clock.now(),
        ttl_days=7,
    )
    assert isinstance(issued, InviteIssued)
    first = redeem_invite(db, token=issued.token, telegram_id=NEWCOMER, now=clock.now())
    second = redeem_invite(db, token=issued.token, telegram_id=3003, now=clock.now())
    assert (first.status, second.status) == (LinkStatus.LINKED, LinkStatus.USED)
    linked = member_named(db, "New One")
    assert linked is not None and linked.telegram_id == NEWCOMER


def _file_db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'race.db'}")
    SQLModel.metadata.create_all(database.engine)
    return database


@pytest.mark.parametrize(
    "backend", ["sqlite-file", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_concurrent_redeems_of_one_token_link_exactly_one_account(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, clock: FrozenClock
) -> None:
    """Two threads race with the same token: one links, the other is told it was used."""
    if backend == "postgresql":
        database = Database(request.getfixturevalue("pg_url"))
        _truncate(database)
    else:
        database = _file_db(tmp_path)
    try:
        seed_branch(database)
        issued = create_invite(
            database,
            InviteArgs("Racer"),
            actor_telegram_id=SECRETARY,
            is_admin=False,
            now=clock.now(),
            ttl_days=7,
        )
        assert isinstance(issued, InviteIssued)
        barrier = threading.Barrier(2)
        results: list[LinkStatus] = []

        def redeem(user: int) -> None:
            barrier.wait()
            results.append(
                redeem_invite(
                    database, token=issued.token, telegram_id=user, now=clock.now()
                ).status
            )

        threads = [threading.Thread(target=redeem, args=(u,)) for u in (5001, 5002)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(r.value for r in results) == ["linked", "used"]
        racer = member_named(database, "Racer")
        assert racer is not None and racer.telegram_id in (5001, 5002)
    finally:
        database.dispose()


# -- tier 3: through the real Application ------------------------------------------------------


async def test_invite_answers_a_deep_link_and_start_links_and_greets(harness: Harness) -> None:
    seed_branch(harness.db)
    token = await invite(harness, "Zhang", '"Group 2"', "group_leader")
    assert 32 <= len(token) <= 64
    assert "parse_mode" not in harness.api.messages_to(SECRETARY)[-1]

    await harness.feed(updates.command("start", token, user_id=NEWCOMER, language_code="zh-hans"))

    greeting = harness.last_reply(NEWCOMER)
    assert "Welcome, Zhang!" in greeting  # the branch's language (en), not the client's (zh)
    assert "/talks" in greeting and "/invite" not in greeting  # what a group leader can do
    zhang = member_named(harness.db, "Zhang")
    assert zhang is not None and zhang.telegram_id == NEWCOMER and zhang.role == "group_leader"
    assert zhang.linked_at == harness.clock.now()
    with harness.db.read() as s:
        group = s.get(PartyGroup, zhang.group_id)
        assert group is not None and group.name == "Group 2"
        actions = {a.action for a in s.exec(select(AuditEntry))}
    assert {"member.invite", "member.link"} <= actions


async def test_greeting_is_in_the_branch_language(harness: Harness) -> None:
    seed_branch(harness.db, locale="zh_CN")
    token = await invite(harness, "张三")
    await harness.feed(updates.command("start", token, user_id=NEWCOMER, language_code="en"))
    assert "欢迎" in harness.last_reply(NEWCOMER) and "张三" in harness.last_reply(NEWCOMER)


async def test_replayed_token_is_refused_and_links_nothing(harness: Harness) -> None:
    seed_branch(harness.db)
    token = await invite(harness, "Zhang")
    await harness.feed(updates.command("start", token, user_id=NEWCOMER))
    await harness.feed(updates.command("start", token, user_id=3003))
    assert "already been used" in harness.last_reply(3003)
    zhang = member_named(harness.db, "Zhang")
    assert zhang is not None and zhang.telegram_id == NEWCOMER


async def test_expired_token_is_refused(harness: Harness) -> None:
    seed_branch(harness.db)
    token = await invite(harness, "Zhang")
    harness.clock.advance(days=8)
    await harness.feed(updates.command("start", token, user_id=NEWCOMER))
    assert "expired" in harness.last_reply(NEWCOMER)
    zhang = member_named(harness.db, "Zhang")
    assert zhang is not None and zhang.telegram_id is None


@pytest.mark.parametrize(
    "token", ["forged-token-forged-token-forged-1", "short", "bad!chars!here!!!!!!!!", "x" * 65]
)
async def test_unknown_or_forged_token_is_refused_and_stores_nothing(
    harness: Harness, token: str
) -> None:
    seed_branch(harness.db)
    before = count(harness.db, Member)
    await harness.feed(updates.command("start", token, user_id=NEWCOMER))
    assert "not valid" in harness.last_reply(NEWCOMER)
    assert count(harness.db, Member) == before
    with harness.db.read() as s:
        assert s.exec(select(Member).where(Member.telegram_id == NEWCOMER)).first() is None


async def test_account_linked_to_another_member_is_refused(harness: Harness) -> None:
    seed_branch(harness.db)
    token = await invite(harness, "Zhang")
    await harness.feed(updates.command("start", token, user_id=MEMBER))  # Member Li's account
    assert "already linked to another member (Member Li)" in harness.last_reply(MEMBER)
    zhang = member_named(harness.db, "Zhang")
    assert zhang is not None and zhang.telegram_id is None
    with harness.db.read() as s:
        assert s.exec(select(Invite)).one().used_at is None  # the link still works for Zhang


async def test_invite_by_a_member_is_refused_and_writes_nothing(harness: Harness) -> None:
    seed_branch(harness.db)
    before = (count(harness.db, Member), count(harness.db, Invite), count(harness.db, AuditEntry))
    await harness.feed(updates.command("invite", "Sneaky", user_id=MEMBER))
    assert "not available to your role" in harness.last_reply(MEMBER)
    after = (count(harness.db, Member), count(harness.db, Invite), count(harness.db, AuditEntry))
    assert after == before


@pytest.mark.parametrize("args", [(), ('""',), ('"unclosed',)])
async def test_invite_with_empty_name_answers_usage(
    harness: Harness, args: tuple[str, ...]
) -> None:
    seed_branch(harness.db)
    before = count(harness.db, Member)
    await harness.feed(updates.command("invite", *args, user_id=SECRETARY))
    assert "Usage: /invite NAME [group] [role]" in harness.last_reply(SECRETARY)
    assert count(harness.db, Member) == before and count(harness.db, Invite) == 0


async def test_secretary_cannot_invite_into_another_branch(harness: Harness) -> None:
    seed_branch(harness.db, name="Branch A")
    seed_branch(harness.db, name="Branch B", members=[("Secretary Zhao", 9002, "secretary", None)])
    await harness.feed(updates.command("invite", "Spy", 'branch="Branch B"', user_id=SECRETARY))
    assert "only invite members into your own branch" in harness.last_reply(SECRETARY)
    assert member_named(harness.db, "Spy") is None and count(harness.db, Invite) == 0


@pytest.fixture
async def admin_harness(
    db: Database, clock: FrozenClock, api: FakeTelegram
) -> AsyncIterator[Harness]:
    """The harness with 777 as a deployment admin (ADMIN_TELEGRAM_IDS)."""
    h = Harness(db, clock, api, settings_for(api, admin_telegram_ids=(777,)))
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


async def test_admin_invites_a_secretary_into_any_branch(admin_harness: Harness) -> None:
    harness = admin_harness
    seed_branch(harness.db, name="Branch B")
    token = await invite(harness, "Boss", "secretary", 'branch="Branch B"', user_id=777)
    await harness.feed(updates.command("start", token, user_id=NEWCOMER))
    boss = member_named(harness.db, "Boss")
    assert boss is not None and boss.role == "secretary" and boss.telegram_id == NEWCOMER


async def test_admin_without_a_branch_must_name_one(admin_harness: Harness) -> None:
    harness = admin_harness
    seed_branch(harness.db)
    await harness.feed(updates.command("invite", "Boss", user_id=777))
    assert "branch=BRANCH" in harness.last_reply(777)
    await harness.feed(updates.command("invite", "Boss", "branch=Nowhere", user_id=777))
    assert "no branch called Nowhere" in harness.last_reply(777)
    assert member_named(harness.db, "Boss") is None


async def test_reinviting_reuses_the_member_and_a_new_link_voids_the_old(harness: Harness) -> None:
    seed_branch(harness.db)
    old = await invite(harness, "Zhang")
    new = await invite(harness, "Zhang", "committee")
    with harness.db.read() as s:
        assert len(s.exec(select(Member).where(Member.name == "Zhang")).all()) == 1
    await harness.feed(updates.command("start", new, user_id=NEWCOMER))
    await harness.feed(updates.command("start", old, user_id=3003))
    assert "expired or was replaced" in harness.last_reply(3003)
    zhang = member_named(harness.db, "Zhang")
    assert zhang is not None and zhang.role == "committee" and zhang.telegram_id == NEWCOMER


async def test_link_follows_the_user_id_not_the_username(harness: Harness) -> None:
    seed_branch(harness.db)
    token = await invite(harness, "Zhang")
    await harness.feed(updates.command("start", token, user_id=NEWCOMER, username="zhang_old"))
    await harness.feed(updates.command("me", user_id=NEWCOMER, username="zhang_new"))
    assert "Zhang" in harness.last_reply(NEWCOMER) and "invite link" not in harness.last_reply(
        NEWCOMER
    )
    # Someone else taking the old username is still a stranger.
    await harness.feed(updates.command("me", user_id=4004, username="zhang_old"))
    assert "invite link" in harness.last_reply(4004)


async def test_html_in_names_is_sent_as_plain_text(harness: Harness) -> None:
    seed_branch(harness.db)
    token = await invite(harness, '"<b>Bold</b> & Co"')
    sent = harness.api.messages_to(SECRETARY)[-1]
    assert "<b>Bold</b> & Co" in sent["text"] and "parse_mode" not in sent
    await harness.feed(updates.command("start", token, user_id=NEWCOMER))
    greeting = harness.api.messages_to(NEWCOMER)[-1]
    assert "Welcome, <b>Bold</b> & Co!" in greeting["text"] and "parse_mode" not in greeting
