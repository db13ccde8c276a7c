"""/attendance: the quorum rule, the picker, the roster and audited hand marks."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from bot.services.attendance_admin import AttendanceError, list_events, mark, roster
from bot.services.changes import EventRef
from bot.services.quorum import quorum_warnings
from scheduler.quorum import quorum
from storage.db import Database
from storage.models import Attendance, Delivery, Member, MemberStatus
from tests.bot.secretary_data import COMMITTEE, LI, SECRETARY, answer, audits, branch, occ
from tests.fakes import updates
from tests.fakes.clock import FrozenClock
from tests.harness import Harness

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 3, 13, 7, 0, tzinfo=dt.UTC)  # the Q1 general meeting, 15:00 Shanghai


def _member(member_id: int, status: str = "full") -> Member:
    return Member(id=member_id, branch_id=1, name=f"m{member_id}", status=status)


def _said(member_id: int, state: str, checked_in: bool = False) -> Attendance:
    return Attendance(
        occurrence_id=1,
        member_id=member_id,
        state=state,
        updated_at=NOW,
        checked_in_at=START if checked_in else None,
    )


@pytest.mark.parametrize(("entitled", "needed"), [(1, 1), (2, 2), (3, 2), (4, 3), (9, 5), (10, 6)])
def test_quorum_is_more_than_half_of_full_members(entitled: int, needed: int) -> None:
    members = [_member(i) for i in range(1, entitled + 1)]
    assert quorum(members, {}, starts_at=START, now=NOW).needed == needed


def test_probationary_members_do_not_count() -> None:
    members = [
        _member(1),
        _member(2),
        _member(3),
        _member(4, "probationary"),
        _member(5, "probationary"),
    ]
    answers = {4: _said(4, "attending"), 5: _said(5, "attending"), 1: _said(1, "attending")}
    q = quorum(members, answers, starts_at=START, now=NOW)
    assert (q.entitled, q.needed, q.counted, q.reached) == (3, 2, 1, False)


def test_before_the_meeting_answers_count_and_from_check_in_only_check_ins() -> None:
    members = [_member(i) for i in (1, 2, 3)]
    answers = {1: _said(1, "attending"), 2: _said(2, "attending"), 3: _said(3, "present", True)}
    before = quorum(members, answers, starts_at=START, now=START - dt.timedelta(minutes=31))
    during = quorum(members, answers, starts_at=START, now=START - dt.timedelta(minutes=30))
    assert (before.by_check_in, before.counted, before.reached) == (False, 3, True)
    assert (during.by_check_in, during.counted, during.reached) == (True, 1, False)


def test_quorum_impossible_when_too_many_are_on_leave() -> None:
    members = [_member(i) for i in (1, 2, 3, 4)]
    answers = {i: _said(i, "leave_approved") for i in (1, 2)}
    q = quorum(members, answers, starts_at=START, now=NOW)
    assert q.impossible and not q.reached


# ----------------------------------------------------------------------- the use cases


def _full_and_probationary(db: Database, ids: dict[str, int]) -> None:
    with db.transaction() as s:
        qian = s.get(Member, ids["Member Qian"])
        assert qian is not None
        qian.status = MemberStatus.PROBATIONARY.value
        s.add(qian)


def test_roster_lists_states_reasons_and_quorum_by_group(db: Database) -> None:
    ids = branch(db)
    _full_and_probationary(db, ids)
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    assert meeting.id is not None
    answer(db, meeting.id, ids["Member Li"], "attending")
    answer(db, meeting.id, ids["Member Zhao"], "leave_requested", reason="出差")
    view = roster(db, branch_id=ids["branch"], event=EventRef(occurrence_id=meeting.id), now=NOW)
    assert [(line.group, line.name) for line in view.lines][:2] == [
        ("Group 1", "Leader Zhou"),
        ("Group 1", "Member Li"),
    ]
    by_name = {line.name: line for line in view.lines}
    assert len(by_name) == 7 and by_name["Member Zhao"].leave_reason == "出差"
    assert by_name["Member Wu"].state == "not_reachable" and not by_name["Member Qian"].full
    assert view.quorum is not None
    assert (view.quorum.entitled, view.quorum.needed, view.quorum.counted) == (6, 4, 1)


def test_roster_of_another_branch_is_refused(db: Database) -> None:
    ids = branch(db)
    other = branch(db, name="二支部", members=[("Other", 7001, "secretary", "X")])
    theirs = occ(db, other["branch"], "general_meeting", "2026-03-13")
    with pytest.raises(AttendanceError) as error:
        roster(db, branch_id=ids["branch"], event=EventRef(occurrence_id=theirs.id), now=NOW)
    assert error.value.code == "unknown_event"
    with pytest.raises(AttendanceError):
        mark(
            db,
            branch_id=ids["branch"],
            actor_id=None,
            occurrence_id=theirs.id or 0,
            member_id=other["Other"],
            code=1,
            now=START,
        )
    with db.read() as s:
        assert s.exec(select(Attendance)).all() == []


def test_hand_marks_are_audited_with_who_what_and_when(db: Database) -> None:
    ids = branch(db)
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    assert meeting.id is not None
    answer(db, meeting.id, ids["Member Li"], "attending")
    at = START + dt.timedelta(minutes=5)
    view, changed = mark(
        db,
        branch_id=ids["branch"],
        actor_id=ids["Secretary Wang"],
        occurrence_id=meeting.id,
        member_id=ids["Member Li"],
        code=1,
        now=at,
    )
    assert changed and {x.name: x.state for x in view.lines}["Member Li"] == "present"
    _, again = mark(
        db,
        branch_id=ids["branch"],
        actor_id=ids["Secretary Wang"],
        occurrence_id=meeting.id,
        member_id=ids["Member Li"],
        code=1,
        now=at,
    )
    assert not again
    mark(
        db,
        branch_id=ids["branch"],
        actor_id=ids["Secretary Wang"],
        occurrence_id=meeting.id,
        member_id=ids["Member Zhao"],
        code=3,
        now=at,
    )
    entries = audits(db, "attendance.mark")
    assert entries == [
        {
            "occurrence": meeting.id,
            "member": ids["Member Li"],
            "from": "attending",
            "to": "present",
            "actor": ids["Secretary Wang"],
        },
        {
            "occurrence": meeting.id,
            "member": ids["Member Zhao"],
            "from": None,
            "to": "absent",
            "actor": ids["Secretary Wang"],
        },
    ]
    with db.read() as s:
        row = s.exec(select(Attendance).where(Attendance.member_id == ids["Member Zhao"])).one()
    assert (row.decided_by, row.updated_at) == (ids["Secretary Wang"], at)


@pytest.mark.parametrize(
    ("who", "code", "now", "error"),
    [
        ("Member Li", 1, NOW, "not_yet"),  # present 11 days early
        ("Leader Zhou", 1, START, "not_audience"),  # committee meeting: not his
    ],
)
def test_bad_marks_change_nothing(
    db: Database, who: str, code: int, now: dt.datetime, error: str
) -> None:
    ids = branch(db)
    event = "general_meeting" if error == "not_yet" else "committee_meeting"
    key = "2026-03-13" if error == "not_yet" else "2026-03-03"
    meeting = occ(db, ids["branch"], event, key)
    with pytest.raises(AttendanceError) as raised:
        mark(
            db,
            branch_id=ids["branch"],
            actor_id=None,
            occurrence_id=meeting.id or 0,
            member_id=ids[who],
            code=code,
            now=now,
        )
    assert raised.value.code == error
    assert audits(db, "attendance.mark") == []


def test_leave_may_be_marked_before_the_meeting(db: Database) -> None:
    ids = branch(db)
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    _, changed = mark(
        db,
        branch_id=ids["branch"],
        actor_id=None,
        occurrence_id=meeting.id or 0,
        member_id=ids["Member Li"],
        code=2,
        now=NOW,
    )
    assert changed


def test_picker_offers_recent_and_upcoming_meetings_only(db: Database) -> None:
    ids = branch(db)
    events = list_events(db, branch_id=ids["branch"], now=NOW)
    titles = {e.title.en for e in events}
    assert "General members' meeting" in titles and "Membership dues day" not in titles
    assert len(events) <= 10 and events == sorted(events, key=lambda e: e.starts_at)
    assert any(e.starts_at < NOW for e in events) and any(e.starts_at > NOW for e in events)


def test_quorum_warning_three_days_before_when_answers_fall_short(db: Database) -> None:
    ids = branch(db)
    meeting = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    assert meeting.id is not None
    assert quorum_warnings_at(db, ids["branch"], START - dt.timedelta(days=4)) == []
    [warning] = quorum_warnings_at(db, ids["branch"], START - dt.timedelta(days=2))
    assert warning.occurrence_id == meeting.id and warning.quorum.needed == 4
    for name in ("Secretary Wang", "Committee Sun", "Leader Zhou", "Member Li"):
        answer(db, meeting.id, ids[name], "attending")
    assert quorum_warnings_at(db, ids["branch"], START - dt.timedelta(days=2)) == []


def quorum_warnings_at(db: Database, branch_id: int, now: dt.datetime) -> list:  # type: ignore[type-arg]
    with db.read() as s:
        return quorum_warnings(s, branch_id, now)


# -------------------------------------------------------------------- through the bot (tier 3)


async def test_attendance_without_argument_offers_buttons(harness: Harness) -> None:
    branch(harness.db)
    await harness.feed(updates.command("attendance", user_id=COMMITTEE))
    sent = harness.api.sent("sendMessage")[-1]
    data = [b["callback_data"] for row in sent["reply_markup"]["inline_keyboard"] for b in row]
    assert data and all(d.startswith("ev1:") for d in data)


def _keyboard(message: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    markup = message.get("reply_markup") or {"inline_keyboard": []}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


async def test_pick_a_meeting_then_mark_a_member_by_hand(
    harness: Harness, clock: FrozenClock
) -> None:
    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    clock.current = START + dt.timedelta(minutes=10)
    await harness.feed(updates.command("attendance", user_id=SECRETARY))
    picker = harness.api.last_message(SECRETARY)
    assert picker is not None and (f"ev1:{meeting.id}" in dict(_keyboard(picker)).values())
    tap = {"user_id": SECRETARY, "message_id": picker["message_id"]}
    await harness.feed(updates.callback_query(f"ev1:{meeting.id}", **tap))
    shown = harness.api.last_message(SECRETARY)
    assert (
        shown is not None and "Quorum: 4 of 7 full members needed; 0 checked in." in shown["text"]
    )
    li = f"mk1:{meeting.id}:{ids['Member Li']}:4"
    assert li in dict(_keyboard(shown)).values()
    await harness.feed(updates.callback_query(li, **tap))
    panel = harness.api.last_message(SECRETARY)
    assert panel is not None and "Mark Member Li as:" in panel["text"]
    await harness.feed(updates.callback_query(f"mk1:{meeting.id}:{ids['Member Li']}:1", **tap))
    assert harness.answers()[-1].get("text") == "Marked."
    after = harness.api.last_message(SECRETARY)
    assert after is not None and "✅ Member Li — present" in after["text"]
    with harness.db.read() as s:
        row = s.exec(select(Attendance).where(Attendance.member_id == ids["Member Li"])).one()
    assert (row.state, row.decided_by) == ("present", ids["Secretary Wang"])
    assert audits(harness.db, "attendance.mark")[0]["to"] == "present"


async def test_attendance_on_another_branchs_event_is_refused(harness: Harness) -> None:
    branch(harness.db)
    other = branch(harness.db, name="二支部", members=[("Other", 7001, "secretary", "X")])
    theirs = occ(harness.db, other["branch"], "general_meeting", "2026-03-13")
    await harness.feed(updates.command("attendance", f"#{theirs.id}", user_id=SECRETARY))
    assert "no such event in your branch" in harness.last_reply(SECRETARY)
    await harness.feed(
        updates.callback_query(f"mk1:{theirs.id}:{other['Other']}:1", user_id=SECRETARY)
    )
    assert "no such event in your branch" in harness.answers()[-1]["text"]
    with harness.db.read() as s:
        assert s.exec(select(Attendance)).all() == []


async def test_members_cannot_see_or_mark_attendance(harness: Harness) -> None:
    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    await harness.feed(updates.command("attendance", user_id=LI))
    assert "not available to your role" in harness.last_reply(LI)
    await harness.feed(
        updates.callback_query(f"mk1:{meeting.id}:{ids['Member Li']}:1", user_id=LI)
    )
    assert "not available to your role" in harness.answers()[-1]["text"]
    with harness.db.read() as s:
        assert s.exec(select(Attendance)).all() == []


async def test_long_rosters_page_with_buttons(harness: Harness) -> None:
    many = [("Secretary Wang", SECRETARY, "secretary", "Group 1")] + [
        (f"Member {i:02d}", 2000 + i, "member", "Group 1") for i in range(30)
    ]
    ids = branch(harness.db, members=many)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    await harness.feed(
        updates.command("attendance", "general_meeting@2026-03-13", user_id=SECRETARY)
    )
    first = harness.api.last_message(SECRETARY)
    assert first is not None and "Page 1 of 3" in first["text"]
    forward = dict(_keyboard(first))["▶"]
    assert forward == f"mk1:{meeting.id}:{ids['Member 12']}:0"  # Member 00..11 on page 1
    await harness.feed(
        updates.callback_query(forward, user_id=SECRETARY, message_id=first["message_id"])
    )
    second = harness.api.last_message(SECRETARY)
    assert second is not None and "Page 2 of 3" in second["text"] and "Member 12" in second["text"]


async def test_digest_goes_to_the_asker_only_with_the_quorum_warning(
    harness: Harness, clock: FrozenClock
) -> None:
    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    assert meeting.id is not None
    answer(harness.db, meeting.id, ids["Member Li"], "attending")
    clock.current = START - dt.timedelta(days=2)
    await harness.feed(updates.command("digest", user_id=SECRETARY))
    text = "\n".join(harness.replies_to(SECRETARY))
    assert "Weekly digest" in text
    warning = (
        f"Quorum at risk: General members' meeting on Fri, Mar 13, 2026 15:00 (#{meeting.id})"
    )
    assert warning in text and "Quorum: 4 of 7 full members needed; 1 said" in text
    chats = {m["chat_id"] for m in harness.api.sent("sendMessage")}
    assert chats == {SECRETARY}
    with harness.db.read() as s:
        assert s.exec(select(Delivery)).all() == []  # nothing queued for anyone else


async def test_digest_is_for_the_secretary(harness: Harness) -> None:
    branch(harness.db)
    await harness.feed(updates.command("digest", user_id=LI))
    assert "not available to your role" in harness.last_reply(LI)


async def test_absent_member_can_be_marked_as_made_up_from_the_roster(
    harness: Harness, clock: FrozenClock
) -> None:
    """补课: the roster's panel of an absent member leads to the make-up note."""
    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    clock.current = START + dt.timedelta(days=1)  # the meeting is over: Li is absent
    await harness.feed(updates.command("attendance", f"#{meeting.id}", user_id=SECRETARY))
    shown = harness.api.last_message(SECRETARY)
    assert shown is not None
    tap = {"user_id": SECRETARY, "message_id": shown["message_id"]}
    await harness.feed(updates.callback_query(f"mk1:{meeting.id}:{ids['Member Li']}:4", **tap))
    panel = harness.api.last_message(SECRETARY)
    assert panel is not None
    make_up = f"mu1:{meeting.id}:{ids['Member Li']}"
    assert make_up in dict(_keyboard(panel)).values()
    await harness.feed(updates.callback_query(make_up, **tap))
    await harness.feed(
        updates.message("Studied the minutes with the group leader", user_id=SECRETARY)
    )
    with harness.db.read() as s:
        row = s.exec(select(Attendance).where(Attendance.member_id == ids["Member Li"])).one()
    assert row.made_up_at is not None
    assert row.made_up_note == "Studied the minutes with the group leader"


async def test_present_member_has_no_make_up_button(harness: Harness, clock: FrozenClock) -> None:
    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    answer(harness.db, meeting.id, ids["Member Li"], "present", checked_in_at=START)
    clock.current = START + dt.timedelta(days=1)
    await harness.feed(updates.command("attendance", f"#{meeting.id}", user_id=SECRETARY))
    shown = harness.api.last_message(SECRETARY)
    assert shown is not None
    tap = {"user_id": SECRETARY, "message_id": shown["message_id"]}
    await harness.feed(updates.callback_query(f"mk1:{meeting.id}:{ids['Member Li']}:4", **tap))
    panel = harness.api.last_message(SECRETARY)
    assert panel is not None
    assert not any(data.startswith("mu1:") for _, data in _keyboard(panel))
