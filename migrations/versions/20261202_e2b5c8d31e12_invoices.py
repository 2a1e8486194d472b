"""invoices: invoices, credit notes, lines, payments and the yearly number sequence (SPEC F7)

Revision ID: e2b5c8d31e12
Revises: e1a4b7c20d01
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.types

# revision identifiers, used by Alembic.
revision = "e2b5c8d31e12"
down_revision = "e1a4b7c20d01"
branch_labels = None
depends_on = None


def _money():
    return app.core.types.Decimal(precision=12, scale=2)


def _stamps():
    return [
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
    ]


def _collectivity_fk(table):
    return sa.ForeignKeyConstraint(
        ["collectivity_id"],
        ["collectivity.id"],
        name=op.f(f"fk_{table}_collectivity_id_collectivity"),
        ondelete="CASCADE",
    )


def upgrade():
    op.create_table(
        "invoice_sequence",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_invoice_sequence")),
    )
    op.create_table(
        "invoice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=8), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "facture",
                "avoir",
                name="invoicekind",
                native_enum=False,
                create_constraint=False,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("label", sa.String(length=250), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("total", _money(), nullable=False),
        sa.Column("paid_amount", _money(), nullable=False),
        sa.Column("credited_amount", _money(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "emise",
                "partiellement_payee",
                "payee",
                "annulee",
                name="invoicestatus",
                native_enum=False,
                create_constraint=False,
                length=27,
            ),
            nullable=False,
        ),
        sa.Column("run_key", sa.String(length=120), nullable=True),
        sa.Column("credit_for_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        *_stamps(),
        _collectivity_fk("invoice"),
        sa.ForeignKeyConstraint(
            ["credit_for_id"],
            ["invoice.id"],
            name=op.f("fk_invoice_credit_for_id_invoice"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice")),
        sa.UniqueConstraint("number", name=op.f("uq_invoice_number")),
        sa.UniqueConstraint("run_key", name=op.f("uq_invoice_run_key")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("invoice") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_collectivity_id"), ["collectivity_id"], unique=False
        )
        batch_op.create_index(
            "ix_invoice_collectivity_issue", ["collectivity_id", "issue_date", "id"], unique=False
        )
        batch_op.create_index("ix_invoice_status_due", ["status", "due_date"], unique=False)
        batch_op.create_index("ix_invoice_issue_date", ["issue_date", "id"], unique=False)
        batch_op.create_index("ix_invoice_credit_for", ["credit_for_id"], unique=False)
    op.create_table(
        "invoice_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=250), nullable=False),
        sa.Column("quantity", _money(), nullable=False),
        sa.Column("unit_price", _money(), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        *_stamps(),
        _collectivity_fk("invoice_line"),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_invoice_line_invoice_id_invoice"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_line")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("invoice_line") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_line_collectivity_id"), ["collectivity_id"], unique=False
        )
        batch_op.create_index("ix_invoice_line_invoice", ["invoice_id", "position"], unique=False)
    op.create_table(
        "invoice_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        *_stamps(),
        _collectivity_fk("invoice_payment"),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_invoice_payment_invoice_id_invoice"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_payment")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("invoice_payment") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_payment_collectivity_id"), ["collectivity_id"], unique=False
        )
        batch_op.create_index("ix_invoice_payment_invoice", ["invoice_id"], unique=False)


def downgrade():
    op.drop_table("invoice_payment")
    op.drop_table("invoice_line")
    op.drop_table("invoice")
    op.drop_table("invoice_sequence")
