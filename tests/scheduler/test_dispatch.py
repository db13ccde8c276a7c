"""Tier 2: the dispatcher and the ledger on SQLite and PostgreSQL, with a scripted notifier."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlmodel import SQLModel, select

from scheduler import ledger
from scheduler.dispatch import Dispatcher
from scheduler.ledger import NewRow
from scheduler.notify import Outcome
from storage.db import Database
from storage.models import Attendance, DuesPayment, Member, Occurrence
from tests.reminder_support import UTC, ScriptedNotifier, deliveries, meeting_plan, seed

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 Shanghai, 3 days before the 5th
MEETING = dt.datetime(2026, 3, 5, 7, 0, tzinfo=UTC)  # 15:00 Shanghai


def dispatcher(db: Database, notifier: ScriptedNotifier | None = None, **kw: object) -> Dispatcher:
    return Dispatcher(db, notifier or ScriptedNotifier(), flush_interval=0.01, **kw)  # type: ignore[arg-type]


def row(key: str, *, branch_id: int, due: dt.datetime = T0, chat: int = 1) -> NewRow:
    return NewRow(key=key, kind="nudge", branch_id=branch_id, chat_id=chat, due_at=due)


# ----------------------------------------------------------------- ledger


def test_ledger_insert_is_idempotent(db: Database) -> None:
    ids = seed(db, members=0)
    with db.transaction() as s:
        assert ledger.insert_rows(s, [row("n:1:x", branch_id=ids["branch"])]) == 1
    with db.transaction() as s:
        assert ledger.insert_rows(s, [row("n:1:x", branch_id=ids["branch"])]) == 0
    assert len(deliveries(db)) == 1


def test_claim_takes_due_pending_rows_in_order_and_marks_them_sending(db: Database) -> None:
    b = seed(db, members=0)["branch"]
    rows = [row(f"n:{i}", branch_id=b, due=T0 - dt.timedelta(minutes=i)) for i in range(3)]
    rows.append(row("n:later", branch_id=b, due=T0 + dt.timedelta(minutes=1)))
    with db.transaction() as s:
        ledger.insert_rows(s, rows)
    with db.transaction() as s:
        claimed = ledger.claim(s, now=T0, limit=10)
    assert [c.key for c in claimed] == ["n:2", "n:1", "n:0"]
    assert all(c.attempts == 1 for c in claimed)
    statuses = {d.key: d.status for d in deliveries(db)}
    assert statuses == {"n:0": "sending", "n:1": "sending", "n:2": "sending", "n:later": "pending"}


@pytest.fixture(params=["sqlite-file", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database several threads can use at once (a file for SQLite)."""
    if request.param == "sqlite-file":
        database = Database(f"sqlite:///{tmp_path / 'bb.db'}")
        SQLModel.metadata.create_all(database.engine)
    else:
        database = Database(request.getfixturevalue("pg_url"))
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with database.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield database
    database.dispose()


