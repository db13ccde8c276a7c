"""A whole year in minutes: the real Application, the default plan, 50 scripted members.

The clock is driven from 1 January to 31 December through every instant the dispatcher says
something is due, and to every meeting's start for the check-ins. Members answer with scripted
habits through the real handlers (buttons and replies, as a Telegram client sends them), and
the bot is restarted (a new Application and dispatcher on the same database) at random moments.
At the end:

* every member got every reminder meant for them exactly once, checked against an independent
  oracle computed from the plan (not from the dispatcher's code);
* the digest went out once a week to the secretary and each committee member;
* the XLSX registers equal what the members did;
* /overdue names exactly the scripted laggards.

The secretary also changes things as a branch does: in January she moves September's committee
meeting by a day and cancels October's (reminders follow the move, none go out for the
cancelled one, and the exported .ics carries an overriding RECURRENCE-ID event and an EXDATE);
a group leader amends the second quarter's talk records to add a talk (participants, summary
and form are kept); the absentee makes up October's theme Party day (listed still, marked as
made up). A second branch is imported on 1 July: nothing before its start is sent, owed,
counted or exported, and its digest starts the first Monday after.
"""

from __future__ import annotations

import datetime as dt
import heapq
import io
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from icalendar import Calendar
from openpyxl import load_workbook
from sqlmodel import select

from bot.services.export import export_branch
from bot.services.overdue import build_overdue
from scheduler.plan import default_plan
from scheduler.recurrence import occurrences, reminder_instant, zone
from storage.db import Database
from storage.models import (
    Delivery,
    DuesPayment,
    Member,
    Occurrence,
    PartyGroup,
    TalkParticipant,
    TalkRecord,
)
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness, seed_branch, settings_for

pytestmark = pytest.mark.slow

TZ = zone("Asia/Shanghai")
YEAR = 2026
START = dt.datetime(2025, 12, 31, 16, 0, tzinfo=dt.UTC)  # 2026-01-01 00:00 Shanghai
END = dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)  # 2027-01-01 00:00 Shanghai
RESTARTS = 12

# Scripted habits (telegram ids): everyone else attends, checks in and pays on the dues day.
SECRETARY, COMMITTEE = 30001, (30002, 30003)
LEADERS = {1: 30004, 2: 30005, 3: 30006, 4: 30007}
ON_LEAVE = 30010  # asks for leave for every meeting; the secretary approves
PAYS_LATE = 30011  # pays only when the follow-up reminder comes, 3 days later
STOPS_PAYING = 30012  # pays January to June, never again
ABSENTEE = 30013  # never answers a meeting reminder and never checks in
FORGETFUL_GROUP = 3  # its leader forgets the third quarter's talk records
AMENDING_GROUP = 1  # its leader adds a fourth talk to the second quarter's records in July


def _local(day: dt.date, hour: int = 10) -> dt.datetime:
    return TZ.localize(dt.datetime.combine(day, dt.time(hour, 0))).astimezone(dt.UTC)


CHANGES_AT = _local(dt.date(YEAR, 1, 5))  # the secretary moves one meeting, cancels another
AMEND_AT = _local(dt.date(YEAR, 7, 10))
SUMMER_AT = _local(dt.date(YEAR, 7, 1))  # the second branch is imported
MAKE_UP_AT = _local(dt.date(YEAR, 11, 2))
SUMMER = {40001: "secretary", 40002: "committee", 40003: "member", 40004: "member"}


def committee_keys() -> tuple[str, str]:
    """The planned dates of September's (moved) and October's (cancelled) committee meetings."""
    days = [
        o.key for o in occurrences(default_plan(), YEAR, TZ) if o.item_id == "committee_meeting"
    ]
    return days[8], days[9]


def make_up_key() -> str:
    """October's theme Party day: the absentee makes it up in November."""
    days = [o.key for o in occurrences(default_plan(), YEAR, TZ) if o.item_id == "theme_party_day"]
    return days[9]


