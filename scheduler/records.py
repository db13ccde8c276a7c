"""What the registers mean: the one place that decides absent, on leave, made up, owed and due.

Every view reads a member's record through these pure functions — `/attendance`, `/plan`,
`/overdue`, `/me`, `/dues`, the weekly digest and `/digest`, the registers and `/me export` —
so two views can never disagree about the same member.

Attendance at one meeting (`meeting_record`):

* **present**: checked in, or marked present by hand (a member on approved leave who checks in
  anyway is present);
* **on leave**: leave approved, or asked for and not yet decided (the member asked in time; the
  decision was the secretary's to make);
* **absent**: once check-in has closed, an expected member with neither; a declined leave is
  absent too. A hand mark "absent" is absent at once;
* **made up** (补课): an absence or leave the secretary recorded as made up. It stays what it
  was (absent, on leave) and is marked made up — it is counted and listed, with the mark;
* **not reachable yet**: in the audience but never linked to the bot before the meeting, with
  no answer: the member never had a button, so this is not "no answer" and not absent;
* nothing at all before the branch's start (or a member's joining): such meetings are not
  counted, listed or exported.

Dues (`dues_months`): a month is **due** once its dues day (the plan's `dues` item, local
time) has begun; it is **owed** by a member with an approved amount when it is due, its dues
day falls on or after the branch's start and the member's joining, and no payment (declared or
confirmed) is recorded for it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import pytz

from scheduler.kinds import ItemKind
from scheduler.plan import Plan
from scheduler.recurrence import item_dates, local_to_utc, to_local, zone
from storage.models import AttendanceState, Branch, Member

# The check-in window of a meeting: from 30 minutes before the start until 2 hours after it
# (the Check in button goes then). Quorum counts check-ins once the window has opened.
CHECK_IN_OPENS = dt.timedelta(minutes=30)
CHECK_IN_CLOSES = dt.timedelta(hours=2)

Month = tuple[int, int]  # (year, month), local
NOT_REACHABLE = "not_reachable"  # a shown state beside AttendanceState's: never linked yet


class Standing(enum.StrEnum):
    """A member's standing at one meeting, as every view shows and counts it."""

    PRESENT = "present"
    ON_LEAVE = "on_leave"  # approved
    LEAVE_REQUESTED = "leave_requested"  # undecided: counted as on leave
    ABSENT = "absent"
    ATTENDING = "attending"  # said they would come; check-in not closed yet
    LEAVE_DECLINED = "leave_declined"  # before check-in closes; absent after
    NO_ANSWER = "no_answer"  # check-in not closed yet
    NOT_REACHABLE = "not_reachable"  # never linked before the meeting: no button to tap
    NOT_COUNTED = "not_counted"  # before the branch's start or the member's joining


class Answered(Protocol):
    """What the rules read of a stored answer (an Attendance row)."""

    @property
    def state(self) -> str:
        """The stored AttendanceState value."""
        ...

    @property
    def checked_in_at(self) -> dt.datetime | None:
        """When the member checked in."""
        ...

    @property
    def made_up_at(self) -> dt.datetime | None:
        """When a make-up session was recorded."""
        ...


class Joined(Protocol):
    """What the rules read of a member."""

    @property
    def linked_at(self) -> dt.datetime | None:
        """When the member linked their Telegram account."""
        ...


@dataclass(frozen=True)
class MeetingRecord:
    """One member at one meeting: the standing, and whether it was made up or marked by hand."""

    standing: Standing
    made_up: bool = False
    by_hand: bool = False

    @property
    def counted(self) -> bool:
        """Whether the member is one of those expected (and so counted) at this meeting."""
        return self.standing not in (Standing.NOT_COUNTED, Standing.NOT_REACHABLE)

    @property
    def present(self) -> bool:
        """Present (checked in or marked)."""
        return self.standing == Standing.PRESENT

    @property
    def on_leave(self) -> bool:
        """On leave (approved, or asked for and undecided)."""
        return self.standing in (Standing.ON_LEAVE, Standing.LEAVE_REQUESTED)

    @property
    def absent(self) -> bool:
        """Absent (made up or not)."""
        return self.standing == Standing.ABSENT

    @property
    def state(self) -> str | None:
        """The AttendanceState value to label (or NOT_REACHABLE); None: no answer, not counted."""
        return _STATE_OF.get(self.standing)


_STATE_OF: dict[Standing, str] = {
    Standing.PRESENT: AttendanceState.PRESENT.value,
    Standing.ON_LEAVE: AttendanceState.LEAVE_APPROVED.value,
    Standing.LEAVE_REQUESTED: AttendanceState.LEAVE_REQUESTED.value,
    Standing.ABSENT: AttendanceState.ABSENT.value,
    Standing.ATTENDING: AttendanceState.ATTENDING.value,
    Standing.LEAVE_DECLINED: AttendanceState.LEAVE_DECLINED.value,
    Standing.NOT_REACHABLE: NOT_REACHABLE,
}


def check_in_closes(starts_at: dt.datetime) -> dt.datetime:
    """The end of check-in: 2 hours after the start."""
    return starts_at + CHECK_IN_CLOSES


def branch_start(branch: Branch) -> dt.date:
    """The branch's first local day: nothing before it is owed, counted, listed or exported."""
    if branch.starts_on is not None:
        return branch.starts_on
    return to_local(branch.created_at, zone(branch.timezone)).date()


