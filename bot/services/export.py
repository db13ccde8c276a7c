"""/export and `branchbot export`: the branch's paper registers as one XLSX workbook.

Sheets follow the registers: the dues register (党支部党员党费缴纳登记表), attendance by
event, talk records by group and quarter, and the year's plan (written by
bot.services.registers); plus the year's plan as .ics. All data is read in a constant number
of queries; the workbook is write-only, so a 500-member year streams out quickly.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from sqlmodel import Session, col, func, select

from bot.i18n import Translator, translator
from bot.services.branch_year import BranchYear, load_branch
from bot.services.development import pipelines_of
from bot.services.development_register import development_sheet
from bot.services.minutes import MinutesBook, register_rows
from bot.services.registers import (
    RegisterData,
    attendance_sheet,
    dues_sheet,
    handin_sheets,
    minutes_sheet,
    plan_sheet,
    talks_sheet,
)
from scheduler.development.reminders import load_people
from scheduler.handins import book_of, load_handins, status_history
from scheduler.ics import plan_to_ics
from scheduler.kinds import ItemKind
from scheduler.occurrences import changed_occurrences, sync_many
from scheduler.plan import branch_plan
from scheduler.records import branch_start
from scheduler.recurrence import zone
from storage.db import Database
from storage.models import (
    Attendance,
    Branch,
    DuesPayment,
    MeetingMinutes,
    Member,
    MinutesAttachment,
    Occurrence,
    PartyGroup,
    TalkParticipant,
    TalkRecord,
)
from storage.sorting import natural_key


@dataclass(frozen=True)
class Export:
    """A finished export: file names and bytes."""

    xlsx_name: str
    xlsx: bytes
    ics_name: str
    ics: bytes


def export_branch(
    db: Database, *, branch_id: int, now: dt.datetime, year: int | None = None
) -> Export:
    """The branch's registers of `year` (default: the current local year) and its .ics."""
    with db.transaction() as session:  # a write: the year's occurrence rows are kept in sync
        ctx = load_branch(session, branch_id, now=now)
        data = _load(session, ctx, year or ctx.year)
        changes = changed_occurrences(session, branch_id=ctx.branch_id, year=data.year)
    tr = translator(ctx.locale, ctx.branch.timezone)
    ics = plan_to_ics(
        ctx.plan,
        year=data.year,
        tz_name=ctx.branch.timezone,
        locale=ctx.locale,
        branch_name=ctx.branch.name,
        changes=changes,
        since=branch_start(ctx.branch),
    )
    return Export(
        xlsx_name=f"{slug(ctx.branch.name)}-{data.year}.xlsx",
        xlsx=workbook_bytes(data, tr),
        ics_name=f"{slug(ctx.branch.name)}-{data.year}.ics",
        ics=ics,
    )


def _load(session: Session, ctx: BranchYear, year: int) -> RegisterData:
    return load_registers(session, [ctx.branch_id], year=year, now=ctx.now)[ctx.branch_id]


def load_registers(
    session: Session, branch_ids: Iterable[int], *, year: int, now: dt.datetime
) -> dict[int, RegisterData]:
    """The registers of `year` of every branch in `branch_ids`, by branch id.

    The one loader of the registers: a branch's /export asks it for one branch, the committee's
    export for all the branches it sees. Its statement count does not grow with branches or
    members: every table is read once for all of them (about a dozen statements), and the rows
    are split by branch in Python. It writes (the year's occurrence rows are kept in sync with
    each branch's plan), so it runs in a transaction.
    """
    ids = sorted(set(branch_ids))
    if not ids:
        return {}
    branches = session.exec(select(Branch).where(col(Branch.id).in_(ids))).all()
    ctxs = {
        b.id: BranchYear(branch=b, plan=branch_plan(b), tz=zone(b.timezone), now=now)
        for b in branches
        if b.id is not None
    }
    sync_many(session, [(c.branch, c.plan) for c in ctxs.values()], year=year, now=now)
    ids = sorted(ctxs)
    members: dict[int, list[Member]] = {i: [] for i in ids}
    for member in session.exec(
        select(Member).where(col(Member.branch_id).in_(ids)).order_by(col(Member.name))
    ):
        members[member.branch_id].append(member)
    groups: dict[int, dict[int, PartyGroup]] = {i: {} for i in ids}
    for group in sorted(
        session.exec(select(PartyGroup).where(col(PartyGroup.branch_id).in_(ids))),
        key=lambda g: natural_key(g.name),
    ):
        if group.id is not None:
            groups[group.branch_id][group.id] = group
    payments: dict[int, list[DuesPayment]] = {i: [] for i in ids}
    for payment, branch_id in session.exec(
        select(DuesPayment, Member.branch_id)
        .join(Member, col(Member.id) == DuesPayment.member_id)
        .where(col(Member.branch_id).in_(ids), DuesPayment.year == year)
    ):
        payments[branch_id].append(payment)
    in_year = col(Occurrence.key).startswith(f"{year:04d}-")
    occs: dict[int, list[Occurrence]] = {i: [] for i in ids}
    for occ in session.exec(
        select(Occurrence)
        .where(col(Occurrence.branch_id).in_(ids), in_year)
        .order_by(col(Occurrence.starts_at), col(Occurrence.id))
    ):
        occs[occ.branch_id].append(occ)
    # Every meeting has its (maybe empty) answers; other events have none (not in the sheet).
    answers: dict[int, dict[int, Attendance]] = {
        o.id: {} for i in ids for o in occs[i] if o.id is not None and _is_meeting(ctxs[i], o)
    }
    for row in session.exec(
        select(Attendance)
        .join(Occurrence, col(Occurrence.id) == Attendance.occurrence_id)
        .where(col(Occurrence.branch_id).in_(ids), in_year)
    ):
        if row.occurrence_id in answers:
            answers[row.occurrence_id][row.member_id] = row
    talks: dict[int, list[TalkRecord]] = {i: [] for i in ids}
    for record in session.exec(
        select(TalkRecord)
        .where(col(TalkRecord.branch_id).in_(ids), TalkRecord.year == year)
        .order_by(col(TalkRecord.quarter))
    ):
        talks[record.branch_id].append(record)
    participants: dict[int, list[int]] = {}
    for part in session.exec(
        select(TalkParticipant)
        .join(TalkRecord, col(TalkRecord.id) == TalkParticipant.record_id)
        .where(col(TalkRecord.branch_id).in_(ids), TalkRecord.year == year)
    ):
        participants.setdefault(part.record_id, []).append(part.member_id)
    # The pipeline names people by their active colleagues, as /pipeline does.
    names: dict[int | None, str] = {m.id: m.name for i in ids for m in members[i] if m.active}
    people = load_people(session, ids)  # development records and open deadlines
    pipelines = pipelines_of(people, {i: ctxs[i].today for i in ids}, names)
    # What each member hands in: their status history from the records just read, and the
    # hand-ins of the year's quarters of all the branches at once.
    history = status_history(
        (p.member.id or 0, r.on, r.step) for found in people.values() for p in found
        for r in p.records  # already by day, then id
    )  # fmt: skip
    rows = load_handins(session, set(ItemKind), {(year, q) for q in range(1, 5)}, branch_ids=ids)
    handins = {
        i: book_of(ctxs[i].plan, members[i], year, history=history, handins=rows) for i in ids
    }
    books = _minutes_books(session, ids, year)
    return {
        i: RegisterData(
            ctxs[i],
            year,
            members[i],
            groups[i],
            payments[i],
            occs[i],
            {o.id: answers[o.id] for o in occs[i] if o.id in answers},
            talks[i],
            {t.id: participants.get(t.id, []) for t in talks[i] if t.id is not None},
            pipelines[i],
            handins[i],
            register_rows(
                ctxs[i],
                books.get(i, MinutesBook()),
                occs[i],
                members[i],
                groups[i],
                {o.id: answers[o.id] for o in occs[i] if o.id in answers},
            ),
        )
        for i in ids
    }


