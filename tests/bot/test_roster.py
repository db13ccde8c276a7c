"""Roster import: all or nothing, bad rows named by line, re-import updates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.services.roster import RosterError, import_roster, parse_roster
from storage.db import Database
from storage.models import Branch, Member, PartyGroup

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
HEADER = "name,telegram_id,role,group,dues_amount,status\n"
GOOD = (
    HEADER
    + "张三,1001,secretary,第一党小组,12.50,full\n"
    + "李四,,member,第一党小组,3.00,\n"
    + "王五,1003,group_leader,第二党小组,0.20,probationary\n"
)


def _import(db: Database, text: str, **kw: object) -> object:
    rows = parse_roster(text.encode(), source="roster.csv")
    return import_roster(db, rows, branch_name="一支部", now=NOW, **kw)  # type: ignore[arg-type]


def test_import_creates_branch_groups_and_members(db: Database) -> None:
    _import(db, GOOD, timezone="Asia/Shanghai", locale="zh_CN")
    with db.read() as s:
        members = {m.name: m for m in s.exec(select(Member)).all()}
        groups = {g.name for g in s.exec(select(PartyGroup)).all()}
    assert set(members) == {"张三", "李四", "王五"}
    assert groups == {"第一党小组", "第二党小组"}
    assert members["张三"].telegram_id == 1001 and members["张三"].linked_at == NOW
    assert members["李四"].telegram_id is None and members["李四"].status == "full"
    assert members["王五"].dues_amount == Decimal("0.20")
    assert members["王五"].status == "probationary"


def test_reimport_updates_and_never_duplicates(db: Database) -> None:
    _import(db, GOOD)
    changed = GOOD.replace("李四,,member,第一党小组,3.00,", "李四,1002,committee,第二党小组,4.50,")
    result = _import(db, changed)
    with db.read() as s:
        members = s.exec(select(Member)).all()
        li = s.exec(select(Member).where(Member.name == "李四")).one()
    assert len(members) == 3
    assert (li.telegram_id, li.role, li.dues_amount) == (1002, "committee", Decimal("4.50"))
    assert result.updated == ["李四"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name,telegram_id,role,group,status\n张三,1,member,,full\n",
            "missing column(s) dues_amount",
        ),
        (HEADER + "张三,1,chairman,,1.00,full\n", "line 2: role 'chairman'"),
        (HEADER + "张三,1,member,,ten,full\n", "line 2: dues_amount 'ten'"),
        (
            HEADER + "张三,1,member,,1.00,full\n李四,1,member,,1.00,full\n",
            "line 3: telegram_id 1 repeats line 2",
        ),
        (HEADER + ",1,member,,1.00,full\n", "line 2: name is empty"),
        (HEADER + "张三,abc,member,,1.00,full\n", "line 2: telegram_id 'abc'"),
        (HEADER + "张三,1,member,,1.00,retired\n", "line 2: status 'retired'"),
        (HEADER + "张三,1,member,,-1,full\n", "line 2: dues_amount '-1' is out of range"),
        (HEADER + "张三,1,member,,1.005,full\n", "more than two decimals"),
        (HEADER + "张三,1,member\n", "line 2: expected 6 fields"),
        (HEADER + "张\x07三,1,member,,1.00,full\n", "line 2: name contains control characters"),
    ],
)
def test_bad_roster_is_refused_by_line(text: str, expected: str) -> None:
    with pytest.raises(RosterError) as info:
        parse_roster(text.encode(), source="roster.csv")
    assert expected in str(info.value)
    assert str(info.value).startswith("roster.csv: ")


def test_every_bad_line_is_reported_not_only_the_first() -> None:
    text = HEADER + "a,1,boss,,1,full\nb,2,member,,x,full\nc,3,member,,1,full\n"
    with pytest.raises(RosterError) as info:
        parse_roster(text.encode(), source="r.csv")
    assert [p.line for p in info.value.problems] == [2, 3]
    assert [str(p).split(":")[0] for p in info.value.problems] == ["line 2", "line 3"]


def test_gb18030_roster_is_read_and_an_unknown_encoding_refused() -> None:
    rows = parse_roster((HEADER + "张三,1,member,,1,full\n").encode("gb18030"), source="r.csv")
    assert [r.name for r in rows] == ["张三"]
    with pytest.raises(RosterError, match="cannot tell the text encoding"):
        parse_roster(
            (HEADER + "鈴木花子,1,member,営業部,1,full\n").encode("shift_jis"), source="r.csv"
        )


def test_bom_and_blank_lines_are_accepted() -> None:
    rows = parse_roster(("\ufeff" + HEADER + "\n张三,,member,,1,\n\n").encode(), source="r.csv")
    assert [r.name for r in rows] == ["张三"]


def test_telegram_id_of_another_branch_member_imports_nothing(db: Database) -> None:
    _import(db, GOOD)
    rows = parse_roster(
        (HEADER + "新人,,member,,1,\n赵六,1001,member,,1,\n").encode(), source="b.csv"
    )
    with pytest.raises(RosterError, match="line 3: telegram_id 1001 already belongs"):
        import_roster(db, rows, branch_name="二支部", now=NOW)
    with db.read() as s:
        assert s.exec(select(Branch).where(Branch.name == "二支部")).first() is None
        assert s.exec(select(Member).where(Member.name == "新人")).first() is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_parser(data: bytes) -> None:
    try:
        rows = parse_roster(data, source="fuzz.csv")
    except RosterError as exc:
        assert str(exc).startswith("fuzz.csv: ")
    else:
        assert all(r.name for r in rows)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"delivery": "group"}, "needs a group"),  # group-only with no group: reaches nobody
        ({"group_chat_id": 1001}, "not a group chat id"),  # a user's id, not a group's
    ],
)
def test_delivery_that_would_reach_nobody_is_refused(
    db: Database, options: dict[str, object], expected: str
) -> None:
    with pytest.raises(RosterError, match=expected):
        _import(db, GOOD, **options)
    with db.read() as s:
        assert s.exec(select(Branch)).all() == []  # all or nothing: not even the branch
