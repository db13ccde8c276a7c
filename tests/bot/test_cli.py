"""The command line as a user meets it: exit codes, one-line errors, nothing half-done."""

from __future__ import annotations

from pathlib import Path

import pytest
from icalendar import Calendar
from sqlmodel import select

from bot.cli import main
from storage.db import Database
from storage.models import Branch, Member

ROSTER = (
    "name,telegram_id,role,group,dues_amount,status\n"
    "张三,1001,secretary,第一党小组,12.50,full\n"
    "李四,,member,第一党小组,3.00,\n"
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory with only DATABASE_URL set."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "BOT_TOKEN",
        "DEFAULT_TIMEZONE",
        "DEFAULT_LOCALE",
        "ADMIN_TELEGRAM_IDS",
        "WEBHOOK_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bb.db'}")
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_show_2020_in_chinese_with_the_seed_dates(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "plan", "show", "--year", "2020")
    assert code == 0
    assert "2020年3月27日 星期五 15:00  主题党日" in out
    assert "组织参观学习" in out  # March theme day agenda
    assert "党课" in out and "党章党规党纪教育" in out  # May lecture topic
    jan24 = [line for line in out.splitlines() if line.startswith("2020年1月24日")]
    assert jan24 and all("除夕" in line for line in jan24)


