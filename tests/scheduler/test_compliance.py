"""Cycle compliance as pure functions: reschedules, cancellations, late starts, missing items."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from scheduler.compliance import (
    BASELINE_ITEMS,
    Cycle,
    Verdict,
    branch_compliance,
    cycle_of,
    period,
    record_deadline,
    tally,
)
from scheduler.plan import DEFAULT_PLAN_PATH, default_plan, parse_plan
from scheduler.recurrence import local_to_utc, occurrences, zone

TZ = zone("Asia/Shanghai")
PLAN = default_plan()
BASELINE = [PLAN.item(i) for i in BASELINE_ITEMS]


@dataclasses.dataclass
class Row:
    """An occurrence row as stored."""

    id: int
    item_id: str
    key: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str = "scheduled"


@dataclasses.dataclass
class Rec:
    """A meeting record as stored."""

    recorded_at: dt.datetime
    held: bool = True
    reason: str | None = None


def rows_of(plan, year: int) -> list[Row]:
    return [
        Row(n, o.item_id, o.key, o.starts_at, o.ends_at)
        for n, o in enumerate(occurrences(plan, year, TZ), start=1)
    ]


def at(day: str, clock: str = "12:00") -> dt.datetime:
    return local_to_utc(dt.date.fromisoformat(day), dt.time.fromisoformat(clock), TZ)


def run(rows, records, *, first, last, now, start="2020-01-01", groups=(), plan=PLAN):
    return branch_compliance(
        plan, rows, records, groups=list(groups), tz=TZ,
        first=dt.date.fromisoformat(first), last=dt.date.fromisoformat(last),
        start=dt.date.fromisoformat(start), now=now, baseline=BASELINE,
    )  # fmt: skip


def only(findings, item_id):
    return [f for f in findings if f.slot.item_id == item_id]


def test_cycles_and_periods() -> None:
    assert cycle_of("month", dt.date(2020, 2, 29)) == Cycle("month", 2020, 2)
    assert cycle_of("quarter", dt.date(2020, 8, 1)).label == "2020-Q3"
    assert cycle_of("once", dt.date(2024, 5, 1)).label == "2024"
    assert Cycle("month", 2024, 2).last == dt.date(2024, 2, 29)
    assert Cycle("quarter", 2023, 4).first == dt.date(2023, 10, 1)
    assert period("quarter", dt.date(2020, 5, 17)) == (dt.date(2020, 4, 1), dt.date(2020, 6, 30))
    assert period("year", dt.date(2020, 5, 17)) == (dt.date(2020, 1, 1), dt.date(2020, 12, 31))


def test_record_deadline_is_the_end_of_the_third_local_day_after_the_meeting() -> None:
    ends = at("2020-03-31", "23:30")
    assert record_deadline(ends, 3, TZ) == at("2020-04-04", "00:00")
    # Across a DST change the deadline is still local midnight.
    ny = zone("America/New_York")
    ends = local_to_utc(dt.date(2021, 3, 12), dt.time(17, 0), ny)
    deadline = record_deadline(ends, 3, ny)
    assert deadline == local_to_utc(dt.date(2021, 3, 16), dt.time(0, 0), ny)


def test_a_committee_meeting_recorded_in_time_is_on_time_and_one_never_recorded_is_not() -> None:
    rows = rows_of(PLAN, 2020)
    jan = next(r for r in rows if r.item_id == "committee_meeting" and r.key.startswith("2020-01"))
    feb = next(r for r in rows if r.item_id == "committee_meeting" and r.key.startswith("2020-02"))
    records = {(jan.id, 0): Rec(jan.ends_at + dt.timedelta(days=1))}
    found = run(rows, records, first="2020-01-01", last="2020-02-29", now=at("2020-03-01"))
    verdicts = [f.verdict for f in only(found, "committee_meeting")]
    assert verdicts == [Verdict.ON_TIME, Verdict.NOT_RECORDED]
    # Seen the day after February's meeting, it is still awaiting its record.
    found = run(rows, records, first="2020-02-01", last="2020-02-29",
                now=feb.ends_at + dt.timedelta(days=1))  # fmt: skip
    assert [f.verdict for f in only(found, "committee_meeting")] == [Verdict.AWAITING_RECORD]


def test_a_record_after_the_deadline_is_late() -> None:
    rows = rows_of(PLAN, 2020)
    jan = next(r for r in rows if r.item_id == "committee_meeting" and r.key.startswith("2020-01"))
    late = record_deadline(jan.ends_at, 3, TZ)
    found = run(rows, {(jan.id, 0): Rec(late)}, first="2020-01-01", last="2020-01-31",
                now=at("2020-03-01"))  # fmt: skip
    assert [f.verdict for f in only(found, "committee_meeting")] == [Verdict.LATE]


def test_a_meeting_moved_past_its_month_end_counts_in_the_month_it_was_due_and_is_late() -> None:
    rows = rows_of(PLAN, 2020)
    jan = next(r for r in rows if r.item_id == "theme_party_day" and r.key.startswith("2020-01"))
    jan.starts_at, jan.ends_at = at("2020-02-03", "15:00"), at("2020-02-03", "17:00")
    records = {(jan.id, 0): Rec(at("2020-02-03", "18:00"))}
    found = run(rows, records, first="2020-01-01", last="2020-01-31", now=at("2020-03-01"))
    theme = only(found, "theme_party_day")
    assert len(theme) == 1 and theme[0].slot.cycle.label == "2020-01"
    assert theme[0].verdict == Verdict.LATE and theme[0].held_on == dt.date(2020, 2, 3)
    # February's own theme day is not filled by January's moved one.
    found = run(rows, records, first="2020-02-01", last="2020-02-29", now=at("2020-03-05"))
    assert [f.verdict for f in only(found, "theme_party_day")] == [Verdict.NOT_RECORDED]


def test_a_meeting_moved_earlier_within_its_month_is_on_time() -> None:
    rows = rows_of(PLAN, 2020)
    jan = next(r for r in rows if r.item_id == "committee_meeting" and r.key.startswith("2020-01"))
    jan.starts_at, jan.ends_at = at("2019-12-30", "16:00"), at("2019-12-30", "17:00")
    found = run(rows, {(jan.id, 0): Rec(at("2019-12-30", "18:00"))}, first="2020-01-01",
                last="2020-01-31", now=at("2020-03-01"))  # fmt: skip
    assert [f.verdict for f in only(found, "committee_meeting")] == [Verdict.ON_TIME]


def test_cancelled_and_not_held_are_missed_with_the_reason() -> None:
    rows = rows_of(PLAN, 2020)
    jan = next(r for r in rows if r.item_id == "committee_meeting" and r.key.startswith("2020-01"))
    feb = next(r for r in rows if r.item_id == "committee_meeting" and r.key.startswith("2020-02"))
    jan.status = "cancelled"
    records = {(feb.id, 0): Rec(feb.ends_at, held=False, reason="全员抗疫")}
    found = only(run(rows, records, first="2020-01-01", last="2020-02-29", now=at("2020-03-01")),
                 "committee_meeting")  # fmt: skip
    assert [f.verdict for f in found] == [Verdict.MISSED, Verdict.MISSED]
    assert found[1].reason == "全员抗疫"
    counts = tally(found)
    assert counts.missed == 2 and counts.rate == 0 and not counts.baseline_met


def test_a_branch_that_started_mid_year_owes_nothing_before_its_start() -> None:
    found = run(rows_of(PLAN, 2020), {}, first="2020-01-01", last="2020-12-31",
                now=at("2020-12-31"), start="2020-07-15")  # fmt: skip
    assert found and min(f.slot.planned_on for f in found) >= dt.date(2020, 7, 15)
    committee = only(found, "committee_meeting")
    assert [f.slot.cycle.number for f in committee] == [8, 9, 10, 11, 12]


def test_group_meetings_are_owed_by_each_party_group() -> None:
    rows = rows_of(PLAN, 2020)
    mar = next(r for r in rows if r.item_id == "group_meeting" and r.key.startswith("2020-03"))
    records = {(mar.id, 11): Rec(mar.ends_at)}
    found = run(rows, records, first="2020-03-01", last="2020-03-31", now=at("2020-04-30"),
                groups=(11, 12))  # fmt: skip
    by_group = {f.slot.scope: f.verdict for f in only(found, "group_meeting")}
    assert by_group == {11: Verdict.ON_TIME, 12: Verdict.NOT_RECORDED}
    # A branch without party groups owes no group meetings.
    none = run(rows, records, first="2020-03-01", last="2020-03-31", now=at("2020-04-30"))
    assert only(none, "group_meeting") == []


def test_a_required_meeting_the_plan_lacks_is_owed_in_every_cycle_that_has_begun() -> None:
    text = DEFAULT_PLAN_PATH.read_text(encoding="utf-8")
    # Drop the theme Party day: the committee still requires it every month.
    cut = re.sub(r'\[\[items\]\]\nid = "theme_party_day".*?(?=# 党费缴纳日)', "", text, flags=re.S)
    plan = parse_plan(cut)
    assert "theme_party_day" not in {i.id for i in plan.items}
    found = run(rows_of(plan, 2020), {}, first="2020-01-01", last="2020-12-31",
                now=at("2020-03-10"), plan=plan)  # fmt: skip
    theme = only(found, "theme_party_day")
    assert [f.slot.cycle.label for f in theme] == ["2020-01", "2020-02", "2020-03"]
    assert {f.verdict for f in theme} == {Verdict.NOT_IN_PLAN}


def test_an_item_marked_not_required_is_not_counted() -> None:
    text = DEFAULT_PLAN_PATH.read_text(encoding="utf-8").replace(
        'id = "integrity_meeting"\n', 'id = "integrity_meeting"\nrequired = false\n'
    )
    plan = parse_plan(text)
    found = run(rows_of(plan, 2020), {}, first="2020-01-01", last="2020-12-31",
                now=at("2020-12-31"), plan=plan)  # fmt: skip
    assert only(found, "integrity_meeting") == []
    assert len(only(run(rows_of(PLAN, 2020), {}, first="2020-01-01", last="2020-12-31",
                        now=at("2020-12-31")), "integrity_meeting")) == 1  # fmt: skip


def test_plan_keys_for_records_are_checked() -> None:
    text = DEFAULT_PLAN_PATH.read_text(encoding="utf-8")
    bad = text.replace('id = "dues"\n', 'id = "dues"\nrecorded_by = "secretary"\n')
    with pytest.raises(ValueError, match="only meetings"):
        parse_plan(bad)
    bad = text.replace('id = "group_meeting"\n', 'id = "group_meeting"\nrecorded_by = "chair"\n')
    with pytest.raises(ValueError, match="recorded_by"):
        parse_plan(bad)
    assert PLAN.item("group_meeting").recorder == "group_leader"
    assert PLAN.item("general_meeting").recorder == "secretary"


@pytest.mark.parametrize("year", [2020, 2023, 2024, 2038])
def test_a_year_of_unrecorded_meetings_is_all_not_recorded_or_pending(year: int) -> None:
    now = at(f"{year}-07-01")
    found = run(rows_of(PLAN, year), {}, first=f"{year}-01-01", last=f"{year}-12-31", now=now,
                start=f"{year}-01-01", groups=(1,))  # fmt: skip
    past = [f for f in found if f.slot.ends_at and f.deadline and f.deadline <= now]
    assert past and {f.verdict for f in past} == {Verdict.NOT_RECORDED}
    future = [f for f in found if f.slot.ends_at and f.slot.ends_at > now]
    assert future and {f.verdict for f in future} == {Verdict.UPCOMING}


def test_the_period_before_crosses_year_ends() -> None:
    jan = dt.date(2024, 1, 15)
    assert period("month", jan, 1) == (dt.date(2023, 12, 1), dt.date(2023, 12, 31))
    assert period("quarter", jan, 1) == (dt.date(2023, 10, 1), dt.date(2023, 12, 31))
    assert period("year", jan, 1) == (dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    assert period("month", dt.date(2024, 3, 31), 1) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert period("month", jan, 13) == (dt.date(2022, 12, 1), dt.date(2022, 12, 31))
