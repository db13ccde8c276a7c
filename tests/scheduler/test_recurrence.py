"""Recurrence: dates of plan items, local times to UTC, DST policy, reminder instants."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.plan import Localized, Plan, PlanItem, ReminderRule, Rhythm, default_plan
from scheduler.recurrence import (
    item_dates,
    local_to_utc,
    nth_weekday,
    occurrences,
    occurrences_between,
    reminder_instant,
    to_local,
    zone,
)

UTC = dt.UTC
YEARS = (2020, 2024, 2025, 2100)
ZONES = ("Asia/Shanghai", "Europe/Berlin", "America/New_York")
FAST = settings(max_examples=60, deadline=None, database=None)


def make_item(rhythm: Rhythm, *, item_id: str = "x", at: dt.time = dt.time(15)) -> PlanItem:
    """Return a meeting item with `rhythm`."""
    return PlanItem(
        id=item_id,
        kind="meeting",
        audience="all",
        title=Localized("会议", "Meeting"),
        rhythm=rhythm,
        time=at,
        duration_minutes=60,
    )


def one_item_plan(item: PlanItem) -> Plan:
    return Plan(name=Localized("计划", "Plan"), country=None, items=(item,))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_theme_party_day_2020_03_27_starts_at_15_00_shanghai() -> None:
    occs = occurrences(default_plan(), 2020, zone("Asia/Shanghai"))
    theme = next(o for o in occs if o.item_id == "theme_party_day" and o.key == "2020-03-27")
    assert (theme.local_date, theme.local_time) == (dt.date(2020, 3, 27), dt.time(15))
    assert theme.starts_at == utc(2020, 3, 27, 7)
    assert theme.ends_at == utc(2020, 3, 27, 9)
    assert theme.agenda is not None
    assert "疫情防控" in theme.agenda.zh_CN


def test_default_plan_2020_has_the_expected_number_of_occurrences() -> None:
    occs = occurrences(default_plan(), 2020, zone("Asia/Shanghai"))
    # 4 monthly items, 4 quarterly, 6 lectures, 1 yearly.
    assert len(occs) == 4 * 12 + 4 * 4 + 6 + 1


def test_last_day_of_quarter_is_the_quarters_last_calendar_day() -> None:
    dates = item_dates(default_plan().item("talk_records"), 2020)
    assert dates == [dt.date(2020, 3, 31), dt.date(2020, 6, 30), dt.date(2020, 9, 30),
                     dt.date(2020, 12, 31)]  # fmt: skip


def test_monthly_day_31_clamps_to_the_months_last_day() -> None:
    dates = item_dates(make_item(Rhythm("month", day=31)), 2025)
    assert [d.day for d in dates] == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def test_leap_day_plan_item_falls_back_to_feb_28() -> None:
    item = make_item(Rhythm("year", month=2, day=29))
    assert item_dates(item, 2024) == [dt.date(2024, 2, 29)]
    assert item_dates(item, 2025) == [dt.date(2025, 2, 28)]
    assert item_dates(item, 2100) == [dt.date(2100, 2, 28)]


def test_once_item_occurs_only_in_its_year() -> None:
    item = make_item(Rhythm("once", date=dt.date(2021, 7, 1)))
    assert item_dates(item, 2021) == [dt.date(2021, 7, 1)]
    assert item_dates(item, 2020) == []


@given(st.integers(1990, 2100), st.integers(1, 12))
@FAST
def test_fourth_friday_is_a_friday_in_the_fourth_week(year: int, month: int) -> None:
    day = nth_weekday(year, month, calendar.FRIDAY, 4)
    assert day.weekday() == calendar.FRIDAY
    assert 22 <= day.day <= 28


@given(st.integers(1990, 2100), st.integers(1, 12))
@FAST
def test_fourth_friday_differs_from_last_friday_exactly_in_five_friday_months(
    year: int, month: int
) -> None:
    fridays = sum(1 for week in calendar.monthcalendar(year, month) if week[calendar.FRIDAY])
    fourth, last = nth_weekday(year, month, 4, 4), nth_weekday(year, month, 4, -1)
    assert (fourth != last) == (fridays == 5)


day_selectors = st.one_of(
    st.builds(lambda day: {"day": day}, st.sampled_from([*range(1, 32), -1])),
    st.builds(
        lambda weekday, nth: {"weekday": weekday, "nth": nth},
        st.integers(0, 6),
        st.sampled_from([1, 2, 3, 4, -1]),
    ),
)
rhythms = st.one_of(
    st.builds(lambda sel: Rhythm("month", **sel), day_selectors),
    st.builds(
        lambda months, sel: Rhythm("month", months=tuple(sorted(months)), **sel),
        st.sets(st.integers(1, 12), min_size=1),
        day_selectors,
    ),
    st.builds(
        lambda month, sel: Rhythm("quarter", month=month, **sel), st.integers(1, 3), day_selectors
    ),
    st.builds(
        lambda month, sel: Rhythm("year", month=month, **sel),
        st.integers(1, 12),
        day_selectors.filter(lambda sel: sel.get("day", 0) <= 28),
    ),
)


def expected_count(rhythm: Rhythm) -> int:
    if rhythm.every == "month":
        return len(rhythm.months) if rhythm.months else 12
    return {"quarter": 4, "year": 1}[rhythm.every]


@given(st.integers(2000, 2100), st.one_of(rhythms, st.sampled_from(default_plan().items)))
@settings(max_examples=150, deadline=None, database=None)
def test_every_item_yields_its_count_per_year_in_strict_order(
    year: int, item_or_rhythm: Rhythm | PlanItem
) -> None:
    """Monthly 12, quarterly 4, chosen months len(months), yearly 1; unique keys, ordered."""
    item = item_or_rhythm if isinstance(item_or_rhythm, PlanItem) else make_item(item_or_rhythm)
    dates = item_dates(item, year)
    assert len(dates) == expected_count(item.rhythm)
    assert all(d.year == year for d in dates)
    assert [d.month for d in dates] == list(item.rhythm.months_of_year())
    assert dates == sorted(set(dates))
    keys = [o.key for o in occurrences(one_item_plan(item), year, zone("Europe/Berlin"))]
    assert keys == sorted(set(keys))
    assert len(keys) == len(dates)


@pytest.mark.parametrize("tz_name", ZONES)
@pytest.mark.parametrize("year", YEARS)
def test_every_occurrence_starts_at_its_local_wall_time(year: int, tz_name: str) -> None:
    tz = zone(tz_name)
    occs = occurrences(default_plan(), year, tz)
    assert len(occs) == 71
    for occ in occs:
        local = to_local(occ.starts_at, tz)
        assert (local.date(), local.time()) == (occ.local_date, occ.local_time)
        assert occ.starts_at.utcoffset() == dt.timedelta(0)
        assert occ.key == occ.local_date.isoformat()
    assert [o.starts_at for o in occs] == sorted(o.starts_at for o in occs)


@pytest.mark.parametrize("year", YEARS)
def test_shanghai_offset_is_exactly_eight_hours_never_lmt(year: int) -> None:
    """pytz's first Shanghai offset is LMT +08:06; localize() must never pick it."""
    tz = zone("Asia/Shanghai")
    for occ in occurrences(default_plan(), year, tz):
        assert to_local(occ.starts_at, tz).utcoffset() == dt.timedelta(hours=8)
    assert local_to_utc(dt.date(year, 1, 1), dt.time(8), tz) == utc(year, 1, 1)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 3, 2), utc(2026, 3, 2, 8)),  # CET, UTC+1
        (dt.date(2026, 3, 30), utc(2026, 3, 30, 7)),  # CEST after 29 March
        (dt.date(2026, 10, 26), utc(2026, 10, 26, 8)),  # CET again after 25 October
        (dt.date(2026, 11, 2), utc(2026, 11, 2, 8)),
    ],
)
def test_berlin_nine_oclock_stays_nine_local_across_dst(
    day: dt.date, expected: dt.datetime
) -> None:
    tz = zone("Europe/Berlin")
    assert local_to_utc(day, dt.time(9), tz) == expected
    assert to_local(local_to_utc(day, dt.time(9), tz), tz).time() == dt.time(9)


