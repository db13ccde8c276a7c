"""Who has already done what an occurrence asks: the one loader, for the engine and the views.

The reminder engine uses it to send `only_pending` follow-ups only to those who have not acted;
the reminder views use it to show the reader's own state and a group's counts. What counts as
having acted is per kind (`scheduler.due.has_acted`); this module loads the rows it reads, with a
constant number of queries however many occurrences and members there are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from typing import assert_never

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from scheduler.due import Acted, OccurrenceFacts
from scheduler.kinds import ItemKind, quarter_of
from storage.models import Attendance, DuesPayment, TalkRecord


def load_acted(
    session: Session,
    occurrences: Iterable[tuple[ItemKind, OccurrenceFacts]],
    *,
    member_ids: Collection[int] | None = None,
    branch_ids: Collection[int] | None = None,
) -> Acted:
    """The answers, payments and records for these occurrences (at most 3 queries).

    `member_ids` and `branch_ids` narrow what is read when only a few people are looked at.
    """
    months: set[tuple[int, int]] = set()
    quarters: set[tuple[int, int]] = set()
    meetings: list[int] = []
    for kind, occ in occurrences:
        match kind:
            case ItemKind.MEETING:
                meetings.append(occ.id)
            case ItemKind.DUES:
                months.add((occ.planned_day.year, occ.planned_day.month))
            case ItemKind.TALKS:
                quarters.add(quarter_of(occ.planned_day))
            case ItemKind.PAPERWORK:
                pass  # nothing records it
            case _:
                assert_never(kind)
    if member_ids is not None and not member_ids:
        months.clear()
        meetings.clear()
    paid: set[tuple[int, int, int]] = set()
    if months:
        stmt = select(DuesPayment.member_id, DuesPayment.year, DuesPayment.month).where(
            or_(
                *(and_(col(DuesPayment.year) == y, col(DuesPayment.month) == m) for y, m in months)
            )
        )
        if member_ids is not None:
            stmt = stmt.where(col(DuesPayment.member_id).in_(list(member_ids)))
        paid = {(m, y, mo) for m, y, mo in session.exec(stmt)}
    talks: set[tuple[int, int, int]] = set()
    if quarters:
        stmt2 = select(TalkRecord.group_id, TalkRecord.year, TalkRecord.quarter).where(
            or_(
                *(
                    and_(col(TalkRecord.year) == y, col(TalkRecord.quarter) == q)
                    for y, q in quarters
                )
            )
        )
        if branch_ids is not None:
            stmt2 = stmt2.where(col(TalkRecord.branch_id).in_(list(branch_ids)))
        talks = {(g, y, q) for g, y, q in session.exec(stmt2)}
    answers: dict[tuple[int, int], str] = {}
    check_ins: dict[tuple[int, int], dt.datetime] = {}
    if meetings:
        stmt3 = select(
            Attendance.occurrence_id,
            Attendance.member_id,
            Attendance.state,
            Attendance.checked_in_at,
        ).where(col(Attendance.occurrence_id).in_(meetings))
        if member_ids is not None:
            stmt3 = stmt3.where(col(Attendance.member_id).in_(list(member_ids)))
        for occ_id, member_id, state, checked_in_at in session.exec(stmt3):
            answers[(occ_id, member_id)] = state
            if checked_in_at is not None:
                check_ins[(occ_id, member_id)] = checked_in_at
    return Acted(paid=paid, talks=talks, answers=answers, check_ins=check_ins)
