"""chorus_deposits: C: Factur-X and Chorus Pro deposits (issue 18)

Revision ID: f3c4d5e6f703
Revises: f2b3c4d5e602
Create Date: 2026-12-02 13:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "f3c4d5e6f703"
down_revision = "f2b3c4d5e602"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("collectivity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chorus_service_code", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("chorus_engagement_number", sa.String(length=50), nullable=True)
        )
    op.create_table(
        "chorus_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chorus_batch")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "chorus_deposit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("deposit_identifier", sa.String(length=80), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("deposited_at", app.core.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["chorus_batch.id"],
            name=op.f("fk_chorus_deposit_batch_id_chorus_batch"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_chorus_deposit_invoice_id_invoice"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chorus_deposit")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("chorus_deposit", schema=None) as batch_op:
        batch_op.create_index("ix_chorus_deposit_batch", ["batch_id"], unique=False)
        batch_op.create_index("ix_chorus_deposit_invoice", ["invoice_id"], unique=False)


def downgrade():
    with op.batch_alter_table("chorus_deposit", schema=None) as batch_op:
        batch_op.drop_index("ix_chorus_deposit_invoice")
        batch_op.drop_index("ix_chorus_deposit_batch")
    op.drop_table("chorus_deposit")
    op.drop_table("chorus_batch")
    with op.batch_alter_table("collectivity", schema=None) as batch_op:
        batch_op.drop_column("chorus_engagement_number")
        batch_op.drop_column("chorus_service_code")
