"""The committee's year as one XLSX workbook (/export for a seat holder, `branchbot export
--committee`): the measures by branch and month, every required meeting slot's verdict, and each
branch's registers.

Loading is batched: the scorecard data (bot.services.oversight) and the registers
(bot.services.export.load_registers) are read once for all branches, so the statement count
does not grow with branches or members; each month's scorecards are computed from that data
in Python. Writing is write-only openpyxl, as the branch registers are, and every text cell goes
through bot.services.inert (a branch called "=cmd|' /C calc'!A0" stays text).

The registers of each branch are extra sheets of the same workbook, prefixed with the branch's
row number and name, rather than a zip of one workbook per branch: the committee gets ONE file
that opens in one click on a phone (Telegram previews an XLSX, not a zip), the measures and the
registers behind them sit side by side, and the sheet order follows the rows of the measure
sheets. Excel's sheet names are at most 31 characters without `[]:*?/\\`, so a name is cleaned
and cut, and the row number keeps two cut names apart.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from openpyxl import Workbook
from sqlmodel import Session, col, select

from bot.access import Seat
from bot.i18n import N_, Translator, translator
from bot.render.compliance import verdict_label
from bot.services.charts import ScoreBar
from bot.services.development_register import development_sheet
from bot.services.export import load_registers, slug
from bot.services.org import branches_below, visible_branch_ids
from bot.services.oversight import branch_cards, load_oversight
from bot.services.registers import (
    DATE,
    DATETIME,
    RegisterData,
    attendance_sheet,
    dues_sheet,
    handin_sheets,
    minutes_sheet,
    plan_sheet,
    talks_sheet,
)
from bot.services.registers import _sheet as write_sheet
from scheduler.compliance import Cycle, Finding
from scheduler.plan import default_plan
from scheduler.recurrence import to_local, zone
from scheduler.scorecard import BranchCard
from storage.db import Database
from storage.models import OrgLevel, OrgUnit
from storage.sorting import natural_key

PERCENT = "0.0%"
SCORE = "0.0"
NOTHING_DUE = "—"  # a month begun with nothing due in it: not held against the branch

# The measure sheets, in order: the sheet title and the value of one card (None: nothing due).
Value = Callable[[BranchCard], float | int | None]
MEASURES: tuple[tuple[str, Value, str], ...] = (
    (N_("Meetings on time"), lambda c: c.measures.meetings.rate, PERCENT),
    (N_("Meeting attendance"), lambda c: c.measures.attendance.value, PERCENT),
    (N_("Dues on time"), lambda c: c.measures.dues.value, PERCENT),
    (N_("Talks and reports handed in"), lambda c: c.measures.handins.value, PERCENT),
    (N_("Unreachable members"), lambda c: c.measures.unreachable, "0"),
    (N_("Development deadlines missed"), lambda c: c.measures.development_missed, "0"),
    (N_("Score"), lambda c: c.score.out_of_100, SCORE),
)


_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
SHEET_NAME = 31  # Excel's limit


@dataclass(frozen=True)
class CommitteeYear:
    """Everything the committee's workbook shows, loaded: pure input of `workbook_bytes`."""

    year: int
    months: Mapping[int, Sequence[BranchCard]]  # the months begun so far -> every branch's card
    total: Sequence[BranchCard]  # the year so far
    general: Mapping[int, str]  # branch id -> its general branch's name (none: directly below)
    registers: Mapping[int, RegisterData]  # branch id -> its registers of the year
    locale: str  # the reader's language

    def branches(self) -> list[BranchCard]:
        """The rows of every sheet: by general branch (none first), then by branch name."""
        return sorted(
            self.total,
            key=lambda c: (
                natural_key(self.general.get(c.branch_id, "")),
                natural_key(c.name),
                c.branch_id,
            ),
        )


@dataclass(frozen=True)
class CommitteeExport:
    """A finished committee export: the workbook and the score chart."""

    xlsx_name: str
    xlsx: bytes
    year: int
    cards: Sequence[BranchCard]  # the year so far, for the chart


def general_branches(session: Session, branch_units: Mapping[int, int | None]) -> dict[int, str]:
    """Branch id -> the name of the general branch (总支) it belongs to: one query."""
    units = {u.id: u for u in session.exec(select(OrgUnit)).all()}
    return {
        branch_id: unit.name
        for branch_id, unit_id in branch_units.items()
        if unit_id is not None
        and (unit := units.get(unit_id)) is not None
        and unit.level == OrgLevel.GENERAL_BRANCH.value
    }


def load_committee_year(
    session: Session,
    branch_ids: Sequence[int],
    *,
    year: int,
    now: dt.datetime,
    cards: Callable[[Session, Sequence[int], int, dt.datetime], CardsOfYear],
    locale: str,
) -> CommitteeYear:
    """The committee's year for `branch_ids`, in a constant number of statements.

    `cards` gives the scorecards of each month begun and of the year so far (see
    `bot.services.oversight`); the registers come from the one register loader.
    """
    registers = load_registers(session, branch_ids, year=year, now=now)
    found = cards(session, sorted(registers), year, now)
    units = {i: data.ctx.branch.org_unit_id for i, data in registers.items()}
    return CommitteeYear(
        year=year,
        months=found.months,
        total=found.total,
        general=general_branches(session, units),
        registers=registers,
        locale=locale,
    )


