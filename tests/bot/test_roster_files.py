"""Rosters as secretaries keep them: Excel workbooks, GBK or BOM CSVs; and back out again."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from bot.cli import main
from bot.services.roster import RosterError, read_roster

CHINESE = (
    "姓名,Telegram ID,角色,党小组,党费,状态\n"
    "张三,1001,secretary,第一党小组,12.50,full\n"
    "李四,,member,第一党小组,3.00,probationary\n"
    "王喆,,member,,0,\n"
)


def _names(data: bytes, filename: str) -> list[str]:
    return [r.name for r in read_roster(data, filename)]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_excel_and_wps_write(encoding: str) -> None:
    rows = read_roster(CHINESE.encode(encoding), "roster.csv")
    assert [r.name for r in rows] == ["张三", "李四", "王喆"]
    assert rows[0].group == "第一党小组" and str(rows[0].dues_amount) == "12.50"
    assert rows[1].status.value == "probationary"


@pytest.mark.parametrize("encoding", ["shift_jis", "latin-1", "utf-16"])
def test_an_encoding_that_cannot_be_told_safely_is_refused_never_mojibake(encoding: str) -> None:
    text = (
        "name,telegram_id,role,group,dues_amount,status\n"
        "山田太郎,,member,営業部,,\n鈴木花子,,member,,,\n"
        if encoding != "latin-1"
        else "name,telegram_id,role,group,dues_amount,status\nJosé Müller,,,,,\nZoë,,,,,\n"
    )
    with pytest.raises(RosterError) as info:
        read_roster(text.encode(encoding), "roster.csv")
    assert "UTF-8" in str(info.value) and "GB18030" in str(info.value)


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    for line in sheet.iter_rows():
        for cell in line:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # typed as text (Excel: a leading apostrophe)
    book.create_sheet("ignored").append(["not", "read"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_first_sheet_with_numbers_and_chinese_headers() -> None:
    data = _xlsx(
        [
            ["姓名", "Telegram ID", "角色", "党小组", "党费", "状态"],
            ["张三", 1001, "secretary", "第一党小组", 12.5, "full"],
            ["李四", None, "member", None, 3, None],
            [None, None, None, None, None, None],
            ["=1+1", None, "member", None, 0, None],  # a text cell stays text
        ]
    )
    rows = read_roster(data, "名单.xlsx")
    assert [r.name for r in rows] == ["张三", "李四", "=1+1"]
    assert rows[0].telegram_id == 1001 and str(rows[0].dues_amount) == "12.50"
    assert str(rows[1].dues_amount) == "3.00"


def test_xlsx_formula_cells_give_their_values_never_the_formula() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "telegram_id", "role", "group", "dues_amount", "status"])
    sheet.append(["张三", None, "member", None, "=2*6", None])  # a real formula, never computed
    out = io.BytesIO()
    book.save(out)
    # No cached value: the cell reads as empty (never "=2*6" evaluated), and an empty amount is
    # refused rather than taken as exempt.
    with pytest.raises(RosterError) as info:
        read_roster(out.getvalue(), "roster.xlsx")
    assert "line 2" in str(info.value) and "dues_amount is empty" in str(info.value)


def test_xlsx_errors_are_all_or_nothing_with_line_numbers() -> None:
    data = _xlsx(
        [
            ["name", "telegram_id", "role", "group", "dues_amount", "status"],
            ["张三", "abc", "member", None, None, None],
            ["李四", None, "chief", None, None, None],
        ]
    )
    with pytest.raises(RosterError) as info:
        read_roster(data, "roster.xlsx")
    assert str(info.value.problems[0]).startswith("line 2: telegram_id 'abc'")
    assert str(info.value.problems[1]).startswith("line 3: role 'chief'")


def test_not_a_workbook() -> None:
    with pytest.raises(RosterError, match=r"not an Excel \.xlsx workbook"):
        read_roster(b"PK\x03\x04junk", "roster.xlsx")
    with pytest.raises(RosterError, match=r"save it as \.xlsx"):
        read_roster(b"\xd0\xcf\x11\xe0", "roster.xls")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "DEFAULT_TIMEZONE", "DEFAULT_LOCALE", "WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bb.db'}")
    return tmp_path


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_cli_imports_gbk_then_export_roster_round_trips(
    workdir: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    (workdir / "roster.csv").write_bytes(CHINESE.encode("gbk"))
    assert main(["import", "roster.csv", "--branch", "一支部"]) == 0
    out = workdir / f"export{suffix}"
    assert main(["export-roster", "--branch", "一支部", "--out", str(out)]) == 0
    if suffix == ".xlsx":
        sheet = load_workbook(out).worksheets[0]
        assert [c.value for c in sheet[1]][:2] == ["姓名", "Telegram ID"]
    else:
        assert out.read_bytes().startswith(b"\xef\xbb\xbf\xe5\xa7\x93\xe5\x90\x8d")  # BOM + 姓名
    capsys.readouterr()
    assert main(["export-roster", "--branch", "一支部", "--out", str(out)]) == 1
    assert "exists; add --force" in capsys.readouterr().err
    assert main(["import", str(out), "--branch", "一支部"]) == 0
    assert "0 members added, 0 updated, 3 unchanged" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_formula_like_names_are_exported_as_text_and_come_back_unchanged(
    workdir: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    roster = (
        "name,telegram_id,role,group,dues_amount,status\n"
        + '"=HYPERLINK(""http://x"",""点我"")",,,@组,0,\n'
    )
    (workdir / "roster.csv").write_text(roster, encoding="utf-8")
    assert main(["import", "roster.csv", "--branch", "一支部"]) == 0
    out = workdir / f"export{suffix}"
    assert main(["export-roster", "--branch", "一支部", "--out", str(out)]) == 0
    if suffix == ".xlsx":
        sheet = load_workbook(out).worksheets[0]
        assert sheet["A2"].value == '=HYPERLINK("http://x","点我")'
        assert sheet["A2"].data_type == "s"  # text, not a formula
    else:
        assert "'=HYPERLINK" in out.read_text(encoding="utf-8-sig")
        assert "'@组" in out.read_text(encoding="utf-8-sig")
    rows = read_roster(out.read_bytes(), out.name)
    assert rows[0].name == '=HYPERLINK("http://x","点我")' and rows[0].group == "@组"
