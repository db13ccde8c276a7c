"""records: branch start, member joining day, one branch per group chat

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:00:00
"""

import datetime as dt
from collections.abc import Sequence

import pytz
import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the start and joining days; keep one branch per group chat."""
    with op.batch_alter_table("branch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("joined_on", sa.Date(), nullable=True))
    # Existing branches start on the local date they were created: what was implied before.
    branch = sa.table(
        "branch",
        sa.column("id", sa.Integer()),
        sa.column("timezone", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("starts_on", sa.Date()),
        sa.column("group_chat_id", sa.BigInteger()),
    )
    conn = op.get_bind()
    seen: set[int] = set()
    rows = conn.execute(
        sa.select(
            branch.c.id, branch.c.timezone, branch.c.created_at, branch.c.group_chat_id
        ).order_by(branch.c.id)
    ).all()
    for branch_id, tz_name, created_at, chat in rows:
        values: dict[str, object] = {"starts_on": _local_date(created_at, tz_name)}
        if chat is not None:
            if chat in seen:
                values["group_chat_id"] = None  # a later branch's duplicate binding is dropped
            seen.add(chat)
        conn.execute(sa.update(branch).where(branch.c.id == branch_id).values(**values))
    with op.batch_alter_table("branch", schema=None) as batch_op:
        batch_op.create_index("uq_branch_group_chat", ["group_chat_id"], unique=True)


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("branch", schema=None) as batch_op:
        batch_op.drop_index("uq_branch_group_chat")
        batch_op.drop_column("starts_on")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("joined_on")


def _local_date(value: object, tz_name: str) -> dt.date:
    """The branch-local date of a stored created_at (UTC; naive text or datetime on SQLite)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        tz = pytz.timezone(tz_name)
    except pytz.UnknownTimeZoneError:
        tz = pytz.utc
    return value.astimezone(tz).date()
