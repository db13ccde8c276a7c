"""Storage behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import pytz
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from storage.db import Database, DatabaseError
from storage.models import Attendance, Branch, DuesPayment, Member, Occurrence

T0 = dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC)


def _branch(db: Database) -> tuple[int, int]:
    with db.transaction() as s:
        branch = Branch(name="一支部", created_at=T0)
        s.add(branch)
        s.flush()
        assert branch.id is not None
        member = Member(branch_id=branch.id, name="张三", dues_amount=Decimal("12.50"))
        s.add(member)
        s.flush()
        assert member.id is not None
        return branch.id, member.id


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"])
def test_aware_instants_round_trip_as_the_same_instant(db: Database, zone: str) -> None:
    local = pytz.timezone(zone).localize(dt.datetime(2026, 3, 29, 9, 0))
    with db.transaction() as s:
        s.add(Branch(name=zone, created_at=local))
    with db.read() as s:
        stored = s.exec(select(Branch).where(Branch.name == zone)).one()
    assert stored.created_at == local
    assert stored.created_at.tzinfo is not None
    assert stored.created_at.utcoffset() == dt.timedelta(0)


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive"), db.transaction() as s:
        s.add(Branch(name="x", created_at=dt.datetime(2026, 1, 1)))


def test_due_before_query_compares_instants_not_wall_clocks(db: Database) -> None:
    """09:00 Shanghai and 01:00 UTC are the same instant; 'before 05:00Z' matches both."""
    branch_id, _ = _branch(db)
    shanghai = pytz.timezone("Asia/Shanghai").localize(dt.datetime(2026, 3, 3, 9, 0))
    with db.transaction() as s:
        for key, at in (("a", shanghai), ("b", T0)):
            s.add(
                Occurrence(
                    branch_id=branch_id,
                    item_id="x",
                    key=key,
                    starts_at=at,
                    ends_at=at,
                    planned_starts_at=at,
                )
            )
    cutoff = dt.datetime(2026, 3, 3, 5, 0, tzinfo=dt.UTC)
    with db.read() as s:
        found = s.exec(select(Occurrence).where(Occurrence.starts_at < cutoff)).all()
    assert sorted(o.key for o in found) == ["a", "b"]


def test_money_is_decimal_on_both_backends(db: Database) -> None:
    _, member_id = _branch(db)
    with db.read() as s:
        member = s.get(Member, member_id)
    assert member is not None
    assert member.dues_amount == Decimal("12.50")
    assert isinstance(member.dues_amount, Decimal)
    assert str(member.dues_amount) == "12.50"


def test_one_dues_payment_per_member_per_month(db: Database) -> None:
    _, member_id = _branch(db)
    with db.transaction() as s:
        s.add(
            DuesPayment(
                member_id=member_id, year=2026, month=3, amount=Decimal("12.50"), declared_at=T0
            )
        )
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(
            DuesPayment(
                member_id=member_id, year=2026, month=3, amount=Decimal("12.50"), declared_at=T0
            )
        )
    with db.read() as s:
        assert len(s.exec(select(DuesPayment)).all()) == 1


def test_one_attendance_per_member_per_occurrence(db: Database) -> None:
    branch_id, member_id = _branch(db)
    with db.transaction() as s:
        occ = Occurrence(
            branch_id=branch_id,
            item_id="m",
            key="2026-03-03",
            starts_at=T0,
            ends_at=T0,
            planned_starts_at=T0,
        )
        s.add(occ)
        s.flush()
        assert occ.id is not None
        occ_id = occ.id
        s.add(
            Attendance(occurrence_id=occ_id, member_id=member_id, state="attending", updated_at=T0)
        )
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(
            Attendance(occurrence_id=occ_id, member_id=member_id, state="present", updated_at=T0)
        )


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(Member(branch_id=999, name="nobody"))


def test_unreachable_database_is_one_clear_error() -> None:
    db = Database("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(DatabaseError, match="cannot reach the database") as info:
        db.check()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "url", ["not a url", "postgresql://u:p@ss:pw@h/db", "postgresql://u:pw@h:notaport/db"]
)
def test_malformed_database_url_is_one_clear_error(url: str) -> None:
    with pytest.raises(DatabaseError, match="not a database URL") as info:
        Database(url)
    assert "pw" not in str(info.value)


def test_migrations_create_and_repeat_safely(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "bb.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    with db.transaction() as s:
        s.add(Branch(name="kept", created_at=T0))
    db.upgrade()  # again: nothing lost
    with db.read() as s:
        assert [b.name for b in s.exec(select(Branch)).all()] == ["kept"]
        mode = s.connection().exec_driver_sql("PRAGMA journal_mode").scalar()
        fks = s.connection().exec_driver_sql("PRAGMA foreign_keys").scalar()
    assert mode == "wal"
    assert fks == 1
    db.dispose()


@pytest.mark.postgres
def test_migrations_match_the_models_on_postgres(pg_url: str) -> None:
    """Autogenerate against a migrated database finds nothing to add: migrations are complete."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    db = Database(pg_url)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    db.dispose()
    assert diff == []


def _fresh_pg() -> tuple[str, object] | None:
    """A new empty PostgreSQL database (url, admin engine), or None if unreachable."""
    import os
    import uuid

    from sqlalchemy import create_engine, text

    from tests.conftest import PG_ADMIN_URL

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"bb_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        return None
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", admin


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_records_migration_keeps_data_and_sets_the_start(backend: str, tmp_path: object) -> None:
    """0001 -> head: a branch created at 20:00 UTC starts on its local (Shanghai) next day,
    a second branch holding the same group chat loses only that duplicate binding."""
    from pathlib import Path

    from alembic import command
    from sqlalchemy import text

    from storage.db import alembic_config

    admin = None
    if backend == "sqlite":
        url = f"sqlite:///{Path(str(tmp_path)) / 'old.db'}"
    else:
        found = _fresh_pg()
        if found is None:
            pytest.skip("PostgreSQL unreachable")
        url, admin = found
    db = Database(url)
    try:
        with db.engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        with db.engine.begin() as conn:
            for n, chat in ((1, -100), (2, -100)):
                conn.execute(
                    text(
                        "INSERT INTO branch (id, name, timezone, locale, group_chat_id, "
                        "delivery_mode, created_at) VALUES (:id, :name, 'Asia/Shanghai', 'zh_CN', "
                        ":chat, 'direct', :at)"
                    ),
                    {"id": n, "name": f"b{n}", "chat": chat, "at": dt.datetime(2026, 1, 1, 20, 0)},
                )
            conn.execute(
                text("INSERT INTO member (branch_id, name, role, dues_amount, status, active) "
                     "VALUES (1, 'kept', 'member', '12.50', 'full', true)")
            )  # fmt: skip
        db.upgrade()
        with db.read() as s:
            branches = {b.name: b for b in s.exec(select(Branch)).all()}
            member = s.exec(select(Member)).one()
        assert branches["b1"].starts_on == dt.date(2026, 1, 2)
        assert (branches["b1"].group_chat_id, branches["b2"].group_chat_id) == (-100, None)
        assert member.name == "kept" and member.joined_on is None
    finally:
        db.dispose()
        if admin is not None:
            with admin.connect() as conn:  # type: ignore[attr-defined]
                conn.execute(
                    text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
                )
            admin.dispose()  # type: ignore[attr-defined]
