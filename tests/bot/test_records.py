"""One definition of absent, on leave, made up and owed: a quarter of mixed answers, every view.

The answers are given through the real Application (taps, leave reasons, decisions, hand
marks, make-up notes); then /me, /overdue, /attendance, /plan, the digest, /dues, the
registers and /me export are read, and must agree member by member with what happened.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from openpyxl import load_workbook
from sqlmodel import select

from bot.buttons import button
from bot.services.attendance_admin import roster
from bot.services.changes import EventRef
from bot.services.dues import dues_status
from bot.services.export import export_branch, export_member
from bot.services.overdue import build_overdue
from bot.services.plan_report import build_plan_report
from scheduler.audience import in_audience
from scheduler.digest import build_digest, digest_facts
from scheduler.occurrences import sync_occurrences
from scheduler.plan import branch_plan
from storage.db import Database
from storage.models import Attendance, Branch, DuesPayment, Member, Occurrence
from tests.bot.answers_fixtures import tap
from tests.fakes import updates
from tests.harness import Harness, seed_branch

UTC = dt.UTC
CREATED = dt.datetime(2026, 1, 2, 1, 0, tzinfo=UTC)  # Friday 2 January, 09:00 Shanghai
AFTER = dt.datetime(2026, 4, 1, 2, 0, tzinfo=UTC)  # 1 April, 10:00: the quarter is over
SECRETARY, COMMITTEE = 9001, 9002
MA_JOINED = dt.date(2026, 2, 15)
MEMBERS: list[tuple[str, int | None, str, str | None]] = [
    ("Secretary Wang", SECRETARY, "secretary", "Group 1"),
    ("Committee Sun", COMMITTEE, "committee", "Group 2"),
    ("Leader Zhou", 1002, "group_leader", "Group 1"),
    ("Leader Chen", 1005, "group_leader", "Group 2"),
    ("Member Li", 1001, "member", "Group 1"),
    ("Member Zhao", 1003, "member", "Group 2"),
    ("Member Qian", 1004, "member", "Group 2"),
    ("Member Wu", None, "member", "Group 2"),  # never linked: not reachable, never absent
    ("Member Ma", 1006, "member", "Group 1"),  # invited later: joins 15 February
]
ACTIONS = (
    "check_in",
    "attend_only",
    "leave_approved",
    "leave_declined",
    "leave_undecided",
    "nothing",
    "made_up",
    "marked_present",
)
OUTCOME = {
    "check_in": "present",
    "attend_only": "absent",
    "leave_approved": "leave",
    "leave_declined": "absent",
    "leave_undecided": "leave",
    "nothing": "absent",
    "made_up": "absent",
    "marked_present": "present",
}


@dataclass
class Truth:
    """What happened, by (occurrence, member): 'present', 'leave' or 'absent', and make-ups."""

    outcome: dict[tuple[int, int], str] = field(default_factory=dict)
    made_up: set[tuple[int, int]] = field(default_factory=set)

    def of_member(self, member_id: int) -> tuple[int, int, int, int]:
        """(present, leave, absent, made up) of one member over the quarter."""
        mine = [(k, v) for k, v in self.outcome.items() if k[1] == member_id]
        return (
            sum(v == "present" for _k, v in mine),
            sum(v == "leave" for _k, v in mine),
            sum(v == "absent" for _k, v in mine),
            sum(k in self.made_up for k, _v in mine),
        )


def _seed(h: Harness) -> dict[str, int]:
    ids = seed_branch(h.db, members=MEMBERS, now=CREATED)
    with h.db.transaction() as s:
        ma = s.get(Member, ids["Member Ma"])
        assert ma is not None
        ma.joined_on = MA_JOINED
        ma.linked_at = dt.datetime(2026, 2, 15, 2, 0, tzinfo=UTC)
        s.add(ma)
        branch = s.get(Branch, ids["branch"])
        assert branch is not None
        sync_occurrences(s, branch, year=2026, now=CREATED)
        sync_occurrences(s, branch, year=2025, now=CREATED)
    for _name, telegram_id, _role, _group in MEMBERS:
        if telegram_id is not None:
            h.api.started(telegram_id)
    return ids


def _meetings(db: Database, branch_id: int) -> list[tuple[Occurrence, str]]:
    with db.read() as s:
        branch = s.get(Branch, branch_id)
        assert branch is not None
        plan = branch_plan(branch)
        kinds = {i.id: i for i in plan.items}
        occs = s.exec(
            select(Occurrence)
            .where(Occurrence.branch_id == branch_id, Occurrence.starts_at < AFTER)
            .order_by(Occurrence.starts_at)  # type: ignore[arg-type]
        ).all()
    return [(o, kinds[o.item_id].audience) for o in occs if kinds[o.item_id].kind == "meeting"]


async def _act(h: Harness, occ: Occurrence, member: tuple[int, int, str], action: str) -> None:
    """Give one member's answer to one meeting through the bot, as a person would."""
    member_id, telegram_id, _role = member
    assert occ.id is not None
    start = occ.starts_at
    decider = COMMITTEE if telegram_id == SECRETARY else SECRETARY
    if action == "check_in":
        h.clock.set(start - dt.timedelta(minutes=5))
        await tap(h, button("ci", occ.id), user_id=telegram_id)
    elif action == "attend_only":
        h.clock.set(start - dt.timedelta(days=1))
        await tap(h, button("at", occ.id), user_id=telegram_id)
    elif action.startswith("leave_"):
        h.clock.set(start - dt.timedelta(days=1))
        await tap(h, button("lv", occ.id), user_id=telegram_id)
        await h.feed(updates.message("duty at the ward", user_id=telegram_id))
        if action != "leave_undecided":
            with h.db.read() as s:
                row = s.exec(
                    select(Attendance).where(
                        Attendance.occurrence_id == occ.id, Attendance.member_id == member_id
                    )
                ).one()
            code = "la" if action == "leave_approved" else "ld"
            await tap(h, button(code, row.id or 0), user_id=decider)
    elif action == "made_up":
        h.clock.set(start + dt.timedelta(days=2))
        await tap(h, button("mu", occ.id, member_id), user_id=decider)
        await h.feed(updates.message("studied the minutes", user_id=decider))
    elif action == "marked_present":
        h.clock.set(start + dt.timedelta(minutes=20))
        await tap(h, button("mk", occ.id, member_id, 1), user_id=decider)


