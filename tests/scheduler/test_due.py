"""Tier 1: the due rules (scheduler.due) as pure functions of plan, members, answers and now."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from scheduler.due import (
    Acted,
    BranchFacts,
    MemberFacts,
    OccurrenceFacts,
    PlannedReminder,
    digest_instants,
    digest_key,
    digest_week,
    due_reminders,
    planned_digests,
    planned_reminders,
    reminder_slots,
)
from scheduler.plan import default_plan, parse_plan
from scheduler.recurrence import occurrences, to_local, zone
from storage.models import AttendanceState, OccurrenceStatus

UTC = dt.UTC
ONE_MEETING = """
version = 1
name = { zh_CN = "测试", en = "Test" }
[[items]]
id = "meet"
kind = "meeting"
audience = "all"
title = { zh_CN = "党员大会", en = "General meeting" }
rhythm = { every = "month", day = 5 }
time = "15:00"
duration_minutes = 60
"""


def facts_for(
    plan_text: str | None, year: int, tz: str, branch_id: int = 1
) -> list[OccurrenceFacts]:
    plan = parse_plan(plan_text) if plan_text else default_plan()
    ids = itertools.count(1)
    return [
        OccurrenceFacts(next(ids), branch_id, o.item_id, o.key, o.starts_at)
        for o in occurrences(plan, year, zone(tz))
    ]


def member(mid: int, role: str = "member", group: int | None = 10, **kw: object) -> MemberFacts:
    return MemberFacts(
        id=mid, branch_id=1, telegram_id=1000 + mid, role=role, group_id=group, **kw
    )  # type: ignore[arg-type]


BRANCH = BranchFacts(id=1, timezone="Asia/Shanghai")


def meeting_slots(tz: str = "Asia/Shanghai", day: str = "2026-03-05") -> list:
    plan = parse_plan(ONE_MEETING)
    occ = next(o for o in facts_for(ONE_MEETING, 2026, tz) if o.key == day)
    return reminder_slots(BranchFacts(1, tz), plan, [occ])


# ----------------------------------------------------------------- time and zones


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/Berlin", "America/New_York"])
def test_default_plan_reminders_fall_at_their_local_times_all_year(tz: str) -> None:
    plan = default_plan()
    occs = facts_for(None, 2026, tz)
    slots = reminder_slots(BranchFacts(1, tz), plan, occs)
    # every occurrence of the year has all of its item's reminders
    assert len(slots) == sum(len(plan.item(o.item_id).reminders) for o in occs) == 142
    for slot in slots:
        local = to_local(slot.at, zone(tz))
        assert local.time() == slot.rule.at, (slot.item.id, local)
        planned_day = dt.date.fromisoformat(slot.occurrence.key)
        assert local.date() == planned_day + dt.timedelta(days=slot.rule.offset_days)


@pytest.mark.parametrize(
    ("day", "offset_hours"),
    [
        ("2026-03-28", 1),  # Saturday before spring-forward (CET)
        ("2026-03-29", 2),  # the switch day itself: 09:00 is CEST already
        ("2026-03-30", 2),
        ("2026-10-24", 2),
        ("2026-10-25", 1),  # fall-back day: 09:00 is CET again
        ("2026-10-26", 1),
    ],
)
def test_berlin_0900_reminders_stay_at_0900_across_both_dst_switches(
    day: str, offset_hours: int
) -> None:
    """Europe/Berlin: a 09:00 reminder is 09:00 local, on both sides of both transitions."""
    plan_text = ONE_MEETING.replace('rhythm = { every = "month", day = 5 }',
                                    f'rhythm = {{ every = "once", date = "{day}" }}').replace(
        'duration_minutes = 60', 'duration_minutes = 60\nreminders = [{ days_before = 0, at = "09:00" }]'
    )  # fmt: skip
    plan = parse_plan(plan_text)
    [occ] = facts_for(plan_text, 2026, "Europe/Berlin")
    [slot] = reminder_slots(BranchFacts(1, "Europe/Berlin"), plan, [occ])
    local = to_local(slot.at, zone("Europe/Berlin"))
    assert (local.hour, local.minute) == (9, 0)
    assert local.utcoffset() == dt.timedelta(hours=offset_hours)
    assert slot.at.hour == 9 - offset_hours


def test_shanghai_reminders_never_use_the_lmt_offset() -> None:
    """Asia/Shanghai is +08:00 all year; pytz's LMT (+08:06) must never leak in."""
    slots = reminder_slots(BRANCH, default_plan(), facts_for(None, 2026, "Asia/Shanghai"))
    for slot in slots:
        assert to_local(slot.at, zone("Asia/Shanghai")).utcoffset() == dt.timedelta(hours=8)
        assert slot.at.minute == 0 and slot.at.second == 0  # 09:00 local is 01:00Z, not 00:54Z


