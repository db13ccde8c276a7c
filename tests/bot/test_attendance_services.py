"""Attendance use cases on both databases: attend, check in, leave, decisions, absences."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlmodel import select

from bot.services import attendance, conversation, leave, makeup
from bot.services.attendance import (
    AnswerFacts,
    MeetingFacts,
    MemberFacts,
    find_absences,
)
from bot.services.events import Refusal
from storage.db import Database
from storage.models import Attendance, AuditEntry, Conversation, Member
from tests.bot.answers_fixtures import (
    MEETING_START,
    QueryCounter,
    World,
    cancel_occurrence,
    count,
    seed,
)

BEFORE = MEETING_START - dt.timedelta(days=1)
IN_WINDOW = MEETING_START - dt.timedelta(minutes=2)


def _row(db: Database, occurrence_id: int, member_id: int) -> Attendance:
    with db.read() as s:
        return s.exec(
            select(Attendance).where(
                Attendance.occurrence_id == occurrence_id, Attendance.member_id == member_id
            )
        ).one()


def test_attend_before_the_start_records_attending(db: Database) -> None:
    w = seed(db)
    answer = attendance.attend(
        db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=BEFORE
    )
    assert answer.ok and answer.changed and answer.state == "attending"
    assert _row(db, w.meeting, w.ids["Member Li"]).state == "attending"


def test_second_attend_changes_nothing(db: Database) -> None:
    w = seed(db)
    attendance.attend(db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=BEFORE)
    again = attendance.attend(
        db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=BEFORE
    )
    assert again.refusal is Refusal.ALREADY and not again.changed
    assert count(db, Attendance) == 1


def test_attend_after_the_start_is_refused(db: Database) -> None:
    w = seed(db)
    answer = attendance.attend(
        db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=MEETING_START
    )
    assert answer.refusal is Refusal.STARTED
    assert count(db, Attendance) == 0


@pytest.mark.parametrize(
    ("minutes", "refusal"),
    [(-31, Refusal.TOO_EARLY), (121, Refusal.TOO_LATE)],
    ids=["31-min-before", "2h01-after"],
)
def test_check_in_outside_its_window_writes_nothing(
    db: Database, minutes: int, refusal: Refusal
) -> None:
    w = seed(db)
    now = MEETING_START + dt.timedelta(minutes=minutes)
    answer = attendance.check_in(
        db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=now
    )
    assert answer.refusal is refusal
    assert answer.opens_at == MEETING_START - dt.timedelta(minutes=30)
    assert count(db, Attendance) == 0


@pytest.mark.parametrize("minutes", [-30, 0, 120], ids=["opens", "start", "closes"])
def test_check_in_inside_its_window_records_the_time(db: Database, minutes: int) -> None:
    w = seed(db)
    now = MEETING_START + dt.timedelta(minutes=minutes)
    answer = attendance.check_in(
        db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=now
    )
    assert answer.ok and answer.checked_in_at == now
    row = _row(db, w.meeting, w.ids["Member Li"])
    assert (row.state, row.checked_in_at) == ("present", now)


def test_second_check_in_keeps_the_first_time(db: Database) -> None:
    w = seed(db)
    first = IN_WINDOW
    attendance.check_in(db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=first)
    again = attendance.check_in(
        db,
        member_id=w.ids["Member Li"],
        occurrence_id=w.meeting,
        now=first + dt.timedelta(minutes=5),
    )
    assert again.refusal is Refusal.ALREADY and again.checked_in_at == first
    assert _row(db, w.meeting, w.ids["Member Li"]).checked_in_at == first


def test_check_in_after_attending_updates_the_same_row(db: Database) -> None:
    w = seed(db)
    attendance.attend(db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=BEFORE)
    answer = attendance.check_in(
        db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=IN_WINDOW
    )
    assert answer.ok and answer.changed
    assert count(db, Attendance) == 1
    assert _row(db, w.meeting, w.ids["Member Li"]).state == "present"


def test_member_outside_the_audience_is_refused(db: Database) -> None:
    w = seed(db)
    answer = attendance.attend(
        db,
        member_id=w.ids["Member Li"],
        occurrence_id=w.committee_meeting,
        now=BEFORE - dt.timedelta(days=30),
    )
    assert answer.refusal is Refusal.NOT_AUDIENCE
    assert count(db, Attendance) == 0


def test_cancelled_occurrence_is_refused(db: Database) -> None:
    w = seed(db)
    cancel_occurrence(db, w.meeting)
    answer = attendance.check_in(
        db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=IN_WINDOW
    )
    assert answer.refusal is Refusal.CANCELLED
    assert count(db, Attendance) == 0


def test_another_branchs_occurrence_is_unknown(db: Database) -> None:
    w = seed(db)
    other = seed(db, name="二支部", members=[("Other Ma", 3001, "secretary", "G")])
    answer = attendance.attend(
        db, member_id=other.ids["Other Ma"], occurrence_id=w.meeting, now=BEFORE
    )
    assert answer.refusal is Refusal.UNKNOWN
    assert count(db, Attendance) == 0


def test_unknown_occurrence_and_unlinked_presser_are_refused(db: Database) -> None:
    w = seed(db)
    assert (
        attendance.attend(
            db, member_id=w.ids["Member Li"], occurrence_id=10**9, now=BEFORE
        ).refusal
        is Refusal.UNKNOWN
    )
    assert (
        attendance.attend(db, member_id=None, occurrence_id=w.meeting, now=BEFORE).refusal
        is Refusal.NOT_LINKED
    )


def test_check_in_on_a_dues_occurrence_is_the_wrong_kind(db: Database) -> None:
    w = seed(db)
    answer = attendance.check_in(
        db, member_id=w.ids["Member Li"], occurrence_id=w.dues, now=IN_WINDOW
    )
    assert answer.refusal is Refusal.WRONG_KIND


def test_concurrent_check_ins_make_one_row(db: Database) -> None:
    """Eight threads tap at once: the unique constraint keeps one row with one time."""
    if db.url == "sqlite://":
        pytest.skip("the in-memory database has one shared connection; see the file test")
    w = seed(db)
    results: list[attendance.Answer] = []
    barrier = threading.Barrier(8)

    def tap() -> None:
        barrier.wait()
        results.append(
            attendance.check_in(
                db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=IN_WINDOW
            )
        )

    threads = [threading.Thread(target=tap) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count(db, Attendance) == 1
    assert sum(r.changed for r in results) == 1


def test_concurrent_check_ins_make_one_row_on_an_sqlite_file(tmp_path: object) -> None:
    from pathlib import Path

    from sqlmodel import SQLModel

    path = Path(str(tmp_path)) / "bb.sqlite"
    db = Database(f"sqlite:///{path}")
    SQLModel.metadata.create_all(db.engine)
    try:
        w = seed(db)
        barrier = threading.Barrier(8)
        results: list[attendance.Answer] = []

        def tap() -> None:
            barrier.wait()
            results.append(
                attendance.check_in(
                    db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=IN_WINDOW
                )
            )

        threads = [threading.Thread(target=tap) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert count(db, Attendance) == 1
        assert sum(r.changed for r in results) == 1
    finally:
        db.dispose()


# ---------------------------------------------------------------- leave


def _ask_leave(
    db: Database, w: World, member: str = "Member Li", reason: str = "surgery shift"
) -> leave.LeaveRequest:
    ids = w.ids
    telegram = {"Member Li": 1001, "Member Sun": 1002, "Secretary Wang": 9001}[member]
    started = leave.start_leave_request(
        db, member_id=ids[member], telegram_id=telegram, occurrence_id=w.meeting, now=BEFORE
    )
    assert started.ok
    return leave.request_leave(
        db, member_id=ids[member], telegram_id=telegram, reason=reason, now=BEFORE
    )


def test_leave_request_waits_for_a_reason_and_writes_no_attendance(db: Database) -> None:
    w = seed(db)
    answer = leave.start_leave_request(
        db, member_id=w.ids["Member Li"], telegram_id=1001, occurrence_id=w.meeting, now=BEFORE
    )
    assert answer.ok
    assert count(db, Attendance) == 0
    flow = conversation.active(db, 1001, now=BEFORE)
    assert flow is not None and flow.flow == "leave" and flow.data["occurrence_id"] == w.meeting


def test_reason_stores_the_request_and_names_the_approvers(db: Database) -> None:
    w = seed(db)
    request = _ask_leave(db, w)
    assert request.answer.ok and request.reason == "surgery shift"
    row = _row(db, w.meeting, w.ids["Member Li"])
    assert (row.state, row.leave_reason) == ("leave_requested", "surgery shift")
    assert {a.telegram_id for a in request.approvers} == {9001, 9002}
    assert count(db, Conversation) == 0


def test_empty_reason_keeps_the_question_open(db: Database) -> None:
    w = seed(db)
    leave.start_leave_request(
        db, member_id=w.ids["Member Li"], telegram_id=1001, occurrence_id=w.meeting, now=BEFORE
    )
    result = leave.request_leave(
        db, member_id=w.ids["Member Li"], telegram_id=1001, reason="   ", now=BEFORE
    )
    assert result.answer.refusal is Refusal.BAD_INPUT
    assert count(db, Attendance) == 0 and count(db, Conversation) == 1


def test_secretary_does_not_approve_their_own_leave(db: Database) -> None:
    w = seed(db)
    request = _ask_leave(db, w, member="Secretary Wang")
    assert {a.telegram_id for a in request.approvers} == {9002}
    assert request.attendance_id is not None
    decision = leave.decide_leave(
        db,
        attendance_id=request.attendance_id,
        actor_id=w.ids["Secretary Wang"],
        approve=True,
        now=BEFORE,
    )
    assert decision.refusal is Refusal.OWN_REQUEST


def test_first_decision_wins_and_is_audited(db: Database) -> None:
    w = seed(db)
    request = _ask_leave(db, w)
    assert request.attendance_id is not None
    first = leave.decide_leave(
        db,
        attendance_id=request.attendance_id,
        actor_id=w.ids["Secretary Wang"],
        approve=True,
        now=BEFORE,
    )
    second = leave.decide_leave(
        db,
        attendance_id=request.attendance_id,
        actor_id=w.ids["Committee Zhao"],
        approve=False,
        now=BEFORE,
    )
    assert first.refusal is None
    assert first.approved and first.member_telegram_id == 1001
    assert second.refusal is Refusal.DECIDED and second.decider_name == "Secretary Wang"
    assert _row(db, w.meeting, w.ids["Member Li"]).state == "leave_approved"
    assert count(db, AuditEntry, action="leave_approved") == 1


@pytest.mark.parametrize("actor", ["Member Sun", "Leader Chen"])
def test_members_cannot_decide_leave(db: Database, actor: str) -> None:
    w = seed(db)
    request = _ask_leave(db, w)
    assert request.attendance_id is not None
    decision = leave.decide_leave(
        db, attendance_id=request.attendance_id, actor_id=w.ids[actor], approve=True, now=BEFORE
    )
    assert decision.refusal is Refusal.NOT_ALLOWED
    assert _row(db, w.meeting, w.ids["Member Li"]).state == "leave_requested"


def test_another_branchs_secretary_cannot_decide(db: Database) -> None:
    w = seed(db)
    other = seed(db, name="二支部", members=[("Other Ma", 3001, "secretary", "G")])
    request = _ask_leave(db, w)
    assert request.attendance_id is not None
    decision = leave.decide_leave(
        db,
        attendance_id=request.attendance_id,
        actor_id=other.ids["Other Ma"],
        approve=True,
        now=BEFORE,
    )
    assert decision.refusal is Refusal.UNKNOWN


def test_attend_withdraws_a_leave_request(db: Database) -> None:
    w = seed(db)
    _ask_leave(db, w)
    answer = attendance.attend(
        db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=BEFORE
    )
    assert answer.ok and answer.state == "attending"
    row = _row(db, w.meeting, w.ids["Member Li"])
    assert (row.state, row.leave_reason) == ("attending", None)


def test_leave_cannot_be_asked_twice_or_after_the_start(db: Database) -> None:
    w = seed(db)
    _ask_leave(db, w)
    again = leave.start_leave_request(
        db, member_id=w.ids["Member Li"], telegram_id=1001, occurrence_id=w.meeting, now=BEFORE
    )
    late = leave.start_leave_request(
        db,
        member_id=w.ids["Member Sun"],
        telegram_id=1002,
        occurrence_id=w.meeting,
        now=MEETING_START,
    )
    assert again.refusal is Refusal.LEAVE_PENDING
    assert late.refusal is Refusal.STARTED


def test_reason_arriving_after_the_start_is_refused(db: Database) -> None:
    w = seed(db)
    leave.start_leave_request(
        db, member_id=w.ids["Member Li"], telegram_id=1001, occurrence_id=w.meeting, now=BEFORE
    )
    late = leave.request_leave(
        db, member_id=w.ids["Member Li"], telegram_id=1001, reason="x", now=MEETING_START
    )
    assert late.answer.refusal is Refusal.STARTED
    assert count(db, Attendance) == 0 and count(db, Conversation) == 0


# ---------------------------------------------------------------- absences and 补课

AFTER = MEETING_START + dt.timedelta(hours=3)


def test_absences_pure_rule() -> None:
    start = dt.datetime(2026, 3, 13, 7, tzinfo=dt.UTC)
    meeting = MeetingFacts(1, "all", start, start + dt.timedelta(hours=2))
    linked = start - dt.timedelta(days=10)
    members = [
        MemberFacts(1, "member", 1, linked),  # no answer -> absent
        MemberFacts(2, "member", 1, linked),  # present
        MemberFacts(3, "member", 1, linked),  # leave approved -> on leave
        MemberFacts(4, "member", 1, linked),  # attending without check-in -> absent
        MemberFacts(5, "member", 1, None),  # never linked, no answer -> not tracked
        MemberFacts(6, "member", 1, start + dt.timedelta(days=1)),  # linked later -> not tracked
        MemberFacts(7, "member", 1, linked),  # leave declined -> absent
        MemberFacts(8, "member", 1, linked),  # leave asked, undecided -> on leave
    ]
    answers = {
        (1, 2): AnswerFacts("present", start, None, None),
        (1, 3): AnswerFacts("leave_approved", None, None, None),
        (1, 4): AnswerFacts("attending", None, None, None),
        (1, 7): AnswerFacts("leave_declined", None, None, None),
        (1, 8): AnswerFacts("leave_requested", None, None, None),
    }
    found = find_absences([meeting], members, answers, until=start + dt.timedelta(hours=3))
    assert {a.member_id: a.without_leave for a in found} == {
        1: True,
        3: False,
        4: True,
        7: True,
        8: False,
    }
    assert find_absences([meeting], members, answers, until=start + dt.timedelta(hours=1)) == []


def test_absences_respect_the_audience() -> None:
    start = dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC)
    meeting = MeetingFacts(1, "committee", start, start + dt.timedelta(hours=2))
    linked = start - dt.timedelta(days=10)
    members = [MemberFacts(1, "member", None, linked), MemberFacts(2, "committee", None, linked)]
    found = find_absences([meeting], members, {}, until=start + dt.timedelta(days=1))
    assert [a.member_id for a in found] == [2]


def _absences_counted(db: Database, branch_id: int) -> tuple[int, list[attendance.Absence]]:
    since = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with QueryCounter(db) as counter, db.read() as s:
        found = attendance.absences(s, branch_id, since, AFTER)
    return counter.count, found


def test_absences_loader_does_not_query_per_member(db: Database) -> None:
    w = seed(db)
    attendance.check_in(db, member_id=w.ids["Member Li"], occurrence_id=w.meeting, now=IN_WINDOW)
    queries, found = _absences_counted(db, w.branch_id)
    absent_at_meeting = {a.member_id for a in found if a.occurrence_id == w.meeting}
    assert w.ids["Member Li"] not in absent_at_meeting
    assert w.ids["Member Sun"] in absent_at_meeting
    assert w.ids["Unlinked Zhou"] not in absent_at_meeting
    with db.transaction() as s:
        for n in range(30):
            s.add(
                Member(
                    branch_id=w.branch_id,
                    name=f"Extra {n}",
                    telegram_id=50_000 + n,
                    linked_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                )
            )
    more_queries, more = _absences_counted(db, w.branch_id)
    assert more_queries == queries <= 5
    assert len(more) > len(found)


def test_make_up_is_recorded_with_a_note_and_audited(db: Database) -> None:
    w = seed(db)
    made = makeup.record_make_up(
        db,
        actor_id=w.ids["Secretary Wang"],
        occurrence_id=w.meeting,
        member_id=w.ids["Member Sun"],
        note="studied the minutes with the secretary",
        now=AFTER,
    )
    assert made.refusal is None
    with db.read() as s:
        found = attendance.absences(s, w.branch_id, MEETING_START, AFTER)
    sun = next(
        a for a in found if a.member_id == w.ids["Member Sun"] and a.occurrence_id == w.meeting
    )
    assert sun.made_up and sun.made_up_note == "studied the minutes with the secretary"
    assert count(db, AuditEntry, action="made_up") == 1


def test_make_up_needs_the_committee_and_a_past_meeting(db: Database) -> None:
    w = seed(db)
    by_member = makeup.record_make_up(
        db,
        actor_id=w.ids["Member Li"],
        occurrence_id=w.meeting,
        member_id=w.ids["Member Sun"],
        note="x",
        now=AFTER,
    )
    too_soon = makeup.record_make_up(
        db,
        actor_id=w.ids["Secretary Wang"],
        occurrence_id=w.meeting,
        member_id=w.ids["Member Sun"],
        note="x",
        now=BEFORE,
    )
    assert by_member.refusal is Refusal.NOT_ALLOWED
    assert too_soon.refusal is Refusal.FUTURE
    assert count(db, Attendance) == 0
