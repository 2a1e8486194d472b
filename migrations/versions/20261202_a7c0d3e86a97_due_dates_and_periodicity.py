"""due_dates_and_periodicity: periodicity rules as dated data and stored due dates per agent (SPEC E3)

Revision ID: a7c0d3e86a97
Revises: f6b9d2a75c86
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "a7c0d3e86a97"
down_revision = "f6b9d2a75c86"
branch_labels = None
depends_on = None

POPULATIONS = ("tous", "smp", "SI", "SIA", "SIR", "certificat")
KINDS = ("periodique", "intermediaire", "certificat", "medecin")


def upgrade():
    op.create_table(
        "periodicity_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "regime",
            sa.Enum("public", "prive", name="regime", native_enum=False, length=14),
            nullable=False,
        ),
        sa.Column(
            "population",
            sa.Enum(*POPULATIONS, name="population", native_enum=False, length=18),
            nullable=False,
        ),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("intermediate_months", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("legal_reference", sa.String(length=250), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_periodicity_rule")),
        sa.UniqueConstraint(
            "regime",
            "population",
            "valid_from",
            name=op.f("uq_periodicity_rule_regime_population_valid_from"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "due_date",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*KINDS, name="duekind", native_enum=False, length=21),
            nullable=False,
        ),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("legal_reference", sa.String(length=250), nullable=False),
        sa.Column("explanation", sa.String(length=500), nullable=False),
        sa.Column("computed_on", sa.Date(), nullable=False),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_due_date_agent_id_agent"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_due_date_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_due_date")),
        sa.UniqueConstraint("agent_id", "kind", name=op.f("uq_due_date_agent_id_kind")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("due_date", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_due_date_collectivity_id"), ["collectivity_id"], unique=False
        )
        batch_op.create_index(
            "ix_due_date_collectivity_due_on", ["collectivity_id", "due_on", "id"], unique=False
        )
        batch_op.create_index("ix_due_date_due_on", ["due_on", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("due_date", schema=None) as batch_op:
        batch_op.drop_index("ix_due_date_due_on")
        batch_op.drop_index("ix_due_date_collectivity_due_on")
        batch_op.drop_index(batch_op.f("ix_due_date_collectivity_id"))
    op.drop_table("due_date")
    op.drop_table("periodicity_rule")