def test_digest_is_monday_0800_local_in_each_zone() -> None:
    start = dt.datetime(2026, 3, 1, tzinfo=UTC)
    for tz in ("Asia/Shanghai", "Europe/Berlin", "America/New_York"):
        for at in digest_instants(tz, start, start + dt.timedelta(days=60)):
            local = to_local(at, zone(tz))
            assert (local.weekday(), local.hour, local.minute) == (0, 8, 0)


# ----------------------------------------------------------------- due, catch-up, expiry


def test_reminder_is_due_at_its_instant_not_before() -> None:
    slots = meeting_slots()
    planned = planned_reminders(BRANCH, slots, [member(1)], Acted())
    first = planned[0]
    send, skip = due_reminders(planned, set(), first.at - dt.timedelta(seconds=1))
    assert send == [] and skip == []
    send, skip = due_reminders(planned, set(), first.at)
    assert send == [first] and skip == []


def test_reminder_already_in_the_ledger_is_not_due_again() -> None:
    planned = planned_reminders(BRANCH, meeting_slots(), [member(1)], Acted())
    now = planned[0].at
    assert due_reminders(planned, {planned[0].key}, now) == ([], [])


def test_meeting_reminder_caught_up_after_downtime_until_the_meeting_starts() -> None:
    slots = meeting_slots()
    planned = planned_reminders(BRANCH, slots, [member(1)], Acted())
    three_days_before, on_the_day = planned[0], planned[1]
    start = slots[0].occurrence.starts_at
    send, skip = due_reminders(planned, set(), start - dt.timedelta(days=1))
    assert three_days_before in send and skip == []
    # down across both reminders: the latest goes out once, the earlier is superseded
    send, skip = due_reminders(planned, set(), start - dt.timedelta(hours=2))
    assert send == [on_the_day]
    assert [s.key for s in skip] == [three_days_before.key]
    assert skip[0].payload == {"superseded_by": on_the_day.key}


def test_meeting_reminder_is_skipped_once_the_meeting_has_started() -> None:
    slots = meeting_slots()
    planned = planned_reminders(BRANCH, slots, [member(1)], Acted())
    start = slots[0].occurrence.starts_at
    send, skip = due_reminders(planned, set(), start)
    assert send == [] and {p.key for p in skip} == {p.key for p in planned}


def test_dues_reminder_lives_until_the_end_of_the_local_deadline_day() -> None:
    plan = default_plan()
    occ = next(o for o in facts_for(None, 2026, "Asia/Shanghai") if o.item_id == "dues")
    slots = reminder_slots(BRANCH, plan, [occ])
    on_the_day, follow_up = slots
    tz = zone("Asia/Shanghai")
    assert to_local(on_the_day.expires_at, tz) == to_local(on_the_day.at, tz).replace(
        hour=0, minute=0
    ) + dt.timedelta(days=1)
    # the follow-up (3 days later) lives to the end of its own day
    assert to_local(follow_up.expires_at, tz).date() == to_local(
        follow_up.at, tz
    ).date() + dt.timedelta(days=1)


