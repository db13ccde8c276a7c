"""What a committee sees of the branches below it: every branch's measures, read in bulk.

`load_oversight` reads everything the scorecards need for many branches and a range of days in
a constant number of statements, however many branches and members there are (each table once,
for all branch ids); `branch_cards` then works out each branch's scorecard for any period
within that range without another query (a year loaded once gives each of its months). The
rules are the shared ones, never re-derived here: cycle compliance (scheduler/compliance.py),
attendance and dues (scheduler/records.py), hand-ins (scheduler/handins.py), development
deadlines (scheduler/development) and the score (scheduler/scorecard.py). What each measure
counts is written down in docs/oversight.md ("The scorecard and the score").
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import pytz
from sqlalchemy import and_, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bot.access import Seat
from bot.services import org
from scheduler.audience import in_audience
from scheduler.compliance import (
    BASELINE_ITEMS,
    Cycle,
    Finding,
    Span,
    Tally,
    branch_compliance,
    period,
    tally,
)
from scheduler.development.reminders import Person, load_people
from scheduler.development.rules import PRE_MEMBER
from scheduler.handins import HandIn, book_of, handin_items, load_handins, status_history
from scheduler.kinds import ItemKind, quarter_of
from scheduler.orgtree import committee_of
from scheduler.plan import Localized, Plan, PlanItem, branch_plan, default_plan
from scheduler.records import (
    DuesMonth,
    branch_start,
    check_in_closes,
    count,
    dues_months,
    meeting_record,
    member_since,
    member_start,
)
from scheduler.recurrence import item_dates, local_to_utc, to_local, zone
from scheduler.scorecard import (
    BranchCard,
    Measures,
    Rate,
    ScoreConfig,
    ScoreConfigError,
    parse_score_config,
    score,
    worst_first,
)
from storage.db import Database
from storage.models import (
    Attendance,
    Branch,
    DuesPayment,
    MeetingMinutes,
    Member,
    Occurrence,
    OccurrenceStatus,
    OrgUnit,
    PartyGroup,
    TalkRecord,
)

log = logging.getLogger(__name__)

# The members' meeting (党员大会): its attendance is the attendance measure.
MEMBERS_MEETING = "general_meeting"

Month = tuple[int, int]


class Answer(NamedTuple):
    """What the attendance rule reads of an answer (scheduler.records.Answered)."""

    state: str
    checked_in_at: dt.datetime | None
    made_up_at: dt.datetime | None


@dataclass(frozen=True)
class BranchData:
    """One branch and its rows, as loaded (no session needed any more)."""

    branch: Branch
    plan: Plan
    tz: pytz.BaseTzInfo
    people: tuple[Member, ...]  # every active person, those not yet members included
    groups: Mapping[int, PartyGroup]
    occurrences: tuple[Occurrence, ...]
    minutes: Mapping[tuple[int, int], MeetingMinutes]  # (occurrence id, scope) -> record
    pipeline: tuple[Person, ...]  # people with development records or open deadlines
    handins: tuple[HandIn, ...]  # its people's hand-ins (thought reports) of the years loaded
    config: ScoreConfig  # the weights of the nearest committee above

    @property
    def branch_id(self) -> int:
        """The branch's id."""
        assert self.branch.id is not None
        return self.branch.id

    @functools.cached_property
    def members(self) -> list[Member]:
        """Active full and probationary members (those not yet members are not counted)."""
        return [m for m in self.people if m.status not in PRE_MEMBER]

    @functools.cached_property
    def starts(self) -> dict[int, dt.date]:
        """Each member's first local day in the branch (scheduler.records.member_start)."""
        return {m.id or 0: member_start(m, self.branch) for m in self.members}

    @functools.cached_property
    def since(self) -> dict[int, dt.datetime]:
        """Each member's first instant that counts (scheduler.records.member_since)."""
        return {m.id or 0: member_since(m, self.branch) for m in self.members}


