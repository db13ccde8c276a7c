"""Calendars stay well-formed whatever names and agendas hold; texts come back as written."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from icalendar import Calendar

from bot.cli import main
from bot.services.export import export_branch
from scheduler.ics import plan_to_ics
from scheduler.plan import parse_plan
from storage.db import Database
from storage.models import Branch
from tests.harness import seed_branch

TITLE = '党课; "学习" , a\\b\n第二行 😀🇨🇳 \u200b\u202eRTL\u202c'
AGENDA = (
    "议程：" + "传达学习全会精神，" * 40 + "\r\nline two; with, commas\\ and 🎉"
) + "\x07\x00"
ROSTER = "name,telegram_id,role,group,dues_amount,status\n张三,1001,secretary,一组,12.50,full\n"
BRANCH = "第一党支部\n; , \\ 😀"


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, without ASCII-only output)."""
    return json.dumps(text, ensure_ascii=False)


def _plan(title: str = TITLE, agenda: str = AGENDA) -> str:
    return (
        'version = 1\nname = { zh_CN = "测试计划", en = "Test plan" }\ncountry = "CN"\n'
        "[[items]]\n"
        'id = "lecture"\nkind = "meeting"\naudience = "all"\n'
        f"title = {{ zh_CN = {_toml(title)}, en = {_toml(title)} }}\n"
        'rhythm = { every = "month", weekday = "fri", nth = 3 }\ntime = "15:00"\nduration_minutes = 90\n'
        f"agenda = {{ zh_CN = {_toml(agenda)}, en = {_toml(agenda)} }}\n"
    )


def _as_written(text: str) -> str:
    """What a calendar can hold of `text`: line breaks as LF, no control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or not (ord(ch) < 32 or 127 <= ord(ch) < 160))


def _unescape(text: str) -> str:
    """RFC 5545 TEXT unescaping (3.3.11)."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], text)


def assert_well_formed(data: bytes) -> Calendar:
    """Every content line at most 75 octets, CRLF-terminated, no bare controls; parses back."""
    assert data.endswith(b"\r\n")
    for line in data.split(b"\r\n")[:-1]:
        assert len(line) <= 75, line
        line.decode("utf-8")  # folding never splits a UTF-8 sequence
        assert not any(b < 32 and b != 9 for b in line), line
        assert b"\r" not in line and b"\n" not in line
    return Calendar.from_ical(data)


def test_hostile_titles_agendas_and_branch_names_round_trip() -> None:
    plan = parse_plan(_plan(), source="test")
    cal = assert_well_formed(
        plan_to_ics(plan, year=2026, tz_name="Asia/Shanghai", locale="zh_CN", branch_name=BRANCH)
    )
    # icalendar does not know X-WR-CALNAME is TEXT (calendar apps do): unescape it here.
    calname = _unescape(str(cal["X-WR-CALNAME"]))
    assert calname == _as_written(f"{BRANCH} · 测试计划 2026")
    events = cal.walk("VEVENT")
    assert events
    for event in events:
        assert str(event["SUMMARY"]) == TITLE
        assert str(event["DESCRIPTION"]) == _as_written(AGENDA)


def test_the_export_calendar_is_well_formed_too(sqlite_db: Database) -> None:
    ids = seed_branch(sqlite_db, name=BRANCH, locale="en")
    with sqlite_db.transaction() as s:
        branch = s.get(Branch, ids["branch"])
        assert branch is not None
        branch.plan_toml = _plan()
    now = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    cal = assert_well_formed(export_branch(sqlite_db, branch_id=ids["branch"], now=now).ics)
    assert {str(e["SUMMARY"]) for e in cal.walk("VEVENT")} == {TITLE}


def test_plan_ics_command_is_well_formed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bb.db'}")
    (tmp_path / "roster.csv").write_text(ROSTER)
    (tmp_path / "plan.toml").write_text(_plan(agenda=AGENDA.replace("\x00", "")))
    assert main(["import", "roster.csv", "--branch", "一支部"]) == 0
    assert main(["plan", "set", "plan.toml", "--branch", "一支部"]) == 0
    capsysbinary.readouterr()
    assert main(["plan", "ics", "--branch", "一支部", "--year", "2026"]) == 0
    cal = assert_well_formed(capsysbinary.readouterr().out)
    assert {str(e["SUMMARY"]) for e in cal.walk("VEVENT")} == {TITLE}
