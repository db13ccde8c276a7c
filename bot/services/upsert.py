"""Race-safe inserts on SQLite and PostgreSQL: the unique constraint decides, not a Python check.

Two taps of one button may run at once (two replicas, or PTB's concurrent updates); a
"select, then insert if missing" lets both insert on PostgreSQL. `INSERT ... ON CONFLICT DO
NOTHING` makes the database pick one winner; the loser sees `False` and re-reads the row.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def _table(model: type[SQLModel]) -> Table:
    table = getattr(model, "__table__", None)
    assert isinstance(table, Table), f"{model.__name__} is not a table model"
    return table


@functools.cache
def _insert_ignore(table: Table, keys: tuple[str, ...], dialect: str) -> Any:
    """The prebuilt statement (one object, so the compiled form is reused as is)."""
    pk = next(iter(table.primary_key.columns))
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    else:  # pragma: no cover - only the two supported backends
        raise NotImplementedError(dialect)
    # RETURNING, not rowcount: psycopg 3 reports -1 for an INSERT ... ON CONFLICT DO NOTHING.
    return stmt.returning(pk)


def insert_ignore(
    session: Session, model: type[SQLModel], values: Mapping[str, Any], *, keys: Sequence[str]
) -> bool:
    """Insert one row unless a row with the same unique `keys` exists; True if inserted."""
    stmt = _insert_ignore(_table(model), tuple(keys), session.get_bind().dialect.name)
    return session.connection().execute(stmt, dict(values)).first() is not None