@pytest.mark.parametrize("year", [2038, 2100])
def test_dst_still_applies_after_2037_where_pytz_data_ends(year: int) -> None:
    """pytz's compiled zones stop in 2037 (stub42/pytz#31); summer must still be CEST/EDT."""
    assert local_to_utc(dt.date(year, 7, 1), dt.time(9), zone("Europe/Berlin")) == utc(
        year, 7, 1, 7
    )
    new_york = zone("America/New_York")
    assert local_to_utc(dt.date(year, 7, 1), dt.time(9), new_york) == utc(year, 7, 1, 13)
    assert to_local(utc(year, 7, 1, 13), new_york).hour == 9


def test_nonexistent_local_time_moves_forward() -> None:
    """02:30 on 8 March 2026 does not exist in New York (02:00 -> 03:00): it becomes 03:30 EDT."""
    tz = zone("America/New_York")
    instant = local_to_utc(dt.date(2026, 3, 8), dt.time(2, 30), tz)
    assert instant == utc(2026, 3, 8, 7, 30)
    assert to_local(instant, tz).replace(tzinfo=None) == dt.datetime(2026, 3, 8, 3, 30)


def test_ambiguous_local_time_takes_the_first_instant() -> None:
    """01:30 on 1 November 2026 happens twice in New York: the first (EDT, UTC-4) is used."""
    tz = zone("America/New_York")
    instant = local_to_utc(dt.date(2026, 11, 1), dt.time(1, 30), tz)
    assert instant == utc(2026, 11, 1, 5, 30)
    assert to_local(instant, tz).utcoffset() == dt.timedelta(hours=-4)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd"])
