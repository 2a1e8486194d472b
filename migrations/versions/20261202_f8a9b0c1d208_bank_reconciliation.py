"""bank_reconciliation: H: bank statements and payment reconciliation (issue 18)

Revision ID: f8a9b0c1d208
Revises: f7a8b9cadb07
Create Date: 2026-12-02 19:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "f8a9b0c1d208"
down_revision = "f7a8b9cadb07"
branch_labels = None
depends_on = None


def upgrade():
    # The dashboards' amounts collected by month read payments by date.
    op.create_index("ix_invoice_payment_paid_on", "invoice_payment", ["paid_on"], unique=False)
    op.create_table(
        "bank_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "format",
            sa.Enum(
                "csv", "camt053", "camt054", name="statementformat", native_enum=False, length=15
            ),
            nullable=False,
        ),
        sa.Column("imported_by", sa.String(length=120), nullable=False),
        sa.Column("imported_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("matched_count", sa.Integer(), nullable=False),
        sa.Column("unmatched_count", sa.Integer(), nullable=False),
        sa.Column("total_amount", app.core.types.Money(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement")),
        sa.UniqueConstraint("sha256", name=op.f("uq_bank_statement_sha256")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("bank_statement", schema=None) as batch_op:
        batch_op.create_index("ix_bank_statement_imported_at", ["imported_at"], unique=False)
    op.create_table(
        "bank_statement_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("amount", app.core.types.Money(), nullable=False),
        sa.Column("reference", sa.String(length=140), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=False),
        sa.Column("debtor", sa.String(length=140), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "rapprochee",
                "non_rapprochee",
                "ignoree",
                name="statementlinestatus",
                native_enum=False,
                length=22,
            ),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.Enum(
                "exact",
                "partial",
                "overpayment",
                "ambiguous",
                "unmatched",
                "manual",
                name="matchoutcome",
                native_enum=False,
                length=19,
            ),
            nullable=False,
        ),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("excess_amount", app.core.types.Money(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["bank_statement.id"],
            name=op.f("fk_bank_statement_line_statement_id_bank_statement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_bank_statement_line_invoice_id_invoice"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["invoice_payment.id"],
            name=op.f("fk_bank_statement_line_payment_id_invoice_payment"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement_line")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("bank_statement_line", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bank_statement_line_statement", ["statement_id", "line_no"], unique=False
        )
        batch_op.create_index(
            "ix_bank_statement_line_status", ["status", "statement_id"], unique=False
        )
        batch_op.create_index("ix_bank_statement_line_invoice", ["invoice_id"], unique=False)


def downgrade():
    op.drop_index("ix_invoice_payment_paid_on", table_name="invoice_payment")
    with op.batch_alter_table("bank_statement_line", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_statement_line_invoice")
        batch_op.drop_index("ix_bank_statement_line_status")
        batch_op.drop_index("ix_bank_statement_line_statement")
    op.drop_table("bank_statement_line")
    with op.batch_alter_table("bank_statement", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_statement_imported_at")
    op.drop_table("bank_statement")