@dataclass(frozen=True)
class OversightData:
    """Everything `branch_cards` reads, for the branches and the days loaded."""

    first: dt.date
    last: dt.date
    branches: Mapping[int, BranchData]
    units: Mapping[int, OrgUnit]
    # (occurrence id, member id) -> answer, for the members' meetings loaded
    answers: Mapping[tuple[int, int], Answer] = field(default_factory=dict)
    # member id -> month -> when the payment was declared
    payments: Mapping[int, Mapping[Month, dt.datetime]] = field(default_factory=dict)
    talk_records: frozenset[tuple[int, int, int]] = frozenset()  # (group id, year, quarter)
    handins: tuple[HandIn, ...] = ()
    history: Mapping[int, Sequence[tuple[dt.date, str]]] = field(default_factory=dict)


def load_oversight(
    session: Session, branch_ids: Iterable[int], *, first: dt.date, last: dt.date
) -> OversightData:
    """Read what the scorecards of `branch_ids` need for the local days `first`..`last`.

    A constant number of statements (about a dozen), whatever the number of branches and
    members: each table is read once for all the branches and the rows are grouped here.
    Occurrence rows are those planned in the range (their key), or starting in it after a move.
    """
    ids = sorted(set(branch_ids))
    if not ids:
        return OversightData(first, last, {}, {})
    branches = session.exec(select(Branch).where(col(Branch.id).in_(ids))).all()
    units = {u.id: u for u in session.exec(select(OrgUnit)).all() if u.id is not None}
    people = session.exec(
        select(Member)
        .where(col(Member.branch_id).in_(ids), col(Member.active).is_(True))
        .order_by(col(Member.name), col(Member.id))
    ).all()
    groups = session.exec(select(PartyGroup).where(col(PartyGroup.branch_id).in_(ids))).all()
    # A day of margin each side: keys are local dates, starts_at is UTC.
    lo = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(0, 0), tzinfo=dt.UTC)
    hi = dt.datetime.combine(last + dt.timedelta(days=2), dt.time(0, 0), tzinfo=dt.UTC)
    in_range = or_(
        and_(col(Occurrence.key) >= first.isoformat(), col(Occurrence.key) <= last.isoformat()),
        and_(col(Occurrence.starts_at) >= lo, col(Occurrence.starts_at) < hi),
    )
    occurrences = session.exec(
        select(Occurrence)
        .where(col(Occurrence.branch_id).in_(ids), in_range)
        .order_by(col(Occurrence.starts_at), col(Occurrence.id))
    ).all()
    minutes = session.exec(
        select(MeetingMinutes)
        .join(Occurrence, col(Occurrence.id) == MeetingMinutes.occurrence_id)
        .where(col(MeetingMinutes.branch_id).in_(ids), in_range)
    ).all()
    # Plain rows, not ORM objects: a year of a big committee's members' meetings is tens of
    # thousands of answers, and the rules read three fields of each.
    answers = session.execute(
        sa_select(
            col(Attendance.occurrence_id),
            col(Attendance.member_id),
            col(Attendance.state),
            col(Attendance.checked_in_at),
            col(Attendance.made_up_at),
        )
        .join(Occurrence, col(Occurrence.id) == Attendance.occurrence_id)
        .where(
            col(Occurrence.branch_id).in_(ids),
            col(Occurrence.item_id) == MEMBERS_MEETING,
            in_range,
        )
    ).all()
    years = list(range(first.year, last.year + 1))
    payments = session.exec(
        select(DuesPayment.member_id, DuesPayment.year, DuesPayment.month, DuesPayment.declared_at)
        .join(Member, col(Member.id) == DuesPayment.member_id)
        .where(col(Member.branch_id).in_(ids), col(DuesPayment.year).in_(years))
    ).all()
    talks = session.exec(
        select(TalkRecord.group_id, TalkRecord.year, TalkRecord.quarter).where(
            col(TalkRecord.branch_id).in_(ids), col(TalkRecord.year).in_(years)
        )
    ).all()
    quarters = {(y, q) for y in years for q in range(1, 5)}
    handins = load_handins(session, set(ItemKind), quarters, branch_ids=ids)
    pipeline = load_people(session, ids)  # development records and open deadlines: 2 queries

    history = status_history(
        (p.member.id or 0, r.on, r.step)
        for persons in pipeline.values()
        for p in persons
        for r in p.records  # already by day, then id
    )
    by_branch: dict[int, list[Member]] = defaultdict(list)
    for m in people:
        by_branch[m.branch_id].append(m)
    groups_of: dict[int, dict[int, PartyGroup]] = defaultdict(dict)
    for g in groups:
        if g.id is not None:
            groups_of[g.branch_id][g.id] = g
    occ_of: dict[int, list[Occurrence]] = defaultdict(list)
    for o in occurrences:
        occ_of[o.branch_id].append(o)
    minutes_of: dict[int, dict[tuple[int, int], MeetingMinutes]] = defaultdict(dict)
    for row in minutes:
        minutes_of[row.branch_id][(row.occurrence_id, row.scope)] = row
    branch_of = {m.id: m.branch_id for m in people}
    handins_of: dict[int, list[HandIn]] = defaultdict(list)
    for h in handins:
        if h.member_id in branch_of:
            handins_of[branch_of[h.member_id]].append(h)
    paid: dict[int, dict[Month, dt.datetime]] = defaultdict(dict)
    for member_id, year, month, declared_at in payments:
        paid[member_id][(year, month)] = declared_at

    loaded = {}
    for b in branches:
        assert b.id is not None
        loaded[b.id] = BranchData(
            branch=b,
            plan=branch_plan(b),
            tz=zone(b.timezone),
            people=tuple(by_branch[b.id]),
            groups=groups_of[b.id],
            occurrences=tuple(occ_of[b.id]),
            minutes=minutes_of[b.id],
            pipeline=tuple(pipeline.get(b.id, ())),
            handins=tuple(handins_of[b.id]),
            config=committee_config(units, b.org_unit_id),
        )
    return OversightData(
        first=first,
        last=last,
        branches=loaded,
        units=units,
        answers={(a[0], a[1]): Answer(a[2], a[3], a[4]) for a in answers},
        payments=paid,
        talk_records=frozenset(talks),
        handins=tuple(handins),
        history=history,
    )


