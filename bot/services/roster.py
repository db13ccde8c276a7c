"""Roster import and export: parse the whole file first, write nothing unless every row is good.

Files are CSV (UTF-8, UTF-8 with BOM, or GB18030/GBK as Excel and WPS save them on Chinese
Windows) or Excel .xlsx (the first sheet). Telegram-free, so an uploaded file can later go
through exactly the same rules as `branchbot import`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TypeVar

from sqlmodel import Session

from bot.services.development import import_stage
from bot.services.inert import visible
from scheduler.problems import N_, Problem, problem
from scheduler.recurrence import to_local, zone
from storage import repositories as repo
from storage.db import Database
from storage.models import Branch, DeliveryMode, Member, MemberStatus, Role

_E = TypeVar("_E", Role, MemberStatus)

HEADER = ("name", "telegram_id", "role", "group", "dues_amount", "status")
STAGE_SINCE = "stage_since"  # optional column: the date of a pre-member's current stage
MAX_NAME = 200


@dataclass(frozen=True)
class RosterRow:
    """One valid roster line."""

    line: int
    name: str
    telegram_id: int | None
    role: Role
    group: str | None
    dues_amount: Decimal
    status: MemberStatus
    # The date of the current stage of someone not yet a member (optional column).
    stage_since: dt.date | None = None


class RosterError(ValueError):
    """The roster file is refused; `problems` lists every bad line (str() gives the English)."""

    def __init__(self, source: str, problems: list[Problem] | list[str]) -> None:
        self.source = source
        self.problems = [p if isinstance(p, Problem) else Problem(p) for p in problems]
        super().__init__(f"{source}: " + "; ".join(str(p) for p in self.problems))


class _BadRow(ValueError):
    """One line's reason, raised while reading the line (the line number is added later)."""

    def __init__(self, msgid: str, /, *, quoted: tuple[str, ...] = (), **fields: object) -> None:
        self.problem = Problem(msgid, MappingProxyType(fields), quoted=frozenset(quoted))
        super().__init__(self.problem.english())


@dataclass
class ImportResult:
    """What an import changed."""

    branch: Branch
    branch_created: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def parse_roster(data: bytes, *, source: str) -> list[RosterRow]:
    """Parse and validate a roster CSV (UTF-8, UTF-8 with BOM or GB18030/GBK)."""
    return _parse_table(_csv_table(data, source), source)


def read_roster(data: bytes, filename: str) -> list[RosterRow]:
    """A roster file's rows, by its name: `.xlsx` (first sheet) or CSV; all or nothing.

    The one place roster files are read, so the CLI and any upload path apply the same rules.
    Raises RosterError naming every bad line (line 1 is the header).
    """
    if filename.lower().endswith(".xlsx"):
        return _parse_table(_xlsx_table(data, filename), filename)
    if filename.lower().endswith((".xls", ".et", ".ods", ".numbers")):
        raise RosterError(
            filename, [problem(N_("save it as .xlsx (Excel workbook) or CSV, then import that"))]
        )
    return parse_roster(data, source=filename)


# The encodings a roster CSV may be in, as Excel and WPS write them ("CSV UTF-8", or plain
# "CSV" on Chinese Windows, which is the ANSI code page 936 = GBK, a subset of GB18030).
ENCODINGS_TRIED = "UTF-8, UTF-8 with BOM, GB18030/GBK"


