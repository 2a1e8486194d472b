"""visit_requests: requests for a visit by type, their state and the appointment that
scheduled them (SPEC E1, E2)

Revision ID: e5a8c1f64b75
Revises: d4f7b0e53a64
Create Date: 2026-12-02 02:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "e5a8c1f64b75"
down_revision = "d4f7b0e53a64"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "visit_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("visit_type_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "en_attente",
                "traitee",
                "refusee",
                "annulee",
                name="visitrequeststate",
                native_enum=False,
                length=18,
            ),
            nullable=False,
        ),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("situations", sa.JSON(), nullable=False),
        sa.Column("other_exposure", sa.String(length=250), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("information", sa.Text(), nullable=True),
        sa.Column("interpreter", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=250), nullable=True),
        sa.Column("urgency", sa.Integer(), nullable=False),
        sa.Column("deadline_on", sa.Date(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("processed_at", app.core.types.UTCDateTime(), nullable=True),
        sa.Column("processed_by_id", sa.Integer(), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_visit_request_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_visit_request_appointment_id_appointment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_visit_request_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["ab_user.id"],
            name=op.f("fk_visit_request_created_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["processed_by_id"],
            ["ab_user.id"],
            name=op.f("fk_visit_request_processed_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["visit_type_id"],
            ["visit_type.id"],
            name=op.f("fk_visit_request_visit_type_id_visit_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_request")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("visit_request", schema=None) as batch_op:
        batch_op.create_index("ix_visit_request_agent", ["agent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_visit_request_collectivity_id"), ["collectivity_id"], unique=False
        )
        batch_op.create_index(
            "ix_visit_request_collectivity_created",
            ["collectivity_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_visit_request_queue",
            ["state", "urgency", "deadline_on", "created_at"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("visit_request", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_request_queue")
        batch_op.drop_index("ix_visit_request_collectivity_created")
        batch_op.drop_index(batch_op.f("ix_visit_request_collectivity_id"))
        batch_op.drop_index("ix_visit_request_agent")
    op.drop_table("visit_request")
