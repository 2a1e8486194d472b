"""procedures: B: procedures and conventions (issue 16)

Revision ID: f2b3c4d5e602
Revises: f1a2b3c4d501
Create Date: 2026-12-02 13:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.types

# revision identifiers, used by Alembic.
revision = "f2b3c4d5e602"
down_revision = "f1a2b3c4d501"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "procedure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("collectivity_id", sa.Integer(), nullable=True),
        sa.Column("membership_number", sa.String(length=20), nullable=True),
        sa.Column("siret", sa.String(length=14), nullable=True),
        sa.Column("former_admin_email", sa.String(length=254), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", app.core.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_procedure_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["ab_user.id"],
            name=op.f("fk_procedure_decided_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["ab_user.id"],
            name=op.f("fk_procedure_requester_id_ab_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("procedure", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_procedure_collectivity_id"), ["collectivity_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_procedure_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_procedure_requester_id"), ["requester_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_procedure_state"), ["state"], unique=False)


def downgrade():
    with op.batch_alter_table("procedure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procedure_state"))
        batch_op.drop_index(batch_op.f("ix_procedure_requester_id"))
        batch_op.drop_index(batch_op.f("ix_procedure_kind"))
        batch_op.drop_index(batch_op.f("ix_procedure_collectivity_id"))
    op.drop_table("procedure")