def test_plan_show_in_english(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    code, out, _ = _run(capsys, "plan", "show", "--year", "2020")
    assert code == 0
    assert "Fri, Mar 27, 2020 15:00" in out
    assert "Spring Festival Eve" in out


def test_plan_check_names_the_holiday(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scheduler.plan import DEFAULT_PLAN_PATH

    code, out, _ = _run(capsys, "plan", "check", str(DEFAULT_PLAN_PATH), "--year", "2020")
    assert code == 0
    assert "OK" in out
    assert "除夕" in out


def test_bad_plan_is_one_line_naming_file_item_field(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = workdir / "bad.toml"
    bad.write_text(
        'version = 1\nname = { zh_CN = "x", en = "x" }\n'
        '[[items]]\nid = "lecture"\nkind = "meeting"\naudience = "all"\n'
        'title = { zh_CN = "党课", en = "Lecture" }\n'
        'rhythm = { every = "year", month = 2, day = 30 }\ntime = "15:00"\nduration_minutes = 60\n',
        encoding="utf-8",
    )
    code, out, err = _run(capsys, "plan", "check", str(bad))
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "bad.toml" in err and "lecture" in err and "rhythm.day" in err


def test_plan_ics_is_valid_icalendar(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "plan", "ics", "--year", "2020")
    assert code == 0
    calendar = Calendar.from_ical(out)
    summaries = {str(e.get("SUMMARY")) for e in calendar.walk("VEVENT")}
    assert "主题党日" in summaries and "党员大会" in summaries


def test_init_is_safe_to_repeat(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "init")[0] == 0
    assert _run(capsys, "init")[0] == 0
    assert (workdir / "bb.db").exists()


def test_import_then_reimport_updates(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roster = workdir / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    code, out, _ = _run(
        capsys,
        "import",
        str(roster),
        "--branch",
        "一支部",
        "--timezone",
        "Europe/Berlin",
        "--locale",
        "en",
    )
    assert code == 0 and "2 members added" in out
    code, out, _ = _run(capsys, "import", str(roster), "--branch", "一支部")
    assert code == 0 and "0 members added" in out and "2 unchanged" in out
    db = Database(f"sqlite:///{workdir / 'bb.db'}")
    with db.read() as s:
        branch = s.exec(select(Branch)).one()
        assert (branch.timezone, branch.locale) == ("Europe/Berlin", "en")
        assert len(s.exec(select(Member)).all()) == 2


def test_bad_roster_imports_nothing_and_names_lines(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = workdir / "roster.csv"
    roster.write_text(ROSTER + "王五,1003,boss,,1.00,full\n", encoding="utf-8")
    code, _, err = _run(capsys, "import", str(roster), "--branch", "一支部")
    assert code == 1
    assert "line 4" in err and "boss" in err
    db = Database(f"sqlite:///{workdir / 'bb.db'}")
    db.upgrade()
    with db.read() as s:
        assert s.exec(select(Member)).all() == []


def test_missing_roster_file_is_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "import", "nope.csv", "--branch", "x")
    assert code == 1 and "cannot read nope.csv" in err


def test_unreachable_database_is_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    code, _, err = _run(capsys, "init")
    assert code == 1
    assert err.startswith("branchbot: cannot reach the database")
    assert len(err.strip().splitlines()) == 1
    assert "password" not in err


def test_invalid_setting_is_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Mars/Olympus")
    code, _, err = _run(capsys, "plan", "show")
    assert code == 2
    assert "DEFAULT_TIMEZONE" in err and "Mars/Olympus" in err


def test_run_without_token_says_how_to_get_one(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "run")
    assert code == 2
    assert "BOT_TOKEN" in err and "BotFather" in err


def test_plan_set_with_bad_file_changes_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = workdir / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    assert _run(capsys, "import", str(roster), "--branch", "一支部")[0] == 0
    bad = workdir / "bad.toml"
    bad.write_text("version = 1\n[[items]]\nid = 'x'\n", encoding="utf-8")
    code, _, err = _run(capsys, "plan", "set", str(bad), "--branch", "一支部")
    assert code == 1 and "bad.toml" in err
    db = Database(f"sqlite:///{workdir / 'bb.db'}")
    with db.read() as s:
        assert s.exec(select(Branch)).one().plan_toml is None


def test_unknown_branch_is_named(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "init")
    code, _, err = _run(capsys, "plan", "show", "--branch", "nowhere")
    assert code == 1 and "no branch named 'nowhere'" in err


def test_import_since_sets_the_start_and_delivery_the_mode(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = workdir / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    code, _out, err = _run(
        capsys,
        "import", str(roster), "--branch", "一支部", "--since", "2026-06-01",
        "--group-chat", "-1001", "--delivery", "group",
    )  # fmt: skip
    assert code == 0, err
    db = Database(f"sqlite:///{workdir / 'bb.db'}")
    with db.read() as s:
        branch = s.exec(select(Branch)).one()
    assert (str(branch.starts_on), branch.delivery_mode, branch.group_chat_id) == (
        "2026-06-01",
        "group",
        -1001,
    )
    other = workdir / "other.csv"
    other.write_text("name,telegram_id,role,group,dues_amount,status\n王五,,member,,1.00,\n")
    code, _out, err = _run(
        capsys, "import", str(other), "--branch", "二支部", "--group-chat", "-1001"
    )
    assert code == 1 and "already bound" in err


def test_plan_ics_for_a_branch_has_its_cancellations_and_moves(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime as dt

    from scheduler.occurrences import sync_occurrences

    roster = workdir / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    assert (
        _run(capsys, "import", str(roster), "--branch", "一支部", "--since", "2026-01-01")[0] == 0
    )
    db = Database(f"sqlite:///{workdir / 'bb.db'}")
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with db.transaction() as s:
        branch = s.exec(select(Branch)).one()
        rows = [
            o
            for o in sync_occurrences(s, branch, year=2026, now=now)
            if o.item_id == "committee_meeting"
        ]
        cancelled, moved = rows[2], rows[4]
        cancelled.status, cancelled.changed_at = "cancelled", now
        moved.starts_at += dt.timedelta(days=1)
        moved.ends_at += dt.timedelta(days=1)
        moved.changed_at = now
        s.add_all([cancelled, moved])
        keys = (cancelled.key, moved.key)
    code, out, _ = _run(capsys, "plan", "ics", "--branch", "一支部", "--year", "2026")
    assert code == 0
    events = [
        e for e in Calendar.from_ical(out).walk("VEVENT") if "committee_meeting" in str(e["uid"])
    ]
    [series] = [e for e in events if "RRULE" in e]
    assert [d.dt.date().isoformat() for d in series["exdate"].dts] == [keys[0]]
    [override] = [e for e in events if "RECURRENCE-ID" in e]
    assert override["recurrence-id"].dt.date().isoformat() == keys[1]