@dataclass(frozen=True)
class CardsOfYear:
    """Each begun month's scorecards, and the year so far's."""

    months: Mapping[int, Sequence[BranchCard]]
    total: Sequence[BranchCard]


def workbook_bytes(view: CommitteeYear, tr: Translator) -> bytes:
    """Write the measure sheets, the compliance sheet and every branch's registers."""
    wb = Workbook(write_only=True)
    rows = view.branches()
    for title, value, number_format in MEASURES:
        _measure_sheet(wb, view, rows, tr, tr.gettext(title), value, number_format)
    _compliance_sheet(wb, view, rows, tr)
    taken = {ws.title.casefold() for ws in wb.worksheets}
    for number, card in enumerate(rows, start=1):
        data = view.registers.get(card.branch_id)
        if data is None:
            continue
        # The branch's own zone for its dates and times, the reader's language for the words.
        branch_tr = translator(view.locale, data.ctx.branch.timezone)
        book = cast(Workbook, _Prefixed(wb, f"{number} {card.name}", taken))
        dues_sheet(book, data, branch_tr)
        attendance_sheet(book, data, branch_tr)
        talks_sheet(book, data, branch_tr)
        minutes_sheet(book, data, branch_tr)
        plan_sheet(book, data, branch_tr)
        development_sheet(book, data.development, branch_tr, data.handins)
        handin_sheets(book, data, branch_tr)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _measure_sheet(
    wb: Workbook,
    view: CommitteeYear,
    rows: Sequence[BranchCard],
    tr: Translator,
    title: str,
    value: Value,
    number_format: str,
) -> None:
    """A row per branch, a column per month (empty before it begins) and the year so far."""
    _ = tr.gettext
    header = [_("Branch"), _("General branch")]
    header += [_("Month {month}").format(month=m) for m in range(1, 13)]
    header.append(_("Year {year}").format(year=view.year))
    formats: list[str | None] = [None, None] + [number_format] * 13
    by_month = {month: {c.branch_id: c for c in cards} for month, cards in view.months.items()}
    table: list[list[Any]] = []
    for card in rows:
        row: list[Any] = [card.name, view.general.get(card.branch_id, "")]
        for month in range(1, 13):
            cards = by_month.get(month)
            if cards is None:
                row.append(None)  # not begun yet
                continue
            month_card = cards.get(card.branch_id)
            row.append(_value(value, month_card))
        row.append(_value(value, card))
        table.append(row)
    write_sheet(wb, title, header, formats, table)


def _value(value: Value, card: BranchCard | None) -> float | int | str | None:
    if card is None:
        return None
    found = value(card)
    return NOTHING_DUE if found is None else found


def _compliance_sheet(
    wb: Workbook, view: CommitteeYear, rows: Sequence[BranchCard], tr: Translator
) -> None:
    """Every required meeting slot of every branch in the year, with its verdict."""
    _ = tr.gettext
    header = [
        _("Branch"),
        _("General branch"),
        _("Meeting"),
        _("Cycle"),
        _("Party group"),
        _("Planned on"),
        _("Verdict"),
        _("Reason"),
        _("Held on"),
        _("Recorded at"),
        _("Record due by"),
    ]
    formats: list[str | None] = [None, None, None, None, None, DATE, None, None, DATE,
                                 DATETIME, DATETIME]  # fmt: skip
    fallback = default_plan()
    table: list[list[Any]] = []
    for card in rows:
        data = view.registers.get(card.branch_id)
        tz = data.ctx.tz if data is not None else tr.tz
        for finding in card.findings:
            table.append(
                [
                    card.name,
                    view.general.get(card.branch_id, ""),
                    _meeting_title(finding, data, fallback, tr),
                    finding.slot.cycle.label,
                    _group_name(finding, data),
                    finding.slot.planned_on,
                    verdict_label(finding.verdict, tr),
                    finding.reason or None,
                    finding.held_on,
                    _naive(finding.recorded_at, tz),
                    _naive(finding.deadline, tz),
                ]
            )
    write_sheet(wb, _("Compliance"), header, formats, table)


def _meeting_title(
    finding: Finding, data: RegisterData | None, fallback: Any, tr: Translator
) -> str:
    item = data.ctx.item(finding.slot.item_id) if data is not None else None
    if item is None:  # a meeting the committee requires that the branch's plan lacks
        try:
            item = fallback.item(finding.slot.item_id)
        except KeyError:
            return finding.slot.item_id
    return str(item.title.get(tr.locale_name))


def _group_name(finding: Finding, data: RegisterData | None) -> str:
    if not finding.slot.scope or data is None:
        return ""
    group = data.groups.get(finding.slot.scope)
    return group.name if group is not None else ""


def _naive(instant: dt.datetime | None, tz: Any) -> dt.datetime | None:
    """Naive local time: Excel cells carry no zone (as in the branch registers)."""
    return None if instant is None else to_local(instant, tz).replace(tzinfo=None)


