"""membership_applications: A: self-registration and membership wizard (issue 16)

Revision ID: f1a2b3c4d501
Revises: e4d7e0f53a34
Create Date: 2026-12-02 13:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "f1a2b3c4d501"
down_revision = "e4d7e0f53a34"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "membership_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("applicant_user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("current_step", sa.Integer(), nullable=False),
        sa.Column("siret", sa.String(length=14), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("conditions_version", sa.String(length=40), nullable=True),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("submitted_at", app.core.types.UTCDateTime(), nullable=True),
        sa.Column("decided_at", app.core.types.UTCDateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_user_id"],
            ["ab_user.id"],
            name=op.f("fk_membership_application_applicant_user_id_ab_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_membership_application_collectivity_id_collectivity"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["ab_user.id"],
            name=op.f("fk_membership_application_decided_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_application")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("membership_application", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_membership_application_applicant_user_id"),
            ["applicant_user_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_membership_application_siret"), ["siret"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_membership_application_status"), ["status"], unique=False
        )


def downgrade():
    with op.batch_alter_table("membership_application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_application_status"))
        batch_op.drop_index(batch_op.f("ix_membership_application_siret"))
        batch_op.drop_index(batch_op.f("ix_membership_application_applicant_user_id"))
    op.drop_table("membership_application")
