"""Public-holiday flags, including China's Spring Festival Eve."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduler.holidays import flag_holidays, holiday_name
from scheduler.plan import default_plan
from scheduler.recurrence import occurrences, zone

EVE_2020 = dt.date(2020, 1, 24)


def test_spring_festival_eve_2020_is_named_in_both_locales() -> None:
    assert "除夕" in str(holiday_name(EVE_2020, "CN", "zh_CN"))
    assert "Spring Festival Eve" in str(holiday_name(EVE_2020, "CN", "en"))


def test_spring_festival_eve_that_is_a_day_off_says_so() -> None:
    """2020-01-24 was a swapped rest day (调休), so the name also marks it as a day off."""
    assert holiday_name(EVE_2020, "CN", "zh_CN") == "除夕\uff08休息日\uff09"
    assert holiday_name(EVE_2020, "CN", "en") == "Spring Festival Eve (day off)"


def test_spring_festival_eve_on_a_working_day_is_still_named() -> None:
    """2024-02-09 was a working day in China, but a branch must not meet on 除夕 unawares."""
    assert holiday_name(dt.date(2024, 2, 9), "CN", "zh_CN") == "除夕"
    assert holiday_name(dt.date(2024, 2, 9), "CN", "en") == "Spring Festival Eve"


def test_default_plans_january_2020_fourth_friday_falls_on_spring_festival_eve() -> None:
    occs = occurrences(default_plan(), 2020, zone("Asia/Shanghai"))
    flags = flag_holidays(occs, "CN", "zh_CN")
    assert "除夕" in flags[("theme_party_day", "2020-01-24")]
    assert "除夕" in flags[("dues", "2020-01-24")]
    assert ("committee_meeting", "2020-01-07") not in flags


@pytest.mark.parametrize(
    ("locale", "name"), [("zh_CN", "元旦"), ("en", "New Year's Day"), ("fr", "元旦")]
)
def test_library_holiday_is_named_in_the_readers_locale(locale: str, name: str) -> None:
    assert holiday_name(dt.date(2020, 1, 1), "CN", locale) == name


def test_unsupported_language_falls_back_to_the_countrys_own_language() -> None:
    assert holiday_name(dt.date(2020, 12, 25), "DE", "zh_CN") == "Erster Weihnachtstag"
    assert holiday_name(dt.date(2020, 12, 25), "DE", "en") == "Christmas Day"


def test_ordinary_working_day_has_no_holiday() -> None:
    assert holiday_name(dt.date(2020, 3, 27), "CN", "zh_CN") is None


def test_no_country_means_no_holiday_flags() -> None:
    occs = occurrences(default_plan(), 2020, zone("Asia/Shanghai"))
    assert holiday_name(EVE_2020, None, "zh_CN") is None
    assert flag_holidays(occs, None, "en") == {}


def test_unknown_country_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="'XX'"):
        holiday_name(EVE_2020, "XX", "en")
