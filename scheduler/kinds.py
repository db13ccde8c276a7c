"""The kinds of plan items, and one spec per kind holding what the rest of the code asks of it.

A kind is an `ItemKind`; a plan file names it by its value ("meeting", "dues", ...). What does
not fit in data - texts, buttons, the rows that count as having acted - is a `match` over the
kind that ends in `assert_never`, so mypy lists every place a new kind must be handled.

To add a kind: add a member to `ItemKind` and its `KindSpec` to `BY_KIND`, then run mypy and
handle each `match` it names (docs/extending.md walks through it).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


class ItemKind(enum.StrEnum):
    """What a plan item is; the value is what plan files and ledger payloads say."""

    MEETING = "meeting"
    DUES = "dues"
    TALKS = "talks"
    PAPERWORK = "paperwork"
    THOUGHT_REPORTS = "thought_reports"


class Period(enum.StrEnum):
    """What one occurrence of a kind stands for: an event, or a month or quarter's duty."""

    EVENT = "event"
    MONTH = "month"
    QUARTER = "quarter"


class ActedBy(enum.StrEnum):
    """What records that a member has done what an occurrence of a kind asks."""

    ANSWER = "answer"  # their attendance answer (meetings)
    PAYMENT = "payment"  # a dues payment for the month
    GROUP_RECORD = "group_record"  # their party group's record for the quarter
    HAND_IN = "hand_in"  # their own hand-in for the quarter (scheduler/handins.py)
    NOTHING = "nothing"  # handed in on paper: nothing records it


@dataclass(frozen=True)
class ReminderRule:
    """When to remind, relative to the occurrence's local day."""

    offset_days: int
    at: dt.time
    only_pending: bool = False


@dataclass(frozen=True)
class KindSpec:
    """Everything about a kind that is data rather than behaviour."""

    kind: ItemKind
    # Reminders of an item whose plan entry has no `reminders` array.
    default_reminders: tuple[ReminderRule, ...]
    # The month or quarter an occurrence is for (the headline names it), or the event itself.
    period: Period
    acted_by: ActedBy
    # An event has a start and a length (a meeting): its reminders are worth sending until it
    # starts. A deadline is worth reminding of until the end of its local day (or of the
    # follow-up's own day, for a reminder after the deadline).
    is_event: bool = False
    # Who owes it, beyond the plan item's audience: the member statuses (storage MemberStatus
    # values) it is for. None: members, full and probationary, and nobody not yet a member.
    statuses: frozenset[str] | None = None


def _rules(*rules: tuple[int, str, bool]) -> tuple[ReminderRule, ...]:
    return tuple(
        ReminderRule(off, dt.time.fromisoformat(at), pending) for off, at, pending in rules
    )


BY_KIND: Mapping[ItemKind, KindSpec] = MappingProxyType({
    ItemKind.MEETING: KindSpec(
        ItemKind.MEETING, _rules((-3, "09:00", False), (0, "08:00", False)), Period.EVENT,
        ActedBy.ANSWER, is_event=True,
    ),
    ItemKind.DUES: KindSpec(
        ItemKind.DUES, _rules((0, "09:00", False), (3, "09:00", True)), Period.MONTH,
        ActedBy.PAYMENT,
    ),
    ItemKind.TALKS: KindSpec(
        ItemKind.TALKS, _rules((-14, "09:00", True), (0, "09:00", True)), Period.QUARTER,
        ActedBy.GROUP_RECORD,
    ),
    ItemKind.PAPERWORK: KindSpec(
        ItemKind.PAPERWORK, _rules((-14, "09:00", True), (0, "09:00", True)), Period.QUARTER,
        ActedBy.NOTHING,
    ),
    # 思想汇报: each probationary member and each activist (入党积极分子) hands in a written
    # report every quarter.
    ItemKind.THOUGHT_REPORTS: KindSpec(
        ItemKind.THOUGHT_REPORTS, _rules((-14, "09:00", True), (0, "09:00", True)),
        Period.QUARTER, ActedBy.HAND_IN, statuses=frozenset({"probationary", "activist"}),
    ),
})  # fmt: skip


def quarter_of(day: dt.date) -> tuple[int, int]:
    """(year, quarter 1..4) of a date."""
    return day.year, (day.month - 1) // 3 + 1