def test_concurrent_claimers_never_get_the_same_row(shared_db: Database) -> None:
    """Four workers claim batches of 25 from 600 rows: each row is claimed exactly once."""
    b = seed(shared_db, members=0)["branch"]
    with shared_db.transaction() as s:
        ledger.insert_rows(s, [row(f"n:{i}", branch_id=b) for i in range(600)])
    got: list[list[int]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def work(mine: list[int]) -> None:
        start.wait()
        while True:
            with shared_db.transaction() as s:
                batch = ledger.claim(s, now=T0, limit=25)
            if not batch:
                return
            assert len(batch) <= 25
            mine.extend(c.id for c in batch)

    threads = [threading.Thread(target=work, args=(g,)) for g in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    claimed = [i for g in got for i in g]
    assert len(claimed) == len(set(claimed)) == 600
    if shared_db.dialect == "postgresql":
        assert sum(1 for g in got if g) >= 2  # SKIP LOCKED let the workers share the work


# ----------------------------------------------------------------- dispatcher


async def test_due_reminder_goes_to_each_audience_member_once(db: Database) -> None:
    seed(db, members=3, plan=meeting_plan())
    notifier = ScriptedNotifier()
    d = dispatcher(db, notifier)
    first = await d.run_once(T0)
    assert sorted(notifier.chats()) == [10001, 10002, 10003]
    assert first.sent == 3 and first.planned == 3
    again = await d.run_once(T0 + dt.timedelta(minutes=5))
    assert again.sent == 0 and len(notifier.delivered) == 3
    assert {r.status for r in deliveries(db)} == {"sent"}
    assert all(r.message_id for r in deliveries(db))


async def test_a_fresh_dispatcher_does_not_resend_what_the_ledger_has(db: Database) -> None:
    seed(db, members=2, plan=meeting_plan())
    await dispatcher(db).run_once(T0)
    notifier = ScriptedNotifier()
    await dispatcher(db, notifier).run_once(T0 + dt.timedelta(hours=1))  # "after a restart"
    assert notifier.delivered == []


async def test_nothing_is_sent_before_its_time(db: Database) -> None:
    seed(db, members=2, plan=meeting_plan())
    notifier = ScriptedNotifier()
    d = dispatcher(db, notifier)
    await d.run_once(T0 - dt.timedelta(seconds=1))
    assert notifier.delivered == []
    assert d.next_due(T0 - dt.timedelta(seconds=1)) == T0


async def test_downtime_catch_up_before_the_meeting_starts(db: Database) -> None:
    """Down over the 3-days-before reminder, back 2 hours before the start: it is sent once."""
    seed(db, members=2, plan=meeting_plan(reminders='[{ days_before = 3, at = "09:00" }]'))
    notifier = ScriptedNotifier()
    report = await dispatcher(db, notifier).run_once(MEETING - dt.timedelta(hours=2))
    assert report.sent == 2 and report.late_skipped == 0
    assert {i.due_at for i in notifier.delivered} == {T0}  # its planned time: the text says "late"


async def test_downtime_past_the_meeting_start_records_skipped(db: Database) -> None:
    seed(db, members=2, plan=meeting_plan(reminders='[{ days_before = 3, at = "09:00" }]'))
    notifier = ScriptedNotifier()
    report = await dispatcher(db, notifier).run_once(MEETING + dt.timedelta(minutes=30))
    assert notifier.delivered == [] and report.late_skipped == 2
    rows = deliveries(db)
    assert [r.status for r in rows] == ["skipped", "skipped"]
    assert all("too late" in (r.error or "") for r in rows)


async def test_dues_follow_up_only_to_the_unpaid(db: Database) -> None:
    dues = """
[[items]]
id = "dues"
kind = "dues"
audience = "all"
title = { zh_CN = "党费", en = "Dues" }
rhythm = { every = "month", day = 2 }
time = "09:00"
"""
    ids = seed(db, members=2, plan=meeting_plan(extra=dues))
    with db.transaction() as s:
        s.add(DuesPayment(member_id=ids["m0"], year=2026, month=3, amount=12.5, declared_at=T0))
    notifier = ScriptedNotifier()
    d = dispatcher(db, notifier)
    await d.run_once(T0)  # dues day 09:00 (+ the meeting's 3-days-before)
    dues_day = [i for i in notifier.delivered if i.key.startswith("r:") and "meet" not in i.key]
    assert len(notifier.delivered) == 4 and dues_day
    notifier.delivered.clear()
    await d.run_once(T0 + dt.timedelta(days=3))  # follow-up: only m1 has not paid
    follow = [i for i in notifier.delivered if i.payload.get("item_kind") == "dues"]
    assert [i.chat_id for i in follow] == [10002]


async def test_blocked_member_is_marked_unreachable_and_not_retried(db: Database) -> None:
    ids = seed(db, members=2, plan=meeting_plan())
    notifier = ScriptedNotifier()
    notifier.script[10001] = [Outcome.blocked("Forbidden: bot was blocked by the user")]
    d = dispatcher(db, notifier)
    report = await d.run_once(T0)
    assert report.unreachable == 1 and report.sent == 1
    with db.read() as s:
        m = s.get(Member, ids["m0"])
        assert m is not None and m.unreachable_reason == "Forbidden: bot was blocked by the user"
        assert m.unreachable_since is not None
        assert T0 <= m.unreachable_since < T0 + dt.timedelta(minutes=1)
    await d.run_once(MEETING - dt.timedelta(hours=7))  # the on-the-day reminder
    assert notifier.chats().count(10001) == 1  # never again
    assert notifier.chats().count(10002) == 2


async def test_network_error_is_retried_with_back_off(db: Database) -> None:
    seed(db, members=1, plan=meeting_plan())
    notifier = ScriptedNotifier()
    notifier.script[10001] = [Outcome.retry(2.0, "Bad Gateway")]
    d = dispatcher(db, notifier)
    report = await d.run_once(T0)
    assert report.retried == 1
    [r] = deliveries(db)
    assert r.status == "pending"
    assert T0 + dt.timedelta(seconds=2) <= r.due_at < T0 + dt.timedelta(seconds=3)
    assert d.next_due(T0) == r.due_at
    await d.run_once(T0 + dt.timedelta(seconds=3))
    [r] = deliveries(db)
    assert r.status == "sent" and r.attempts == 2


async def test_ambiguous_send_is_retried_at_most_once(db: Database) -> None:
    seed(db, members=1, plan=meeting_plan())
    notifier = ScriptedNotifier()
    notifier.script[10001] = [Outcome.ambiguous("Timed out"), Outcome.ambiguous("Timed out")]
    d = dispatcher(db, notifier)
    first = await d.run_once(T0)
    assert first.ambiguous == 1 and len(notifier.delivered) == 1
    second = await d.run_once(T0 + dt.timedelta(seconds=10))
    assert second.unknown == 1
    for minutes in (1, 10, 60):
        await d.run_once(T0 + dt.timedelta(minutes=minutes))
    assert len(notifier.delivered) == 2
    [r] = deliveries(db)
    assert r.status == "unknown" and r.error is not None and r.error.startswith("ambiguous")


async def test_ambiguous_then_sent_keeps_the_possible_duplicate_visible(db: Database) -> None:
    seed(db, members=1, plan=meeting_plan())
    notifier = ScriptedNotifier()
    notifier.script[10001] = [Outcome.ambiguous("Timed out")]
    d = dispatcher(db, notifier)
    await d.run_once(T0)
    await d.run_once(T0 + dt.timedelta(seconds=10))
    [r] = deliveries(db)
    assert r.status == "sent" and (r.error or "").startswith("ambiguous")


async def test_row_left_sending_by_a_crash_is_retried_once_then_unknown(db: Database) -> None:
    b = seed(db, members=1, plan=meeting_plan())["branch"]
    with db.transaction() as s:
        ledger.insert_rows(s, [NewRow("n:crash", "nudge", b, 10001, T0)])
    with db.transaction() as s:
        ledger.claim(s, now=T0, limit=10)  # a process claimed it... and died
    notifier = ScriptedNotifier()
    d = dispatcher(db, notifier, lease=dt.timedelta(minutes=1))
    later = T0 + dt.timedelta(minutes=2)
    report = await d.run_once(later)
    assert report.recovered == 1 and "n:crash" in [i.key for i in notifier.delivered]
    crashed = next(r for r in deliveries(db) if r.key == "n:crash")
    assert crashed.status == "sent" and (crashed.error or "").startswith("ambiguous")
    # a second crash of the same row: it is not sent a third time
    with db.transaction() as s:
        s.execute(text("UPDATE delivery SET status='sending', claimed_at=:t WHERE key='n:crash'"),
                  {"t": T0.replace(tzinfo=None) if db.dialect == "sqlite" else T0})  # fmt: skip
    report = await dispatcher(db, ScriptedNotifier()).run_once(later + dt.timedelta(minutes=5))
    crashed = next(r for r in deliveries(db) if r.key == "n:crash")
    assert crashed.status == "unknown" and report.unknown == 1


async def test_pending_reminder_of_a_cancelled_event_is_never_sent(db: Database) -> None:
    seed(db, members=2, plan=meeting_plan())
    d = dispatcher(db)
    await d.run_once(T0 - dt.timedelta(minutes=1))  # materialises the occurrences
    with db.transaction() as s:
        occ = s.exec(select(Occurrence).where(Occurrence.key == "2026-03-05")).one()
        occ.status, occ.changed_at = "cancelled", T0
        s.add(occ)
        # a row that was planned before the cancellation, still pending
        ledger.insert_rows(s, [NewRow(f"r:{occ.id}:0:m1", "remind", occ.branch_id, 10001, T0,
                                      member_id=1, occurrence_id=occ.id,
                                      payload={"item_kind": "meeting"})])  # fmt: skip
    notifier = ScriptedNotifier()
    report = await dispatcher(db, notifier).run_once(T0)
    assert notifier.delivered == [] and report.skipped == 1
    assert [r.status for r in deliveries(db)] == ["skipped"]


async def test_approved_leave_stops_further_meeting_reminders(db: Database) -> None:
    ids = seed(db, members=2, plan=meeting_plan())
    d = dispatcher(db)
    await d.run_once(T0)
    with db.transaction() as s:
        occ = s.exec(select(Occurrence).where(Occurrence.key == "2026-03-05")).one()
        assert occ.id is not None
        s.add(Attendance(occurrence_id=occ.id, member_id=ids["m0"], state="leave_approved",
                         updated_at=T0))  # fmt: skip
    notifier = ScriptedNotifier()
    await dispatcher(db, notifier).run_once(MEETING - dt.timedelta(hours=7))
    assert notifier.chats() == [10002]


async def test_change_and_nudge_rows_are_sent_as_they_come(db: Database) -> None:
    b = seed(db, members=1, plan=meeting_plan())["branch"]
    await dispatcher(db).run_once(T0)
    with db.transaction() as s:
        occ = s.exec(select(Occurrence).where(Occurrence.key == "2026-03-05")).one()
        payload = {"old_starts_at": MEETING.isoformat(), "cancelled": False}
        ledger.insert_rows(s, [
            NewRow(f"c:{occ.id}:1:m1", "change", b, 10001, T0, member_id=1,
                   occurrence_id=occ.id, payload=payload),
            NewRow("n:1:2026-03-02:m1", "nudge", b, 10001, T0, member_id=1,
                   payload={"reasons": ["dues"], "months": ["2026-02"]}),
        ])  # fmt: skip
    notifier = ScriptedNotifier()
    await dispatcher(db, notifier).run_once(T0 + dt.timedelta(minutes=1))
    assert sorted(i.kind for i in notifier.delivered) == ["change", "nudge"]
    change = next(i for i in notifier.delivered if i.kind == "change")
    assert change.payload["old_starts_at"] == MEETING.isoformat()


async def test_stop_hands_back_unsent_rows_without_counting_an_attempt(db: Database) -> None:
    seed(db, members=5, plan=meeting_plan())

    class Stopping(ScriptedNotifier):
        def __init__(self, d: list[Dispatcher]) -> None:
            super().__init__()
            self.d = d

        async def deliver(self, item):  # type: ignore[no-untyped-def]
            if not self.delivered:
                self.d[0].request_stop()  # SIGTERM arrives during the first send
            return await super().deliver(item)

    holder: list[Dispatcher] = []
    notifier = Stopping(holder)
    holder.append(dispatcher(db, notifier, concurrency=1))
    report = await holder[0].run_once(T0)
    assert report.sent == 1 and report.released == 4 and notifier.aborted
    rows = deliveries(db)
    assert sorted(r.status for r in rows) == ["pending"] * 4 + ["sent"]
    assert all(r.attempts == 0 for r in rows if r.status == "pending")
    # after a restart the rest goes out, and nothing twice
    rest = ScriptedNotifier()
    await dispatcher(db, rest).run_once(T0 + dt.timedelta(seconds=5))
    assert len(rest.delivered) == 4
    assert set(rest.chats()).isdisjoint(notifier.chats())


async def test_migrated_group_gets_its_new_id_and_the_message_once_more(db: Database) -> None:
    ids = seed(db, members=1, plan=meeting_plan(), delivery_mode="group", group_chat_id=-100)
    notifier = ScriptedNotifier()
    notifier.script[-100] = [Outcome.migrated(-1001234)]
    report = await dispatcher(db, notifier).run_once(T0)
    assert report.migrated == 1 and notifier.chats() == [-100, -1001234]
    with db.read() as s:
        from storage.models import Branch

        branch = s.get(Branch, ids["branch"])
        assert branch is not None and branch.group_chat_id == -1001234
    [r] = deliveries(db)
    assert r.status == "sent" and r.chat_id == -1001234 and r.key.endswith(":g")


async def test_weekly_digest_once_even_when_run_late_and_often(db: Database) -> None:
    seed(db, members=3, plan=meeting_plan(day=20), roles=["secretary", "committee", "member"])
    notifier = ScriptedNotifier()
    d = dispatcher(db, notifier)
    for hours in (3, 4, 30, 50):  # Monday 09:00 .. Wednesday: late, and many times
        await d.run_once(dt.datetime(2026, 3, 2, 0, 0, tzinfo=UTC) + dt.timedelta(hours=hours))
    digests = [i for i in notifier.delivered if i.kind == "digest"]
    assert sorted(i.chat_id for i in digests) == [10001, 10002]
    assert {i.key.split(":")[2] for i in digests} == {"2026-W10"}
    await d.run_once(dt.datetime(2026, 3, 9, 0, 0, tzinfo=UTC))  # next Monday 08:00
    assert len([i for i in notifier.delivered if i.kind == "digest"]) == 4


async def test_sweep_query_count_does_not_grow_with_members(db: Database) -> None:
    counts = []
    for n, name in ((3, "small"), (120, "big")):
        seed(
            db,
            members=n,
            plan=meeting_plan(),
            name=name,
            first_telegram_id=10_001 + len(counts) * 1000,
        )
        d = dispatcher(db)
        await d.run_once(T0)  # sends (and syncs occurrences)
        statements: list[str] = []

        def count(*args: object, seen: list[str] = statements) -> None:
            seen.append(str(args[2]))

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            await d.run_once(T0 + dt.timedelta(minutes=1))
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
        with db.transaction() as s:
            s.execute(text("DELETE FROM delivery"))
    assert counts[0] == counts[1], counts


def test_payload_of_remind_rows_names_the_item_kind_and_expiry(db: Database) -> None:
    seed(db, members=1, plan=meeting_plan())
    import asyncio

    asyncio.run(dispatcher(db).run_once(T0))
    [r] = deliveries(db)
    payload = json.loads(r.payload)
    assert payload["item_kind"] == "meeting" and payload["expires_at"] == MEETING.isoformat()
    assert r.due_at == T0 and r.key == f"r:{r.occurrence_id}:0:m{r.member_id}"


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [("2026-03-27", 8), ("2026-03-30", 7), ("2026-10-23", 7), ("2026-10-26", 8)],
)
async def test_berlin_branch_gets_its_0900_reminder_at_0900_local_across_dst(
    db: Database, day: str, utc_hour: int
) -> None:
    """Europe/Berlin: CET (+1) before the spring switch and after the autumn one, CEST (+2)
    between; the 09:00 reminder goes out at 09:00 local either way, not an hour off."""
    once = meeting_plan(reminders='[{ days_before = 0, at = "09:00" }]').replace(
        'rhythm = { every = "month", day = 5 }', f'rhythm = {{ every = "once", date = "{day}" }}'
    )
    seed(db, members=1, plan=once, timezone="Europe/Berlin")
    notifier = ScriptedNotifier()
    d = dispatcher(db, notifier)
    nine = dt.datetime.fromisoformat(day).replace(hour=utc_hour, tzinfo=UTC)
    await d.run_once(nine - dt.timedelta(seconds=1))
    assert notifier.delivered == [] and d.next_due(nine - dt.timedelta(seconds=1)) == nine
    await d.run_once(nine)
    assert [i.due_at for i in notifier.delivered] == [nine]


async def test_a_branch_with_a_broken_plan_does_not_stop_the_others(db: Database) -> None:
    seed(db, members=1, plan=meeting_plan())
    seed(db, members=1, plan="version = 1\n[[items]\n", name="二支部", first_telegram_id=20_001)
    notifier = ScriptedNotifier()
    report = await dispatcher(db, notifier).run_once(T0)
    assert notifier.chats() == [10001] and report.error is None


async def test_a_fan_out_in_short_slices_still_sends_everyone_once(db: Database) -> None:
    """Each run stops after its slice and hands queued rows back; the next run goes on."""
    seed(db, members=60, plan=meeting_plan())

    class Slow(ScriptedNotifier):
        async def deliver(self, item):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0.002)
            return await super().deliver(item)

    notifier = Slow()
    d = dispatcher(db, notifier, slice_seconds=0.02, batch=10, concurrency=2)
    runs = 0
    report = await d.run_once(T0)
    while report.more:
        runs += 1
        report = await d.run_once(T0 + dt.timedelta(seconds=runs))
    assert runs >= 2
    assert sorted(notifier.chats()) == list(range(10001, 10061))
    assert {r.status for r in deliveries(db)} == {"sent"}
    assert all(r.attempts == 1 for r in deliveries(db))  # handed-back rows were not attempted


async def test_december_reminders_for_january_events_are_sent(db: Database) -> None:
    seed(db, members=1, plan=meeting_plan(day=2))
    notifier = ScriptedNotifier()
    await dispatcher(db, notifier).run_once(dt.datetime(2026, 12, 30, 1, 0, tzinfo=UTC))
    [item] = notifier.delivered
    with db.read() as s:
        occ = s.get(Occurrence, item.occurrence_id)
        assert occ is not None and occ.key == "2027-01-02"
