"""declarations_and_tariffs: annual declarations with payroll, validation and lock; tariff periods (SPEC F1, F2)

The annual declaration extends ``headcount`` (payroll, validation, the staff's reopening); the
declaration reminders of March are recorded once per collectivity and year. Tariff periods
already live in ``tariff`` (their overlap is refused by the application).

Revision ID: e1a4b7c20d01
Revises: d0f3a6b19dca
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.types

# revision identifiers, used by Alembic.
revision = "e1a4b7c20d01"
down_revision = "d0f3a6b19dca"
branch_labels = None
depends_on = None

# On SQLite a batch that rebuilds the table must keep AUTOINCREMENT (ids never reused).
_KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade():
    with op.batch_alter_table("headcount", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.add_column(
            sa.Column("payroll", app.core.types.Decimal(precision=14, scale=2), nullable=True)
        )
        batch_op.add_column(sa.Column("validated_at", app.core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("validated_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reopened_at", app.core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("reopened_reason", sa.String(length=250), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_headcount_validated_by_id_ab_user"),
            "ab_user",
            ["validated_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "declaration_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sent_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_declaration_reminder_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declaration_reminder")),
        sa.UniqueConstraint(
            "collectivity_id", "year", name=op.f("uq_declaration_reminder_collectivity_id_year")
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("declaration_reminder") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_declaration_reminder_collectivity_id"), ["collectivity_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("declaration_reminder") as batch_op:
        batch_op.drop_index(batch_op.f("ix_declaration_reminder_collectivity_id"))
    op.drop_table("declaration_reminder")
    with op.batch_alter_table("headcount", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_headcount_validated_by_id_ab_user"), type_="foreignkey"
        )
        batch_op.drop_column("reopened_reason")
        batch_op.drop_column("reopened_at")
        batch_op.drop_column("validated_by_id")
        batch_op.drop_column("validated_at")
        batch_op.drop_column("payroll")
