"""sepa_and_reconciliation: D: SEPA mandates and payment reconciliation (issue 18)

Revision ID: f4d5e6f7a804
Revises: f3c4d5e6f703
Create Date: 2026-12-02 13:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "f4d5e6f7a804"
down_revision = "f3c4d5e6f703"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sepa_mandate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("umr", sa.String(length=35), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=False),
        sa.Column("debtor_name", sa.String(length=70), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "en_attente", "signe", "revoque", name="mandatestatus", native_enum=False, length=18
            ),
            nullable=False,
        ),
        sa.Column("first_debit_sent", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_sepa_mandate_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sepa_mandate")),
        sa.UniqueConstraint("collectivity_id", name=op.f("uq_sepa_mandate_collectivity_id")),
        sa.UniqueConstraint("umr", name=op.f("uq_sepa_mandate_umr")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sepa_debit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("mandate_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=35), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("amount", app.core.types.Money(), nullable=False),
        sa.Column(
            "sequence",
            sa.Enum("FRST", "RCUR", name="sequencetype", native_enum=False, length=12),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_sepa_debit_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_sepa_debit_invoice_id_invoice"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["mandate_id"],
            ["sepa_mandate.id"],
            name=op.f("fk_sepa_debit_mandate_id_sepa_mandate"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sepa_debit")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_sepa_debit_invoice_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("sepa_debit", schema=None) as batch_op:
        batch_op.create_index("ix_sepa_debit_batch", ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sepa_debit_collectivity_id"), ["collectivity_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("sepa_debit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sepa_debit_collectivity_id"))
        batch_op.drop_index("ix_sepa_debit_batch")
    op.drop_table("sepa_debit")
    op.drop_table("sepa_mandate")
