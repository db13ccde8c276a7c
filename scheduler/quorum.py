"""The quorum of a general members' meeting (党员大会): a pure rule over loaded rows.

A general members' meeting needs more than half of the full members entitled to vote;
probationary members do not count. Before the meeting the attending answers are counted,
from the opening of check-in (30 minutes before the start) the check-ins are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from scheduler.records import CHECK_IN_OPENS
from storage.models import AttendanceState, Member, MemberStatus

QUORUM_ITEMS = frozenset({"general_meeting"})
WARN_DAYS = 3  # the digest and the secretary are warned this many days before

_ANSWERED_YES = frozenset({AttendanceState.ATTENDING.value, AttendanceState.PRESENT.value})
_ON_LEAVE = frozenset(
    {AttendanceState.LEAVE_REQUESTED.value, AttendanceState.LEAVE_APPROVED.value}
)


class Answered(Protocol):
    """What the rule reads of an answer (an Attendance row, or just its columns)."""

    @property
    def state(self) -> str:
        """The AttendanceState value."""
        ...

    @property
    def checked_in_at(self) -> dt.datetime | None:
        """When the member checked in, if they did."""
        ...


@dataclass(frozen=True)
class Quorum:
    """Where a meeting stands against its quorum."""

    entitled: int  # full members expected (probationary members do not vote)
    counted: int  # attending answers before check-in opens, check-ins after
    on_leave: int
    by_check_in: bool

    @property
    def needed(self) -> int:
        """More than half of those entitled."""
        return self.entitled // 2 + 1

    @property
    def reached(self) -> bool:
        """The count so far makes the quorum."""
        return self.counted >= self.needed

    @property
    def impossible(self) -> bool:
        """Even if everyone not on leave came, there would be no quorum."""
        return self.entitled - self.on_leave < self.needed


def needs_quorum(item_id: str) -> bool:
    """Whether occurrences of this plan item need a quorum."""
    return item_id in QUORUM_ITEMS


def quorum(
    audience: Sequence[Member],
    answers: Mapping[int, Answered],
    *,
    starts_at: dt.datetime,
    now: dt.datetime,
) -> Quorum:
    """Count the full members of `audience` against the quorum at `now`."""
    by_check_in = now >= starts_at - CHECK_IN_OPENS
    entitled = counted = on_leave = 0
    for member in audience:
        if member.status != MemberStatus.FULL.value:
            continue
        entitled += 1
        answer = answers.get(member.id or 0)
        if answer is None:
            continue
        if by_check_in:
            counted += answer.checked_in_at is not None or answer.state == AttendanceState.PRESENT
        else:
            counted += answer.state in _ANSWERED_YES
        on_leave += answer.state in _ON_LEAVE
    return Quorum(entitled=entitled, counted=counted, on_leave=on_leave, by_check_in=by_check_in)
