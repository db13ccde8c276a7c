"""/export and `branchbot export`: the branch's paper registers as one XLSX workbook.

Sheets follow the registers: the dues register (党支部党员党费缴纳登记表), attendance by
event, talk records by group and quarter, and the year's plan (written by
bot.services.registers); plus the year's plan as .ics. All data is read in a constant number
of queries; the workbook is write-only, so a 500-member year streams out quickly.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from openpyxl import Workbook
from sqlmodel import Session, col, select

from bot.i18n import Translator, translator
from bot.services.branch_year import BranchYear, ensure_year, load_branch
from bot.services.development import pipeline_in
from bot.services.development_register import development_sheet
from bot.services.minutes import minutes_book, register_rows
from bot.services.plan_report import attendance_by_occurrence
from bot.services.registers import (
    RegisterData,
    attendance_sheet,
    dues_sheet,
    handin_sheets,
    minutes_sheet,
    plan_sheet,
    talks_sheet,
)
from scheduler.handins import handin_book
from scheduler.ics import plan_to_ics
from scheduler.kinds import ItemKind
from scheduler.occurrences import changed_occurrences
from scheduler.records import branch_start
from storage import repositories as repo
from storage.db import Database
from storage.models import DuesPayment, Member, Occurrence, TalkParticipant, TalkRecord


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
        xlsx_name=f"{_slug(ctx.branch.name)}-{data.year}.xlsx",
        xlsx=workbook_bytes(data, tr),
        ics_name=f"{_slug(ctx.branch.name)}-{data.year}.ics",
        ics=ics,
    )


def _load(session: Session, ctx: BranchYear, year: int) -> RegisterData:
    ensure_year(session, ctx, year)
    members = list(repo.list_members(session, branch_id=ctx.branch_id, active_only=False))
    groups = {g.id: g for g in repo.list_groups(session, branch_id=ctx.branch_id) if g.id}
    payments = session.exec(
        select(DuesPayment)
        .join(Member, col(Member.id) == DuesPayment.member_id)
        .where(Member.branch_id == ctx.branch_id, DuesPayment.year == year)
    ).all()
    occs = session.exec(
        select(Occurrence)
        .where(
            Occurrence.branch_id == ctx.branch_id, col(Occurrence.key).startswith(f"{year:04d}-")
        )
        .order_by(col(Occurrence.starts_at), col(Occurrence.id))
    ).all()
    meetings = [o.id for o in occs if _is_meeting(ctx, o) and o.id is not None]
    talks = session.exec(
        select(TalkRecord)
        .where(TalkRecord.branch_id == ctx.branch_id, TalkRecord.year == year)
        .order_by(col(TalkRecord.quarter))
    ).all()
    participants: dict[int, list[int]] = {}
    ids = [t.id for t in talks if t.id is not None]
    if ids:
        rows = session.exec(select(TalkParticipant).where(col(TalkParticipant.record_id).in_(ids)))
        for row in rows:
            participants.setdefault(row.record_id, []).append(row.member_id)
    answers = attendance_by_occurrence(session, meetings)
    # The year's meeting records: two queries whatever the number of meetings.
    book = minutes_book(session, ctx.branch_id, [o.id for o in occs if o.id is not None])
    return RegisterData(
        ctx,
        year,
        members,
        groups,
        list(payments),
        list(occs),
        answers,
        list(talks),
        participants,
        pipeline_in(session, branch_id=ctx.branch_id, now=ctx.now),
        handin_book(session, ctx.plan, members, year),
        register_rows(ctx, book, occs, members, groups, answers),
    )


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


def _slug(name: str) -> str:
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
    return f"{_slug(member.name)}-{data.year}.xlsx", out.getvalue()