def name_of(telegram_id: int) -> str:
    return f"Comrade {telegram_id - 30000:02d}"


def roster() -> list[tuple[str, int | None, str, str | None]]:
    people: list[tuple[str, int | None, str, str | None]] = []
    for n in range(1, 51):
        tid = 30000 + n
        group = 1 + (n - 1) % 4
        role = "member"
        if tid == SECRETARY:
            role, group = "secretary", 1
        elif tid in COMMITTEE:
            role = "committee"
        elif tid in LEADERS.values():
            role = "group_leader"
            group = next(g for g, leader in LEADERS.items() if leader == tid)
        people.append((name_of(tid), tid, role, f"Group {group}"))
    return people


@dataclass
class World:
    """What the script did, to compare with what the bot recorded."""

    ids: dict[str, int]
    by_member_id: dict[int, int] = field(default_factory=dict)  # member id -> telegram id
    attending: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    leave: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    paid: dict[int, dict[int, dt.datetime]] = field(default_factory=lambda: defaultdict(dict))
    talks: set[tuple[int, int]] = field(default_factory=set)  # (group, quarter)
    checkins: list[tuple[dt.datetime, int, int, int]] = field(default_factory=list)
    reviews: list[dt.datetime] = field(default_factory=list)  # the treasurer's rounds
    seen: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    taps: int = 0
    restarts: int = 0
    scripted: list[tuple[dt.datetime, str]] = field(
        default_factory=lambda: sorted(
            [(CHANGES_AT, "changes"), (AMEND_AT, "amend"), (SUMMER_AT, "summer"),
             (MAKE_UP_AT, "make_up")]
        )
    )  # fmt: skip
    done: set[str] = field(default_factory=set)
    summer_branch: int | None = None
    moved_to: dt.datetime | None = None
    participants_q2: int = 0