async def _drive_quarter(h: Harness, ids: dict[str, int]) -> Truth:
    truth = Truth()
    people = {
        ids[name]: (ids[name], telegram_id, role, group)
        for name, telegram_id, role, group in MEMBERS
    }
    with h.db.read() as s:
        group_of = {m.id: m.group_id for m in s.exec(select(Member)).all()}
    linked_at = {
        ids["Member Ma"]: dt.datetime(2026, 2, 15, 2, 0, tzinfo=UTC),
    }
    step = 0
    for occ, audience in _meetings(h.db, ids["branch"]):
        assert occ.id is not None
        for member_id, (_mid, telegram_id, role, _group) in people.items():
            if not in_audience(audience, role, group_of[member_id]):
                continue
            if telegram_id is None:
                continue  # never linked: no button, never counted
            if occ.starts_at < linked_at.get(member_id, CREATED):
                continue  # before Ma joined
            action = ACTIONS[step % len(ACTIONS)]
            step += 1
            await _act(h, occ, (member_id, telegram_id, role), action)
            truth.outcome[(occ.id, member_id)] = OUTCOME[action]
            if action == "made_up":
                truth.made_up.add((occ.id, member_id))
    return truth


_ME = re.compile(r"present (\d+), on leave (\d+), absent (\d+)(?: \((\d+) made up\))?")


