"""Cycle compliance: was each required meeting held, and recorded, within its cycle?

The one place that decides it, as pure functions of (plan, occurrences, meeting records, now):
`/compliance`, the committee's `/branches` scorecards, its digest and its export all read a
branch's meetings through `branch_compliance`, so they cannot disagree.

* **The cycle** of a meeting is the calendar month, quarter or year of its plan rhythm
  (`every`), taken at its *planned* local date: a meeting moved into the next month still
  counts for the month it was due in. A one-off meeting's cycle is its year.
* **Slots.** Each required meeting of the branch's plan owes one record per occurrence; a party
  group meeting owes one per party group (each group meets and records on its own). A meeting
  the committee requires (its baseline, by plan item id) that the branch's plan lacks owes a
  slot in each of its cycles that has begun, and nothing can fill it: *not in plan*.
* **Verdicts.** A slot is **on time** when the record says held, the meeting was held by the end
  of its cycle, and the record was made within the item's `record_within_days` after the local
  day the meeting ended; **late** when held but after its cycle or recorded after that; **missed**
  when recorded as not held or cancelled; **not recorded** once that record deadline has passed
  with nothing recorded (a record made later turns it into late). Before that a slot is
  **upcoming** (the meeting has not ended) or **awaiting record**.
* Nothing before the branch's first day (or its joining the plan mid-year) is owed.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import enum
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import pytz

from scheduler.plan import Plan, PlanItem
from scheduler.recurrence import item_dates, local_to_utc, occurrences, to_local

# The meetings a committee requires of every branch unless it says otherwise (三会一课 and the
# theme Party day), by the default plan's item ids.
BASELINE_ITEMS = (
    "general_meeting",
    "committee_meeting",
    "group_meeting",
    "party_lecture",
    "theme_party_day",
)


class Span(enum.StrEnum):
    """The period a compliance report covers."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Cycle(NamedTuple):
    """A calendar month, quarter or year: the period one meeting is due in."""

    every: str  # "month" | "quarter" | "year"
    year: int
    number: int  # the month 1..12, the quarter 1..4, or 1 for a year

    @property
    def first(self) -> dt.date:
        """Its first local day."""
        if self.every == "month":
            return dt.date(self.year, self.number, 1)
        if self.every == "quarter":
            return dt.date(self.year, 3 * self.number - 2, 1)
        return dt.date(self.year, 1, 1)

    @property
    def last(self) -> dt.date:
        """Its last local day."""
        if self.every == "month":
            month = self.number
        elif self.every == "quarter":
            month = 3 * self.number
        else:
            month = 12
        return dt.date(self.year, month, calendar.monthrange(self.year, month)[1])

    @property
    def label(self) -> str:
        """ "2020-03", "2020-Q1" or "2020": the same in every language."""
        if self.every == "month":
            return f"{self.year:04d}-{self.number:02d}"
        if self.every == "quarter":
            return f"{self.year:04d}-Q{self.number}"
        return f"{self.year:04d}"