class Soak:
    """Drives one year."""

    def __init__(self, db: Database, api: FakeTelegram, clock: FrozenClock) -> None:
        self.db, self.api, self.clock = db, api, clock
        self.settings = settings_for(
            api,
            send_rate_per_s=100_000,
            private_rate_per_s=100_000,
            group_rate_per_min=1_000_000,
        )
        self.harness: Harness | None = None
        self.rng = random.Random(20261128)
        linked = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
        ids = seed_branch(db, name="Soak branch", members=roster(), now=linked)
        self.world = World(ids=ids)
        with db.read() as s:
            for m in s.exec(select(Member)).all():
                assert m.id is not None
                assert m.telegram_id is not None
                self.world.by_member_id[m.id] = m.telegram_id
        for tid in self.world.by_member_id.values():
            api.started(tid)
        with db.transaction() as s:  # the default plan, monthly dues of 12.50 for everyone
            for m in s.exec(select(Member)).all():
                m.dues_amount = Decimal("12.50")
                s.add(m)

    @property
    def h(self) -> Harness:
        assert self.harness is not None
        return self.harness

    async def start(self) -> None:
        self.harness = Harness(self.db, self.clock, self.api, self.settings)
        await self.harness.start()

    async def restart(self) -> None:
        await self.h.stop()
        self.world.restarts += 1
        await self.start()

    async def tap(self, tid: int, chat: int, message_id: int, data: str) -> None:
        self.world.taps += 1
        await self.h.feed(
            updates.callback_query(data, user_id=tid, chat_id=chat, message_id=message_id)
        )

    async def say(self, tid: int, text: str) -> None:
        await self.h.feed(updates.message(text, user_id=tid))

    def new_messages(self, tid: int) -> list[tuple[int, dict[str, Any]]]:
        fresh = []
        for mid, message in sorted(self.api.messages_in(tid).items()):
            if mid not in self.world.seen[tid]:
                self.world.seen[tid].add(mid)
                fresh.append((mid, message))
        return fresh

    async def dispatch(self) -> None:
        dispatcher = self.h.services.dispatcher
        assert dispatcher is not None
        for _ in range(50):
            report = await dispatcher.run_once(self.clock.now())
            assert report.error is None, report.error
            if not report.more:
                return
        pytest.fail("the dispatcher never finished its fan-out")

    async def react(self) -> None:
        """Every member reads their new messages and acts on them by habit."""
        for tid in sorted(self.world.by_member_id.values()):
            for mid, message in self.new_messages(tid):
                for data in buttons(message):
                    await self.act(tid, mid, data)

    async def act(self, tid: int, mid: int, data: str) -> None:
        action, _, arg = data.partition(":")
        occ = int(arg.split(":")[0]) if arg else 0
        now = self.clock.now()
        if action == "at1" and tid not in (ON_LEAVE, ABSENTEE):
            if occ not in self.world.attending[tid]:
                await self.tap(tid, tid, mid, data)
                self.world.attending[tid].add(occ)
                starts = self.starts_at(occ)
                heapq.heappush(
                    self.world.checkins, (starts + dt.timedelta(minutes=5), tid, mid, occ)
                )
        elif action == "lv1" and tid == ON_LEAVE and occ not in self.world.leave[tid]:
            await self.tap(tid, tid, mid, data)
            await self.say(tid, "On a business trip")
            self.world.leave[tid].add(occ)
            await self.approve_leave()
        elif action == "pd1":
            await self.pay(tid, mid, data, occ)
        elif action == "tk1":
            await self.hand_in_talks(tid, mid, data, occ)
        del now

    async def pay(self, tid: int, mid: int, data: str, occ: int) -> None:
        month = self.local_start(occ).month
        if month in self.world.paid[tid] or (tid == STOPS_PAYING and month > 6):
            return
        first_reminder = self.clock.now() <= self.starts_at(occ) + dt.timedelta(hours=1)
        if tid == PAYS_LATE and first_reminder:
            return
        await self.tap(tid, tid, mid, data)
        self.world.paid[tid][month] = self.clock.now()
        review = self.starts_at(occ) + dt.timedelta(days=4)
        if review not in self.world.reviews:
            heapq.heappush(self.world.reviews, review)

    async def confirm_receipts(self) -> None:
        """The secretary confirms every declared payment from /dues review."""
        await self.h.feed(updates.command("dues", "review", user_id=SECRETARY))
        mid, listing = self.latest(SECRETARY)
        for _ in range(200):
            pending = [d for d in buttons(listing) if d.startswith("dc1:")]
            if not pending:
                break
            await self.tap(SECRETARY, SECRETARY, mid, pending[0])
            listing = self.api.message(SECRETARY, mid) or {}
        self.new_messages(SECRETARY)

    async def approve_leave(self) -> None:
        for mid, message in self.new_messages(SECRETARY):
            for data in buttons(message):
                if data.startswith("la1:"):
                    await self.tap(SECRETARY, SECRETARY, mid, data)

    async def hand_in_talks(self, tid: int, mid: int, data: str, occ: int) -> None:
        group = next(g for g, leader in LEADERS.items() if leader == tid)
        quarter = (self.local_start(occ).month - 1) // 3 + 1
        if (group, quarter) in self.world.talks:
            return
        if group == FORGETFUL_GROUP and quarter == 3:
            return
        await self.tap(tid, tid, mid, data)  # the bot asks how many talks, privately
        await self.say(tid, "3")
        mid, prompt = self.latest(tid)
        for choice in [d for d in buttons(prompt) if d.startswith("tm1:")]:
            await self.tap(tid, tid, mid, choice)
        mid, prompt = self.latest(tid)
        [done] = [d for d in buttons(prompt) if d.startswith("td1:")]
        await self.tap(tid, tid, mid, done)
        await self.say(tid, "Everyone talked openly; no problems reported.")
        mid, prompt = self.latest(tid)
        [skip] = [d for d in buttons(prompt) if d.startswith("td1:")]
        await self.tap(tid, tid, mid, skip)
        self.world.talks.add((group, quarter))
        self.new_messages(tid)  # the flow's own messages are read

    def latest(self, tid: int) -> tuple[int, dict[str, Any]]:
        messages = self.api.messages_in(tid)
        mid = max(messages)
        return mid, messages[mid]

    async def scripted(self) -> None:
        """The secretary's and leaders' one-off actions whose time has come."""
        while self.world.scripted and self.world.scripted[0][0] <= self.clock.now():
            _at, name = self.world.scripted.pop(0)
            await getattr(self, f"do_{name}")()
            self.world.done.add(name)

    def occurrence(self, item_id: str, key: str, branch: str = "Soak branch") -> Occurrence:
        from storage.models import Branch

        with self.db.read() as s:
            branch_id = s.exec(select(Branch.id).where(Branch.name == branch)).one()
            return s.exec(
                select(Occurrence).where(
                    Occurrence.branch_id == branch_id,
                    Occurrence.item_id == item_id,
                    Occurrence.key == key,
                )
            ).one()

    async def do_changes(self) -> None:
        moved_key, cancelled_key = committee_keys()
        moved = self.occurrence("committee_meeting", moved_key)
        local = moved.starts_at.astimezone(TZ) + dt.timedelta(days=1)
        await self.h.feed(
            updates.command(
                "reschedule", f"#{moved.id}", local.date().isoformat(), local.strftime("%H:%M"),
                user_id=SECRETARY,
            )
        )  # fmt: skip
        cancelled = self.occurrence("committee_meeting", cancelled_key)
        await self.h.feed(updates.command("cancelevent", f"#{cancelled.id}", user_id=SECRETARY))
        self.world.moved_to = self.starts_at(moved.id or 0)
        assert self.world.moved_to == moved.starts_at + dt.timedelta(days=1)
        self.new_messages(SECRETARY)

    async def do_amend(self) -> None:
        """The leader adds a fourth talk: participants, summary and form are kept."""
        tid = LEADERS[AMENDING_GROUP]
        assert (AMENDING_GROUP, 2) in self.world.talks
        await self.h.feed(updates.command("talks", f"{YEAR}Q2", user_id=tid))
        assert "3 talks" in self.latest(tid)[1]["text"]
        await self.say(tid, "4")
        mid, prompt = self.latest(tid)
        self.world.participants_q2 = sum(
            "✅" in b["text"] for row in prompt["reply_markup"]["inline_keyboard"] for b in row
        )
        for code in ("td1:1", "td1:3", "td1:2"):  # Done, keep the summary, keep the form
            await self.tap(tid, tid, mid, code)
        self.new_messages(tid)

    async def do_summer(self) -> None:
        """A second branch is imported on 1 July (as `branchbot import` does)."""
        from bot.services.roster import RosterRow, import_roster
        from storage.models import MemberStatus, Role

        rows = [
            RosterRow(n, name_of(tid), tid, Role(role), "Summer group", Decimal("8.00"),
                      MemberStatus.FULL)
            for n, (tid, role) in enumerate(SUMMER.items(), 2)
        ]  # fmt: skip
        result = import_roster(
            self.db,
            rows,
            branch_name="Summer branch",
            now=self.clock.now(),
            timezone="Asia/Shanghai",
            locale="en",
        )
        self.world.summer_branch = result.branch.id
        with self.db.read() as s:
            for m in s.exec(select(Member).where(Member.branch_id == result.branch.id)).all():
                assert m.id is not None and m.telegram_id is not None
                self.world.by_member_id[m.id] = m.telegram_id
                self.api.started(m.telegram_id)

    async def do_make_up(self) -> None:
        occ = self.occurrence("theme_party_day", make_up_key())
        member_id = next(m for m, t in self.world.by_member_id.items() if t == ABSENTEE)
        await self.tap(SECRETARY, SECRETARY, 1, f"mu1:{occ.id}:{member_id}")
        await self.say(SECRETARY, "Studied the day's materials with the secretary")
        self.new_messages(SECRETARY)

    async def chores_until(self, instant: dt.datetime) -> None:
        """Check-ins at each meeting and the treasurer's rounds, in time order."""
        while True:
            checkin = self.world.checkins[0][0] if self.world.checkins else END
            review = self.world.reviews[0] if self.world.reviews else END
            if min(checkin, review) > instant or min(checkin, review) >= END:
                return
            if checkin <= review:
                at, tid, mid, occ = heapq.heappop(self.world.checkins)
                self.clock.set(max(at, self.clock.now()))
                await self.tap(tid, tid, mid, f"ci1:{occ}")
            else:
                self.clock.set(max(heapq.heappop(self.world.reviews), self.clock.now()))
                await self.confirm_receipts()

    def starts_at(self, occ_id: int) -> dt.datetime:
        with self.db.read() as s:
            occ = s.get(Occurrence, occ_id)
            assert occ is not None
            return occ.starts_at

    def local_start(self, occ_id: int) -> dt.datetime:
        return self.starts_at(occ_id).astimezone(TZ)

    async def run_year(self) -> None:
        restart_at = sorted(self.rng.sample(range(40, 400), RESTARTS))
        steps = 0
        await self.start()
        self.clock.set(START)
        while self.clock.now() < END:
            await self.scripted()
            await self.dispatch()
            await self.react()
            steps += 1
            if restart_at and steps >= restart_at[0]:
                restart_at.pop(0)
                await self.restart()
                continue  # a new process sweeps first, as `branchbot run` does at start
            dispatcher = self.h.services.dispatcher
            assert dispatcher is not None
            now = self.clock.now()
            upcoming = dispatcher.next_due(now) or now + dt.timedelta(hours=6)
            if self.world.scripted:
                upcoming = min(upcoming, self.world.scripted[0][0])
            for queue in (self.world.checkins, self.world.reviews):
                if queue:
                    upcoming = min(
                        upcoming, queue[0] if isinstance(queue[0], dt.datetime) else queue[0][0]
                    )  # type: ignore[index]
            upcoming = min(max(upcoming, now + dt.timedelta(seconds=1)), END)
            await self.chores_until(upcoming)
            self.clock.set(max(upcoming, self.clock.now()))
        await self.h.stop()


