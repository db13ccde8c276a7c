"""Who records a meeting (scheduler.minutes): pure rules over a plan item and the people."""

from __future__ import annotations

import dataclasses
import datetime as dt

from scheduler.minutes import Person, ask_key, may_record, responsible, scopes
from scheduler.plan import default_plan

PLAN = default_plan()
GENERAL = PLAN.item("general_meeting")
GROUP = PLAN.item("group_meeting")
WANG = Person(1, "Wang", "secretary", 10)
ZHAO = Person(2, "Zhao", "committee", 10)
CHEN = Person(3, "Chen", "group_leader", 10)
QIAN = Person(4, "Qian", "group_leader", 20)
LI = Person(5, "Li", "member", 10)
WU = Person(6, "Wu", "member", 30)
EVERYONE = [WANG, ZHAO, CHEN, QIAN, LI, WU]


def test_defaults_secretary_for_branch_meetings_leaders_for_group_meetings() -> None:
    assert GENERAL.recorder == "secretary" and GROUP.recorder == "group_leader"
    assert responsible(GENERAL, 0, EVERYONE) == [WANG]
    assert responsible(GROUP, 10, EVERYONE) == [CHEN]
    assert responsible(GROUP, 20, EVERYONE) == [QIAN]
    assert responsible(GROUP, 30, EVERYONE) == [WANG]  # a group without a leader
    assert scopes(GROUP, [10, 20, 30]) == [10, 20, 30] and scopes(GENERAL, [10, 20]) == [0]


def test_committee_recorder_and_no_secretary() -> None:
    by_committee = dataclasses.replace(GENERAL, recorded_by="committee")
    assert responsible(by_committee, 0, EVERYONE) == [WANG, ZHAO]
    assert responsible(GENERAL, 0, [ZHAO, LI]) == [ZHAO]  # no secretary: the committee
    by_secretary = dataclasses.replace(GROUP, recorded_by="secretary")
    assert responsible(by_secretary, 10, EVERYONE) == [WANG]


def test_who_may_record() -> None:
    assert may_record(GENERAL, 0, WANG) and may_record(GENERAL, 0, ZHAO)
    assert not may_record(GENERAL, 0, CHEN) and not may_record(GENERAL, 0, LI)
    assert may_record(GROUP, 10, CHEN) and not may_record(GROUP, 20, CHEN)
    assert may_record(GROUP, 20, WANG) and not may_record(GROUP, 10, LI)


def test_ask_keys_carry_the_instant_so_a_moved_meeting_is_asked_again() -> None:
    at = dt.datetime(2026, 3, 13, 9, 0, tzinfo=dt.UTC)
    later = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)
    assert ask_key(7, 0, "ask", at, 1) == "m:7:0:ask@202603130900:m1"
    assert ask_key(7, 0, "ask", later, 1) != ask_key(7, 0, "ask", at, 1)
