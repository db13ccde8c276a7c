"""quarterly thought reports

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "thoughtreport",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("file_id", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
        sa.Column("photo", sa.Boolean(), nullable=False),
        sa.Column("handed_in_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("amended_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["branch_id"], ["branch.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "year", "quarter", name="uq_thought_report_quarter"),
    )
    with op.batch_alter_table("thoughtreport", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_thoughtreport_branch_id"), ["branch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_thoughtreport_member_id"), ["member_id"], unique=False
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("thoughtreport", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thoughtreport_member_id"))
        batch_op.drop_index(batch_op.f("ix_thoughtreport_branch_id"))
    op.drop_table("thoughtreport")