def committee_config(units: Mapping[int, OrgUnit], unit_id: int | None) -> ScoreConfig:
    """The score weights of the nearest committee above (the defaults when it set none)."""
    committee = committee_of(units, unit_id)
    if committee is None:
        return ScoreConfig()
    try:
        return parse_score_config(committee.score_toml)
    except ScoreConfigError as exc:  # checked when set; a stored bad text must not break views
        log.warning("score settings of unit %s unusable: %s", committee.id, exc)
        return ScoreConfig()


def baseline_items() -> list[PlanItem]:
    """The meetings every branch owes (the default plan's items of the baseline ids)."""
    plan = default_plan()
    return [plan.item(i) for i in BASELINE_ITEMS if any(it.id == i for it in plan.items)]


def branch_cards(
    data: OversightData,
    *,
    first: dt.date,
    last: dt.date,
    now: dt.datetime,
    config: ScoreConfig | None = None,
) -> list[BranchCard]:
    """Each loaded branch's scorecard for the local days `first`..`last` (within the loaded
    range), seen at `now`; by name. Pure: no query. `config`: the weights for every branch
    (None: each branch's own committee's)."""
    if first < data.first or last > data.last:
        raise ValueError(f"{first}..{last} is outside the loaded {data.first}..{data.last}")
    baseline = baseline_items()
    cards = []
    for bd in sorted(data.branches.values(), key=lambda b: b.branch.name):
        findings = tuple(meeting_findings(bd, first=first, last=last, now=now, baseline=baseline))
        measures = Measures(
            meetings=tally(findings),
            attendance=_attendance(data, bd, first, last, now),
            dues=_dues(data, bd, first, last, now),
            talks=_talks(data, bd, first, last, now),
            reports=_reports(data, bd, first, last, now),
            members=len(bd.members),
            unreachable=sum(1 for m in bd.members if unreachable(m)),
            development_missed=_development_missed(bd, now),
        )
        cards.append(
            BranchCard(
                branch_id=bd.branch_id,
                name=bd.branch.name,
                unit_id=bd.branch.org_unit_id,
                measures=measures,
                score=score(measures, config or bd.config),
                findings=findings,
            )
        )
    return cards


