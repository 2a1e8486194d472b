"""archiving_days: I: archiving interventions billed by the day (issue 14)

Revision ID: f9b0c1d2e309
Revises: f8a9b0c1d208
Create Date: 2026-12-02 19:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "f9b0c1d2e309"
down_revision = "f8a9b0c1d208"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "archiving_intervention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day_on", sa.Date(), nullable=False),
        sa.Column("days", app.core.types.Decimal(precision=4, scale=1), nullable=False),
        sa.Column("archivist", sa.String(length=120), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "planifie",
                "realise",
                "annule",
                name="archivingstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_archiving_intervention_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archiving_intervention")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("archiving_intervention", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_archiving_intervention_collectivity_id"),
            ["collectivity_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_archiving_intervention_day", ["day_on", "collectivity_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("archiving_intervention", schema=None) as batch_op:
        batch_op.drop_index("ix_archiving_intervention_day")
        batch_op.drop_index(batch_op.f("ix_archiving_intervention_collectivity_id"))
    op.drop_table("archiving_intervention")
