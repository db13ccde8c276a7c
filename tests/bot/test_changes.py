"""/reschedule and /cancelevent: moves, cancellations, who is told, and every refusal."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlmodel import select

from bot.services.changes import (
    ChangeError,
    EventRef,
    cancel,
    parse_day,
    parse_event_ref,
    parse_time,
    reschedule,
)
from scheduler.due import BranchFacts, OccurrenceFacts, reminder_slots
from scheduler.plan import branch_plan
from scheduler.recurrence import local_to_utc, zone
from storage.db import Database
from storage.models import Branch, Delivery, Occurrence
from tests.bot.secretary_data import (
    LI,
    SECRETARY,
    ZHAO,
    audits,
    branch,
    deliveries,
    occ,
    reminded,
)
from tests.fakes import updates
from tests.fakes.clock import FrozenClock
from tests.harness import Harness

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Mon 2 March 09:00 in Shanghai


# ------------------------------------------------------------------------ parsing (pure)


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("#123", EventRef(occurrence_id=123)),
        ("45", EventRef(occurrence_id=45)),
        (
            "general_meeting@2026-03-13",
            EventRef(item_id="general_meeting", day=dt.date(2026, 3, 13)),
        ),
    ],
)
def test_event_is_named_by_id_or_item_and_planned_date(text: str, ref: EventRef) -> None:
    assert parse_event_ref(text) == ref


@pytest.mark.parametrize(
    "text", ["", "#", "#x", "meeting", "gm@2026-02-30", "GM@2026-03-13", "a@b"]
)
def test_malformed_event_is_refused(text: str) -> None:
    with pytest.raises(ChangeError) as error:
        parse_event_ref(text)
    assert error.value.code == "bad_event"


@pytest.mark.parametrize("text", ["25:00", "15", "3pm", "15:60", "15:0", ""])
def test_malformed_time_is_refused(text: str) -> None:
    with pytest.raises(ChangeError) as error:
        parse_time(text)
    assert error.value.code == "bad_time"


def test_times_are_24_hour() -> None:
    assert parse_time("9:05") == dt.time(9, 5)
    assert parse_time("23:59") == dt.time(23, 59)


@pytest.mark.parametrize("text", ["2026-3-20", "20/03/2026", "2026-02-30", "tomorrow"])
def test_malformed_date_is_refused(text: str) -> None:
    with pytest.raises(ChangeError) as error:
        parse_day(text)
    assert error.value.code == "bad_date"


# ------------------------------------------------------------------- the use cases (both DBs)


def test_move_keeps_duration_reads_branch_time_and_is_audited(db: Database) -> None:
    ids = branch(db)
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    result = reschedule(
        db,
        branch_id=ids["branch"],
        actor_id=ids["Secretary Wang"],
        ref=EventRef(occurrence_id=meeting.id),
        day=dt.date(2026, 3, 20),
        at=dt.time(14, 30),
        now=NOW,
    )
    with db.read() as s:
        moved = s.get(Occurrence, meeting.id)
    assert moved is not None
    assert moved.starts_at == dt.datetime(2026, 3, 20, 6, 30, tzinfo=dt.UTC)  # 14:30 Shanghai
    assert moved.ends_at - moved.starts_at == dt.timedelta(hours=2)
    assert moved.changed_at == NOW and moved.key == "2026-03-13"
    assert result.old_starts_at == meeting.starts_at and result.told == 0
    [entry] = audits(db, "occurrence.reschedule")
    assert entry["actor"] == ids["Secretary Wang"] and entry["occurrence"] == meeting.id
    assert entry["new_starts_at"] == "2026-03-20T06:30:00+00:00"


def test_item_at_date_names_the_same_occurrence(db: Database) -> None:
    ids = branch(db)
    result = reschedule(
        db,
        branch_id=ids["branch"],
        actor_id=None,
        ref=parse_event_ref("general_meeting@2026-03-13"),
        day=dt.date(2026, 3, 16),
        at=dt.time(15, 0),
        now=NOW,
    )
    assert result.occurrence_id == occ(db, ids["branch"], "general_meeting", "2026-03-13").id


def test_members_already_reminded_are_told_once_per_change(db: Database) -> None:
    ids = branch(db)
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    assert meeting.id is not None
    reminded(db, ids["branch"], meeting.id, ids["Member Li"], LI)
    reminded(db, ids["branch"], meeting.id, ids["Member Zhao"], ZHAO)
    ref = EventRef(occurrence_id=meeting.id)
    first = reschedule(
        db,
        branch_id=ids["branch"],
        actor_id=None,
        ref=ref,
        day=dt.date(2026, 3, 20),
        at=dt.time(15, 0),
        now=NOW,
    )
    second = cancel(db, branch_id=ids["branch"], actor_id=None, ref=ref, now=NOW)
    rows = deliveries(db, "change")
    assert (first.told, second.told) == (2, 2)
    assert [r.key for r in rows] == [
        f"c:{meeting.id}:1:m{ids['Member Li']}",
        f"c:{meeting.id}:1:m{ids['Member Zhao']}",
        f"c:{meeting.id}:2:m{ids['Member Li']}",
        f"c:{meeting.id}:2:m{ids['Member Zhao']}",
    ]
    assert {r.chat_id for r in rows} == {LI, ZHAO}
    assert all(r.status == "pending" and r.due_at == NOW for r in rows)
    payloads = [json.loads(r.payload) for r in rows]
    assert payloads[0]["old_starts_at"] == "2026-03-13T07:00:00+00:00"
    assert payloads[0]["cancelled"] is False and payloads[2]["cancelled"] is True
    assert payloads[2]["old_starts_at"] == "2026-03-20T07:00:00+00:00"


def test_group_chat_is_told_when_a_group_reminder_went_out(db: Database) -> None:
    ids = branch(db)
    with db.transaction() as s:
        b = s.get(Branch, ids["branch"])
        assert b is not None
        b.group_chat_id, b.delivery_mode = -100123, "both"
        s.add(b)
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    assert meeting.id is not None
    reminded(db, ids["branch"], meeting.id, None, -100123)
    result = cancel(
        db, branch_id=ids["branch"], actor_id=None, ref=EventRef(occurrence_id=meeting.id), now=NOW
    )
    assert result.group_told
    [row] = deliveries(db, "change")
    assert (row.key, row.chat_id, row.member_id) == (f"c:{meeting.id}:1:g", -100123, None)


def test_cancel_skips_pending_reminders_and_keeps_answers(db: Database) -> None:
    ids = branch(db)
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    with db.transaction() as s:
        s.add(
            Delivery(
                key=f"r:{meeting.id}:1:m{ids['Member Li']}",
                branch_id=ids["branch"],
                kind="remind",
                occurrence_id=meeting.id,
                member_id=ids["Member Li"],
                chat_id=LI,
                due_at=NOW,
                status="pending",
            )
        )
    cancel(
        db, branch_id=ids["branch"], actor_id=None, ref=EventRef(occurrence_id=meeting.id), now=NOW
    )
    [row] = deliveries(db, "remind")
    assert row.status == "skipped"
    with db.read() as s:
        cancelled = s.get(Occurrence, meeting.id)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert audits(db, "occurrence.cancel")[0]["occurrence"] == meeting.id


def test_reminders_follow_the_new_time(db: Database) -> None:
    """The engine plans slots from the row's start, so a moved meeting's reminders move too."""
    ids = branch(db)
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    reschedule(
        db,
        branch_id=ids["branch"],
        actor_id=None,
        ref=EventRef(occurrence_id=meeting.id),
        day=dt.date(2026, 3, 27),
        at=dt.time(15, 0),
        now=NOW,
    )
    with db.read() as s:
        b = s.get(Branch, ids["branch"])
        row = s.get(Occurrence, meeting.id)
    assert b is not None and row is not None and row.id is not None
    facts = OccurrenceFacts(row.id, b.id or 0, row.item_id, row.key, row.starts_at, row.status)
    plan = branch_plan(b)
    slots = reminder_slots(BranchFacts(b.id or 0, b.timezone), plan, [facts])
    rules = plan.item("general_meeting").reminders
    expected = [
        local_to_utc(
            dt.date(2026, 3, 27) + dt.timedelta(days=r.offset_days), r.at, zone(b.timezone)
        )
        for r in rules
    ]
    assert [s.at for s in slots] == expected
    assert all(at > NOW for at in expected) and len(expected) >= 2


@pytest.mark.parametrize(
    ("ref", "day", "at", "code"),
    [
        (EventRef(occurrence_id=99999), dt.date(2026, 3, 20), dt.time(15), "unknown_event"),
        (
            EventRef(item_id="nope", day=dt.date(2026, 3, 13)),
            dt.date(2026, 3, 20),
            dt.time(15),
            "unknown_event",
        ),
        (
            EventRef(item_id="general_meeting", day=dt.date(2026, 3, 14)),
            dt.date(2026, 3, 20),
            dt.time(15),
            "unknown_event",
        ),
        (None, dt.date(2026, 3, 1), dt.time(15), "past"),
        (None, dt.date(2026, 3, 2), dt.time(9, 0), "past"),
        (None, dt.date(2026, 3, 13), dt.time(15), "same"),
    ],
)
def test_bad_moves_change_nothing(
    db: Database, ref: EventRef | None, day: dt.date, at: dt.time, code: str
) -> None:
    ids = branch(db)
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    with pytest.raises(ChangeError) as error:
        reschedule(
            db,
            branch_id=ids["branch"],
            actor_id=None,
            ref=ref or EventRef(occurrence_id=meeting.id),
            day=day,
            at=at,
            now=NOW,
        )
    assert error.value.code == code
    with db.read() as s:
        assert s.get(Occurrence, meeting.id) == meeting
    assert audits(db, "occurrence.reschedule") == []


def test_another_branchs_event_is_unknown(db: Database) -> None:
    ids = branch(db)
    other = branch(db, name="二支部", members=[("Other Secretary", 7001, "secretary", "X")])
    theirs = occ(db, other["branch"], "general_meeting", "2026-03-13")
    for change in (
        lambda: cancel(
            db,
            branch_id=ids["branch"],
            actor_id=None,
            ref=EventRef(occurrence_id=theirs.id),
            now=NOW,
        ),
        lambda: reschedule(
            db,
            branch_id=ids["branch"],
            actor_id=None,
            ref=EventRef(occurrence_id=theirs.id),
            day=dt.date(2026, 3, 20),
            at=dt.time(15),
            now=NOW,
        ),
    ):
        with pytest.raises(ChangeError) as error:
            change()
        assert error.value.code == "unknown_event"
    with db.read() as s:
        assert s.get(Occurrence, theirs.id) == theirs


def test_a_cancelled_or_started_event_cannot_change(db: Database) -> None:
    ids = branch(db)
    held = occ(db, ids["branch"], "committee_meeting", "2026-02-03")
    with pytest.raises(ChangeError) as error:
        cancel(
            db,
            branch_id=ids["branch"],
            actor_id=None,
            ref=EventRef(occurrence_id=held.id),
            now=NOW,
        )
    assert error.value.code == "held"
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    cancel(
        db, branch_id=ids["branch"], actor_id=None, ref=EventRef(occurrence_id=meeting.id), now=NOW
    )
    with pytest.raises(ChangeError) as error:
        cancel(
            db,
            branch_id=ids["branch"],
            actor_id=None,
            ref=EventRef(occurrence_id=meeting.id),
            now=NOW,
        )
    assert error.value.code == "cancelled"


# -------------------------------------------------------------------- through the bot (tier 3)


async def test_reschedule_command_moves_and_answers_in_branch_time(harness: Harness) -> None:
    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    await harness.feed(
        updates.command("reschedule", f"#{meeting.id}", "2026-03-20", "15:00", user_id=SECRETARY)
    )
    text = harness.last_reply(SECRETARY)
    assert "Mar 13, 2026 15:00" in text and "Mar 20, 2026 15:00" in text
    with harness.db.read() as s:
        moved = s.get(Occurrence, meeting.id)
    assert moved is not None and moved.starts_at == dt.datetime(2026, 3, 20, 7, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["#99999", "2026-03-20", "15:00"], "no such event"),
        (["general_meeting@2026-03-13", "2026-02-20", "15:00"], "in the past"),
        (["general_meeting@2026-03-13", "2026-03-20", "3pm"], "not a time"),
        (["general_meeting@2026-03-13", "20.3.2026", "15:00"], "not a date"),
        (["general_meeting@2026-03-13"], "Usage: /reschedule"),
    ],
)
async def test_bad_reschedule_is_answered_clearly_and_changes_nothing(
    harness: Harness, args: list[str], expected: str
) -> None:
    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    await harness.feed(updates.command("reschedule", *args, user_id=SECRETARY))
    assert expected in harness.last_reply(SECRETARY)
    with harness.db.read() as s:
        assert s.get(Occurrence, meeting.id) == meeting
        assert s.exec(select(Delivery)).all() == []


async def test_cancelevent_tells_the_reminded(harness: Harness, clock: FrozenClock) -> None:
    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    assert meeting.id is not None
    reminded(harness.db, ids["branch"], meeting.id, ids["Member Li"], LI)
    await harness.feed(updates.command("cancelevent", f"#{meeting.id}", user_id=SECRETARY))
    assert "Cancelled" in harness.last_reply(SECRETARY)
    assert "1 member who had been reminded will be told" in harness.last_reply(SECRETARY)
    assert [r.chat_id for r in deliveries(harness.db, "change")] == [LI]


async def test_members_and_committee_cannot_reschedule(harness: Harness) -> None:
    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    for user in (LI, 9002):
        await harness.feed(updates.command("cancelevent", f"#{meeting.id}", user_id=user))
        assert "not available to your role" in harness.last_reply(user)
    with harness.db.read() as s:
        assert s.get(Occurrence, meeting.id) == meeting