def test_zone_rejects_an_unknown_name_naming_it(name: str) -> None:
    with pytest.raises(ValueError, match=f"unknown time zone {name!r}"):
        zone(name)


def test_to_local_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        to_local(dt.datetime(2020, 1, 1), zone("UTC"))


def test_occurrences_sort_by_start_then_plan_order() -> None:
    occs = occurrences(default_plan(), 2020, zone("Asia/Shanghai"))
    jan_24 = [o.item_id for o in occs if o.key == "2020-01-24"]
    assert jan_24 == ["dues", "theme_party_day"]  # 09:00 before 15:00
    mar_31 = [o.item_id for o in occs if o.key == "2020-03-31"]
    assert mar_31 == [
        "talk_records",
        "admonition_records",
        "thought_reports",
    ]  # same instant: plan order


def test_occurrences_between_spans_years_and_is_half_open() -> None:
    tz = zone("Asia/Shanghai")
    start, end = utc(2020, 12, 25, 7), utc(2021, 1, 22, 7)  # theme days at 07:00Z
    occs = occurrences_between(default_plan(), tz, start, end)
    assert [o.key for o in occs if o.item_id == "theme_party_day"] == ["2020-12-25"]
    assert {o.local_date.year for o in occs} == {2020, 2021}
    assert all(start <= o.starts_at < end for o in occs)


def test_occurrence_on_new_years_day_local_is_found_in_the_previous_utc_year() -> None:
    """Shanghai 1 January 07:00 is 31 December 23:00 UTC, still inside a UTC-year window."""
    plan = one_item_plan(make_item(Rhythm("month", day=1), at=dt.time(7)))
    occs = occurrences_between(plan, zone("Asia/Shanghai"), utc(2020, 12, 31), utc(2021, 1, 1))
    assert [o.key for o in occs] == ["2021-01-01"]


def test_occurrences_between_refuses_naive_datetimes() -> None:
    naive = dt.datetime(2020, 1, 1)
    with pytest.raises(ValueError, match="aware"):
        occurrences_between(default_plan(), zone("UTC"), naive, utc(2021, 1, 1))


def test_reminder_instant_is_local_day_offset_at_local_time() -> None:
    tz = zone("Asia/Shanghai")
    occ = next(o for o in occurrences(default_plan(), 2020, tz) if o.item_id == "general_meeting")
    assert occ.key == "2020-03-13"
    assert reminder_instant(occ, ReminderRule(-7, dt.time(9)), tz) == utc(2020, 3, 6, 1)
    assert reminder_instant(occ, ReminderRule(3, dt.time(9), True), tz) == utc(2020, 3, 16, 1)


def test_reminder_before_a_dst_change_uses_that_days_offset() -> None:
    """A meeting on Monday after spring-forward; its reminder 3 days earlier is still in CET."""
    tz = zone("Europe/Berlin")
    plan = one_item_plan(make_item(Rhythm("once", date=dt.date(2026, 3, 30))))
    (occ,) = occurrences(plan, 2026, tz)
    assert occ.starts_at == utc(2026, 3, 30, 13)
    assert reminder_instant(occ, ReminderRule(-3, dt.time(9)), tz) == utc(2026, 3, 27, 8)
