"""Quarterly thought reports (思想汇报): a member who owes one hands it in as text, a photo or a
document; their party group leader and the secretary are told.

Which quarter: the one a reminder's button names, else the oldest quarter of this year whose
deadline has passed without a report (it is marked late), else the current one. A report can be
amended until its quarter's deadline ends; a first one after that is late. Only the Telegram
file id of a photo or document is kept (bot/services/files.py).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from bot.services import conversation
from bot.services.events import Refusal, active_member, event_for
from scheduler.audience import owes
from scheduler.handins import handin_book
from scheduler.kinds import ItemKind, quarter_of
from scheduler.plan import Localized, PlanError, PlanItem, branch_plan
from scheduler.recurrence import item_dates, local_to_utc, to_local, zone
from storage.db import Database
from storage.models import Branch, Member, Role, ThoughtReport

FLOW = "report"  # the conversation flow waiting for the report
MAX_TEXT = 20_000  # characters; Telegram's own message limit is 4096


class ReportRefusal(enum.Enum):
    """Why nothing was handed in."""

    NOT_OWED = "not_owed"  # they do not hand in thought reports (or the plan has none)
    CLOSED = "closed"  # its quarter has ended and it was handed in: no more amendments
    EMPTY = "empty"  # an empty or overlong text
    UNKNOWN = "unknown"  # a button for an occurrence that is not theirs


@dataclass(frozen=True)
class Quarter:
    """The quarter a report is for."""

    title: Localized
    year: int
    quarter: int
    deadline: dt.date  # the item's local day in that quarter; it can be amended until its end


@dataclass(frozen=True)
class Content:
    """What was handed in: a text, or the Telegram file id of a photo or document."""

    text: str | None = None
    file_id: str | None = None
    photo: bool = False


@dataclass(frozen=True)
class Recipient:
    """Someone told of a hand-in."""

    telegram_id: int
    locale: str | None


@dataclass(frozen=True)
class HandedIn:
    """A report handed in or amended, and whom to tell."""

    member_name: str
    quarter: Quarter
    late: bool
    amended: bool
    content: Content
    timezone: str
    recipients: list[Recipient] = field(default_factory=list)


def _items(branch: Branch, member: Member) -> list[PlanItem]:
    try:
        plan = branch_plan(branch)
    except PlanError:
        return []
    return [
        item
        for item in plan.items
        if item.kind == ItemKind.THOUGHT_REPORTS
        and owes(item.kind, item.audience, member.role, member.group_id, member.status)
    ]


def _target(session: Session, branch: Branch, member: Member, now: dt.datetime) -> Quarter | None:
    """The oldest quarter of this year past its deadline without a report, else the current."""
    items = _items(branch, member)
    if not items:
        return None
    item = items[0]
    today = to_local(now, zone(branch.timezone)).date()
    current = quarter_of(today)[1]
    book = handin_book(
        session, branch_plan(branch), [member], today.year, quarters=range(1, current + 1)
    )
    owed = [o for o in book if o.item.id == item.id]
    for o in owed:
        if o.handed_in is None and o.deadline < today:
            return Quarter(item.title, o.year, o.quarter, o.deadline)
    for o in owed:
        if o.deadline >= today:
            return Quarter(item.title, o.year, o.quarter, o.deadline)
    return _quarter_of_day(item, today)


def _quarter_of_day(item: PlanItem, day: dt.date) -> Quarter:
    """The quarter of `day` for `item` (its day in that quarter, else the quarter's last day)."""
    year, q = quarter_of(day)
    days = [d for d in item_dates(item, year) if quarter_of(d) == (year, q)]
    last = dt.date(year + (q == 4), q * 3 % 12 + 1, 1) - dt.timedelta(days=1)
    return Quarter(item.title, year, q, days[0] if days else last)


def _closes(quarter: Quarter, branch: Branch) -> dt.datetime:
    """The end of the deadline's local day."""
    return local_to_utc(
        quarter.deadline + dt.timedelta(days=1), dt.time(0, 0), zone(branch.timezone)
    )


def begin(
    db: Database,
    *,
    member_id: int | None,
    telegram_id: int,
    now: dt.datetime,
    occurrence_id: int | None = None,
) -> Quarter | ReportRefusal:
    """Wait for the member's report of the current (or the button's) quarter."""
    with db.transaction() as session:
        member = active_member(session, member_id)
        if member is None:
            return ReportRefusal.NOT_OWED
        branch = session.get(Branch, member.branch_id)
        assert branch is not None
        if occurrence_id is None:
            quarter = _target(session, branch, member, now)
        else:
            found = _of_occurrence(session, branch, member, occurrence_id)
            if isinstance(found, ReportRefusal):
                return found
            quarter = found
        if quarter is None:
            return ReportRefusal.NOT_OWED
        data = {"year": quarter.year, "quarter": quarter.quarter}
        conversation.begin(session, telegram_id=telegram_id, flow=FLOW, step="content",
                           data=data, now=now)  # fmt: skip
        return quarter


def _of_occurrence(
    session: Session, branch: Branch, member: Member, occurrence_id: int
) -> Quarter | ReportRefusal:
    """The quarter of a thought-report reminder the member owes, re-checked in the database."""
    event = event_for(session, occurrence_id, branch_id=member.branch_id)
    if isinstance(event, Refusal) or event.kind != ItemKind.THOUGHT_REPORTS:
        return ReportRefusal.UNKNOWN
    items = [i for i in _items(branch, member) if i.id == event.item_id]
    if not items:
        return ReportRefusal.NOT_OWED
    return _quarter_of_day(items[0], to_local(event.starts_at, zone(branch.timezone)).date())


def hand_in(
    db: Database,
    *,
    member_id: int | None,
    telegram_id: int,
    content: Content,
    now: dt.datetime,
) -> HandedIn | ReportRefusal:
    """Keep the report for the flow's quarter (or, from `/report TEXT`, the target quarter)."""
    if content.file_id is None and (
        not (content.text or "").strip() or len(content.text or "") > MAX_TEXT
    ):
        return ReportRefusal.EMPTY
    with db.transaction() as session:
        member = active_member(session, member_id)
        if member is None or member.id is None:
            return ReportRefusal.NOT_OWED
        branch = session.get(Branch, member.branch_id)
        assert branch is not None
        items = _items(branch, member)
        flow = conversation.lock(session, telegram_id, now=now)
        if not items:
            return ReportRefusal.NOT_OWED
        if flow is not None and flow.flow == FLOW:
            year, q = int(flow.data["year"]), int(flow.data["quarter"])
            quarter = _quarter_of_day(items[0], dt.date(year, q * 3, 1))
        else:
            target = _target(session, branch, member, now)
            if target is None:
                return ReportRefusal.NOT_OWED
            quarter = target
        row = session.exec(
            select(ThoughtReport)
            .where(
                ThoughtReport.member_id == member.id,
                ThoughtReport.year == quarter.year,
                ThoughtReport.quarter == quarter.quarter,
            )
            .with_for_update()
        ).first()
        open_ = now < _closes(quarter, branch)
        if row is not None and not open_:
            conversation.end(session, telegram_id)
            return ReportRefusal.CLOSED
        amended = row is not None
        if row is None:
            row = ThoughtReport(
                branch_id=member.branch_id, member_id=member.id, year=quarter.year,
                quarter=quarter.quarter, handed_in_at=now, late=not open_,
            )  # fmt: skip
        else:
            row.amended_at = now
        row.text, row.file_id, row.photo = content.text, content.file_id, content.photo
        session.add(row)
        if flow is not None and flow.flow == FLOW:
            conversation.end(session, telegram_id)
        return HandedIn(
            member.name, quarter, row.late, amended, content, branch.timezone,
            _recipients(session, member, branch.locale),
        )  # fmt: skip


def _recipients(session: Session, member: Member, branch_locale: str) -> list[Recipient]:
    """The member's party group leader(s) and the secretary, linked and active."""
    people = session.exec(
        select(Member).where(
            Member.branch_id == member.branch_id,
            col(Member.active).is_(True),
            col(Member.telegram_id).is_not(None),
            col(Member.role).in_([Role.GROUP_LEADER.value, Role.SECRETARY.value]),
        )
    ).all()
    return [
        Recipient(p.telegram_id, p.locale or branch_locale)
        for p in sorted(people, key=lambda p: p.id or 0)
        if p.telegram_id is not None
        and p.id != member.id
        and (
            p.role == Role.SECRETARY.value
            or (member.group_id is not None and p.group_id == member.group_id)
        )
    ]
