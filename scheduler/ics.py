"""Export one year of a plan as an iCalendar file that calendar apps can import.

An item becomes one VEVENT with an RRULE when its rhythm maps exactly onto one and it has a
single agenda. Items with per-period agendas, or with a day 29-31 that clamps to shorter months
(no RRULE says "min(day, last day)" portably), become one VEVENT per occurrence instead:
correctness over compactness.

UIDs are stable across exports: "<item_id>-<year>@branchbot" for a recurring event and
"<item_id>-<YYYY-MM-DD>@branchbot" for a single occurrence, so re-importing updates in place.

The secretary's changes (RFC 5545 section 3.8.4.4 and 3.8.5.1): a cancelled occurrence of a
recurring event is an EXDATE, a moved one an overriding VEVENT with the same UID and a
RECURRENCE-ID of its planned start; a single-occurrence event is moved in place, or marked
STATUS:CANCELLED. Nothing before the branch's start is exported.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pytz
from icalendar import Calendar, Event, vRecur, vText

from scheduler.plan import WEEKDAYS, Plan, PlanItem
from scheduler.recurrence import Occurrence, local_to_utc, occurrences, to_local, zone

PRODID = "-//branchbot//Party branch annual plan//EN"


@dataclass(frozen=True)
class Change:
    """What the secretary did to one occurrence: moved it (new times) or cancelled it."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    cancelled: bool


ChangeKey = tuple[str, str]  # (item id, planned local date ISO)
_FREQ = {"month": "MONTHLY", "quarter": "MONTHLY", "year": "YEARLY"}
# RFC 5545 TEXT holds any character but the controls (HTAB aside). icalendar escapes line
# breaks, `;`, `,` and backslashes and folds lines at 75 octets (never inside a UTF-8
# sequence), but passes other controls through, which makes the file invalid: they are dropped.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _text(value: str) -> str:
    """Names and agendas as iCalendar TEXT: line breaks kept as LF, other controls dropped."""
    return _CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _rrule(item: PlanItem, until: dt.datetime) -> vRecur | None:
    """Return the RRULE equivalent to the item's rhythm, or None if there is none."""
    rhythm = item.rhythm
    if rhythm.every == "once" or (rhythm.day is not None and rhythm.day > 28):
        return None
    rule = vRecur(freq=_FREQ[rhythm.every], until=until)
    months = rhythm.months_of_year()
    if len(months) < 12:
        rule["BYMONTH"] = list(months)
    if rhythm.day is not None:
        rule["BYMONTHDAY"] = [rhythm.day]
    else:
        assert rhythm.weekday is not None  # the parser guarantees weekday + nth
        assert rhythm.nth is not None
        rule["BYDAY"] = [f"{rhythm.nth}{WEEKDAYS[rhythm.weekday][:2].upper()}"]
    return rule


def _event(occ: Occurrence, item: PlanItem, *, uid: str, tz: pytz.BaseTzInfo, locale: str,
           stamp: dt.datetime) -> Event:  # fmt: skip
    """Return a VEVENT for `item` starting at `occ`, its start in the branch zone (TZID)."""
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", to_local(occ.starts_at, tz))
    event.add("duration", dt.timedelta(minutes=item.duration_minutes))
    event.add("summary", _text(occ.title.get(locale)))
    if occ.agenda is not None:
        event.add("description", _text(occ.agenda.get(locale)))
    event.add("categories", [item.kind])
    return event


def _moved(occ: Occurrence, item: PlanItem, change: Change, *, uid: str,
           tz: pytz.BaseTzInfo, locale: str, stamp: dt.datetime) -> Event:  # fmt: skip
    """An occurrence at its new time, overriding the planned one (RECURRENCE-ID)."""
    event = _event(occ, item, uid=uid, tz=tz, locale=locale, stamp=stamp)
    event.add("recurrence-id", to_local(occ.starts_at, tz))
    del event["dtstart"]
    del event["duration"]
    event.add("dtstart", to_local(change.starts_at, tz))
    event.add("duration", change.ends_at - change.starts_at)
    return event


def plan_to_ics(
    plan: Plan,
    *,
    year: int,
    tz_name: str,
    locale: str,
    branch_name: str,
    stamp: dt.datetime | None = None,
    changes: Mapping[ChangeKey, Change] | None = None,
    since: dt.date | None = None,
) -> bytes:
    """Return the plan's `year` as iCalendar bytes, times in the branch zone `tz_name`.

    `stamp` is the DTSTAMP of every event; it defaults to 1 January of `year` (UTC) so the same
    plan always exports to the same bytes. `changes` are the moved and cancelled occurrences;
    occurrences before `since` (the branch's start) are left out.
    """
    changes = changes or {}
    tz = zone(tz_name)
    stamp = stamp or dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    until = local_to_utc(dt.date(year, 12, 31), dt.time(23, 59, 59), tz)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    # An X- property is not known to be TEXT: say so, or a line break in the name is not escaped.
    cal.add("x-wr-calname", vText(_text(f"{branch_name} · {plan.name.get(locale)} {year}")))
    cal.add("x-wr-timezone", tz_name)
    by_item: dict[str, list[Occurrence]] = {item.id: [] for item in plan.items}
    for occ in occurrences(plan, year, tz):
        if since is None or occ.local_date >= since:
            by_item[occ.item_id].append(occ)
    for item in plan.items:
        occs = by_item[item.id]
        rule = _rrule(item, until) if not item.agendas else None
        if rule is not None and occs:
            uid = f"{item.id}-{year}@branchbot"
            event = _event(occs[0], item, uid=uid, tz=tz, locale=locale, stamp=stamp)
            event.add("rrule", rule)
            moved = []
            for occ in occs:
                change = changes.get((item.id, occ.key))
                if change is None:
                    continue
                if change.cancelled:
                    event.add("exdate", to_local(occ.starts_at, tz))
                elif change.starts_at != occ.starts_at:
                    moved.append(
                        _moved(occ, item, change, uid=uid, tz=tz, locale=locale, stamp=stamp)
                    )
            cal.add_component(event)
            for override in moved:
                cal.add_component(override)
            continue
        for occ in occs:
            uid = f"{item.id}-{occ.key}@branchbot"
            change = changes.get((item.id, occ.key))
            if change is not None and not change.cancelled:
                single = _moved(occ, item, change, uid=uid, tz=tz, locale=locale, stamp=stamp)
                del single["recurrence-id"]
            else:
                single = _event(occ, item, uid=uid, tz=tz, locale=locale, stamp=stamp)
                if change is not None:
                    single.add("status", "CANCELLED")
            cal.add_component(single)
    cal.add_missing_timezones(first_date=dt.date(year, 1, 1), last_date=dt.date(year + 1, 1, 1))
    ical: bytes = cal.to_ical()
    return ical