def _minutes_books(session: Session, ids: Sequence[int], year: int) -> dict[int, MinutesBook]:
    """The year's meeting records (会议记录) of these branches, with how many files each keeps:
    two queries whatever the number of branches and meetings."""
    in_year = col(Occurrence.key).startswith(f"{year:04d}-")
    records = session.exec(
        select(MeetingMinutes)
        .join(Occurrence, col(Occurrence.id) == MeetingMinutes.occurrence_id)
        .where(col(MeetingMinutes.branch_id).in_(ids), in_year)
    ).all()
    counts: dict[int, int] = {}
    if records:
        stmt = (
            select(MinutesAttachment.minutes_id, func.count())
            .join(MeetingMinutes, col(MeetingMinutes.id) == MinutesAttachment.minutes_id)
            .join(Occurrence, col(Occurrence.id) == MeetingMinutes.occurrence_id)
            .where(col(MeetingMinutes.branch_id).in_(ids), in_year)
            .group_by(col(MinutesAttachment.minutes_id))
        )
        counts = {int(i): int(n) for i, n in session.exec(stmt).all()}
    books: dict[int, MinutesBook] = {}
    for record in records:
        books.setdefault(record.branch_id, MinutesBook(attachments=counts)).records.append(record)
    return books


def _is_meeting(ctx: BranchYear, occ: Occurrence) -> bool:
    item = ctx.item(occ.item_id)
    return item is not None and item.kind == ItemKind.MEETING


def workbook_bytes(data: RegisterData, tr: Translator) -> bytes:
    """Write the four registers and return the XLSX bytes."""
    wb = Workbook(write_only=True)
    dues_sheet(wb, data, tr)
    attendance_sheet(wb, data, tr)
    talks_sheet(wb, data, tr)
    minutes_sheet(wb, data, tr)
    plan_sheet(wb, data, tr)
    development_sheet(wb, data.development, tr, data.handins)
    handin_sheets(wb, data, tr)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def slug(name: str) -> str:
    """A file-name-safe version of a branch name (CJK kept)."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name).strip("_") or "branch"


def export_member(db: Database, *, member_id: int, now: dt.datetime) -> tuple[str, bytes] | None:
    """One member's own records of the current year (/me export): file name and XLSX bytes."""
    with db.transaction() as session:
        member = session.get(Member, member_id)
        if member is None or not member.active:
            return None
        ctx = load_branch(session, member.branch_id, now=now)
        data = _load(session, ctx, ctx.year)
    tr = translator(member.locale or ctx.locale, ctx.branch.timezone)
    data.members = [m for m in data.members if m.id == member_id]
    data.payments = [p for p in data.payments if p.member_id == member_id]
    # Every meeting stays: the register's rule decides which concern this member (absences
    # have no answer row), exactly as in the branch's own export.
    data.answers = {
        occ: ({member_id: row} if (row := rows.get(member_id)) else {})
        for occ, rows in data.answers.items()
    }
    data.talks = [t for t in data.talks if member_id in data.participants.get(t.id or 0, [])]
    data.handins = [o for o in data.handins if o.member_id == member_id]
    wb = Workbook(write_only=True)
    dues_sheet(wb, data, tr)
    attendance_sheet(wb, data, tr)
    talks_sheet(wb, data, tr)
    handin_sheets(wb, data, tr)
    out = io.BytesIO()
    wb.save(out)
    return f"{slug(member.name)}-{data.year}.xlsx", out.getvalue()
