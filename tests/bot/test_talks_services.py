"""Talk records: the steps, amending, late submissions, who may hand in, yearly counts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from bot.services import talks
from bot.services.events import Refusal
from bot.services.talks import Quarter, parse_quarter, quarter_of
from storage.db import Database
from storage.models import Conversation, TalkParticipant, TalkRecord
from tests.bot.answers_fixtures import World, count, seed

NOW = dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC)
LEADER = 2001


@pytest.mark.parametrize(
    ("text", "quarter"),
    [("2026Q1", Quarter(2026, 1)), ("2026-q4", Quarter(2026, 4)), (" 2025 Q2 ", Quarter(2025, 2))],
)
def test_parse_quarter(text: str, quarter: Quarter) -> None:
    assert parse_quarter(text) == quarter


@pytest.mark.parametrize("text", ["2026Q5", "Q1", "2026", "26Q1", "2026Q1x"])
def test_parse_quarter_refuses_other_text(text: str) -> None:
    assert parse_quarter(text) is None


def test_quarter_boundaries() -> None:
    assert quarter_of(dt.date(2026, 3, 31)) == Quarter(2026, 1)
    assert quarter_of(dt.date(2026, 4, 1)) == Quarter(2026, 2)
    assert Quarter(2026, 4).next_first_day == dt.date(2027, 1, 1)


def _hand_in(
    db: Database,
    w: World,
    *,
    now: dt.datetime = NOW,
    quarter: Quarter | None = None,
    people: tuple[str, ...] = ("Member Li",),
    file_id: str | None = "photo-1",
) -> talks.TalksState:
    leader = w.ids["Leader Chen"]
    state = talks.start(db, member_id=leader, telegram_id=LEADER, quarter=quarter, now=now)
    assert state.refusal is None and state.step == talks.COUNT
    state = talks.answer_count(db, member_id=leader, telegram_id=LEADER, text="3", now=now)
    assert state.step == talks.PEOPLE
    for name in people:
        state = talks.toggle(
            db, member_id=leader, telegram_id=LEADER, participant_id=w.ids[name], now=now
        )
    state = talks.people_done(db, member_id=leader, telegram_id=LEADER, now=now)
    assert state.step == talks.SUMMARY
    state = talks.answer_summary(
        db, member_id=leader, telegram_id=LEADER, text="talked about study", now=now
    )
    assert state.step == talks.FILE
    return talks.attach(db, member_id=leader, telegram_id=LEADER, file_id=file_id, now=now)


def test_handing_in_walks_through_the_steps_and_saves_one_record(db: Database) -> None:
    w = seed(db)
    done = _hand_in(db, w, people=("Member Li", "Committee Zhao"))
    assert done.saved is not None and not done.saved.late and not done.saved.amended
    with db.read() as s:
        record = s.exec(select(TalkRecord)).one()
        people = {p.member_id for p in s.exec(select(TalkParticipant)).all()}
    assert (record.year, record.quarter, record.talks) == (2026, 1, 3)
    assert (record.summary, record.file_id) == ("talked about study", "photo-1")
    assert people == {w.ids["Member Li"], w.ids["Committee Zhao"]}
    assert count(db, Conversation) == 0


def test_toggling_twice_removes_a_participant(db: Database) -> None:
    w = seed(db)
    done = _hand_in(db, w, people=("Member Li", "Committee Zhao", "Member Li"))
    assert done.saved is not None and done.saved.participants == 1


def test_handing_in_again_amends_the_record(db: Database) -> None:
    w = seed(db)
    _hand_in(db, w, people=("Member Li",))
    again = _hand_in(db, w, people=("Committee Zhao",), file_id=None)
    assert again.saved is not None and again.saved.amended and not again.saved.late
    with db.read() as s:
        people = {p.member_id for p in s.exec(select(TalkParticipant)).all()}
        record = s.exec(select(TalkRecord)).one()
    assert count(db, TalkRecord) == 1
    # the amendment started from Member Li (chosen before) and added Committee Zhao;
    # skipping the form kept the one handed in before
    assert people == {w.ids["Member Li"], w.ids["Committee Zhao"]}
    assert record.file_id == "photo-1"


def test_a_past_quarter_is_accepted_and_marked_late(db: Database) -> None:
    w = seed(db)
    after = dt.datetime(2026, 4, 2, 2, 0, tzinfo=dt.UTC)
    done = _hand_in(db, w, now=after, quarter=Quarter(2026, 1))
    assert done.saved is not None and done.saved.late


def test_last_evening_of_the_quarter_in_local_time_is_on_time(db: Database) -> None:
    """2026-03-31 23:30 in Shanghai is 15:30 UTC: still Q1, so on time."""
    w = seed(db)
    evening = dt.datetime(2026, 3, 31, 15, 30, tzinfo=dt.UTC)  # 23:30 Shanghai
    done = _hand_in(db, w, now=evening)
    assert done.saved is not None and not done.saved.late


def test_a_future_quarter_is_refused(db: Database) -> None:
    w = seed(db)
    state = talks.start(
        db, member_id=w.ids["Leader Chen"], telegram_id=LEADER, quarter=Quarter(2026, 2), now=NOW
    )
    assert state.refusal is Refusal.FUTURE
    assert count(db, Conversation) == 0


def test_only_group_leaders_hand_in(db: Database) -> None:
    w = seed(db)
    state = talks.start(db, member_id=w.ids["Member Li"], telegram_id=1001, quarter=None, now=NOW)
    assert state.refusal is Refusal.NOT_A_LEADER
    assert count(db, Conversation) == 0


def test_a_member_of_another_group_cannot_be_toggled(db: Database) -> None:
    w = seed(db)
    leader = w.ids["Leader Chen"]
    talks.start(db, member_id=leader, telegram_id=LEADER, quarter=None, now=NOW)
    talks.answer_count(db, member_id=leader, telegram_id=LEADER, text="1", now=NOW)
    state = talks.toggle(
        db, member_id=leader, telegram_id=LEADER, participant_id=w.ids["Member Sun"], now=NOW
    )
    assert state.refusal is Refusal.UNKNOWN and state.selected == frozenset()


@pytest.mark.parametrize("text", ["three", "-1", "1000", ""])
def test_a_count_that_is_not_a_number_is_asked_again(db: Database, text: str) -> None:
    w = seed(db)
    leader = w.ids["Leader Chen"]
    talks.start(db, member_id=leader, telegram_id=LEADER, quarter=None, now=NOW)
    state = talks.answer_count(db, member_id=leader, telegram_id=LEADER, text=text, now=NOW)
    assert state.refusal is Refusal.BAD_INPUT and state.step == talks.COUNT


def test_talks_again_mid_flow_resumes_the_same_step(db: Database) -> None:
    w = seed(db)
    leader = w.ids["Leader Chen"]
    talks.start(db, member_id=leader, telegram_id=LEADER, quarter=None, now=NOW)
    talks.answer_count(db, member_id=leader, telegram_id=LEADER, text="2", now=NOW)
    state = talks.start(db, member_id=leader, telegram_id=LEADER, quarter=None, now=NOW)
    assert state.resumed and state.step == talks.PEOPLE and state.count == 2


def test_a_step_answered_out_of_turn_changes_nothing(db: Database) -> None:
    w = seed(db)
    leader = w.ids["Leader Chen"]
    talks.start(db, member_id=leader, telegram_id=LEADER, quarter=None, now=NOW)
    state = talks.people_done(db, member_id=leader, telegram_id=LEADER, now=NOW)
    assert state.refusal is Refusal.ALREADY and state.step == talks.COUNT


def test_talks_per_member_counts_the_years_records(db: Database) -> None:
    w = seed(db)
    _hand_in(db, w, people=("Member Li", "Committee Zhao"))
    after = dt.datetime(2026, 4, 10, tzinfo=dt.UTC)
    _hand_in(db, w, now=after, people=("Member Li",))
    with db.read() as s:
        per_member = talks.talks_per_member(s, w.branch_id, 2026)
    assert per_member == {w.ids["Member Li"]: 2, w.ids["Committee Zhao"]: 1}


def test_the_reminder_button_starts_the_flow_for_its_quarter(db: Database) -> None:
    w = seed(db)
    state = talks.start_for_occurrence(
        db, member_id=w.ids["Leader Chen"], telegram_id=LEADER, occurrence_id=w.talks, now=NOW
    )
    assert state.refusal is None and state.quarter == Quarter(2026, 1)
    member = talks.start_for_occurrence(
        db, member_id=w.ids["Member Li"], telegram_id=1001, occurrence_id=w.talks, now=NOW
    )
    assert member.refusal is Refusal.NOT_AUDIENCE
