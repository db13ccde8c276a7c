"""meeting records (三会一课) and the Party organisation above branches

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "orgunit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("score_toml", sa.Text(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["orgunit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("orgunit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orgunit_name"), ["name"], unique=True)
        batch_op.create_index(batch_op.f("ix_orgunit_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "orgperson",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("linked_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "unreachable_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ),
        sa.Column("unreachable_since", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["orgunit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_id", "name", name="uq_org_person_name"),
    )
    with op.batch_alter_table("orgperson", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_orgperson_telegram_id"), ["telegram_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_orgperson_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "meetingminutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=True),
        sa.Column("recorder_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("amended_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("amended_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["amended_by"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branch.id"],
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["partygroup.id"],
        ),
        sa.ForeignKeyConstraint(
            ["host_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["occurrence.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorder_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("occurrence_id", "scope", name="uq_minutes_scope"),
    )
    with op.batch_alter_table("meetingminutes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meetingminutes_branch_id"), ["branch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_meetingminutes_occurrence_id"), ["occurrence_id"], unique=False
        )
        batch_op.create_index(
            "ix_minutes_branch_recorded", ["branch_id", "recorded_at"], unique=False
        )

    op.create_table(
        "minutesattachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("minutes_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("photo", sa.Boolean(), nullable=False),
        sa.Column("what", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["minutes_id"],
            ["meetingminutes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("minutesattachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_minutesattachment_minutes_id"), ["minutes_id"], unique=False
        )

    # Added in place, never by copying the table: SQLite cannot drop and recreate `branch` while
    # members and occurrences point at it, and Alembic's SQLite dialect will not add a column
    # with a constraint. SQLite's own ALTER TABLE ... ADD COLUMN ... REFERENCES can.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE branch ADD COLUMN org_unit_id INTEGER "
            "CONSTRAINT fk_branch_org_unit_id REFERENCES orgunit (id)"
        )
    else:
        op.add_column("branch", sa.Column("org_unit_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_branch_org_unit_id", "branch", "orgunit", ["org_unit_id"], ["id"]
        )
    op.create_index("ix_branch_org_unit_id", "branch", ["org_unit_id"], unique=False)

    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.add_column(sa.Column("org_person_id", sa.Integer(), nullable=True))
        batch_op.alter_column("member_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_invite_org_person_id"), ["org_person_id"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_invite_org_person_id", "orgperson", ["org_person_id"], ["id"]
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.drop_constraint("fk_invite_org_person_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_invite_org_person_id"))
        batch_op.alter_column("member_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("org_person_id")

    with op.batch_alter_table("branch", schema=None) as batch_op:
        batch_op.drop_constraint("fk_branch_org_unit_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_branch_org_unit_id"))
        batch_op.drop_column("org_unit_id")

    with op.batch_alter_table("minutesattachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_minutesattachment_minutes_id"))

    op.drop_table("minutesattachment")
    with op.batch_alter_table("meetingminutes", schema=None) as batch_op:
        batch_op.drop_index("ix_minutes_branch_recorded")
        batch_op.drop_index(batch_op.f("ix_meetingminutes_occurrence_id"))
        batch_op.drop_index(batch_op.f("ix_meetingminutes_branch_id"))

    op.drop_table("meetingminutes")
    with op.batch_alter_table("orgperson", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orgperson_unit_id"))
        batch_op.drop_index(batch_op.f("ix_orgperson_telegram_id"))

    op.drop_table("orgperson")
    with op.batch_alter_table("orgunit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orgunit_parent_id"))
        batch_op.drop_index(batch_op.f("ix_orgunit_name"))

    op.drop_table("orgunit")