def test_cancelled_occurrence_has_no_reminders() -> None:
    plan = parse_plan(ONE_MEETING)
    [occ] = [o for o in facts_for(ONE_MEETING, 2026, "Asia/Shanghai") if o.key == "2026-03-05"]
    cancelled = OccurrenceFacts(
        occ.id, 1, occ.item_id, occ.key, occ.starts_at, OccurrenceStatus.CANCELLED.value
    )
    assert reminder_slots(BRANCH, plan, [cancelled]) == []


def test_moved_occurrence_reminders_follow_its_new_start() -> None:
    plan = parse_plan(ONE_MEETING)
    [occ] = [o for o in facts_for(ONE_MEETING, 2026, "Asia/Shanghai") if o.key == "2026-03-05"]
    moved = OccurrenceFacts(occ.id, 1, occ.item_id, occ.key, occ.starts_at + dt.timedelta(days=7))
    before, on_day = reminder_slots(BRANCH, plan, [moved])
    tz = zone("Asia/Shanghai")
    assert to_local(before.at, tz).date() == dt.date(2026, 3, 9)
    assert to_local(on_day.at, tz).date() == dt.date(2026, 3, 12)
    assert before.expires_at == moved.starts_at
    # same keys as before the move: who was reminded stays reminded (and gets a change notice)
    planned = planned_reminders(BRANCH, [before], [member(1)], Acted())
    assert planned[0].key == f"r:{occ.id}:0:m1"


# ----------------------------------------------------------------- recipients


def test_unlinked_inactive_and_unreachable_members_get_no_direct_message() -> None:
    members = [
        member(1),
        MemberFacts(2, 1, None, "member", 10),
        member(3, reachable=False),
        member(4, active=False),
    ]
    planned = planned_reminders(BRANCH, meeting_slots()[:1], members, Acted())
    assert [p.member_id for p in planned] == [1]


def test_committee_meeting_reaches_committee_and_secretary_only() -> None:
    text = ONE_MEETING.replace('audience = "all"', 'audience = "committee"')
    plan = parse_plan(text)
    occ = facts_for(text, 2026, "Asia/Shanghai")[0]
    slots = reminder_slots(BRANCH, plan, [occ])[:1]
    members = [
        member(1),
        member(2, "committee"),
        member(3, "secretary"),
        member(4, "group_leader"),
    ]
    assert sorted(p.member_id for p in planned_reminders(BRANCH, slots, members, Acted())) == [
        2,
        3,
    ]


def test_group_mode_sends_one_group_message_and_no_direct_messages() -> None:
    branch = BranchFacts(1, "Asia/Shanghai", delivery_mode="group", group_chat_id=-100)
    planned = planned_reminders(branch, meeting_slots()[:1], [member(1), member(2)], Acted())
    assert [(p.key.split(":")[-1], p.chat_id) for p in planned] == [("g", -100)]


def test_both_mode_sends_group_message_and_direct_messages() -> None:
    branch = BranchFacts(1, "Asia/Shanghai", delivery_mode="both", group_chat_id=-100)
    planned = planned_reminders(branch, meeting_slots()[:1], [member(1), member(2)], Acted())
    assert sorted(p.chat_id for p in planned) == [-100, 1001, 1002]


def test_group_mode_without_a_bound_chat_falls_back_to_direct_messages() -> None:
    branch = BranchFacts(1, "Asia/Shanghai", delivery_mode="group", group_chat_id=None)
    planned = planned_reminders(branch, meeting_slots()[:1], [member(1)], Acted())
    assert [p.chat_id for p in planned] == [1001]


def test_restricted_audience_never_goes_to_the_branch_group_chat() -> None:
    text = ONE_MEETING.replace('audience = "all"', 'audience = "committee"')
    plan = parse_plan(text)
    slots = reminder_slots(BRANCH, plan, facts_for(text, 2026, "Asia/Shanghai")[:1])[:1]
    branch = BranchFacts(1, "Asia/Shanghai", delivery_mode="group", group_chat_id=-100)
    planned = planned_reminders(branch, slots, [member(1), member(2, "committee")], Acted())
    assert [p.chat_id for p in planned] == [1002]


