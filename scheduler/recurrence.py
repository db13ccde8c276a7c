"""Turn a plan into dated occurrences in branch-local time and then into UTC instants.

Pure functions of (plan, year or instants, zone): no wall clock, no I/O.

Day rules: `day = -1` is the month's last day; for monthly and quarterly rhythms a day 29-31
that a month lacks clamps to that month's last day, and a yearly 29 February falls back to
28 February in common years. `nth = -1` is the month's last such weekday.

DST policy, applied to meeting start times and reminder times alike:

* A local time that does not exist (spring-forward gap) moves forward by the length of the gap:
  02:30 on the night clocks jump from 02:00 to 03:00 becomes 03:30 local. Skipping the day, as
  APScheduler's CalendarIntervalTrigger does, would silently drop a meeting.
* A local time that happens twice (fall-back fold) means the first instant, while DST is still
  in effect: a reminder is better early than late.

Both are what PEP 495's `fold=0` means, so the arithmetic is done with `zoneinfo`, keyed by the
pytz zone's name. Zones are still passed around as pytz objects (`zone()`), but pytz's compiled
data ends in 2037 and it silently drops DST after that (stub42/pytz#31), so never convert with
`tz.localize()` or `astimezone(tz)`: use `local_to_utc()` and `to_local()`. Never write
`datetime(..., tzinfo=pytz_zone)` either: it picks the zone's Local Mean Time (+08:06 for
Asia/Shanghai).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

import pytz

from scheduler.plan import Localized, Plan, PlanItem, ReminderRule


@dataclass(frozen=True)
class Occurrence:
    """One dated instance of a plan item."""

    item_id: str
    key: str
    kind: str
    audience: str
    local_date: dt.date
    local_time: dt.time
    starts_at: dt.datetime
    ends_at: dt.datetime
    title: Localized
    agenda: Localized | None


def zone(name: str) -> pytz.BaseTzInfo:
    """Return the time zone called `name`; ValueError naming it if unknown."""
    try:
        tz = pytz.timezone(name)
        _rules(name)
    except (pytz.UnknownTimeZoneError, zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return tz


@functools.cache
def _rules(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _wall_clock(tz: pytz.BaseTzInfo) -> dt.tzinfo:
    """Return a tzinfo that may be attached directly: zoneinfo for named zones."""
    # A nameless pytz zone is a fixed offset, which is safe to attach as it is.
    return _rules(tz.zone) if tz.zone else tz


@functools.lru_cache(maxsize=4096)
def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """Return the n-th `weekday` (0=Monday) of the month; n=-1 is the last one.

    Cached (pure, and a date is immutable): a committee's view of 200 branches asks the same
    few days thousands of times."""
    days = [
        d
        for d in calendar.Calendar().itermonthdates(year, month)
        if d.month == month and d.weekday() == weekday
    ]
    return days[n - 1] if n > 0 else days[n]


def _day_in_month(item: PlanItem, year: int, month: int) -> dt.date:
    """Return the item's day in one month, clamping days the month lacks."""
    rhythm = item.rhythm
    if rhythm.day is None:
        assert rhythm.weekday is not None  # the parser guarantees weekday + nth
        assert rhythm.nth is not None
        return nth_weekday(year, month, rhythm.weekday, rhythm.nth)
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, last if rhythm.day == -1 else min(rhythm.day, last))


def item_dates(item: PlanItem, year: int) -> list[dt.date]:
    """Return the local dates of `item` in `year`, in order."""
    if item.rhythm.every == "once":
        once = item.rhythm.date
        return [once] if once is not None and once.year == year else []
    return [_day_in_month(item, year, month) for month in item.rhythm.months_of_year()]


def local_to_utc(day: dt.date, at: dt.time, tz: pytz.BaseTzInfo) -> dt.datetime:
    """Interpret day+time in the branch's zone and return the UTC instant (DST policy above)."""
    # fold=0: a gap time keeps the pre-transition offset (so lands past the gap), and a repeated
    # time takes its first, DST instant.
    return dt.datetime.combine(day, at, tzinfo=_wall_clock(tz)).astimezone(dt.UTC)


def to_local(instant: dt.datetime, tz: pytz.BaseTzInfo) -> dt.datetime:
    """Return the aware `instant` as wall-clock time in the branch's zone (right beyond 2037)."""
    if instant.tzinfo is None:
        raise ValueError("to_local needs an aware datetime")
    return instant.astimezone(_wall_clock(tz))


def _occurrence(item: PlanItem, day: dt.date, tz: pytz.BaseTzInfo) -> Occurrence:
    starts_at = local_to_utc(day, item.time, tz)
    return Occurrence(
        item_id=item.id,
        key=day.isoformat(),
        kind=item.kind,
        audience=item.audience,
        local_date=day,
        local_time=item.time,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=item.duration_minutes),
        title=item.title,
        agenda=item.agenda_for(day),
    )


def _sorted(plan: Plan, occs: Iterable[Occurrence]) -> list[Occurrence]:
    order = {item.id: index for index, item in enumerate(plan.items)}
    return sorted(occs, key=lambda occ: (occ.starts_at, order[occ.item_id]))


def occurrences(plan: Plan, year: int, tz: pytz.BaseTzInfo) -> list[Occurrence]:
    """Return every occurrence of the plan whose local date is in `year`, by start then item."""
    return list(_year_of(plan, year, tz))


@functools.lru_cache(maxsize=256)
def _year_of(plan: Plan, year: int, tz: pytz.BaseTzInfo) -> tuple[Occurrence, ...]:
    # Pure in (plan, year, zone) and made of frozen values, so kept: a committee's view reads
    # the same plan's year for hundreds of branches. Callers get their own list.
    return tuple(
        _sorted(
            plan,
            (_occurrence(item, d, tz) for item in plan.items for d in item_dates(item, year)),
        )
    )


def occurrences_between(
    plan: Plan, tz: pytz.BaseTzInfo, start: dt.datetime, end: dt.datetime
) -> list[Occurrence]:
    """Return the occurrences starting in [start, end) (aware instants), across years."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("occurrences_between needs aware datetimes")
    # A local date near New Year can sit in the neighbouring UTC year, so look one year wider.
    first, last = to_local(start, tz).year - 1, to_local(end, tz).year + 1
    return _sorted(
        plan,
        (
            occ
            for year in range(max(first, dt.MINYEAR), min(last, dt.MAXYEAR) + 1)
            for occ in occurrences(plan, year, tz)
            if start <= occ.starts_at < end
        ),
    )


def reminder_instant(occ: Occurrence, rule: ReminderRule, tz: pytz.BaseTzInfo) -> dt.datetime:
    """Return the UTC instant of `rule` for `occ`: its local day + offset, at the rule's time."""
    return local_to_utc(occ.local_date + dt.timedelta(days=rule.offset_days), rule.at, tz)
