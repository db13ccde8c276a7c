"""members who leave, and how long free text is kept

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-01 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("branch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("left_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("left_how", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("left_how")
        batch_op.drop_column("left_at")
    with op.batch_alter_table("branch", schema=None) as batch_op:
        batch_op.drop_column("retention_days")