def meeting_findings(
    bd: BranchData,
    *,
    first: dt.date,
    last: dt.date,
    now: dt.datetime,
    baseline: Sequence[PlanItem] | None = None,
) -> list[Finding]:
    """The branch's required meeting slots in the period and their verdicts (the one rule)."""
    populated = {m.group_id for m in bd.members if m.group_id is not None}
    return branch_compliance(
        bd.plan,
        bd.occurrences,
        bd.minutes,
        groups=sorted(g for g in bd.groups if g in populated),
        tz=bd.tz,
        first=first,
        last=last,
        start=branch_start(bd.branch),
        now=now,
        baseline=baseline_items() if baseline is None else baseline,
    )


def unreachable(m: Member) -> bool:
    """Never linked, or Telegram refuses to deliver to them."""
    return m.telegram_id is None or m.linked_at is None or m.unreachable_reason is not None


def _local_day(bd: BranchData, at: dt.datetime) -> dt.date:
    return to_local(at, bd.tz).date()


def _attendance(
    data: OversightData, bd: BranchData, first: dt.date, last: dt.date, now: dt.datetime
) -> Rate:
    """Present over counted (present, on leave, absent) at the members' meetings whose check-in
    closed within the period; a meeting cancelled or recorded as not held is not counted."""
    try:
        audience = bd.plan.item(MEMBERS_MEETING).audience
    except KeyError:
        audience = "all"
    present = counted = 0
    for occ in bd.occurrences:
        if occ.item_id != MEMBERS_MEETING or occ.status != OccurrenceStatus.SCHEDULED.value:
            continue
        closes = check_in_closes(occ.starts_at)
        if closes > now or not first <= _local_day(bd, closes) <= last:
            continue
        record = bd.minutes.get((occ.id or 0, 0))
        if record is not None and not record.held:
            continue
        counts = count(
            meeting_record(
                data.answers.get((occ.id or 0, m.id or 0)),
                m,
                starts_at=occ.starts_at,
                now=now,
                since=bd.since[m.id or 0],
            )
            for m in bd.members
            if in_audience(audience, m.role, m.group_id)
        )
        present += counts.present
        counted += counts.present + counts.on_leave + counts.absent
    return Rate(present, counted)


def _dues(
    data: OversightData, bd: BranchData, first: dt.date, last: dt.date, now: dt.datetime
) -> Rate:
    """Member-months due in the period (since each member's start) paid on time: declared
    before the end of that local month. Members with no approved amount are exempt; a month
    not over yet counts once it is paid (unpaid, it is not late yet)."""
    done = due = 0
    years = list(range(first.year, last.year + 1))
    by_start: dict[dt.date, list[DuesMonth]] = {}  # most members share the branch's start
    ends: dict[Month, dt.datetime] = {}  # the instant each local month ends
    for m in bd.members:
        if m.dues_amount <= 0 or m.id is None:
            continue
        start = bd.starts[m.id]
        if start not in by_start:
            by_start[start] = dues_months(bd.plan, bd.tz, since=start, now=now, years=years)
        own = data.payments.get(m.id, {})
        for d in by_start[start]:
            year, month = d.month
            if not first <= dt.date(year, month, 1) <= last:
                continue
            declared = own.get(d.month)
            if d.month not in ends:
                next_day = Cycle("month", year, month).last + dt.timedelta(days=1)
                ends[d.month] = local_to_utc(next_day, dt.time(0), bd.tz)
            end = ends[d.month]
            if declared is None and now < end:
                continue  # the month is not over: not late yet
            due += 1
            done += declared is not None and declared < end
    return Rate(done, due)


