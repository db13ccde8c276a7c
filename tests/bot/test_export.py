"""/export and `branchbot export`: the XLSX registers, cell by cell, and the .ics."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from icalendar import Calendar
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.cli import main
from bot.services.export import export_branch
from bot.services.registers import MONEY
from scheduler.plan import default_plan
from scheduler.recurrence import occurrences, zone
from storage.db import Database
from tests.bot.secretary_data import LI, SECRETARY, ZHAO, answer, branch, occ, pay, talk
from tests.fakes import updates
from tests.harness import Harness

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
SHEETS_ZH = ["党费缴纳登记表", "出勤", "谈话记录", "三会一课记录", "年度计划", "发展党员"]
SHEETS_EN = [
    "Dues register",
    "Attendance",
    "Talk records",
    "Meeting records",
    "Annual plan",
    "Member development",
]


def _book(data: bytes) -> dict[str, Worksheet]:
    wb = load_workbook(io.BytesIO(data))
    return {ws.title: ws for ws in wb.worksheets}  # type: ignore[misc]


def _rows(ws: Worksheet) -> list[dict[str, object]]:
    header = [c.value for c in ws[1]]
    return [
        dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=2)
    ]


def _recorded(db: Database) -> dict[str, int]:
    ids = branch(db, locale="zh_CN")
    pay(db, ids["Member Li"], 1, declared=dt.datetime(2026, 1, 25, 2, 0, tzinfo=dt.UTC))
    pay(
        db,
        ids["Member Li"],
        2,
        amount="20.00",
        confirmed=False,
        declared=dt.datetime(2026, 2, 27, 17, 30, tzinfo=dt.UTC),
    )  # 28 Feb, 01:30 in Shanghai
    meeting = occ(db, ids["branch"], "group_meeting", "2026-02-12")
    assert meeting.id is not None
    ids["meeting"] = meeting.id
    answer(
        db,
        meeting.id,
        ids["Member Li"],
        "present",
        checked_in_at=dt.datetime(2026, 2, 12, 7, 55, tzinfo=dt.UTC),
    )
    answer(db, meeting.id, ids["Member Zhao"], "leave_approved", reason="出差")
    talk(
        db,
        ids["branch"],
        ids["Group 1"],
        1,
        by=ids["Leader Zhou"],
        talks=3,
        participants=[ids["Member Li"], ids["Leader Zhou"]],
        summary="谈心谈话三次",
        at=dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC),
    )
    return ids


def test_dues_register_has_amounts_as_numbers_and_dates_as_dates(db: Database) -> None:
    ids = _recorded(db)
    sheets = _book(export_branch(db, branch_id=ids["branch"], now=NOW).xlsx)
    assert list(sheets) == SHEETS_ZH
    ws = sheets["党费缴纳登记表"]
    header = [c.value for c in ws[1]]
    assert header[:6] == [
        "姓名",
        "党小组",
        "核定月交纳额",
        "1月交纳金额",
        "1月交纳日期",
        "1月是否确认",
    ]
    assert header[-1] == "全年合计" and len(header) == 3 + 12 * 3 + 1
    rows = {r["姓名"]: r for r in _rows(ws)}
    li = rows["Member Li"]
    assert li["党小组"] == "Group 1" and li["核定月交纳额"] == 12.5
    assert (li["1月交纳金额"], li["1月交纳日期"], li["1月是否确认"]) == (
        12.5,
        dt.datetime(2026, 1, 25),
        "是",
    )
    assert (li["2月交纳金额"], li["2月交纳日期"], li["2月是否确认"]) == (
        20,
        dt.datetime(2026, 2, 28),
        "否",
    )
    assert li["3月交纳金额"] is None and li["全年合计"] == 32.5
    assert rows["Member Zhao"]["1月交纳金额"] is None
    assert len(rows) == 7
    li_row = next(
        r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=1).value == "Member Li"
    )
    assert ws.cell(row=li_row, column=3).number_format == MONEY
    assert ws.cell(row=li_row, column=4).number_format == MONEY
    assert (
        ws.cell(row=li_row, column=5).is_date
        and ws.cell(row=li_row, column=5).number_format == "yyyy-mm-dd"
    )


def test_every_sheet_has_a_frozen_header_and_set_widths(db: Database) -> None:
    ids = _recorded(db)
    for ws in _book(export_branch(db, branch_id=ids["branch"], now=NOW).xlsx).values():
        assert ws.freeze_panes == "A2"
        assert all(ws.cell(row=1, column=c).font.bold for c in range(1, ws.max_column + 1))
        for column in range(1, ws.max_column + 1):
            letter = ws.cell(row=1, column=column).column_letter
            assert ws.column_dimensions[letter].width >= 6


def test_attendance_rows_follow_the_recorded_answers(db: Database) -> None:
    ids = _recorded(db)
    ws = _book(export_branch(db, branch_id=ids["branch"], now=NOW).xlsx)["出勤"]
    assert [c.value for c in ws[1]] == [
        "日期时间",
        "活动",
        "编号",
        "姓名",
        "党小组",
        "状态",
        "签到时间",
        "请假事由",
        "记录方式",
        "补课日期",
        "补课说明",
    ]
    rows = [r for r in _rows(ws) if r["编号"] == ids["meeting"]]
    by_name = {r["姓名"]: r for r in rows}
    assert len(rows) == 7  # both groups meet: everyone in a group is expected
    li = by_name["Member Li"]
    assert li["日期时间"] == dt.datetime(2026, 2, 12, 16, 0)  # naive Shanghai time
    assert (li["活动"], li["状态"], li["签到时间"]) == (
        "党小组会",
        "出席",
        dt.datetime(2026, 2, 12, 15, 55),
    )
    assert (by_name["Member Zhao"]["状态"], by_name["Member Zhao"]["请假事由"]) == (
        "已准假",
        "出差",
    )
    # after the meeting, neither a check-in nor leave is absent, not "no answer"
    assert by_name["Member Qian"]["状态"] == "缺席"
    future = occ(db, ids["branch"], "general_meeting", "2026-03-13")
    assert future.id not in {r["编号"] for r in _rows(ws)}  # not held, nobody answered


def test_talk_records_and_plan_sheets(db: Database) -> None:
    ids = _recorded(db)
    sheets = _book(export_branch(db, branch_id=ids["branch"], now=NOW).xlsx)
    [record] = _rows(sheets["谈话记录"])
    assert record == {
        "党小组": "Group 1",
        "季度": 1,
        "谈话次数": 3,
        "谈话对象": "Leader Zhou、Member Li",
        "内容摘要": "谈心谈话三次",
        "报送人": "Leader Zhou",
        "报送时间": dt.datetime(2026, 3, 1, 12, 0),
        "是否逾期": "否",
    }
    plan = _rows(sheets["年度计划"])
    assert [c.value for c in sheets["年度计划"][1]] == [
        "日期",
        "时间",
        "事项",
        "参加对象",
        "议程",
        "状态",
        "编号",
    ]
    meeting = next(r for r in plan if r["事项"] == "党员大会")
    assert (meeting["日期"], meeting["时间"]) == (dt.datetime(2026, 3, 13), dt.time(15, 0))
    assert meeting["状态"] == "按计划" and "审议年度党建工作计划" in str(meeting["议程"])
    assert len(plan) == len(occurrences(default_plan(), 2026, zone("Asia/Shanghai")))


def test_english_branch_gets_english_sheets_and_headers(db: Database) -> None:
    ids = branch(db, locale="en")
    sheets = _book(export_branch(db, branch_id=ids["branch"], now=NOW).xlsx)
    assert list(sheets) == SHEETS_EN
    assert [c.value for c in sheets["Dues register"][1]][:4] == [
        "Member",
        "Party group",
        "Approved monthly amount",
        "Month 1 amount",
    ]


def test_export_of_a_year_and_its_calendar(db: Database) -> None:
    ids = branch(db)
    export = export_branch(db, branch_id=ids["branch"], now=NOW, year=2027)
    plan = _rows(_book(export.xlsx)["Annual plan"])
    assert plan and all(
        isinstance(r["Date"], dt.datetime) and r["Date"].year == 2027 for r in plan
    )
    calendar = Calendar.from_ical(export.ics)
    assert export.ics_name.endswith("-2027.ics") and calendar.walk("VEVENT")


# ----------------------------------------------------------------------- the command line


def test_cli_export_writes_the_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bb.db'}")
    (tmp_path / "clock").write_text("2026-03-02T01:00:00+00:00")
    monkeypatch.setenv("BRANCHBOT_CLOCK_FILE", str(tmp_path / "clock"))
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "name,telegram_id,role,group,dues_amount,status\n张三,1001,secretary,第一党小组,12.50,\n",
        encoding="utf-8",
    )
    assert main(["import", str(roster), "--branch", "一支部", "--locale", "zh_CN"]) == 0
    out = tmp_path / "registers.xlsx"
    assert main(["export", "--branch", "一支部", "--out", str(out)]) == 0
    rows = _rows(_book(out.read_bytes())["党费缴纳登记表"])
    assert rows[0]["姓名"] == "张三" and rows[0]["核定月交纳额"] == 12.5
    capsys.readouterr()
    assert main(["export", "--branch", "没有", "--out", str(tmp_path / "x.xlsx")]) == 1
    assert "no branch named" in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists()
    assert main(["export", "--branch", "一支部", "--out", str(tmp_path / "x.csv")]) == 1
    assert "must end in .xlsx" in capsys.readouterr().err


# -------------------------------------------------------------------- through the bot (tier 3)


async def test_export_command_sends_the_workbook_and_the_calendar(harness: Harness) -> None:
    ids = _recorded(harness.db)
    await harness.feed(updates.command("export", user_id=SECRETARY))
    xlsx, ics = harness.api.sent("sendDocument")
    assert xlsx["chat_id"] == ics["chat_id"] == SECRETARY
    assert xlsx["document"].filename.endswith("-2026.xlsx")
    sheets = _book(xlsx["document"].content)
    assert list(sheets) == SHEETS_ZH
    assert {r["姓名"] for r in _rows(sheets["党费缴纳登记表"])} >= {"Member Li", "Member Zhao"}
    assert ics["document"].filename.endswith(".ics")
    assert Calendar.from_ical(ics["document"].content).walk("VEVENT")
    assert ids["meeting"]


@pytest.mark.parametrize("user", [LI, 9002])
async def test_export_by_a_member_or_committee_is_refused(harness: Harness, user: int) -> None:
    _recorded(harness.db)
    await harness.feed(updates.command("export", user_id=user))
    assert "您的角色不能使用" in harness.last_reply(user)  # a zh_CN branch
    assert harness.api.sent("sendDocument") == []


async def test_me_export_sends_only_my_own_rows(harness: Harness) -> None:
    _recorded(harness.db)
    await harness.feed(updates.command("me", "export", user_id=LI))
    [document] = harness.api.sent("sendDocument")
    assert document["chat_id"] == LI
    sheets = _book(document["document"].content)
    assert [r["姓名"] for r in _rows(sheets["党费缴纳登记表"])] == ["Member Li"]
    assert {r["姓名"] for r in _rows(sheets["出勤"])} == {"Member Li"}
    await harness.feed(updates.command("me", "export", user_id=ZHAO))
    zhao = _book(harness.api.sent("sendDocument")[-1]["document"].content)
    assert _rows(zhao["谈话记录"]) == []
