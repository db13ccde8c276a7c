"""iCalendar export: parse the file back, expand its RRULEs and compare with `occurrences`."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar, Component

from scheduler.ics import PRODID, plan_to_ics
from scheduler.plan import Localized, Plan, PlanItem, Rhythm, default_plan
from scheduler.recurrence import occurrences, zone

UID = re.compile(r"(?P<item>[a-z0-9_-]+?)-(?P<when>\d{4}(?:-\d{2}-\d{2})?)@branchbot")


def export(plan: Plan, year: int, tz_name: str, locale: str = "zh_CN") -> Calendar:
    data = plan_to_ics(plan, year=year, tz_name=tz_name, locale=locale, branch_name="第一党支部")
    return Calendar.from_ical(data)


def events(cal: Calendar) -> dict[str, Component]:
    return {str(event["UID"]): event for event in cal.walk("VEVENT")}


def rrule_text(event: Component) -> str:
    ical = event["RRULE"].to_ical()
    return ical.decode() if isinstance(ical, bytes) else str(ical)


def expand(cal: Calendar) -> list[tuple[str, dt.datetime]]:
    """Return (item_id, UTC start) for every instance, expanding RRULEs with dateutil."""
    instances = []
    for event in cal.walk("VEVENT"):
        match = UID.fullmatch(str(event["UID"]))
        assert match is not None, event["UID"]
        start = event.decoded("DTSTART")
        assert start.tzinfo is not None
        starts = [start]
        if "RRULE" in event:
            starts = list(rrulestr(rrule_text(event), dtstart=start))
        instances += [(match["item"], s.astimezone(dt.UTC)) for s in starts]
    return sorted(instances)


@pytest.mark.parametrize("tz_name", ["Asia/Shanghai", "Europe/Berlin", "America/New_York"])
@pytest.mark.parametrize("year", [2020, 2024, 2025, 2100])
def test_expanded_calendar_equals_the_plans_occurrences(year: int, tz_name: str) -> None:
    expected = sorted(
        (o.item_id, o.starts_at) for o in occurrences(default_plan(), year, zone(tz_name))
    )
    assert expand(export(default_plan(), year, tz_name)) == expected


def test_calendar_has_prodid_version_and_the_branch_timezone() -> None:
    cal = export(default_plan(), 2020, "Asia/Shanghai")
    assert str(cal["PRODID"]) == PRODID
    assert str(cal["VERSION"]) == "2.0"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    assert "第一党支部" in str(cal["X-WR-CALNAME"])
    for event in cal.walk("VEVENT"):
        assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
        assert "DTSTAMP" in event
        assert "DURATION" in event


def test_items_with_one_agenda_are_one_recurring_event() -> None:
    found = events(export(default_plan(), 2020, "Asia/Shanghai"))
    rules = {
        uid.split("-")[0]: rrule_text(event) for uid, event in found.items() if "RRULE" in event
    }
    assert "BYDAY=1TU" in rules["committee_meeting"]
    assert "BYDAY=4FR" in rules["dues"]
    assert "BYMONTH=3,6,9,12" in rules["talk_records"]
    assert "BYMONTHDAY=-1" in rules["talk_records"]
    assert "FREQ=YEARLY" in rules["integrity_meeting"]
    assert all("UNTIL=" in rule for rule in rules.values())
    assert "committee_meeting-2020@branchbot" in found


def test_items_with_per_period_agendas_get_one_event_per_occurrence() -> None:
    found = events(export(default_plan(), 2020, "Asia/Shanghai"))
    theme = found["theme_party_day-2020-03-27@branchbot"]
    assert "RRULE" not in theme
    assert "疫情防控" in str(theme["DESCRIPTION"])
    assert "三会一课" in str(found["theme_party_day-2020-05-22@branchbot"]["DESCRIPTION"])
    assert "RRULE" not in found["general_meeting-2020-12-11@branchbot"]


def test_summary_and_description_follow_the_locale() -> None:
    zh = events(export(default_plan(), 2020, "Asia/Shanghai", "zh_CN"))
    en = events(export(default_plan(), 2020, "Asia/Shanghai", "en"))
    uid = "group_meeting-2020@branchbot"
    assert (str(zh[uid]["SUMMARY"]), str(en[uid]["SUMMARY"])) == (
        "党小组会",
        "Party group meeting",
    )
    assert "批评和自我批评" in str(zh[uid]["DESCRIPTION"])
    assert "self-criticism" in str(en[uid]["DESCRIPTION"])


def test_same_plan_exports_the_same_bytes() -> None:
    """UIDs and DTSTAMP are stable, so re-importing updates events instead of duplicating them."""
    first = plan_to_ics(default_plan(), year=2021, tz_name="UTC", locale="en", branch_name="B")
    again = plan_to_ics(default_plan(), year=2021, tz_name="UTC", locale="en", branch_name="B")
    assert first == again
    assert len(events(Calendar.from_ical(first))) == len(Calendar.from_ical(first).walk("VEVENT"))


def _meeting(rhythm: Rhythm, at: dt.time) -> Plan:
    item = PlanItem(
        id="odd-one",
        kind="meeting",
        audience="all",
        title=Localized("会议", "Meeting"),
        rhythm=rhythm,
        time=at,
        duration_minutes=30,
    )
    return Plan(name=Localized("计划", "Plan"), country=None, items=(item,))


@pytest.mark.parametrize(
    ("rhythm", "recurring"),
    [
        (Rhythm("month", day=31), False),
        (Rhythm("quarter", month=2, day=30), False),
        (Rhythm("month", day=28), True),
        (Rhythm("month", months=(2, 8), weekday=6, nth=-1), True),
        (Rhythm("once", date=dt.date(2024, 2, 29)), False),
    ],
)
def test_rhythms_without_an_exact_rrule_become_single_events(
    rhythm: Rhythm, recurring: bool
) -> None:
    """A clamped day 29-31 has no portable RRULE, so each occurrence is exported on its own."""
    plan = _meeting(rhythm, dt.time(10))
    tz = zone("Europe/Berlin")
    cal = export(plan, 2024, "Europe/Berlin")
    assert any("RRULE" in event for event in cal.walk("VEVENT")) is recurring
    assert expand(cal) == sorted((o.item_id, o.starts_at) for o in occurrences(plan, 2024, tz))


def test_meeting_in_the_dst_gap_round_trips_with_the_same_instant() -> None:
    """02:30 on 2026-03-08 (2nd Sunday) does not exist in New York; both sides say 03:30 EDT."""
    plan = _meeting(Rhythm("month", weekday=6, nth=2), dt.time(2, 30))
    tz = zone("America/New_York")
    instances = expand(export(plan, 2026, "America/New_York"))
    assert instances == sorted((o.item_id, o.starts_at) for o in occurrences(plan, 2026, tz))
    assert ("odd-one", dt.datetime(2026, 3, 8, 7, 30, tzinfo=dt.UTC)) in instances
