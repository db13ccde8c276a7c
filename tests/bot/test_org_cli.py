"""`branchbot org …` as an admin meets it, and what `branchbot doctor` says about the units."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli import main
from storage.db import Database
from storage.models import Branch, OrgPerson, OrgUnit
from tests.fakes.http_server import FakeBotApiServer

ROSTER = "name,telegram_id,role,group,dues_amount,status\n张三,1001,secretary,,12.50,full\n"
LINK = re.compile(r"https://t\.me/hospital_bot\?start=([A-Za-z0-9_-]{32})")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "DEFAULT_TIMEZONE", "ADMIN_TELEGRAM_IDS", "WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bb.db'}")
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _db(workdir: Path) -> Database:
    return Database(f"sqlite:///{workdir / 'bb.db'}")


def test_org_builds_the_tree_and_shows_it(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "r.csv").write_text(ROSTER, encoding="utf-8")
    assert _run(capsys, "import", "r.csv", "--branch", "内科一支部")[0] == 0
    assert _run(capsys, "org", "add", "医院党委")[0] == 0
    code, out, _ = _run(
        capsys, "org", "add", "内科总支", "--general-branch", "--under", "医院党委",
        "--timezone", "Asia/Urumqi", "--language", "zh_CN",
    )  # fmt: skip
    assert code == 0 and "under 医院党委" in out
    assert _run(capsys, "org", "attach", "内科一支部", "内科总支")[0] == 0
    code, out, _ = _run(
        capsys,
        "org",
        "seat",
        "内科总支",
        "刘书记",
        "--role",
        "secretary",
        "--bot",
        "@hospital_bot",
    )
    assert code == 0 and LINK.search(out), out
    code, out, _ = _run(capsys, "org", "show")
    assert code == 0
    assert out.splitlines() == [
        "▪ 医院党委 (Party committee, Asia/Shanghai)",
        "    no seats yet",
        "  ▪ 内科总支 (general branch, Asia/Urumqi)",
        "      secretary: 刘书记 — not linked yet",
        "      · 内科一支部",
    ]
    db = _db(workdir)
    with db.read() as s:
        unit = s.exec(select(OrgUnit).where(OrgUnit.name == "内科总支")).one()
        assert (unit.level, unit.locale) == ("general_branch", "zh_CN")
        branch = s.exec(select(Branch)).one()
        assert branch.org_unit_id == unit.id
    db.dispose()


def test_org_refusals_are_one_line_and_change_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "org", "add", "医院党委")[0] == 0
    cases = [
        (("org", "add", "医院党委"), "already a unit called 医院党委"),
        (("org", "add", "X", "--general-branch"), "add --under COMMITTEE"),
        (("org", "attach", "Nowhere", "医院党委"), "no branch called Nowhere"),
        (("org", "seat", "医院党委", "王", "--bot", "b"), "needs its role"),
        (("org", "seat", "Nowhere", "王", "--role", "secretary", "--bot", "b"), "Nowhere"),
        (("org", "unseat", "医院党委", "王"), "no seat of 王"),
        (("org", "remove", "Nowhere"), "no committee or general branch called Nowhere"),
        (("org", "seat", "医院党委", "王", "--role", "secretary", "--bot", "no such"), "--bot"),
    ]
    for argv, expected in cases:
        code, out, err = _run(capsys, *argv)
        assert code == 1, argv
        assert err.startswith("branchbot: ") and expected in err, (argv, err)
        assert err.count("\n") == 1 and out == ""
    db = _db(workdir)
    with db.read() as s:
        assert [u.name for u in s.exec(select(OrgUnit)).all()] == ["医院党委"]
        assert s.exec(select(OrgPerson)).all() == []
    db.dispose()


def test_seat_again_and_unseat(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "org", "add", "医院党委")[0] == 0
    seat = ("org", "seat", "医院党委", "王", "--bot", "hospital_bot")
    first = LINK.search(_run(capsys, *seat, "--role", "secretary")[1])
    code, _, err = _run(capsys, *seat, "--role", "secretary")
    assert code == 1 and "--again" in err
    code, out, _ = _run(capsys, *seat, "--again")
    second = LINK.search(out)
    assert code == 0 and first and second and first.group(1) != second.group(1)
    assert "earlier links no longer work" in out
    code, out, _ = _run(capsys, "org", "unseat", "医院党委", "王")
    assert code == 0 and "no longer holds a seat" in out
    db = _db(workdir)
    with db.read() as s:
        assert s.exec(select(OrgPerson)).one().active is False
    db.dispose()


def test_org_help_names_every_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["org", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for action in ("show", "add", "attach", "detach", "seat", "unseat", "rename", "remove"):
        assert action in out


def test_doctor_checks_units_and_warns_of_seats_never_linked(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "org", "add", "医院党委")[0] == 0
    assert (
        _run(capsys, "org", "seat", "医院党委", "王", "--role", "secretary", "--bot", "b")[0] == 0
    )
    _out = _run(capsys, "doctor", "--offline")[1]
    assert "warn  organisation: seats whose invite link was never opened: 医院党委/王" in _out
    assert "ok    organisation: 1 units, 1 seats" in _out
    db = _db(workdir)
    with db.transaction() as s:  # a unit edited behind our back
        unit = s.exec(select(OrgUnit)).one()
        unit.timezone = "Mars/Olympus"
        s.add(OrgUnit(name="孤立总支", level="general_branch", created_at=unit.created_at))
    db.dispose()
    code, out, _ = _run(capsys, "doctor", "--offline")
    assert code == 1
    assert "FAIL  organisation: 医院党委: unknown time zone 'Mars/Olympus'" in out
    assert "FAIL  organisation: 孤立总支: a general branch not under a committee" in out


def test_seat_asks_telegram_for_the_bots_username_before_writing(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _run(capsys, "org", "add", "医院党委")[0] == 0
    code, _, err = _run(capsys, "org", "seat", "医院党委", "王", "--role", "secretary")
    assert code == 1 and "--bot USERNAME" in err  # no BOT_TOKEN: nothing written
    db = _db(workdir)
    with db.read() as s:
        assert s.exec(select(OrgPerson)).all() == []
    db.dispose()
    with FakeBotApiServer() as fake:
        monkeypatch.setenv("BOT_TOKEN", fake.core.token)
        monkeypatch.setenv("TELEGRAM_API_BASE", fake.base_url)
        code, out, _ = _run(capsys, "org", "seat", "医院党委", "王", "--role", "secretary")
    assert code == 0 and f"https://t.me/{fake.core.username}?start=" in out


def test_org_score_shows_sets_refuses_and_resets_a_committees_weights(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "org", "add", "医院党委")[0] == 0
    assert (
        _run(capsys, "org", "add", "内科总支", "--general-branch", "--under", "医院党委")[0] == 0
    )
    code, out, _ = _run(capsys, "org", "score", "内科总支")
    assert code == 0 and "医院党委 (the defaults)" in out and "best score: 100" in out
    (workdir / "w.toml").write_text("baseline = 50\n[weights]\nmeetings = 30\n", encoding="utf-8")
    code, out, _ = _run(capsys, "org", "score", "医院党委", "w.toml")
    assert code == 0 and "(its own)" in out and "best score: 120" in out
    assert "meetings (required meetings held and recorded on time): 30" in out
    with _db(workdir).read() as session:
        unit = session.exec(select(OrgUnit).where(OrgUnit.name == "医院党委")).one()
        assert unit.score_toml is not None and "baseline = 50" in unit.score_toml
    # A general branch has no weights of its own; bad settings change nothing.
    code, _, err = _run(capsys, "org", "score", "内科总支", "w.toml")
    assert code == 1 and "general branch" in err
    (workdir / "bad.toml").write_text("[weights]\nbeauty = 3\n", encoding="utf-8")
    code, _, err = _run(capsys, "org", "score", "医院党委", "bad.toml")
    assert code == 1 and "unknown weight beauty" in err
    code, out, _ = _run(capsys, "org", "score", "医院党委")
    assert "meetings (required meetings held and recorded on time): 30" in out
    code, out, _ = _run(capsys, "org", "score", "医院党委", "--reset")
    assert code == 0 and "(the defaults)" in out and "on time): 20" in out