def _listed(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def buttons(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {"inline_keyboard": []}
    return [
        b["callback_data"]
        for row in markup["inline_keyboard"]
        for b in row
        if "callback_data" in b
    ]


def in_audience(audience: str, role: str, group: str | None) -> bool:
    """The oracle's own reading of the plan's audiences."""
    return {
        "all": True,
        "committee": role in ("committee", "secretary"),
        "groups": group is not None,
        "group_leaders": role == "group_leader",
        "leading_cadres": role in ("committee", "secretary"),
    }[audience]


def expected_reminders(world: World) -> Counter[tuple[int, str, str, int]]:
    """(telegram id, item, planned date, rule) of every reminder each member should get."""
    plan = default_plan()
    expected: Counter[tuple[int, str, str, int]] = Counter()
    people = roster()
    cancelled = ("committee_meeting", committee_keys()[1])
    group_of_leader = {tid: g for g, tid in LEADERS.items()}
    for occ in occurrences(plan, YEAR, TZ) + occurrences(plan, YEAR + 1, TZ):
        item = plan.item(occ.item_id)
        for index, rule in enumerate(item.reminders):
            at = reminder_instant(occ, rule, TZ)
            if not (at < END and (at >= START or occ.starts_at > START)):
                continue
            if (occ.item_id, occ.key) == cancelled:
                continue  # cancelled in January, before any of its reminders
            for name, tid, role, group in people:
                assert tid is not None
                if not in_audience(occ.audience, role, group):
                    continue
                if item.kind == "thought_reports":
                    continue  # owed by probationary members and activists: the roster has none
                if item.kind == "meeting" and index > 0 and tid == ON_LEAVE:
                    continue  # approved leave at the first reminder: no more for that event
                if rule.only_pending and item.kind == "dues":
                    month = occ.local_date.month
                    paid_at = world.paid.get(tid, {}).get(month)
                    if paid_at is not None and paid_at < at:
                        continue
                if rule.only_pending and item.kind == "talks":
                    quarter = (occ.local_date.month - 1) // 3 + 1
                    if (group_of_leader[tid], quarter) in world.talks and index > 0:
                        continue
                del name
                expected[(tid, occ.item_id, occ.key, index)] += 1
    return expected


def delivered(db: Database, world: World, branch_id: int) -> Counter[tuple[int, str, str, int]]:
    with db.read() as s:
        rows = s.exec(
            select(Delivery).where(
                Delivery.kind == "remind",
                Delivery.status == "sent",
                Delivery.branch_id == branch_id,
            )
        ).all()
        occs = {o.id: o for o in s.exec(select(Occurrence)).all()}
    got: Counter[tuple[int, str, str, int]] = Counter()
    for row in rows:
        assert row.member_id is not None
        assert row.occurrence_id is not None
        rule = int(row.key.split(":")[2])
        occ = occs[row.occurrence_id]
        got[(world.by_member_id[row.member_id], occ.item_id, occ.key, rule)] += 1
    return got


async def test_a_year_of_reminders_answers_and_registers(db: Database, api: FakeTelegram) -> None:
    clock = FrozenClock(START)
    soak = Soak(db, api, clock)
    began = time.perf_counter()
    await soak.run_year()
    elapsed = time.perf_counter() - began
    world = soak.world

    # 1. Every reminder meant for each member exactly once, and each one really delivered.
    assert world.done == {"changes", "amend", "summer", "make_up"}
    expected, got = expected_reminders(world), delivered(db, world, world.ids["branch"])
    missing = expected - got
    extra = got - expected
    assert not missing, f"missed: {sorted(missing)[:10]}"
    assert not extra, f"unexpected or doubled: {sorted(extra)[:10]}"
    assert all(n == 1 for n in got.values())
    with db.read() as s:
        sent = s.exec(select(Delivery).where(Delivery.status == "sent")).all()
        stuck = s.exec(
            select(Delivery).where(Delivery.status.in_(["pending", "sending", "unknown"]))
        ).all()  # type: ignore[attr-defined]
    assert stuck == []
    for row in sent:
        assert row.message_id is not None
        assert api.message(row.chat_id, row.message_id) is not None

    # 2. The weekly digest: once a week for the secretary and each committee member. The bot
    # starts on Thursday 1 January, so the week that began on Monday 29 December gets its digest
    # late, once; then every Monday of the year.
    first = dt.date(YEAR, 1, 1) - dt.timedelta(days=dt.date(YEAR, 1, 1).weekday())
    mondays = len(range(0, (dt.date(YEAR, 12, 31) - first).days + 1, 7))
    digests = Counter(
        world.by_member_id[r.member_id] for r in sent if r.kind == "digest" and r.member_id
    )
    # The summer branch: its first digest is the first Monday after its import, none before.
    first_summer = dt.date(YEAR, 7, 6)
    summer_mondays = len(range(0, (dt.date(YEAR, 12, 31) - first_summer).days + 1, 7))
    assert digests == {
        SECRETARY: mondays,
        COMMITTEE[0]: mondays,
        COMMITTEE[1]: mondays,
        40001: summer_mondays,
        40002: summer_mondays,
    }

    # 3. The registers equal what the members did.
    export = export_branch(
        db, branch_id=world.ids["branch"], now=END - dt.timedelta(hours=1), year=YEAR
    )
    book = load_workbook(io.BytesIO(export.xlsx))
    dues = book["Dues register"]
    header = [c.value for c in dues[1]]
    for row in dues.iter_rows(min_row=2, values_only=True):
        tid = next(t for t in world.by_member_id.values() if name_of(t) == row[0])
        for month in range(1, 13):
            amount = row[header.index(f"Month {month} amount")]
            paid_on = row[header.index(f"Month {month} paid on")]
            if month in world.paid[tid]:
                assert amount == pytest.approx(12.5), (row[0], month)
                assert paid_on.date() == world.paid[tid][month].astimezone(TZ).date()
            else:
                assert amount is None, (row[0], month)
    with db.read() as s:
        payments = s.exec(select(DuesPayment)).all()
        records = s.exec(select(TalkRecord)).all()
    assert len(payments) == sum(len(p) for p in world.paid.values())
    with db.read() as s:
        group_names = {g.id: g.name for g in s.exec(select(PartyGroup)).all()}
    handed_in = {(int(group_names[r.group_id].split()[-1]), r.quarter) for r in records}
    assert handed_in == world.talks
    assert (FORGETFUL_GROUP, 3) not in handed_in
    attendance = book["Attendance"]
    states: dict[tuple[str, int], str] = {}
    head = [c.value for c in attendance[1]]
    for row in attendance.iter_rows(min_row=2, values_only=True):
        states[(row[head.index("Member")], row[head.index("Event id")])] = row[head.index("State")]
    for tid, occs in world.attending.items():
        if tid in SUMMER:
            continue  # the summer branch's own register is checked below
        for occ in occs:
            if soak.starts_at(occ) < END - dt.timedelta(hours=3):
                assert "present" in str(states[(name_of(tid), occ)]).lower(), (tid, occ)
    for occ in world.leave[ON_LEAVE]:
        assert "leave" in str(states[(name_of(ON_LEAVE), occ)]).lower()
    absentee_states = {v for (who, _), v in states.items() if who == name_of(ABSENTEE)}
    assert absentee_states and all("absent" in str(v).lower() for v in absentee_states)

    # 4. /overdue names exactly the scripted laggards (asked on New Year's Eve, 23:00).
    clock.set(END - dt.timedelta(hours=1))
    await soak.start()
    before = len(api.messages_to(SECRETARY))
    await soak.h.feed(updates.command("overdue", user_id=SECRETARY))
    text = "\n".join(str(m.get("text", "")) for m in api.messages_to(SECRETARY)[before:])
    await soak.h.stop()
    # Nobody records meetings in this year, so every meeting past its record deadline is
    # listed with who should record it; the laggards are read from the other sections.
    before_section, found, rest = text.partition("📋 Meetings not recorded")
    assert found, text
    unrecorded, done, after_section = rest.partition("Record them with /minutes.")
    assert done and f"to be recorded by {name_of(SECRETARY)}" in unrecorded
    text = before_section + after_section
    named = {name_of(t) for t in world.by_member_id.values() if name_of(t) in text}
    laggards = {name_of(STOPS_PAYING), name_of(ABSENTEE), name_of(LEADERS[FORGETFUL_GROUP])}
    assert named == laggards, text
    assert f"Group {FORGETFUL_GROUP}" in text

    assert "(made up)" in text  # the absentee's October theme day, made up in November

    # 5. The secretary's changes, in the reminders and in the calendar.
    moved_key, cancelled_key = committee_keys()
    with db.read() as s:
        moved = s.exec(select(Occurrence).where(Occurrence.key == moved_key)).all()
        moved_row = next(o for o in moved if o.item_id == "committee_meeting")
    assert moved_row.starts_at == world.moved_to
    moved_reminders = [
        r
        for r in sent
        if r.kind == "remind" and r.occurrence_id == moved_row.id and r.status == "sent"
    ]
    assert moved_reminders and all(r.due_at < moved_row.starts_at for r in moved_reminders)
    assert min(r.due_at for r in moved_reminders) > moved_row.planned_starts_at - dt.timedelta(
        days=3
    )  # the 3-days-before reminder followed the move
    calendar = Calendar.from_ical(export.ics)
    committee = [e for e in calendar.walk("VEVENT") if "committee_meeting" in str(e["uid"])]
    [series] = [e for e in committee if "RRULE" in e]
    exdates = [d.dt for x in _listed(series.get("exdate")) for d in x.dts]
    assert [d.date().isoformat() for d in exdates] == [cancelled_key]
    [override] = [e for e in committee if "RECURRENCE-ID" in e]
    assert override["recurrence-id"].dt.date().isoformat() == moved_key
    assert override["dtstart"].dt.astimezone(dt.UTC) == world.moved_to

    # 6. The amendment kept what was handed in and added the talk.
    with db.read() as s:
        q2 = next(
            r
            for r in s.exec(select(TalkRecord)).all()
            if r.quarter == 2 and group_names[r.group_id] == f"Group {AMENDING_GROUP}"
        )
        people_q2 = s.exec(select(TalkParticipant).where(TalkParticipant.record_id == q2.id)).all()
    assert q2.talks == 4 and q2.summary.startswith("Everyone talked openly")
    assert len(people_q2) == world.participants_q2 > 0

    # 7. The make-up is in the register, the absence stays.
    make_up = [
        row
        for row in attendance.iter_rows(min_row=2, values_only=True)
        if row[head.index("Member")] == name_of(ABSENTEE)
        and row[head.index("Made up on")] is not None
    ]
    assert len(make_up) == 1 and "absent" in str(make_up[0][head.index("State")]).lower()

    # 8. The summer branch: nothing before 1 July is sent, owed, counted or exported.
    assert world.summer_branch is not None
    with db.read() as s:
        summer_occs = {
            o.id: o
            for o in s.exec(select(Occurrence).where(Occurrence.branch_id == world.summer_branch))
        }
        summer_rows = s.exec(
            select(Delivery).where(Delivery.branch_id == world.summer_branch)
        ).all()
    assert summer_occs and min(o.key for o in summer_occs.values()) >= f"{YEAR}-07-01"
    # reminders of its first events may come late (caught up once); no digest before it existed
    assert all(r.due_at >= SUMMER_AT for r in summer_rows if r.kind == "digest")
    per_occurrence = Counter(
        (r.member_id, r.occurrence_id, r.key.split(":")[2])
        for r in summer_rows
        if r.kind == "remind" and r.status == "sent"
    )
    assert per_occurrence and all(n == 1 for n in per_occurrence.values())
    summer = load_workbook(
        io.BytesIO(
            export_branch(
                db, branch_id=world.summer_branch, now=END - dt.timedelta(hours=1), year=YEAR
            ).xlsx
        )
    )
    summer_att = summer["Attendance"]
    when = [r[0] for r in summer_att.iter_rows(min_row=2, values_only=True)]
    assert when and min(when) >= dt.datetime(YEAR, 7, 1)
    summer_dues = summer["Dues register"]
    dues_head = [c.value for c in summer_dues[1]]
    for row in summer_dues.iter_rows(min_row=2, values_only=True):
        assert all(row[dues_head.index(f"Month {m} amount")] is None for m in range(1, 7))
    summer_report = build_overdue(
        db, branch_id=world.summer_branch, now=END - dt.timedelta(hours=1)
    )
    # nobody owes January to June; their declared months await the summer secretary
    assert summer_report.absences == [] and all(not lag.unpaid for lag in summer_report.dues)
    assert all(m >= (YEAR, 7) for lag in summer_report.dues for m in lag.declared)
    await soak.start()
    await soak.h.feed(updates.command("me", user_id=40003))
    me = soak.h.last_reply(40003)
    await soak.h.stop()
    assert "Nothing owed." in me and "absent 0" in me, me

    messages = sum(1 for c in api.calls if c.endpoint == "sendMessage" and c.status == 200)
    edits = sum(1 for c in api.calls if c.endpoint == "editMessageText" and c.status == 200)
    print(
        f"\nsoak: {elapsed:.1f}s for a year; {len(sent)} ledger sends, {messages} messages, "
        f"{edits} edits, {world.taps} taps, {world.restarts} restarts"
    )