async def test_a_quarter_of_mixed_answers_reads_the_same_in_every_view(harness: Harness) -> None:
    h = harness
    ids = _seed(h)
    truth = await _drive_quarter(h, ids)
    assert len(truth.outcome) > 60 and truth.made_up
    h.clock.set(AFTER)
    branch_id = ids["branch"]
    names = {ids[name]: name for name, *_rest in MEMBERS}

    # /me, through the bot: the year's counts
    for name, telegram_id, *_rest in MEMBERS:
        if telegram_id is None:
            continue
        await h.feed(updates.command("me", user_id=telegram_id))
        found = _ME.search(h.last_reply(telegram_id))
        assert found is not None, h.last_reply(telegram_id)
        counts = tuple(int(g or 0) for g in found.groups())
        assert counts == truth.of_member(ids[name]), name

    # /overdue: every absence without leave of the quarter, made-up ones marked
    report = build_overdue(h.db, branch_id=branch_id, now=AFTER)
    listed = {
        (m.occurrence_id, lag.member_id): m.made_up for lag in report.absences for m in lag.missed
    }
    expected_absent = {k for k, v in truth.outcome.items() if v == "absent"}
    assert set(listed) == expected_absent
    assert {k for k, made_up in listed.items() if made_up} == truth.made_up
    assert ids["Member Wu"] not in {lag.member_id for lag in report.absences}

    # /attendance: each meeting's roster, line by line
    meetings = {occ.id: occ for occ, _aud in _meetings(h.db, branch_id)}
    for occ_id in meetings:
        assert occ_id is not None
        view = roster(h.db, branch_id=branch_id, event=EventRef(occurrence_id=occ_id), now=AFTER)
        for line in view.lines:
            want = truth.outcome.get((occ_id, line.member_id))
            if line.member_id == ids["Member Wu"]:
                assert line.state == "not_reachable"
                continue
            assert want is not None, (occ_id, names[line.member_id])
            assert _kind(line.state) == want, (occ_id, names[line.member_id], line.state)
            assert line.made_up == ((occ_id, line.member_id) in truth.made_up)

    # /plan: the quarter's tallies
    plan = build_plan_report(h.db, branch_id=branch_id, period="year", now=AFTER)
    for entry in plan.entries:
        if entry.occurrence_id not in meetings or entry.tally is None:
            continue
        outcomes = [v for k, v in truth.outcome.items() if k[0] == entry.occurrence_id]
        assert (entry.tally.present, entry.tally.leave, entry.tally.absent) == (
            outcomes.count("present"),
            outcomes.count("leave"),
            outcomes.count("absent"),
        ), entry.occurrence_id

    # the weekly digest of every Monday of the quarter
    seen = 0
    monday = dt.datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # 08:00 Shanghai
    while monday < AFTER:
        with h.db.read() as s:
            branch = s.get(Branch, branch_id)
            assert branch is not None
            digest = build_digest(digest_facts(s, branch, monday))
        by_start = {o.starts_at: o.id for o in meetings.values()}
        for tally in digest.attendance:
            occ_id = by_start[tally.starts_at]
            outcomes = [v for k, v in truth.outcome.items() if k[0] == occ_id]
            if tally.no_answer or tally.attending:
                continue  # check-in still open on Monday morning
            assert (tally.present, tally.on_leave, tally.absent) == (
                outcomes.count("present"),
                outcomes.count("leave"),
                outcomes.count("absent"),
            )
            assert tally.made_up == sum(1 for k in truth.made_up if k[0] == occ_id)
            seen += 1
        monday += dt.timedelta(days=7)
    assert seen >= 8

    # the registers and each member's own export
    book = _sheet(export_branch(h.db, branch_id=branch_id, now=AFTER).xlsx)
    register = {(r["Event id"], r["Member"]): r for r in book}
    for (occ_id, member_id), want in truth.outcome.items():
        row = register[(occ_id, names[member_id])]
        assert _kind(str(row["State"])) == want, (occ_id, names[member_id])
        assert (row["Made up on"] is not None) == ((occ_id, member_id) in truth.made_up)
    assert len(register) == len(truth.outcome) + sum(
        1 for (occ_id, name) in register if name == "Member Wu"
    )
    for name, telegram_id, *_rest in MEMBERS:
        if telegram_id is None:
            continue
        found = export_member(h.db, member_id=ids[name], now=AFTER)
        assert found is not None
        own = {(r["Event id"], r["Member"]): r for r in _sheet(found[1])}
        theirs = {k: v for k, v in register.items() if k[1] == name}
        assert own == theirs, name


def _kind(state: str | None) -> str:
    if state in ("present",):
        return "present"
    if state in ("leave_approved", "leave_requested", "on leave", "leave requested"):
        return "leave"
    return "absent" if state == "absent" else f"?{state}"


def _sheet(xlsx: bytes) -> list[dict[str, object]]:
    ws = load_workbook(io.BytesIO(xlsx))["Attendance"]
    rows = list(ws.iter_rows(values_only=True))
    header = [str(c) for c in rows[0]]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


