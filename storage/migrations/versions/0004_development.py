"""the member development pipeline: recorded steps

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "developmentrecord",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("people", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["branch_id"], ["branch.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("developmentrecord", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_developmentrecord_branch_id"), ["branch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_developmentrecord_member_id"), ["member_id"], unique=False
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("developmentrecord", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_developmentrecord_member_id"))
        batch_op.drop_index(batch_op.f("ix_developmentrecord_branch_id"))
    op.drop_table("developmentrecord")