def _talks(
    data: OversightData, bd: BranchData, first: dt.date, last: dt.date, now: dt.datetime
) -> Rate:
    """Each party group with active members owes one talk record per talk-records day that
    passed in the period; handed in when its group's record for that quarter exists."""
    populated = sorted({m.group_id for m in bd.members if m.group_id is not None} & set(bd.groups))
    done = due = 0
    for item in (i for i in bd.plan.items if i.kind == ItemKind.TALKS):
        for year in range(first.year, last.year + 1):
            for day in item_dates(item, year):
                if not first <= day <= last or local_to_utc(day, item.time, bd.tz) > now:
                    continue
                y, q = quarter_of(day)
                for group_id in populated:
                    due += 1
                    done += (group_id, y, q) in data.talk_records
    return Rate(done, due)


def _reports(
    data: OversightData, bd: BranchData, first: dt.date, last: dt.date, now: dt.datetime
) -> Rate:
    """Hand-ins (thought reports) owed whose deadline passed in the period, handed in."""
    if not handin_items(bd.plan):
        return Rate()
    today = _local_day(bd, now)
    done = due = 0
    for year in range(first.year, last.year + 1):
        book = book_of(bd.plan, bd.people, year, history=data.history, handins=bd.handins)
        for owed in book:
            if first <= owed.deadline <= last and owed.deadline < today:
                due += 1
                done += owed.handed_in is not None
    return Rate(done, due)


def _development_missed(bd: BranchData, now: dt.datetime) -> int:
    """Open development deadlines whose overdue day has come (at `now`)."""
    today = _local_day(bd, now)
    return sum(
        1
        for p in bd.pipeline
        for d in p.deadlines
        if d.overdue_from is not None and d.overdue_from <= today
    )


# --------------------------------------------------------------------------- views


class NotVisible(LookupError):
    """A branch the person's seats do not see (or that does not exist)."""


@dataclass(frozen=True)
class ComplianceView:
    """One branch's required meetings in a period, for /compliance."""

    branch_id: int
    branch_name: str
    span: Span
    back: int  # 0: the period containing today; 1: the one before
    first: dt.date
    last: dt.date
    findings: tuple[Finding, ...]
    titles: Mapping[str, Localized]  # plan item id -> its title
    groups: Mapping[int, str]  # party group id -> name

    @property
    def tally(self) -> Tally:
        """How the findings add up."""
        return tally(self.findings)


@dataclass(frozen=True)
class BranchesView:
    """Scorecards of the branches a person sees (worst first), for /branches and the digest."""

    span: Span
    first: dt.date
    last: dt.date
    cards: tuple[BranchCard, ...]
    titles: Mapping[str, Localized]
    groups: Mapping[int, str]
    unit_name: str = ""
    back: int = 0  # 0: the period containing today; 1: the one before


def _titles(plans: Iterable[Plan]) -> dict[str, Localized]:
    found = {item.id: item.title for item in baseline_items()}
    for plan in plans:
        found.update({item.id: item.title for item in plan.items})
    return found


def _group_names(data: OversightData) -> dict[int, str]:
    return {gid: g.name for bd in data.branches.values() for gid, g in bd.groups.items()}


def compliance_view(
    db: Database, *, branch_id: int, span: Span, now: dt.datetime, back: int = 0
) -> ComplianceView:
    """The branch's required meetings of the month, quarter or year containing today (local),
    or of the one `back` before it."""
    with db.read() as session:
        branch = session.get(Branch, branch_id)
        if branch is None:
            raise NotVisible(branch_id)
        first, last = period(span, to_local(now, zone(branch.timezone)).date(), back)
        data = load_oversight(session, [branch_id], first=first, last=last)
    bd = data.branches[branch_id]
    findings = meeting_findings(bd, first=first, last=last, now=now)
    return ComplianceView(
        branch_id=branch_id,
        branch_name=branch.name,
        span=span,
        back=back,
        first=first,
        last=last,
        findings=tuple(findings),
        titles=_titles([bd.plan]),
        groups=_group_names(data),
    )


def visible(session: Session, seats: Sequence[Seat]) -> frozenset[int]:
    """The branches these seats see (the one rule, bot/services/org.py)."""
    return org.visible_branch_ids(session, seats)


