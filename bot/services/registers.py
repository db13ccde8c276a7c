"""The four registers as worksheets: pure writers from loaded rows (see bot.services.export).

Headers are in the reader's language, the header row is frozen, columns have widths, amounts
are numbers (¥#,##0.00) and dates are real date cells. Excel has no time zones, so every date
and time is written as naive branch-local time (docs/secretary.md).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from bot.i18n import Translator
from bot.render.plan import state_label, yes_no
from bot.render.plan_year import audience_label
from bot.services.branch_year import BranchYear, audience_of
from bot.services.inert import inert_cell
from bot.services.minutes import RegisterRow
from scheduler.development.rules import PRE_MEMBER
from scheduler.handins import Owed
from scheduler.records import MeetingRecord, Standing, meeting_record, member_since
from scheduler.recurrence import to_local
from storage.models import (
    Attendance,
    DuesPayment,
    Member,
    Occurrence,
    OccurrenceStatus,
    PartyGroup,
    TalkRecord,
)
from storage.sorting import natural_key

MONEY = "¥#,##0.00"
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"
TIME = "hh:mm"
MAX_WIDTH = 60


@dataclass
class RegisterData:
    """Everything the registers show, read once."""

    ctx: BranchYear
    year: int
    members: list[Member]
    groups: dict[int, PartyGroup]
    payments: list[DuesPayment]
    occurrences: list[Occurrence]
    answers: dict[int, dict[int, Attendance]]
    talks: list[TalkRecord]
    participants: dict[int, list[int]]
    development: list[Any] = field(default_factory=list)  # the pipeline (发展党员 sheet)
    handins: list[Owed] = field(default_factory=list)  # what each member hands in, by quarter
    minutes: list[RegisterRow] = field(default_factory=list)  # meeting records (三会一课记录)


def _local(instant: dt.datetime | None, tr: Translator) -> dt.datetime | None:
    """Naive branch-local time: Excel cells carry no zone."""
    return None if instant is None else to_local(instant, tr.tz).replace(tzinfo=None)


def _group(data: RegisterData, member: Member | None) -> str:
    if member is None or member.group_id not in data.groups:
        return ""
    return data.groups[member.group_id].name


def dues_sheet(wb: Workbook, data: RegisterData, tr: Translator) -> None:
    """党费缴纳登记表: one row per member, amount, date and confirmation of each month."""
    _ = tr.gettext
    header = [_("Member"), _("Party group"), _("Approved monthly amount")]
    formats: list[str | None] = [None, None, MONEY]
    for month in range(1, 13):
        header += [
            _("Month {month} amount").format(month=month),
            _("Month {month} paid on").format(month=month),
            _("Month {month} confirmed").format(month=month),
        ]
        formats += [MONEY, DATE, None]
    header.append(_("Total paid"))
    formats.append(MONEY)
    paid: dict[int, dict[int, DuesPayment]] = {}
    for payment in data.payments:
        paid.setdefault(payment.member_id, {})[payment.month] = payment
    rows: list[list[Any]] = []
    owing = [m for m in data.members if m.status not in PRE_MEMBER]  # not yet members: no dues
    for member in _by_group(data, [m for m in owing if m.active or m.id in paid]):
        own = paid.get(member.id or 0, {})
        row: list[Any] = [member.name, _group(data, member), member.dues_amount]
        for month in range(1, 13):
            p = own.get(month)
            if p is None:
                row += [None, None, None]
            else:
                declared = _local(p.declared_at, tr)
                row += [
                    p.amount,
                    declared.date() if declared else None,
                    yes_no(p.confirmed_at is not None, tr),
                ]
        row.append(sum((p.amount for p in own.values()), Decimal("0.00")))
        rows.append(row)
    _sheet(wb, _("Dues register"), header, formats, rows)


def attendance_sheet(wb: Workbook, data: RegisterData, tr: Translator) -> None:
    """出勤: one row per held meeting and expected (or answering) member, by the shared rule.

    Nothing before the branch's start or a member's joining; a hand mark is told apart from a
    check-in, and a make-up session (补课) has its own columns.
    """
    _ = tr.gettext
    header = [
        _("Date and time"),
        _("Event"),
        _("Event id"),
        _("Member"),
        _("Party group"),
        _("State"),
        _("Checked in at"),
        _("Leave reason"),
        _("Recorded by"),
        _("Made up on"),
        _("Make-up note"),
    ]
    formats: list[str | None] = [
        DATETIME, None, None, None, None, None, DATETIME, None, None, DATE, None
    ]  # fmt: skip
    members = {m.id: m for m in data.members}
    rows: list[list[Any]] = []
    for occ in data.occurrences:
        answers = data.answers.get(occ.id or 0)
        if answers is None or occ.status == OccurrenceStatus.CANCELLED.value:
            continue
        if occ.starts_at > data.ctx.now and not answers:
            continue  # a future meeting nobody has answered yet
        expected = audience_of(data.ctx, occ, [m for m in data.members if m.active])
        known = {m.id for m in expected}
        ids = [m.id for m in expected] + [i for i in answers if i not in known]
        item = data.ctx.item(occ.item_id)
        title = item.title.get(tr.locale_name) if item else occ.item_id
        for member in _by_group(data, [members[i] for i in ids if i in members]):
            a = answers.get(member.id or 0)
            record = meeting_record(
                a,
                member,
                starts_at=occ.starts_at,
                now=data.ctx.now,
                since=member_since(member, data.ctx.branch),
            )
            if record.standing == Standing.NOT_COUNTED:
                continue
            made_up = _local(a.made_up_at, tr) if a and record.made_up else None
            rows.append(
                [
                    _local(occ.starts_at, tr),
                    title,
                    occ.id,
                    member.name,
                    _group(data, member),
                    state_label(record.state, tr),
                    _local(a.checked_in_at, tr) if a else None,
                    (a.leave_reason if a and record.on_leave else None) or None,
                    _recorded_by(record, a, tr),
                    made_up.date() if made_up else None,
                    (a.made_up_note if a and record.made_up else None) or None,
                ]
            )
    _sheet(wb, _("Attendance"), header, formats, rows)


def _recorded_by(record: MeetingRecord, answer: Attendance | None, tr: Translator) -> str | None:
    """Where a state came from: the member's own tap, or the secretary's hand mark."""
    if record.by_hand:
        return tr.pgettext("register", "marked by hand")
    if record.present and answer is not None and answer.checked_in_at is not None:
        return tr.pgettext("register", "check-in")
    if answer is not None and record.on_leave:
        return tr.pgettext("register", "leave request")
    return None


def talks_sheet(wb: Workbook, data: RegisterData, tr: Translator) -> None:
    """谈话记录: one row per talk record handed in, by group and quarter."""
    _ = tr.gettext
    header = [
        _("Party group"),
        _("Quarter"),
        _("Talks"),
        _("Participants"),
        _("Summary"),
        _("Submitted by"),
        _("Submitted at"),
        _("Late"),
    ]
    formats: list[str | None] = [None, None, None, None, None, None, DATETIME, None]
    names = {m.id: m.name for m in data.members}
    sep = "、" if tr.locale_name == "zh_CN" else ", "
    group_name = {i: g.name for i, g in data.groups.items()}
    rows: list[list[Any]] = []
    for record in sorted(
        data.talks, key=lambda t: (natural_key(group_name.get(t.group_id, "")), t.quarter)
    ):
        people = sorted(names.get(i, "?") for i in data.participants.get(record.id or 0, []))
        rows.append(
            [
                group_name.get(record.group_id, ""),
                record.quarter,
                record.talks,
                sep.join(people),
                record.summary,
                names.get(record.submitted_by, ""),
                _local(record.submitted_at, tr),
                yes_no(record.late, tr),
            ]
        )
    _sheet(wb, _("Talk records"), header, formats, rows)


def handin_sheets(wb: Workbook, data: RegisterData, tr: Translator) -> None:
    """One sheet per item each member hands in (思想汇报): a row per member who owes it, and
    for each quarter the day it was handed in and whether late; empty while not handed in."""
    _ = tr.gettext
    by_item: dict[str, list[Owed]] = {}
    for owed in data.handins:
        by_item.setdefault(owed.item.id, []).append(owed)
    for owing in by_item.values():
        quarters = sorted({o.quarter for o in owing})
        header = [_("Member"), _("Party group")]
        formats: list[str | None] = [None, None]
        for q in quarters:
            header += [
                _("Q{quarter} handed in on").format(quarter=q),
                _("Q{quarter} late").format(quarter=q),
            ]
            formats += [DATE, None]
        rows: dict[int, list[Any]] = {}
        members = {m.id: m for m in data.members}
        for owed in owing:
            member = members.get(owed.member_id)
            row = rows.setdefault(
                owed.member_id, [owed.name, _group(data, member)] + [None] * (2 * len(quarters))
            )
            done = owed.handed_in
            if done is not None:
                at = _local(done.at, tr)
                index = 2 + 2 * quarters.index(owed.quarter)
                row[index : index + 2] = [at.date() if at else None, yes_no(done.late, tr)]
        ordered = _by_group(data, [members[i] for i in rows if i in members])
        # Excel refuses these characters in a sheet name; a plan title may hold any.
        title = re.sub(r"[\[\]:*?/\\]", " ", owing[0].item.title.get(tr.locale_name))
        _sheet(wb, title, header, formats, [rows[m.id or 0] for m in ordered])


def minutes_sheet(wb: Workbook, data: RegisterData, tr: Translator) -> None:
    """三会一课记录: one row per meeting record (per party group for group meetings)."""
    _ = tr.gettext
    header = [
        _("Date and time"),
        _("Meeting"),
        _("Party group"),
        _("Held"),
        _("Reason not held"),
        _("Topic"),
        _("Chaired by"),
        _("Minutes by"),
        _("Present"),
        _("On leave"),
        _("Absent"),
        _("Summary of decisions"),
        _("Attachments"),
        _("Recorded at"),
        _("Corrected at"),
    ]
    formats: list[str | None] = [DATETIME] + [None] * 12 + [DATETIME, DATETIME]
    sep = "、" if tr.locale_name == "zh_CN" else ", "
    rows: list[list[Any]] = []
    for r in data.minutes:
        record = r.record
        rows.append(
            [
                _local(r.starts_at, tr),
                r.title.get(tr.locale_name),
                r.group_name or None,
                yes_no(record.held, tr),
                record.reason or None,
                record.topic or None,
                r.host or None,
                r.recorder or None,
                sep.join(r.attendees.present) or None,
                sep.join(r.attendees.on_leave) or None,
                sep.join(r.attendees.absent) or None,
                record.summary or None,
                r.attachments,
                _local(record.recorded_at, tr),
                _local(record.amended_at, tr),
            ]
        )
    _sheet(wb, _("Meeting records"), header, formats, rows)


def plan_sheet(wb: Workbook, data: RegisterData, tr: Translator) -> None:
    """年度计划: one row per occurrence of the year, with its state."""
    _ = tr.gettext
    header = [
        _("Date"),
        _("Time"),
        _("Item"),
        _("Audience"),
        _("Agenda"),
        _("Status"),
        _("Event id"),
    ]
    formats: list[str | None] = [DATE, TIME, None, None, None, None, None]
    rows: list[list[Any]] = []
    for occ in data.occurrences:
        item = data.ctx.item(occ.item_id)
        local = to_local(occ.starts_at, tr.tz)
        agenda = item.agenda_for(dt.date.fromisoformat(occ.key)) if item else None
        if occ.status == OccurrenceStatus.CANCELLED.value:
            status = _("cancelled")
        else:
            status = _("moved") if occ.starts_at != occ.planned_starts_at else _("as planned")
        rows.append(
            [
                local.date(),
                local.time().replace(tzinfo=None),
                item.title.get(tr.locale_name) if item else occ.item_id,
                audience_label(item.audience, tr) if item else "",
                agenda.get(tr.locale_name) if agenda else None,
                status,
                occ.id,
            ]
        )
    _sheet(wb, _("Annual plan"), header, formats, rows)


def _by_group(data: RegisterData, members: Sequence[Member]) -> list[Member]:
    """Members by party group name (no group last), then by name."""
    return sorted(
        members, key=lambda m: (_group(data, m) == "", natural_key(_group(data, m)), m.name)
    )


def _sheet(
    wb: Workbook,
    title: str,
    header: list[str],
    formats: Sequence[str | None],
    rows: list[list[Any]],
) -> None:
    """One register: bold frozen header, number formats by column, widths from the content.

    The workbook is write-only (rows stream to the file, a 500-member year stays fast), so
    widths and panes are set before the first row.
    """
    ws = wb.create_sheet(title=title[:31])
    widths = [_width(h) for h in header]
    for row in rows:
        for index, value in enumerate(row):
            if value is not None:
                widths[index] = max(widths[index], _width(value))
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = min(width + 2, MAX_WIDTH)
    ws.freeze_panes = "A2"
    bold, top = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    ws.append([_cell(ws, h, font=bold, alignment=top) for h in header])
    formatted = [i for i, f in enumerate(formats) if f is not None]
    for row in rows:
        for i in formatted:
            if row[i] is not None:
                row[i] = _cell(ws, row[i], number_format=formats[i])
        # Typed text stays text: a reason "=HYPERLINK(…)" must not become a formula.
        ws.append([_cell(ws, v) if isinstance(v, str) else v for v in row])


def _cell(ws: Any, value: object, **style: Any) -> WriteOnlyCell:
    cell = inert_cell(ws, value)
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def _width(value: object) -> int:
    """Display width: CJK characters take two columns; dates and money a fixed width."""
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date | dt.time):
        return 10
    if isinstance(value, Decimal):
        return 10
    text = str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