async def test_dues_owed_read_the_same_in_me_dues_and_overdue(harness: Harness) -> None:
    h = harness
    ids = _seed(h)
    with h.db.transaction() as s:
        for name, month in (("Member Li", 1), ("Member Li", 2), ("Member Zhao", 1)):
            s.add(
                DuesPayment(
                    member_id=ids[name],
                    year=2026,
                    month=month,
                    amount=Decimal("12.50"),
                    declared_at=CREATED,
                    confirmed_at=CREATED,
                )
            )
    for now in (
        dt.datetime(2026, 1, 2, 2, tzinfo=UTC),  # January's dues day (the 23rd) not yet come
        dt.datetime(2026, 2, 25, 2, tzinfo=UTC),
        dt.datetime(2026, 3, 30, 2, tzinfo=UTC),
    ):
        h.clock.set(now)
        report = build_overdue(h.db, branch_id=ids["branch"], now=now)
        overdue = {lag.member_id: [m for _y, m in lag.unpaid] for lag in report.dues}
        for name, telegram_id, *_rest in MEMBERS:
            if telegram_id is None:
                continue
            status = dues_status(h.db, member_id=ids[name], now=now)
            assert not isinstance(status, type(None)) and hasattr(status, "owed")
            await h.feed(updates.command("me", user_id=telegram_id))
            me = h.last_reply(telegram_id)
            owed = list(status.owed)  # type: ignore[union-attr]
            assert owed == overdue.get(ids[name], []), (name, now)
            if owed:
                assert "Owed:" in me
            else:
                assert "Owed:" not in me, (name, now, me)
    # Ma joined on 15 February: January is never his to owe
    assert 1 not in list(dues_status(h.db, member_id=ids["Member Ma"], now=now).owed)  # type: ignore[union-attr]


async def test_nothing_before_the_branch_existed_is_listed(harness: Harness) -> None:
    h = harness
    ids = _seed(h)
    h.clock.set(dt.datetime(2026, 1, 5, 0, 0, tzinfo=UTC))  # first Monday
    await h.feed(updates.command("attendance", user_id=SECRETARY))
    picker = h.api.sent("sendMessage")[-1]
    labels = [b["text"] for row in picker["reply_markup"]["inline_keyboard"] for b in row]
    assert labels and not any("Dec" in label or "12-" in label for label in labels), labels
    with h.db.read() as s:
        branch = s.get(Branch, ids["branch"])
        assert branch is not None
        digest = build_digest(digest_facts(s, branch, h.clock.now()))
        december = s.exec(
            select(Occurrence).where(
                Occurrence.branch_id == ids["branch"],
                Occurrence.key.startswith("2025-"),  # type: ignore[attr-defined]
            )
        ).all()
    assert digest.attendance == () and december == []


async def test_the_exported_calendar_carries_moves_and_cancellations(harness: Harness) -> None:
    """EXDATE for a cancelled occurrence, an overriding RECURRENCE-ID event for a moved one."""
    from icalendar import Calendar

    h = harness
    ids = _seed(h)
    h.clock.set(dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    with h.db.read() as s:
        committee = s.exec(
            select(Occurrence)
            .where(
                Occurrence.branch_id == ids["branch"], Occurrence.item_id == "committee_meeting"
            )
            .where(Occurrence.starts_at > h.clock.now())
            .order_by(Occurrence.starts_at)  # type: ignore[arg-type]
        ).all()
    moved, cancelled = committee[0], committee[1]
    await h.feed(
        updates.command("reschedule", f"#{moved.id}", moved.key, "19:30", user_id=SECRETARY)
    )
    await h.feed(updates.command("cancelevent", f"#{cancelled.id}", user_id=SECRETARY))
    await h.feed(updates.command("export", user_id=SECRETARY))
    _xlsx, ics = h.api.sent("sendDocument")
    calendar = Calendar.from_ical(ics["document"].content)
    events = [e for e in calendar.walk("VEVENT") if str(e["uid"]).startswith("committee_meeting")]
    [series] = [e for e in events if "RRULE" in e]
    exdates = [d.dt for x in _as_list(series.get("exdate")) for d in x.dts]
    assert [d.date().isoformat() for d in exdates] == [cancelled.key]
    [override] = [e for e in events if "RECURRENCE-ID" in e]
    assert override["uid"] == series["uid"]
    assert override["recurrence-id"].dt.date().isoformat() == moved.key
    start = override["dtstart"].dt
    assert (start.date().isoformat(), start.hour, start.minute) == (moved.key, 19, 30)
    # nothing of December 2025, before the branch existed
    assert all(e["dtstart"].dt.year == 2026 for e in calendar.walk("VEVENT"))


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