class _Prefixed:
    """The part of a write-only Workbook the register writers use (`create_sheet`), giving
    each sheet the branch's prefix: "3 第一支部·出勤", cleaned and cut to Excel's limit."""

    def __init__(self, wb: Workbook, prefix: str, taken: set[str]) -> None:
        self._wb, self._prefix, self._taken = wb, prefix, taken

    def create_sheet(self, title: str | None = None, index: int | None = None) -> Any:
        """A new sheet named after the branch and the register."""
        name = sheet_name(self._prefix, title or "", self._taken)
        self._taken.add(name.casefold())
        return self._wb.create_sheet(title=name)


def sheet_name(prefix: str, title: str, taken: Collection[str] = ()) -> str:
    """ "{prefix}·{title}" as Excel accepts it: no `[]:*?/\\` or control characters, no
    leading or trailing apostrophe, at most 31 characters (the prefix is cut before the
    register's title), and unlike every name in `taken` (compared case-insensitively, as Excel
    does)."""
    prefix, title = _clean(prefix), _clean(title)
    room = max(SHEET_NAME - len(title) - 1, min(len(prefix), 12))
    name = f"{prefix[:room]}·{title}"[:SHEET_NAME].strip(" '") or "sheet"
    candidate, n = name, 2
    while candidate.casefold() in taken:
        suffix = f" ({n})"
        candidate = name[: SHEET_NAME - len(suffix)] + suffix
        n += 1
    return candidate


def _clean(text: str) -> str:
    return " ".join(_FORBIDDEN.sub(" ", text).split()).strip("'")


def year_scorecards(
    session: Session, branch_ids: Sequence[int], year: int, now: dt.datetime, tz: Any
) -> CardsOfYear:
    """The scorecards of each month of `year` begun by `now` (in `tz`) and of the whole year,
    from one load of the year: each month is worked out from the loaded rows, no new query.
    Each branch is weighed by its own committee's settings."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    data = load_oversight(session, branch_ids, first=first, last=last)
    today = to_local(now, tz).date()
    months: dict[int, Sequence[BranchCard]] = {}
    for month in range(1, 13):
        start = dt.date(year, month, 1)
        if start > today:
            break  # not begun: its column stays empty
        end = Cycle("month", year, month).last
        months[month] = branch_cards(data, first=start, last=end, now=now)
    return CardsOfYear(months, branch_cards(data, first=first, last=last, now=now))


def export_committee(
    db: Database,
    branch_ids: Sequence[int],
    *,
    unit_name: str,
    year: int,
    now: dt.datetime,
    locale: str,
    tz_name: str,
) -> CommitteeExport:
    """The committee's workbook of `year` for `branch_ids` (those its seats see)."""
    tz = zone(tz_name)
    with db.transaction() as session:  # a write: the year's occurrence rows are kept in sync
        view = load_committee_year(
            session,
            branch_ids,
            year=year,
            now=now,
            cards=lambda s, ids, y, n: year_scorecards(s, ids, y, n, tz),
            locale=locale,
        )
    xlsx = workbook_bytes(view, translator(locale, tz_name))
    return CommitteeExport(f"{slug(unit_name)}-{year}.xlsx", xlsx, year, view.branches())


def score_bars(cards: Sequence[BranchCard]) -> list[ScoreBar]:
    """The chart's bars: each branch's score of the period and whether its baseline was met."""
    return [ScoreBar(c.name, c.score.out_of_100, c.measures.meetings.baseline_met) for c in cards]


@dataclass(frozen=True)
class Scope:
    """What a seat holder's export covers: the branches their seats see, and the unit whose
    name the file carries (their first seat's)."""

    branch_ids: tuple[int, ...]
    unit_name: str


def seat_scope(db: Database, seats: Sequence[Seat]) -> Scope:
    """The branches these seats see (bot.services.org decides), and the first seat's unit."""
    with db.read() as session:
        ids = visible_branch_ids(session, seats)
        unit = session.get(OrgUnit, seats[0].unit_id) if seats else None
    return Scope(tuple(sorted(ids)), unit.name if unit is not None else "committee")


def unit_scope(db: Database, name: str) -> tuple[Scope, OrgUnit] | None:
    """The branches below the committee or general branch called `name` (the CLI's --committee)."""
    with db.read() as session:
        unit = session.exec(select(OrgUnit).where(col(OrgUnit.name) == name)).first()
        if unit is None or unit.id is None:
            return None
        ids = [b.id for b in branches_below(session, [unit.id]) if b.id is not None]
    return Scope(tuple(sorted(ids)), unit.name), unit


def year_cards(
    db: Database, branch_ids: Sequence[int], *, year: int, now: dt.datetime, tz_name: str
) -> Sequence[BranchCard]:
    """The scorecards of the year so far alone (`/export chart`): no registers loaded."""
    with db.read() as session:
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        data = load_oversight(session, branch_ids, first=first, last=last)
    return branch_cards(data, first=first, last=last, now=now)