def decode_csv(data: bytes, source: str) -> str:
    """The text of a CSV file, or RosterError when its encoding cannot be told safely.

    UTF-8 is tried first: its byte patterns are strict, so text that decodes as UTF-8 is
    UTF-8. Otherwise GB18030 (which contains GBK) is accepted only if what it decodes to is
    plausible Chinese text; anything else would import mojibake, so it is refused.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RosterError(
            source,
            [
                problem(
                    N_("UTF-16 text is not supported; save as CSV in one of: {encodings}"),
                    encodings=ENCODINGS_TRIED,
                )
            ],
        )
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RosterError(
                source,
                [problem(N_("not valid UTF-8 after its BOM (byte {byte})"), byte=exc.start)],
            ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    if text and _plausible_chinese(text):
        return text
    raise RosterError(
        source,
        [problem(N_("cannot tell the text encoding safely (tried {encodings}); "
                    "save it as CSV UTF-8 and import again"), encodings=ENCODINGS_TRIED)],
    )  # fmt: skip


def _plausible_chinese(text: str) -> bool:
    """Whether GB18030-decoded text looks like what a roster holds (no mojibake signs).

    Other encodings' bytes (Shift-JIS, Big5, Latin-1) often decode as GB18030 too, but into
    symbols, private-use characters or rare ideographs: a real roster's characters are almost
    all among the 6763 common ones of GB2312, so more than a few rare ones means mojibake.
    """
    rare = 0
    wide = 0
    for ch in text:
        if ch.isascii():
            if ch.isprintable() or ch in "\r\n\t":
                continue
            return False
        category = unicodedata.category(ch)
        if category in ("Co", "Cn", "Cc", "Cf", "Cs"):  # private use, unassigned, controls
            return False
        if not (category.startswith(("L", "N", "P", "Z")) or ch in "￥·"):
            return False
        if category.startswith("L") and not _cjk_or_latin(ch):
            return False  # e.g. Greek or Cyrillic out of nowhere: another encoding's bytes
        wide += 1
        rare += not _in_gb2312(ch)
    return rare <= max(2, wide // 5)


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _cjk_or_latin(ch: str) -> bool:
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0x20000 <= code <= 0x3134F  # extensions B-G (rare names)
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0x3000 <= code <= 0x30FF  # CJK punctuation, kana
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x00C0 <= code <= 0x024F  # Latin with accents (names like Zoë)
    )


# A spreadsheet opening a CSV runs a cell starting with one of these as a formula (OWASP "CSV
# injection"); export-roster writes such text with a leading apostrophe, import takes it off.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_table(data: bytes, source: str) -> list[list[str]]:
    text = decode_csv(data, source)
    return [[_unquote(c) for c in row] for row in csv.reader(io.StringIO(text, newline=""))]


def _unquote(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


def _quote(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def _xlsx_table(data: bytes, source: str) -> list[list[str]]:
    """The first sheet's cells as text. Formula cells give their last computed value (never
    the formula); a text cell that looks like a formula stays that text."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # zipfile.BadZipFile, KeyError, InvalidFileException, ...: not a workbook
        raise RosterError(source, [problem(N_("not an Excel .xlsx workbook"))]) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise RosterError(source, [problem(N_("the workbook has no sheet"))])
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 1001 and 12 as floats
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


# Header names as a secretary may write them in Chinese (or with spaces, in any case).
HEADER_ALIASES = {
    "姓名": "name",
    "telegram id": "telegram_id",
    "telegram_id": "telegram_id",
    "角色": "role",
    "党小组": "group",
    "党费": "dues_amount",
    "状态": "status",
    "阶段起始日期": "stage_since",
}
CHINESE_HEADER = ("姓名", "Telegram ID", "角色", "党小组", "党费", "状态")


def _header_name(raw: str) -> str:
    name = raw.strip().lower()
    return HEADER_ALIASES.get(name, name)


def _parse_table(table: list[list[str]], source: str) -> list[RosterRow]:
    header = [_header_name(h) for h in (table[0] if table else [])]
    missing = [h for h in HEADER if h not in header]
    if missing:
        columns = ", ".join(missing)
        raise RosterError(
            source, [problem(N_("missing column(s) {columns}"), line=1, columns=columns)]
        )
    index = {name: header.index(name) for name in HEADER}
    if STAGE_SINCE in header:  # optional: rosters without it stay valid
        index[STAGE_SINCE] = header.index(STAGE_SINCE)
    rows: list[RosterRow] = []
    problems: list[Problem] = []
    for line_no, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        try:
            rows.append(_row(line_no, cells, index))
        except ValueError as exc:
            reason = exc.problem if isinstance(exc, _BadRow) else Problem(str(exc))
            problems.append(replace(reason, line=line_no))
    problems += _duplicates(rows)
    if problems:
        raise RosterError(source, problems)
    return rows


def _row(line_no: int, cells: list[str], index: dict[str, int]) -> RosterRow:
    if len(cells) <= max(index.values()):
        raise _BadRow(
            N_("expected {expected} fields, found {found}"), expected=len(HEADER), found=len(cells)
        )
    get = {name: cells[i].strip() for name, i in index.items()}
    name = get["name"]
    if not name or len(name) > MAX_NAME:
        raise _BadRow(N_("name is empty") if not name else N_("name is too long"))
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise _BadRow(N_("name contains control characters"))
    name = visible(name)  # zero-width and right-to-left marks would break layout and matching
    if not name:
        raise _BadRow(N_("name is empty"))
    return RosterRow(
        line=line_no,
        name=name,
        telegram_id=_telegram_id(get["telegram_id"]),
        role=_choice(Role, get["role"] or "member", "role"),
        group=visible(get["group"]) or None,
        dues_amount=_amount(get["dues_amount"]),
        status=_choice(MemberStatus, get["status"] or "full", "status"),
        stage_since=_stage_since(get.get(STAGE_SINCE, "")),
    )