# ----------------------------------------------------------------- only_pending


def _dues_slots() -> tuple[list, OccurrenceFacts]:
    occ = next(o for o in facts_for(None, 2026, "Asia/Shanghai") if o.item_id == "dues")
    return reminder_slots(BRANCH, default_plan(), [occ]), occ


def test_dues_day_reminder_goes_to_everyone_and_follow_up_only_to_the_unpaid() -> None:
    (on_day, follow_up), occ = _dues_slots()
    day = occ.planned_day
    acted = Acted(paid={(1, day.year, day.month)})
    members = [member(1), member(2)]
    assert [p.member_id for p in planned_reminders(BRANCH, [on_day], members, acted)] == [1, 2]
    assert [p.member_id for p in planned_reminders(BRANCH, [follow_up], members, acted)] == [2]


def test_payment_for_another_month_does_not_count() -> None:
    (_on_day, follow_up), occ = _dues_slots()
    acted = Acted(paid={(1, occ.planned_day.year, occ.planned_day.month - 1 or 12)})
    assert [p.member_id for p in planned_reminders(BRANCH, [follow_up], [member(1)], acted)] == [1]


def test_talk_record_reminders_go_to_leaders_whose_group_has_not_handed_in() -> None:
    occ = next(o for o in facts_for(None, 2026, "Asia/Shanghai") if o.item_id == "talk_records")
    slots = reminder_slots(BRANCH, default_plan(), [occ])
    leaders = [
        member(1, "group_leader", 10),
        member(2, "group_leader", 20),
        member(3, "member", 20),
    ]
    year, quarter = occ.planned_day.year, (occ.planned_day.month - 1) // 3 + 1
    acted = Acted(talks={(10, year, quarter)})
    for slot in slots:
        assert [p.member_id for p in planned_reminders(BRANCH, [slot], leaders, acted)] == [2]


def test_members_on_approved_leave_get_no_more_reminders_for_that_meeting() -> None:
    slots = meeting_slots()
    occ_id = slots[0].occurrence.id
    acted = Acted(answers={(occ_id, 1): AttendanceState.LEAVE_APPROVED.value,
                           (occ_id, 2): AttendanceState.LEAVE_REQUESTED.value})  # fmt: skip
    planned = planned_reminders(BRANCH, slots, [member(1), member(2)], acted)
    assert {p.member_id for p in planned} == {2}


# ----------------------------------------------------------------- digest


def test_digest_goes_to_secretary_and_committee_once_per_iso_week() -> None:
    monday_late = dt.datetime(2026, 3, 4, 3, 0, tzinfo=UTC)  # Wednesday: the digest is late
    week, at = digest_week(monday_late, "Asia/Shanghai")
    assert week == (2026, 10) and at == dt.datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    members = [member(1), member(2, "committee"), member(3, "secretary")]
    planned = planned_digests(BRANCH, members, at)
    assert [p.member_id for p in planned] == [2, 3]
    assert planned[0].key == digest_key(1, (2026, 10), 2) == "d:1:2026-W10:m2"
    send, skip = due_reminders(planned, set(), monday_late)
    assert len(send) == 2 and skip == []  # late, but never skipped
    assert due_reminders(planned, {p.key for p in planned}, monday_late) == ([], [])


def test_digest_week_before_monday_0800_is_not_due_yet() -> None:
    sunday_night = dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # Monday 07:00 in Shanghai
    _week, at = digest_week(sunday_night, "Asia/Shanghai")
    assert at > sunday_night


def test_planned_reminder_knows_when_it_is_stale() -> None:
    at = dt.datetime(2026, 1, 1, tzinfo=UTC)
    p = PlannedReminder("k", "remind", 1, 5, at, expires_at=at + dt.timedelta(hours=1))
    assert not p.is_stale(at) and p.is_stale(at + dt.timedelta(hours=1))