def branches_view(
    db: Database, *, seats: Sequence[Seat], span: Span, now: dt.datetime, back: int = 0
) -> BranchesView:
    """The scorecards of every branch the seats see, for the period containing today (in the
    first seat's unit's zone), worst first. A constant number of statements."""
    with db.read() as session:
        return branches_in(session, seats=seats, span=span, now=now, back=back)


class BranchesCache:
    """Recent /branches views, so turning its pages or coming back from one branch does not
    read and score every branch again: a view is reused for VIEW_REUSE of clock time, per set
    of units seen and period; the command itself always builds a fresh one. Thread-safe
    (views are built in worker threads)."""

    VIEW_REUSE = dt.timedelta(minutes=1)
    KEPT = 32

    def __init__(self) -> None:
        self._views: dict[tuple[frozenset[int], Span, int], tuple[dt.datetime, BranchesView]] = {}
        self._lock = threading.Lock()

    def branches(
        self,
        db: Database,
        *,
        seats: Sequence[Seat],
        span: Span,
        now: dt.datetime,
        back: int = 0,
        fresh: bool = True,
    ) -> BranchesView:
        """`branches_view`; with `fresh=False`, the same view if built less than VIEW_REUSE
        ago."""
        key = (frozenset(s.unit_id for s in seats), span, back)
        with self._lock:
            kept = self._views.get(key)
        if not fresh and kept is not None and abs(now - kept[0]) < self.VIEW_REUSE:
            return kept[1]
        view = branches_view(db, seats=seats, span=span, now=now, back=back)
        with self._lock:
            if len(self._views) >= self.KEPT:
                self._views.pop(next(iter(self._views)))
            self._views[key] = (now, view)
        return view


def branches_in(
    session: Session, *, seats: Sequence[Seat], span: Span, now: dt.datetime, back: int = 0
) -> BranchesView:
    """`branches_view` inside an open session."""
    ids = visible(session, seats)
    unit = session.get(OrgUnit, seats[0].unit_id) if seats else None
    tz = zone(unit.timezone if unit is not None else "Asia/Shanghai")
    first, last = period(span, to_local(now, tz).date(), back)
    data = load_oversight(session, ids, first=first, last=last)
    cards = branch_cards(data, first=first, last=last, now=now)
    return BranchesView(
        span=span,
        back=back,
        first=first,
        last=last,
        cards=tuple(worst_first(cards)),
        titles=_titles(bd.plan for bd in data.branches.values()),
        groups=_group_names(data),
        unit_name=unit.name if unit is not None else "",
    )


def check_visible(db: Database, *, seats: Sequence[Seat], branch_id: int) -> str:
    """The branch's name; NotVisible unless one of the seats sees it (a forged button for a
    branch outside the person's subtree is refused here)."""
    with db.read() as session:
        branch = session.get(Branch, branch_id)
        if branch is None or branch_id not in visible(session, seats):
            raise NotVisible(branch_id)
        return branch.name


def digest_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """What a committee's weekly digest covers: last month and this month so far (a month's
    meetings are judged once their records are due, so last month's gaps show in its first
    weeks and this month's as they happen)."""
    previous = today.replace(day=1) - dt.timedelta(days=1)
    return previous.replace(day=1), Cycle("month", today.year, today.month).last


def unit_digest(session: Session, *, unit_id: int, now: dt.datetime) -> BranchesView | None:
    """A unit's weekly digest: the scorecards of every branch below it over `digest_period`,
    worst first (None: the unit is gone or has no branch)."""
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.id is None:
        return None
    ids = [b.id for b in org.branches_below(session, [unit.id]) if b.id is not None]
    if not ids:
        return None
    first, last = digest_period(to_local(now, zone(unit.timezone)).date())
    data = load_oversight(session, ids, first=first, last=last)
    cards = branch_cards(data, first=first, last=last, now=now)
    return BranchesView(
        span=Span.MONTH,
        first=first,
        last=last,
        cards=tuple(worst_first(cards)),
        titles=_titles(bd.plan for bd in data.branches.values()),
        groups=_group_names(data),
        unit_name=unit.name,
    )