def _stage_since(raw: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        raise _BadRow(
            N_("stage_since {raw} is not a date (YYYY-MM-DD)"), quoted=("raw",), raw=raw
        ) from None


def _telegram_id(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 2**52:
        raise _BadRow(
            N_("telegram_id {raw} is not a Telegram user id (a positive number)"),
            quoted=("raw",),
            raw=raw,
        )
    return int(raw)


def _amount(raw: str) -> Decimal:
    if not raw.strip():
        # A blank would silently mean "exempt": the roster must say 0 for that.
        raise _BadRow(N_("dues_amount is empty: give the monthly amount, or 0 if exempt"))
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise _BadRow(
            N_("dues_amount {raw} is not a number of yuan (e.g. 12.50)"), quoted=("raw",), raw=raw
        ) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("100000000"):
        raise _BadRow(N_("dues_amount {raw} is out of range"), quoted=("raw",), raw=raw)
    if amount != amount.quantize(Decimal("0.01")):
        raise _BadRow(N_("dues_amount {raw} has more than two decimals"), quoted=("raw",), raw=raw)
    return amount.quantize(Decimal("0.01"))


def _choice(kind: type[_E], raw: str, label: str) -> _E:
    try:
        return kind(raw.lower())
    except ValueError:
        allowed = "|".join(v.value for v in kind)
        raise _BadRow(
            N_("{label} {raw} is not one of {allowed}"),
            quoted=("raw",),
            label=label,
            raw=raw,
            allowed=allowed,
        ) from None


def _duplicates(rows: list[RosterRow]) -> list[Problem]:
    problems = []
    seen_ids: dict[int, int] = {}
    seen_names: dict[str, int] = {}
    for row in rows:
        if row.telegram_id is not None:
            if row.telegram_id in seen_ids:
                first = seen_ids[row.telegram_id]
                problems.append(
                    problem(
                        N_("telegram_id {id} repeats line {first}"),
                        line=row.line,
                        id=row.telegram_id,
                        first=first,
                    )
                )
            seen_ids.setdefault(row.telegram_id, row.line)
        if row.name in seen_names:
            problems.append(
                problem(
                    N_("name {name} repeats line {first}"),
                    line=row.line,
                    quoted=("name",),
                    name=row.name,
                    first=seen_names[row.name],
                )
            )
        seen_names.setdefault(row.name, row.line)
    return problems


def import_roster(
    db: Database,
    rows: list[RosterRow],
    *,
    branch_name: str,
    now: dt.datetime,
    timezone: str | None = None,
    locale: str | None = None,
    group_chat_id: int | None = None,
    source: str = "roster",
    since: dt.date | None = None,
    delivery: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Create or update the branch and its members in one transaction.

    A new branch starts on `since` or on the day of this import (branch-local); members added
    to an existing branch join on the day of the import. `dry_run` does everything, counts
    and checks included, then rolls back: what a preview shows is what the import will do.
    """
    try:
        return _import(
            db, rows, branch_name=branch_name, now=now, timezone=timezone, locale=locale,
            group_chat_id=group_chat_id, source=source, since=since, delivery=delivery,
            dry_run=dry_run,
        )  # fmt: skip
    except _RolledBack as done:
        return done.result


class _RolledBack(Exception):
    """Raised at the end of a dry run so the transaction rolls back; carries the counts."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__("dry run")
        self.result = result


def _import(
    db: Database,
    rows: list[RosterRow],
    *,
    branch_name: str,
    now: dt.datetime,
    timezone: str | None,
    locale: str | None,
    group_chat_id: int | None,
    source: str,
    since: dt.date | None,
    delivery: str | None,
    dry_run: bool,
) -> ImportResult:
    with db.transaction() as session:
        branch = repo.branch_by_name(session, name=branch_name)
        created = branch is None
        if branch is None:
            branch = Branch(name=branch_name, created_at=now)
        branch.timezone = timezone or branch.timezone
        branch.locale = locale or branch.locale
        if since is not None or branch.starts_on is None:
            branch.starts_on = since or to_local(now, zone(branch.timezone)).date()
        if group_chat_id is not None:
            _claim_chat(session, branch, group_chat_id, source)
            branch.group_chat_id = group_chat_id
            if delivery is None and branch.delivery_mode == DeliveryMode.DIRECT.value:
                delivery = DeliveryMode.BOTH.value  # a bound group is used, as promised
        if delivery is not None:
            branch.delivery_mode = DeliveryMode(delivery).value
        if branch.delivery_mode != DeliveryMode.DIRECT.value and branch.group_chat_id is None:
            # A group-only branch without a group would reach nobody.
            raise RosterError(
                source,
                [problem(N_("delivery by group chat needs a group: give --group-chat ID too"))],
            )
        session.add(branch)
        session.flush()
        assert branch.id is not None
        result = ImportResult(branch=branch, branch_created=created)
        _check_foreign_ids(session, rows, branch_id=branch.id, source=source)
        joined = None if created else to_local(now, zone(branch.timezone)).date()
        for row in rows:
            _upsert_member(
                session, row, branch_id=branch.id, now=now, result=result, joined=joined
            )
        repo.add_audit(
            session,
            branch_id=branch.id,
            action="roster.import",
            at=now,
            detail=f"{len(result.created)} created, {len(result.updated)} updated",
        )
        if dry_run:
            raise _RolledBack(result)
    return result


def _check_foreign_ids(
    session: Session, rows: list[RosterRow], *, branch_id: int, source: str
) -> None:
    problems = []
    for row in rows:
        if row.telegram_id is None:
            continue
        owner = repo.member_by_telegram_id(session, telegram_id=row.telegram_id)
        if owner is not None and (owner.branch_id != branch_id or owner.name != row.name):
            problems.append(
                problem(
                    N_("telegram_id {id} already belongs to another member"),
                    line=row.line,
                    id=row.telegram_id,
                )
            )
    if problems:
        raise RosterError(source, problems)


def _claim_chat(session: Session, branch: Branch, chat_id: int, source: str) -> None:
    """A group chat belongs to one branch: refuse one bound to another."""
    if chat_id >= 0:  # Telegram's group and supergroup ids are negative; a positive one is a user
        raise RosterError(
            source,
            [
                problem(
                    N_("{chat} is not a group chat id (group ids are negative, e.g. -100…)"),
                    chat=chat_id,
                )
            ],
        )
    owner = repo.branch_by_group_chat(session, chat_id=chat_id)
    if owner is not None and owner.id != branch.id:
        raise RosterError(
            source,
            [
                problem(
                    N_("group chat {chat} is already bound to branch {branch}"),
                    quoted=("branch",),
                    chat=chat_id,
                    branch=owner.name,
                )
            ],
        )


def _upsert_member(
    session: Session,
    row: RosterRow,
    *,
    branch_id: int,
    now: dt.datetime,
    result: ImportResult,
    joined: dt.date | None = None,
) -> None:
    group_id = None
    if row.group:
        group_id = repo.ensure_group(session, branch_id=branch_id, name=row.group).id
    member = repo.member_by_name(session, branch_id=branch_id, name=row.name)
    is_new = member is None
    if member is None:
        member = Member(branch_id=branch_id, name=row.name, joined_on=joined)
    before = (member.telegram_id, member.role, member.group_id, member.dues_amount, member.status)
    if row.telegram_id is not None and member.telegram_id != row.telegram_id:
        member.telegram_id = row.telegram_id
        member.linked_at = now
    member.role = row.role.value
    member.group_id = group_id
    member.dues_amount = row.dues_amount
    member.status = row.status.value
    member.active = True
    member.left_at = member.left_how = None  # back in the branch
    session.add(member)
    session.flush()
    import_stage(session, member, since=row.stage_since, now=now)
    after = (member.telegram_id, member.role, member.group_id, member.dues_amount, member.status)
    target = result.created if is_new else result.updated if before != after else result.unchanged
    target.append(row.name)


def export_roster(db: Database, *, branch_id: int, filename: str, chinese: bool) -> bytes:
    """The branch's active members as a roster file `read_roster` reads back unchanged.

    `.xlsx` gives a workbook (every cell text or a number, never a formula); anything else a
    CSV in UTF-8 with a BOM, which Excel and WPS open with the right characters.
    """
    with db.read() as session:
        members = repo.list_members(session, branch_id=branch_id)
        groups = {g.id: g.name for g in repo.list_groups(session, branch_id=branch_id)}
    header = list(CHINESE_HEADER if chinese else HEADER)
    rows = [
        [
            m.name,
            str(m.telegram_id) if m.telegram_id is not None else "",
            m.role,
            groups.get(m.group_id, "") if m.group_id is not None else "",
            f"{m.dues_amount:.2f}",
            m.status,
        ]
        for m in members
    ]
    if filename.lower().endswith(".xlsx"):
        return _xlsx_bytes(header, rows)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_quote(cell) for cell in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def _xlsx_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("roster")
    for values in [header, *rows]:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text: a name like "=1+1" must not become a formula
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
