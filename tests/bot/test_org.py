"""The organisation above branches: who sees which branches, seats and their invites, /org.

A hospital: one Party committee (党委) with two general branches (总支) and a branch attached
to the committee directly; one branch under no unit at all.

    医院党委 ── 直属支部
      ├─ 内科总支 ── 内科一支部, 内科二支部
      └─ 外科总支 ── 外科支部
    (no unit) ── 独立支部
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select
from telegram import Update
from telegram.ext import CommandHandler

from bot.access import Need, Seat
from bot.context import BranchContext
from bot.handlers.gate import requires, with_seats
from bot.services import org
from bot.services.invites import LinkStatus, redeem_invite
from bot.services.org_admin import (
    ADMIN,
    Actor,
    OrgRefused,
    OrgRequest,
    Problem,
    add_unit,
    attach_branch,
    org_tree,
    parse_org,
    remove_unit,
    seat_person,
    unseat_person,
)
from storage.db import Database
from storage.models import Branch, Invite, OrgPerson, OrgUnit
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness, seed_branch, settings_for

LINK = re.compile(r"https://t\.me/branchbot_test\?start=([A-Za-z0-9_-]+)")
ADMIN_ID = 777
BRANCH_SECRETARY = 9001  # secretary of 内科一支部, no seat
COMMITTEE_SECRETARY = 5001  # 医院党委 secretary, in no branch
ORGANISATION = 5002  # 医院党委 组织委员, in no branch
INTERNAL_SECRETARY = 5003  # 内科总支 secretary, in no branch
SURGERY_SECRETARY = 5004  # 外科总支 secretary, also a plain member of 外科支部


def _units(db: Database) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    kw: dict[str, Any] = {
        "default_timezone": "Asia/Shanghai",
        "default_locale": "en",
        "now": now,
        "timezone": None,
        "language": None,
    }
    add_unit(db, "医院党委", general_branch=False, under=None, **kw)
    add_unit(db, "内科总支", general_branch=True, under="医院党委", **kw)
    add_unit(db, "外科总支", general_branch=True, under="医院党委", **kw)


def hospital(db: Database) -> None:
    """The tree above, with members: 9001 secretary of 内科一支部, 1001 a member there,
    5004 a member of 外科支部; seats are linked directly (their invites are tested apart)."""
    seed_branch(db, name="内科一支部")
    seed_branch(db, name="内科二支部", members=[("Sec Two", 9002, "secretary", None)])
    seed_branch(db, name="外科支部", members=[("Surgeon Sun", SURGERY_SECRETARY, "member", None)])
    seed_branch(db, name="直属支部", members=[("Sec Direct", 9004, "secretary", None)])
    seed_branch(db, name="独立支部", members=[("Sec Alone", 9005, "secretary", None)])
    _units(db)
    for branch, unit in (
        ("内科一支部", "内科总支"),
        ("内科二支部", "内科总支"),
        ("外科支部", "外科总支"),
        ("直属支部", "医院党委"),
    ):
        attach_branch(db, branch, unit)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with db.transaction() as s:
        units = {u.name: u.id for u in s.exec(select(OrgUnit)).all()}
        for unit, name, role, telegram_id in (
            ("医院党委", "Committee Secretary Zhao", "secretary", COMMITTEE_SECRETARY),
            ("医院党委", "Organiser Qian", "organisation", ORGANISATION),
            ("内科总支", "Internal Secretary Liu", "secretary", INTERNAL_SECRETARY),
            ("外科总支", "Surgery Secretary Sun", "secretary", SURGERY_SECRETARY),
        ):
            unit_id = units[unit]
            assert unit_id is not None
            s.add(
                OrgPerson(
                    unit_id=unit_id, name=name, role=role, telegram_id=telegram_id, linked_at=now
                )
            )


def visible_names(db: Database, telegram_id: int) -> set[str]:
    with db.read() as s:
        seats = org.seats_of(s, telegram_id=telegram_id)
        ids = org.visible_branch_ids(s, seats)
        return {b.name for b in s.exec(select(Branch)).all() if b.id in ids}


def seats(db: Database, telegram_id: int) -> tuple[Seat, ...]:
    with db.read() as s:
        return org.seats_of(s, telegram_id=telegram_id)


# -- pure: the tree ----------------------------------------------------------------------------


def _unit(unit_id: int, parent: int | None) -> OrgUnit:
    return OrgUnit(
        id=unit_id,
        name=str(unit_id),
        parent_id=parent,
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


def test_subtree_goes_through_general_branches_and_never_up() -> None:
    units = [_unit(1, None), _unit(2, 1), _unit(3, 1), _unit(4, None), _unit(5, 4)]
    assert org.subtree(units, {1}) == {1, 2, 3}
    assert org.subtree(units, {2}) == {2}
    assert org.subtree(units, {2, 4}) == {2, 4, 5}
    assert org.subtree(units, set()) == frozenset()


def test_subtree_of_a_cycle_ends() -> None:
    units = [_unit(1, 3), _unit(2, 1), _unit(3, 2), _unit(4, 4)]  # 1 → 2 → 3 → 1; 4 → 4
    assert org.subtree(units, {1}) == {1, 2, 3}
    assert org.subtree(units, {4}) == {4}


def test_org_words_are_the_command_line_words() -> None:
    assert parse_org("") == OrgRequest("show")
    assert parse_org('add "内科 总支" --general-branch --under=医院党委') == OrgRequest(
        "add", ("内科 总支",), general_branch=True, under="医院党委"
    )
    assert parse_org("seat 医院党委 “Zhao Yi” --role 组织委员 --again") == OrgRequest(
        "seat", ("医院党委", "Zhao Yi"), role="组织委员", again=True
    )
    for bad in ("fly away", "seat 医院党委", "add X --colour red", 'add "X', "add X --under"):
        with pytest.raises(OrgRefused) as caught:
            parse_org(bad)
        assert caught.value.problem is Problem.USAGE


# -- who sees what -----------------------------------------------------------------------------


def test_a_committee_seat_sees_its_whole_subtree_and_nothing_else(db: Database) -> None:
    hospital(db)
    everything_below = {"内科一支部", "内科二支部", "外科支部", "直属支部"}
    assert visible_names(db, COMMITTEE_SECRETARY) == everything_below
    assert visible_names(db, ORGANISATION) == everything_below  # both roles see the same
    assert "独立支部" not in visible_names(db, COMMITTEE_SECRETARY)


def test_a_general_branch_seat_sees_only_its_own_branches(db: Database) -> None:
    hospital(db)
    assert visible_names(db, INTERNAL_SECRETARY) == {"内科一支部", "内科二支部"}
    assert visible_names(db, SURGERY_SECRETARY) == {"外科支部"}  # not 内科, not 直属支部
    assert visible_names(db, BRANCH_SECRETARY) == set()  # a branch role is no seat


def test_an_unseated_person_sees_nothing_at_once(db: Database) -> None:
    hospital(db)
    unseat_person(db, "内科总支", "Internal Secretary Liu", actor=ADMIN)
    assert seats(db, INTERNAL_SECRETARY) == ()
    assert visible_names(db, INTERNAL_SECRETARY) == set()


# -- keeping the tree --------------------------------------------------------------------------


def test_units_are_unique_and_general_branches_sit_under_a_committee(db: Database) -> None:
    _units(db)
    kw: dict[str, Any] = {
        "default_timezone": "Asia/Shanghai",
        "default_locale": "en",
        "now": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "language": None,
    }
    cases = [
        ({"name": "医院党委", "general_branch": False, "under": None}, Problem.NAME_TAKEN),
        ({"name": "X", "general_branch": True, "under": None}, Problem.NEED_PARENT),
        ({"name": "X", "general_branch": False, "under": "医院党委"}, Problem.COMMITTEE_PARENT),
        ({"name": "X", "general_branch": True, "under": "内科总支"}, Problem.PARENT_NOT_COMMITTEE),
        ({"name": "X", "general_branch": True, "under": "Nowhere"}, Problem.UNKNOWN_UNIT),
    ]
    for args, problem in cases:
        with pytest.raises(OrgRefused) as caught:
            add_unit(db, timezone=None, **args, **kw)
        assert caught.value.problem is problem, args
    with pytest.raises(OrgRefused) as caught:
        add_unit(db, "Y", general_branch=False, under=None, timezone="Mars/Olympus", **kw)
    assert caught.value.problem is Problem.BAD_TIMEZONE
    with db.read() as s:
        assert len(s.exec(select(OrgUnit)).all()) == 3  # nothing was added


def test_a_unit_with_branches_or_general_branches_is_not_removed(db: Database) -> None:
    hospital(db)
    for name in ("医院党委", "内科总支"):
        with pytest.raises(OrgRefused) as caught:
            remove_unit(db, name)
        assert caught.value.problem is Problem.NOT_EMPTY
    attach_branch(db, "外科支部", "内科总支")  # a branch belongs to one unit: it moves
    remove_unit(db, "外科总支")
    with db.read() as s:
        assert s.exec(select(OrgUnit).where(OrgUnit.name == "外科总支")).first() is None
        assert (
            s.exec(select(OrgPerson).where(OrgPerson.name == "Surgery Secretary Sun")).all() == []
        )
    assert visible_names(db, INTERNAL_SECRETARY) == {"内科一支部", "内科二支部", "外科支部"}


def test_a_general_branch_seat_reads_only_its_own_part_of_the_tree(db: Database) -> None:
    hospital(db)
    tree = org_tree(db, actor=Actor(False, seats(db, INTERNAL_SECRETARY)))
    assert [r.name for r in tree.roots] == ["内科总支"]
    assert tree.roots[0].branches == ("内科一支部", "内科二支部")
    assert tree.unattached == ()
    whole = org_tree(db, actor=ADMIN)
    assert [r.name for r in whole.roots] == ["医院党委"]
    assert [c.name for c in whole.roots[0].children] == ["内科总支", "外科总支"]
    assert whole.unattached == ("独立支部",)


# -- seats and their invites -------------------------------------------------------------------


def _seat(db: Database, clock: FrozenClock, unit: str, name: str, **kw: Any) -> str:
    issued = seat_person(
        db,
        unit,
        name,
        role=kw.pop("role", "secretary"),
        again=kw.pop("again", False),
        actor=kw.pop("actor", ADMIN),
        now=clock.now(),
        ttl_days=7,
        **kw,
    )
    return issued.token


def test_a_seat_link_is_stored_hashed_and_links_once(db: Database, clock: FrozenClock) -> None:
    _units(db)
    token = _seat(db, clock, "医院党委", "Zhao")
    with db.read() as s:
        stored = s.exec(select(Invite)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.member_id is None and stored.org_person_id is not None
    first = redeem_invite(db, token=token, telegram_id=COMMITTEE_SECRETARY, now=clock.now())
    assert first.status is LinkStatus.LINKED
    assert (first.unit_name, first.seat_role, first.member_name) == (
        "医院党委",
        "secretary",
        "Zhao",
    )
    again = redeem_invite(db, token=token, telegram_id=6006, now=clock.now())
    assert again.status is LinkStatus.USED
    assert [s.unit_id for s in seats(db, COMMITTEE_SECRETARY)] != []
    assert seats(db, 6006) == ()


def test_a_new_seat_link_supersedes_the_old_and_links_expire(
    db: Database, clock: FrozenClock
) -> None:
    _units(db)
    old = _seat(db, clock, "内科总支", "Liu")
    new = _seat(db, clock, "内科总支", "Liu", again=True, role=None)
    assert redeem_invite(db, token=old, telegram_id=6001, now=clock.now()).status is (
        LinkStatus.EXPIRED
    )
    late = clock.now() + dt.timedelta(days=7)
    assert redeem_invite(db, token=new, telegram_id=6001, now=late).status is LinkStatus.EXPIRED
    assert redeem_invite(db, token=new, telegram_id=6001, now=clock.now()).status is (
        LinkStatus.LINKED
    )
    with pytest.raises(OrgRefused) as caught:  # a second seat of the same name needs --again
        _seat(db, clock, "内科总支", "Liu")
    assert caught.value.problem is Problem.SEAT_EXISTS


def test_one_account_holds_seats_at_several_units_and_a_branch_membership(
    db: Database, clock: FrozenClock
) -> None:
    seed_branch(db, name="外科支部", members=[("Sun", SURGERY_SECRETARY, "member", None)])
    _units(db)
    attach_branch(db, "外科支部", "外科总支")
    for unit in ("外科总支", "内科总支"):
        token = _seat(db, clock, unit, "Sun")
        assert (
            redeem_invite(db, token=token, telegram_id=SURGERY_SECRETARY, now=clock.now()).status
            is LinkStatus.LINKED
        )
    assert len(seats(db, SURGERY_SECRETARY)) == 2


def test_an_unseated_seats_links_stop_working(db: Database, clock: FrozenClock) -> None:
    _units(db)
    token = _seat(db, clock, "内科总支", "Liu")
    unseat_person(db, "内科总支", "Liu", actor=ADMIN)
    assert redeem_invite(db, token=token, telegram_id=6001, now=clock.now()).status is (
        LinkStatus.UNKNOWN
    )


def test_a_secretary_seat_gives_seats_only_in_its_own_subtree(
    db: Database, clock: FrozenClock
) -> None:
    hospital(db)
    committee = Actor(False, seats(db, COMMITTEE_SECRETARY))
    internal = Actor(False, seats(db, INTERNAL_SECRETARY))
    organiser = Actor(False, seats(db, ORGANISATION))
    _seat(db, clock, "医院党委", "New Organiser", role="organisation", actor=committee)
    _seat(db, clock, "外科总支", "Deputy", actor=committee)  # below the committee
    _seat(db, clock, "内科总支", "Helper", role="organisation", actor=internal)
    refusals = [
        (internal, "外科总支", Problem.NOT_ALLOWED),  # a sibling general branch
        (internal, "医院党委", Problem.NOT_ALLOWED),  # the unit above
        (organiser, "内科总支", Problem.NOT_ALLOWED),  # a 组织委员 gives no seats
    ]
    for actor, unit, problem in refusals:
        with pytest.raises(OrgRefused) as caught:
            _seat(db, clock, unit, "Intruder", actor=actor)
        assert caught.value.problem is problem, unit
    with pytest.raises(OrgRefused) as caught:  # nor re-invites themselves
        _seat(
            db,
            clock,
            "内科总支",
            "Internal Secretary Liu",
            again=True,
            role=None,
            actor=internal,
            actor_telegram_id=INTERNAL_SECRETARY,
        )
    assert caught.value.problem is Problem.OWN_SEAT


def test_seat_unreachable_is_marked_and_cleared(db: Database, clock: FrozenClock) -> None:
    hospital(db)
    assert org.mark_seat_unreachable(
        db, telegram_id=INTERNAL_SECRETARY, reason="Forbidden: bot was blocked", now=clock.now()
    )
    with db.read() as s:
        assert org.seat_unreachable(s, telegram_id=INTERNAL_SECRETARY)
    assert org.mark_seat_reachable(db, telegram_id=INTERNAL_SECRETARY)
    with db.read() as s:
        assert not org.seat_unreachable(s, telegram_id=INTERNAL_SECRETARY)


# -- through the real Application --------------------------------------------------------------


@pytest.fixture
async def org_harness(
    db: Database, clock: FrozenClock, api: FakeTelegram
) -> AsyncIterator[Harness]:
    """The real Application with one deployment admin, and a probe command that needs a seat:
    it answers with the branches the gate lets this sender see (registered only here)."""

    async def probe(update: Update, context: BranchContext) -> None:
        sender = await with_seats(context)
        with context.db.read() as s:
            ids = org.visible_branch_ids(s, sender.seats or ())
            names = sorted(b.name for b in s.exec(select(Branch)).all() if b.id in ids)
        assert update.effective_message is not None
        await update.effective_message.reply_text("visible: " + ",".join(names))

    h = Harness(db, clock, api, settings_for(api, admin_telegram_ids=(ADMIN_ID,)))
    h.app.add_handler(CommandHandler("orgprobe", requires(Need.ORG)(probe)))
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


async def _say(h: Harness, user_id: int, name: str, *args: str) -> str:
    await h.feed(updates.command(name, *args, user_id=user_id))
    return h.last_reply(user_id)


async def test_the_gate_lets_each_seat_see_its_own_subtree(org_harness: Harness) -> None:
    h = org_harness
    hospital(h.db)
    assert await _say(h, COMMITTEE_SECRETARY, "orgprobe") == (
        "visible: 内科一支部,内科二支部,外科支部,直属支部"
    )
    assert await _say(h, INTERNAL_SECRETARY, "orgprobe") == "visible: 内科一支部,内科二支部"
    # a branch member who also holds a seat: their seats are looked up for ORG commands
    assert await _say(h, SURGERY_SECRETARY, "orgprobe") == "visible: 外科支部"


async def test_a_branch_secretary_without_a_seat_is_refused_org_commands(
    org_harness: Harness,
) -> None:
    h = org_harness
    hospital(h.db)
    for name in ("orgprobe", "org"):
        assert (
            await _say(h, BRANCH_SECRETARY, name) == "Sorry, this is not available to your role."
        )


async def test_a_seat_holder_in_no_branch_is_told_branch_commands_are_not_theirs(
    org_harness: Harness,
) -> None:
    h = org_harness
    hospital(h.db)
    for name in ("dues", "me", "members"):
        answer = await _say(h, INTERNAL_SECRETARY, name)
        assert "seat above the branches" in answer, name
        assert "invite" not in answer
    assert "/org" in await _say(h, INTERNAL_SECRETARY, "help")


async def test_an_unseated_person_loses_access_at_their_next_message(
    org_harness: Harness,
) -> None:
    h = org_harness
    hospital(h.db)
    assert "内科一支部" in await _say(h, INTERNAL_SECRETARY, "org")
    answer = await _say(
        h, COMMITTEE_SECRETARY, "org", "unseat", "内科总支", '"Internal Secretary Liu"'
    )
    assert "no longer holds a seat" in answer
    assert "I don't know you yet" in await _say(h, INTERNAL_SECRETARY, "org")
    assert "I don't know you yet" in await _say(h, INTERNAL_SECRETARY, "orgprobe")


async def test_org_show_reads_only_the_own_subtree(org_harness: Harness) -> None:
    h = org_harness
    hospital(h.db)
    mine = await _say(h, INTERNAL_SECRETARY, "org")
    assert "内科一支部" in mine and "内科二支部" in mine
    for hidden in ("外科支部", "直属支部", "独立支部", "医院党委", "Organiser Qian"):
        assert hidden not in mine
    whole = await _say(h, ADMIN_ID, "org", "show")
    assert "独立支部" in whole and "Organiser Qian — linked" in whole


async def test_admin_builds_the_tree_and_a_secretary_seat_invites_below_it(
    org_harness: Harness,
) -> None:
    h = org_harness
    seed_branch(h.db, name="内科一支部")
    assert "added" in await _say(
        h, ADMIN_ID, "org", "add", "医院党委", "--timezone", "Asia/Urumqi"
    )
    assert "under 医院党委" in await _say(
        h, ADMIN_ID, "org", "add", "内科总支", "--general-branch", "--under", "医院党委"
    )
    assert "now belongs to 内科总支" in await _say(
        h, ADMIN_ID, "org", "attach", "内科一支部", "内科总支"
    )
    answer = await _say(h, ADMIN_ID, "org", "seat", "医院党委", "Zhao", "--role", "secretary")
    token = LINK.search(answer)
    assert token, answer

    # Zhao opens the link: welcomed with unit, role and the commands seats give.
    welcome = await _say(h, COMMITTEE_SECRETARY, "start", token.group(1))
    assert "secretary at 医院党委" in welcome and "/org" in welcome
    assert "/dues" not in welcome
    menu = [c["command"] for c in h.api.commands({"type": "chat", "chat_id": COMMITTEE_SECRETARY})]
    assert "org" in menu and "dues" not in menu

    # Zhao invites the general branch's secretary; not a unit outside the committee.
    answer = await _say(h, COMMITTEE_SECRETARY, "org", "seat", "内科总支", "Liu", "--role", "书记")
    assert LINK.search(answer), answer
    assert "not available to your role" in await _say(
        h, COMMITTEE_SECRETARY, "org", "add", "Elsewhere"
    )
    with h.db.read() as s:
        assert s.exec(select(OrgUnit).where(OrgUnit.name == "Elsewhere")).first() is None
    # and a bad word gets the usage, writing nothing
    assert "Usage:" in await _say(h, ADMIN_ID, "org", "fly")


async def test_a_member_who_takes_a_seat_gets_both_menus(org_harness: Harness) -> None:
    h = org_harness
    hospital(h.db)
    token = LINK.search(
        await _say(h, ADMIN_ID, "org", "seat", "内科总支", "Li", "--role", "organisation")
    )
    assert token
    welcome = await _say(h, 1001, "start", token.group(1))  # Member Li of 内科一支部
    assert "organisation member at 内科总支" in welcome
    menu = [c["command"] for c in h.api.commands({"type": "chat", "chat_id": 1001})]
    assert "org" in menu and "dues" in menu
    helped = await _say(h, 1001, "help")
    assert "/org" in helped and "/dues" in helped


async def test_blocking_marks_the_seat_unreachable_and_start_clears_it(
    org_harness: Harness,
) -> None:
    h = org_harness
    hospital(h.db)
    await h.feed(updates.my_chat_member(new_status="kicked", user_id=INTERNAL_SECRETARY))
    with h.db.read() as s:
        assert org.seat_unreachable(s, telegram_id=INTERNAL_SECRETARY)
    assert "cannot be reached" in await _say(h, ADMIN_ID, "org")
    await _say(h, INTERNAL_SECRETARY, "start")
    with h.db.read() as s:
        assert not org.seat_unreachable(s, telegram_id=INTERNAL_SECRETARY)


async def test_start_up_menus_give_seat_holders_the_org_commands(org_harness: Harness) -> None:
    h = org_harness
    hospital(h.db)
    await h.app.post_init(h.app)  # type: ignore[misc]

    def menu(user_id: int) -> list[str]:
        return [c["command"] for c in h.api.commands({"type": "chat", "chat_id": user_id})]

    assert menu(INTERNAL_SECRETARY) == ["start", "help", "privacy", "branches", "export", "org"]
    both = menu(SURGERY_SECRETARY)  # a plain member of 外科支部 with a seat
    assert "org" in both and "branches" in both and "dues" in both and "invite" not in both
    assert "org" not in menu(BRANCH_SECRETARY) and "branches" not in menu(BRANCH_SECRETARY)
