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
from scheduler.handins import load_handins
from scheduler.kinds import BY_KIND, ActedBy, ItemKind, quarter_of
from storage.models import Attendance, DuesPayment, TalkRecord


def load_acted(
    session: Session,
    occurrences: Iterable[tuple[ItemKind, OccurrenceFacts]],
    *,
    member_ids: Collection[int] | None = None,
    branch_ids: Collection[int] | None = None,
) -> Acted:
    """The answers, payments, records and hand-ins for these occurrences (3 queries, and one
    per hand-in kind).

    `member_ids` and `branch_ids` narrow what is read when only a few people are looked at.
    """
    months: set[tuple[int, int]] = set()
    quarters: set[tuple[int, int]] = set()
    meetings: list[int] = []
    handins: set[ItemKind] = set()
    handin_quarters: set[tuple[int, int]] = set()
    for kind, occ in occurrences:
        acted_by = BY_KIND[kind].acted_by
        match acted_by:
            case ActedBy.ANSWER:
                meetings.append(occ.id)
            case ActedBy.PAYMENT:
                months.add((occ.planned_day.year, occ.planned_day.month))
            case ActedBy.GROUP_RECORD:
                quarters.add(quarter_of(occ.planned_day))
            case ActedBy.HAND_IN:
                handins.add(kind)
                handin_quarters.add(quarter_of(occ.planned_day))
            case ActedBy.NOTHING:
                pass  # nothing records it
            case _:
                assert_never(acted_by)
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
    handed_in = {
        (h.kind, h.member_id, h.year, h.quarter)
        for h in load_handins(session, handins, handin_quarters, member_ids=member_ids)
    }
    return Acted(paid=paid, talks=talks, answers=answers, check_ins=check_ins, handed_in=handed_in)
