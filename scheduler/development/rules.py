"""The development pipeline's rules as data, and pure functions of (records, calendar).

A rule set is one frozen value (`RULESET_2014`): when the regulation is revised, a new rule set
is added beside it, not edits scattered through the code. Every number below cites the 2014
《中国共产党发展党员工作细则》; docs/development.md explains each and says where the article
number is uncertain.

Records are the facts a secretary recorded (`Record`); they may arrive in any order and may be
corrected (a later record of a one-off step replaces the earlier one). Everything here is
computed from the whole set, never from the order of arrival, so a deadline cannot be lost or
doubled by the order in which stages were recorded.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import holidays


class Stage(enum.StrEnum):
    """Where a person stands on the way to full membership."""

    APPLICANT = "applicant"  # 入党申请人
    ACTIVIST = "activist"  # 入党积极分子
    CANDIDATE = "candidate"  # 发展对象
    PROBATIONARY = "probationary"  # 预备党员
    FULL = "full"  # 正式党员


# Roster statuses of people who are not yet members: never in quorum, dues or members' items.
PRE_MEMBER = frozenset({Stage.APPLICANT.value, Stage.ACTIVIST.value, Stage.CANDIDATE.value})


class Step(enum.StrEnum):
    """A recorded step of the procedure."""

    APPLIED = "applied"  # written application received
    TALKED = "talked"  # the organisation talked with the applicant (by whom)
    ACTIVIST = "activist"  # chosen as activist (two contacts)
    EXAMINED = "examined"  # a half-yearly examination (考察)
    NOTICE = "notice"  # the public notice (公示) began
    CANDIDATE = "candidate"  # made a candidate (review, training hours, two introducers)
    PREREVIEW = "prereview"  # the higher committee's pre-review (预审) passed
    VOTE = "vote"  # a members' meeting vote (admission or conversion)
    APPROVAL_EXTENDED = "approval_extended"  # the higher committee takes longer (reason)
    APPROVED = "approved"  # the higher committee approved the admission: probation runs
    EXTENDED = "extended"  # probation extended (months, reason)
    CONVERTED = "converted"  # conversion to full membership approved


# Steps that happen once: a second record of one of them is a correction of the first.
ONE_OFF = frozenset(set(Step) - {Step.EXAMINED, Step.VOTE})


@dataclass(frozen=True)
class RuleSet:
    """The numbers of one version of the regulation."""

    name: str
    min_age: int  # Art. 5: 年满十八岁
    talk_within_months: int  # Art. 8: 一个月内派人谈话
    contacts: int  # Art. 11: 培养联系人 (the article says one or two; see docs)
    exam_every_months: int  # Art. 12: 每半年考察一次
    activist_min_months: int  # Art. 13: 一年以上培养教育和考察
    notice_working_days: int  # 公示 (see docs: the article and the number are uncertain)
    training_min_hours: int  # Art. 18: 不少于三天或二十四个学时
    training_min_days: int
    introducers: int  # Art. 15: 两名正式党员作入党介绍人
    approval_months: int  # Art. 26: 三个月内审批
    approval_max_months: int  # Art. 26: 特殊情况可适当延长, 但不得超过六个月
    probation_months: int  # Art. 27: 预备期为一年, 从支部大会通过之日算起
    extension_min_months: int  # Art. 31: 延长预备期不能少于半年
    extension_max_months: int  # Art. 31: 最长不超过一年
    # How long before a deadline the secretary is told, per deadline kind (days).
    ahead_days: Mapping[str, int] = field(default_factory=dict)


RULESET_2014 = RuleSet(
    name="2014",
    min_age=18,
    talk_within_months=1,
    contacts=2,
    exam_every_months=6,
    activist_min_months=12,
    notice_working_days=5,
    training_min_hours=24,
    training_min_days=3,
    introducers=2,
    approval_months=3,
    approval_max_months=6,
    probation_months=12,
    extension_min_months=6,
    extension_max_months=12,
    ahead_days={"talk": 7, "exam": 14, "conversion": 30},
)
CURRENT = RULESET_2014


@dataclass(frozen=True)
class Record:
    """One recorded step: its date, its people (member ids) and its facts."""

    id: int
    step: Step
    on: dt.date
    people: tuple[int, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None


# --------------------------------------------------------------------------- calendar


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's end (Jan 31 + 1 -> Feb 28/29)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@functools.cache
def _china(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("CN", years=year)


def china_working_day(day: dt.date) -> bool:
    """Whether `day` is a working day in China: holidays off, make-up weekends (调休) worked."""
    return bool(_china(day.year).is_working_day(day))


WorkingDay = Callable[[dt.date], bool]


def notice_end(start: dt.date, working_days: int, is_working: WorkingDay) -> dt.date:
    """The last day of a notice of `working_days` working days that begins on `start`."""
    day, counted = start, 0
    while True:
        if is_working(day):
            counted += 1
            if counted == working_days:
                return day
        day += dt.timedelta(days=1)


# --------------------------------------------------------------------------- facts


def _latest(records: Iterable[Record], step: Step) -> Record | None:
    """The one record of a one-off step that counts: the last recorded (a correction)."""
    found = [r for r in records if r.step == step]
    return max(found, key=lambda r: r.id) if found else None


def vote_kind(records: Sequence[Record], on: dt.date) -> str:
    """A vote before the admission was approved admits; one after it converts."""
    approved = _latest(records, Step.APPROVED)
    return "conversion" if approved is not None and approved.on <= on else "admission"


def passed_vote(records: Sequence[Record], kind: str) -> Record | None:
    """The latest passed vote of a kind (a failed vote may be followed by another)."""
    votes = [
        r
        for r in records
        if r.step == Step.VOTE and r.data.get("passed") and r.data.get("kind") == kind
    ]
    return max(votes, key=lambda r: (r.on, r.id)) if votes else None


def stage_of(records: Sequence[Record], imported: Stage | None = None) -> Stage:
    """The stage the records (and an imported starting stage) put a person at."""
    if _latest(records, Step.CONVERTED):
        return Stage.FULL
    if _latest(records, Step.APPROVED):
        return Stage.PROBATIONARY
    if _latest(records, Step.CANDIDATE):
        return Stage.CANDIDATE
    if _latest(records, Step.ACTIVIST):
        return Stage.ACTIVIST
    return imported or Stage.APPLICANT


def probation_end(records: Sequence[Record], rules: RuleSet = CURRENT) -> dt.date | None:
    """The day probation ends: a year from the passed admission vote, plus any extension."""
    vote = passed_vote(records, "admission")
    if vote is None or _latest(records, Step.APPROVED) is None:
        return None
    extension = _latest(records, Step.EXTENDED)
    months = rules.probation_months + (int(extension.data["months"]) if extension else 0)
    return add_months(vote.on, months)


# --------------------------------------------------------------------------- deadlines


@dataclass(frozen=True)
class Deadline:
    """One open deadline of one person, and the days its reminders fall on.

    `anchor` is the record it runs from and `ordinal` tells repeated ones apart (the n-th
    examination), so (person, kind, anchor, ordinal, phase) names each reminder once for good:
    a corrected date moves the reminder, a reminder already sent is never sent again.
    """

    kind: str  # talk | exam | ready | notice | vote | approval | conversion
    anchor: int
    ordinal: int
    due: dt.date
    phases: tuple[tuple[str, dt.date], ...]  # (ahead | due | overdue, local day)

    @property
    def overdue_from(self) -> dt.date | None:
        """The first day the deadline counts as missed (None: it cannot be missed)."""
        return next((d for p, d in self.phases if p == "overdue"), None)


def _phases(
    kind: str, due: dt.date, rules: RuleSet, *, ahead: bool = True, overdue: bool = True
) -> tuple[tuple[str, dt.date], ...]:
    found: list[tuple[str, dt.date]] = []
    days = rules.ahead_days.get(kind)
    if ahead and days:
        found.append(("ahead", due - dt.timedelta(days=days)))
    found.append(("due", due))
    if overdue:
        found.append(("overdue", due + dt.timedelta(days=1)))
    return tuple(found)


def deadlines(
    records: Sequence[Record],
    *,
    imported: Stage | None = None,
    since: dt.date | None = None,
    rules: RuleSet = CURRENT,
    is_working: WorkingDay = china_working_day,
) -> list[Deadline]:
    """Every open deadline of one person, earliest first.

    `imported`/`since` are the stage and its date from the roster, for people whose earlier
    steps were never recorded here (an imported activist's examinations run from `since`).
    """
    stage = stage_of(records, imported)
    found: list[Deadline] = []
    applied = _latest(records, Step.APPLIED)
    if applied is not None and _latest(records, Step.TALKED) is None and stage == Stage.APPLICANT:
        due = add_months(applied.on, rules.talk_within_months)
        found.append(Deadline("talk", applied.id, 1, due, _phases("talk", due, rules)))
    activist = _latest(records, Step.ACTIVIST)
    start = activist.on if activist else (since if imported == Stage.ACTIVIST else None)
    if stage == Stage.ACTIVIST and start is not None:
        anchor = activist.id if activist else 0
        done = sum(1 for r in records if r.step == Step.EXAMINED and r.on > start)
        n = done + 1
        due = add_months(start, rules.exam_every_months * n)
        found.append(Deadline("exam", anchor, n, due, _phases("exam", due, rules)))
        ready = add_months(start, rules.activist_min_months)
        found.append(Deadline("ready", anchor, 1, ready, (("due", ready),)))
    notice = _latest(records, Step.NOTICE)
    admitted = passed_vote(records, "admission")
    if notice is not None and admitted is None and _latest(records, Step.PREREVIEW) is None:
        end = notice_end(notice.on, rules.notice_working_days, is_working)
        over = end + dt.timedelta(days=1)
        found.append(Deadline("notice", notice.id, 1, end, (("due", over),)))
    prereview = _latest(records, Step.PREREVIEW)
    if prereview is not None and admitted is None:
        found.append(Deadline("vote", prereview.id, 1, prereview.on, (("due", prereview.on),)))
    if admitted is not None and _latest(records, Step.APPROVED) is None:
        longer = _latest(records, Step.APPROVAL_EXTENDED)
        months = rules.approval_max_months if longer else rules.approval_months
        due = add_months(admitted.on, months)
        ordinal = 2 if longer else 1
        found.append(
            Deadline("approval", admitted.id, ordinal, due, _phases("approval", due, rules))
        )
    ends = probation_end(records, rules)
    if (
        ends is not None
        and stage == Stage.PROBATIONARY
        and passed_vote(records, "conversion") is None
    ):
        assert admitted is not None
        end = ends
        extension = _latest(records, Step.EXTENDED)
        ordinal = 2 if extension else 1
        phases = (
            ("ahead", add_months(end, -1)),
            ("due", end),
            ("overdue", end + dt.timedelta(days=1)),
        )
        found.append(Deadline("conversion", admitted.id, ordinal, end, phases))
    found.sort(key=lambda d: (d.due, d.kind))
    return found


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class Refusal:
    """Why a step cannot be recorded: the rule broken, and the facts to name it."""

    rule: str
    facts: Mapping[str, Any] = field(default_factory=dict)


def quorum(entitled: int, votes_for: int, against: int, abstain: int) -> tuple[bool, bool]:
    """(quorum met, passed) of a members' meeting vote.

    Art. 22: more than half of the full members entitled to vote must be present, and the
    resolution passes with the votes of more than half of them (not of those present).
    """
    present = votes_for + against + abstain
    return present * 2 > entitled, votes_for * 2 > entitled


def check(
    records: Sequence[Record],
    new: Record,
    *,
    imported: Stage | None = None,
    since: dt.date | None = None,
    entitled: int = 0,
    rules: RuleSet = CURRENT,
    is_working: WorkingDay = china_working_day,
) -> Refusal | None:
    """None when `new` may be recorded after `records`; else the rule it breaks."""
    stage = stage_of(records, imported)
    others = [r for r in records if not (new.step in ONE_OFF and r.step == new.step)]
    match new.step:
        case Step.APPLIED | Step.TALKED:
            if stage != Stage.APPLICANT:
                return Refusal("stage", {"stage": stage.value})
            if new.step == Step.TALKED and not new.people:
                return Refusal("talk_by")
        case Step.ACTIVIST:
            if stage_of(others, imported) != Stage.APPLICANT:
                return Refusal("stage", {"stage": stage.value})
            if len(set(new.people)) < rules.contacts:
                return Refusal("contacts", {"n": rules.contacts})
        case Step.EXAMINED | Step.NOTICE:
            if stage not in (Stage.ACTIVIST, Stage.CANDIDATE):
                return Refusal("stage", {"stage": stage.value})
        case Step.CANDIDATE:
            if stage_of(others, imported) != Stage.ACTIVIST:
                return Refusal("stage", {"stage": stage.value})
            activist = _latest(records, Step.ACTIVIST)
            start = activist.on if activist else since
            ready = add_months(start, rules.activist_min_months) if start else None
            if ready is None or new.on < ready:
                return Refusal("activist_year", {"date": ready})
            if len(set(new.people)) < rules.introducers:
                return Refusal("introducers", {"n": rules.introducers})
            hours = int(new.data.get("hours", 0))
            days = int(new.data.get("days", 0))
            if hours < rules.training_min_hours and days < rules.training_min_days:
                return Refusal(
                    "training",
                    {"hours": rules.training_min_hours, "days": rules.training_min_days},
                )
            if not new.data.get("review"):
                return Refusal("review")
        case Step.PREREVIEW:
            if stage != Stage.CANDIDATE:
                return Refusal("stage", {"stage": stage.value})
        case Step.VOTE:
            present, _passed = quorum(
                entitled,
                int(new.data.get("for", 0)),
                int(new.data.get("against", 0)),
                int(new.data.get("abstain", 0)),
            )
            if not present:
                return Refusal("quorum", {"entitled": entitled})
            if vote_kind(records, new.on) == "admission":
                if stage != Stage.CANDIDATE or _latest(records, Step.PREREVIEW) is None:
                    return Refusal("prereview")
                notice = _latest(records, Step.NOTICE)
                end = (
                    notice_end(notice.on, rules.notice_working_days, is_working)
                    if notice
                    else None
                )
                if end is None or new.on <= end:
                    return Refusal("notice", {"date": end})
            elif stage != Stage.PROBATIONARY:
                return Refusal("stage", {"stage": stage.value})
        case Step.APPROVAL_EXTENDED:
            if passed_vote(records, "admission") is None:
                return Refusal("no_vote")
            if not new.reason:
                return Refusal("reason")
        case Step.APPROVED:
            vote = passed_vote(records, "admission")
            if vote is None:
                return Refusal("no_vote")
            limit = rules.approval_max_months
            if new.on > add_months(vote.on, limit) and not new.reason:
                return Refusal("approval_late", {"months": limit})
        case Step.EXTENDED:
            if stage != Stage.PROBATIONARY:
                return Refusal("stage", {"stage": stage.value})
            months = int(new.data.get("months", 0))
            if not rules.extension_min_months <= months <= rules.extension_max_months:
                return Refusal(
                    "extension",
                    {"low": rules.extension_min_months, "high": rules.extension_max_months},
                )
            if not new.reason:
                return Refusal("reason")
        case Step.CONVERTED:
            if stage != Stage.PROBATIONARY or passed_vote(records, "conversion") is None:
                return Refusal("no_vote")
    return None