def branch_start_instant(branch: Branch) -> dt.datetime:
    """The UTC instant of local midnight starting the branch's first day."""
    return local_to_utc(branch_start(branch), dt.time(0, 0), zone(branch.timezone))


def member_start(member: Member, branch: Branch) -> dt.date:
    """The member's first local day in the branch (joined later, or the branch's start)."""
    start = branch_start(branch)
    return max(start, member.joined_on) if member.joined_on is not None else start


def meeting_record(
    answer: Answered | None,
    member: Joined,
    *,
    starts_at: dt.datetime,
    now: dt.datetime,
    since: dt.datetime,
) -> MeetingRecord:
    """The member's standing at a meeting starting at `starts_at`, seen at `now`.

    `since` is the first instant that counts for this member (the branch's start, or their
    joining). The caller has already decided the member is in the meeting's audience (or
    holds an answer).
    """
    if starts_at < since:
        return MeetingRecord(Standing.NOT_COUNTED)
    closed = now >= check_in_closes(starts_at)
    if answer is None:
        if member.linked_at is None or member.linked_at > starts_at:
            return MeetingRecord(Standing.NOT_REACHABLE)
        return MeetingRecord(Standing.ABSENT if closed else Standing.NO_ANSWER)
    made_up = answer.made_up_at is not None
    state = answer.state
    if answer.checked_in_at is not None or state == AttendanceState.PRESENT.value:
        return MeetingRecord(Standing.PRESENT, by_hand=answer.checked_in_at is None)
    if state == AttendanceState.LEAVE_APPROVED.value:
        return MeetingRecord(Standing.ON_LEAVE, made_up)
    if state == AttendanceState.LEAVE_REQUESTED.value:
        return MeetingRecord(Standing.LEAVE_REQUESTED, made_up)
    if state == AttendanceState.ABSENT.value:
        # Stored only by a hand mark or a make-up session on a member who never answered.
        return MeetingRecord(Standing.ABSENT, made_up, by_hand=not made_up)
    if not closed:
        declined = state == AttendanceState.LEAVE_DECLINED.value
        return MeetingRecord(Standing.LEAVE_DECLINED if declined else Standing.ATTENDING)
    return MeetingRecord(Standing.ABSENT, made_up)


@dataclass(frozen=True)
class Counts:
    """How a meeting's (or a member's year of) records add up."""

    present: int = 0
    on_leave: int = 0
    absent: int = 0
    made_up: int = 0  # absences and leaves made up (included in absent and on_leave)
    attending: int = 0
    no_answer: int = 0  # check-in not closed (declined leave included until then)
    not_reachable: int = 0

    @property
    def expected(self) -> int:
        """Everyone counted: present + on leave + absent + not decided yet."""
        return self.present + self.on_leave + self.absent + self.attending + self.no_answer


_BUCKET = {
    Standing.PRESENT: "present",
    Standing.ON_LEAVE: "on_leave",
    Standing.LEAVE_REQUESTED: "on_leave",
    Standing.ABSENT: "absent",
    Standing.ATTENDING: "attending",
    Standing.NO_ANSWER: "no_answer",
    Standing.LEAVE_DECLINED: "no_answer",  # until check-in closes; absent after
    Standing.NOT_REACHABLE: "not_reachable",
}


def count(records: Iterable[MeetingRecord]) -> Counts:
    """Add up records (pure); records not counted (before a start) are left out."""
    items = list(records)
    totals = Counter(_BUCKET[r.standing] for r in items if r.standing in _BUCKET)
    made_up = sum(1 for r in items if r.made_up and (r.absent or r.on_leave))
    return Counts(made_up=made_up, **totals)


@dataclass(frozen=True)
class DuesMonth:
    """A month whose dues day has begun (and so is due), with that instant."""

    month: Month
    due_at: dt.datetime


def dues_months(
    plan: Plan, tz: pytz.BaseTzInfo, *, since: dt.date, now: dt.datetime, years: Sequence[int]
) -> list[DuesMonth]:
    """The months of `years` that are due at `now` and on or after `since`, oldest first.

    A month is due once its dues day (the plan's first `dues` item) has begun. Without a
    dues item, a month is due once it has begun.
    """
    items = [i for i in plan.items if i.kind == ItemKind.DUES]
    found: list[DuesMonth] = []
    for year in sorted(years):
        if items:
            item = items[0]
            days = [(d, local_to_utc(d, item.time, tz)) for d in item_dates(item, year)]
        else:
            days = [
                (dt.date(year, m, 1), local_to_utc(dt.date(year, m, 1), dt.time(0, 0), tz))
                for m in range(1, 13)
            ]
        for day, instant in days:
            if instant <= now and day >= since:
                found.append(DuesMonth((day.year, day.month), instant))
    return found


def owed_months(due: Iterable[DuesMonth], paid: Iterable[Month]) -> list[Month]:
    """The due months with no payment (declared or confirmed) recorded."""
    done = set(paid)
    return [d.month for d in due if d.month not in done]


def member_since(member: Member, branch: Branch) -> dt.datetime:
    """The first instant that counts for the member: local midnight of their first day."""
    return local_to_utc(member_start(member, branch), dt.time(0, 0), zone(branch.timezone))