def cycle_of(every: str, day: dt.date) -> Cycle:
    """The cycle of a rhythm (`every`: month, quarter, year or once) containing `day`."""
    if every == "month":
        return Cycle("month", day.year, day.month)
    if every == "quarter":
        return Cycle("quarter", day.year, (day.month - 1) // 3 + 1)
    return Cycle("year", day.year, 1)


def period(span: Span | str, today: dt.date, back: int = 0) -> tuple[dt.date, dt.date]:
    """The first and last local day of the month, quarter or year containing `today`, or of
    the one `back` before it (1: last month, last quarter, last year)."""
    cycle = cycle_of(Span(span).value, today)
    for _ in range(back):
        cycle = cycle_of(cycle.every, cycle.first - dt.timedelta(days=1))
    return cycle.first, cycle.last


class Verdict(enum.StrEnum):
    """What a required meeting slot came to."""

    ON_TIME = "on_time"
    LATE = "late"
    MISSED = "missed"
    NOT_RECORDED = "not_recorded"
    NOT_IN_PLAN = "not_in_plan"
    AWAITING_RECORD = "awaiting_record"
    UPCOMING = "upcoming"

    @property
    def final(self) -> bool:
        """Whether it is settled (counted in rates); upcoming and awaiting are not yet."""
        return self not in (Verdict.AWAITING_RECORD, Verdict.UPCOMING)

    @property
    def held(self) -> bool:
        """Whether the meeting is recorded as held (on time or late)."""
        return self in (Verdict.ON_TIME, Verdict.LATE)


class Held(Protocol):
    """What the rules read of a stored meeting record (a MeetingMinutes row)."""

    @property
    def held(self) -> bool:
        """Whether the meeting took place."""
        ...

    @property
    def recorded_at(self) -> dt.datetime:
        """When it was first recorded."""
        ...

    @property
    def reason(self) -> str | None:
        """Why it was not held."""
        ...


class Scheduled(Protocol):
    """What the rules read of a stored occurrence (an Occurrence row)."""

    @property
    def id(self) -> int | None:
        """The row id."""
        ...

    @property
    def item_id(self) -> str:
        """The plan item."""
        ...

    @property
    def key(self) -> str:
        """The planned local date, ISO."""
        ...

    @property
    def starts_at(self) -> dt.datetime:
        """When it starts (after any move)."""
        ...

    @property
    def ends_at(self) -> dt.datetime:
        """When it ends (after any move)."""
        ...

    @property
    def status(self) -> str:
        """ "scheduled" or "cancelled"."""
        ...


@dataclass(frozen=True)
class Slot:
    """One meeting a branch owes in one cycle (for one party group, for group meetings)."""

    item_id: str
    cycle: Cycle
    planned_on: dt.date
    scope: int = 0  # the party group's id for a group meeting, else 0
    occurrence_id: int | None = None  # None: not materialised yet, or not in the plan
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    cancelled: bool = False
    in_plan: bool = True
    record_within_days: int = 3


@dataclass(frozen=True)
class Finding:
    """A slot and its verdict at `now`, with the facts behind it."""

    slot: Slot
    verdict: Verdict
    deadline: dt.datetime | None = None  # the record was due by this instant
    held_on: dt.date | None = None  # the local day it was held
    recorded_at: dt.datetime | None = None
    reason: str | None = None  # why it was not held


def record_window_last_day(ends_at: dt.datetime, within_days: int, tz: pytz.BaseTzInfo) -> dt.date:
    """The last local day a meeting's record is on time: `within_days` after the day it ended."""
    return to_local(ends_at, tz).date() + dt.timedelta(days=within_days)


def record_deadline(ends_at: dt.datetime, within_days: int, tz: pytz.BaseTzInfo) -> dt.datetime:
    """The end of the local day `within_days` days after the day the meeting ended."""
    last_day = record_window_last_day(ends_at, within_days, tz)
    return local_to_utc(last_day + dt.timedelta(days=1), dt.time(0, 0), tz)


def judge(slot: Slot, record: Held | None, *, now: dt.datetime, tz: pytz.BaseTzInfo) -> Finding:
    """The verdict on one slot at `now`, given its record (None: nothing recorded)."""
    if not slot.in_plan or slot.starts_at is None or slot.ends_at is None:
        return Finding(slot, Verdict.NOT_IN_PLAN)
    deadline = record_deadline(slot.ends_at, slot.record_within_days, tz)
    if record is not None:
        if not record.held:
            when = record.recorded_at
            return Finding(slot, Verdict.MISSED, deadline, recorded_at=when, reason=record.reason)
        held_on = to_local(slot.starts_at, tz).date()
        on_time = held_on <= slot.cycle.last and record.recorded_at < deadline
        verdict = Verdict.ON_TIME if on_time else Verdict.LATE
        return Finding(slot, verdict, deadline, held_on, record.recorded_at)
    if slot.cancelled:
        return Finding(slot, Verdict.MISSED, deadline)
    if now < slot.ends_at:
        return Finding(slot, Verdict.UPCOMING, deadline)
    if now < deadline:
        return Finding(slot, Verdict.AWAITING_RECORD, deadline)
    return Finding(slot, Verdict.NOT_RECORDED, deadline)


def slots(
    plan: Plan,
    rows: Iterable[Scheduled],
    *,
    groups: Sequence[int],
    tz: pytz.BaseTzInfo,
    first: dt.date,
    last: dt.date,
    start: dt.date,
    today: dt.date,
    baseline: Sequence[PlanItem] = (),
) -> list[Slot]:
    """The required meeting slots planned from `first` to `last` (local days, inclusive).

    `rows` are the branch's stored occurrences (moves and cancellations); a planned occurrence
    with no row yet is taken from the plan. `groups` are the party groups that meet (each owes
    its own group meeting; with none, a branch owes no group meetings). `start` is the branch's
    first day; `today` the local day of `now` (a baseline meeting the plan lacks is owed for
    each cycle that has begun). `baseline`: the meetings the committee requires by id.
    """
    stored = {(r.item_id, r.key): r for r in rows}
    found: list[Slot] = []
    items = {item.id: item for item in plan.items}
    for year in range(first.year, last.year + 1):
        for occ in occurrences(plan, year, tz):
            item = items[occ.item_id]
            if not item.is_required or not (first <= occ.local_date <= last):
                continue
            if occ.local_date < start:
                continue
            row = stored.get((occ.item_id, occ.key))
            base = Slot(
                item_id=item.id,
                cycle=cycle_of(item.rhythm.every, occ.local_date),
                planned_on=occ.local_date,
                occurrence_id=row.id if row is not None else None,
                starts_at=row.starts_at if row is not None else occ.starts_at,
                ends_at=row.ends_at if row is not None else occ.ends_at,
                cancelled=row is not None and row.status == "cancelled",
                record_within_days=item.record_within_days,
            )
            found.extend(_scoped(base, item, groups))
    for item in baseline:
        if item.id in items:
            continue
        for year in range(first.year, last.year + 1):
            for day in item_dates(item, year):
                cycle = cycle_of(item.rhythm.every, day)
                if not (first <= day <= last) or day < start or cycle.first > today:
                    continue
                base = Slot(item.id, cycle, day, in_plan=False)
                found.extend(_scoped(base, item, groups))
    found.sort(key=lambda s: (s.planned_on, s.item_id, s.scope))
    return found


def _scoped(base: Slot, item: PlanItem, groups: Sequence[int]) -> list[Slot]:
    if not item.per_group:
        return [base]
    return [dataclasses.replace(base, scope=group) for group in groups]


def branch_compliance(
    plan: Plan,
    rows: Iterable[Scheduled],
    records: Mapping[tuple[int, int], Held],
    *,
    groups: Sequence[int],
    tz: pytz.BaseTzInfo,
    first: dt.date,
    last: dt.date,
    start: dt.date,
    now: dt.datetime,
    baseline: Sequence[PlanItem] = (),
) -> list[Finding]:
    """Every required meeting slot from `first` to `last` and its verdict at `now`.

    `records` maps (occurrence id, scope) to the meeting's record.
    """
    today = to_local(now, tz).date()
    found = slots(
        plan,
        rows,
        groups=groups,
        tz=tz,
        first=first,
        last=last,
        start=start,
        today=today,
        baseline=baseline,
    )
    return [
        judge(
            slot,
            records.get((slot.occurrence_id, slot.scope)) if slot.occurrence_id else None,
            now=now,
            tz=tz,
        )
        for slot in found
    ]


@dataclass(frozen=True)
class Tally:
    """How a branch's slots add up."""

    on_time: int = 0
    late: int = 0
    missed: int = 0
    not_recorded: int = 0
    not_in_plan: int = 0
    awaiting_record: int = 0
    upcoming: int = 0

    @property
    def settled(self) -> int:
        """Slots with a final verdict: the denominator of the rate."""
        return self.on_time + self.late + self.missed + self.not_recorded + self.not_in_plan

    @property
    def rate(self) -> float | None:
        """Share of settled slots held and recorded on time (None: nothing settled yet)."""
        return self.on_time / self.settled if self.settled else None

    @property
    def baseline_met(self) -> bool:
        """底线达标: every settled required meeting was held and recorded (late included)."""
        return self.missed + self.not_recorded + self.not_in_plan == 0


def tally(findings: Iterable[Finding]) -> Tally:
    """Add up verdicts (pure)."""
    counts = Counter(f.verdict.value for f in findings)
    return Tally(**counts)
