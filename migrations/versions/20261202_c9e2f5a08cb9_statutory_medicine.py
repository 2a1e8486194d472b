"""statutory_medicine: statutory-medicine requests, quota and ACFI days (SPEC I1, I2)

The requests of the 17 acts (kind, mandatory flag, coefficient, deadline in working days, quota
consumption stored per request) and the approved doctor's medical report, kept in a table of its
own that no employer reads and the audit log never records.

Revision ID: c9e2f5a08cb9
Revises: b8d1e4f97ba8
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.types

# revision identifiers, used by Alembic.
revision = "c9e2f5a08cb9"
down_revision = "b8d1e4f97ba8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "statutory_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("act_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("controle", "expertise", name="actkind", native_enum=False, length=17),
            nullable=False,
        ),
        sa.Column("mandatory", sa.Boolean(), nullable=False),
        sa.Column("rpi_ati", sa.Boolean(), nullable=False),
        sa.Column("written_report", sa.Boolean(), nullable=False),
        sa.Column("coefficient", app.core.types.Decimal(precision=5, scale=2), nullable=False),
        sa.Column("information", sa.Text(), nullable=True),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("deadline_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "en_attente",
                "planifiee",
                "realisee",
                "absence_injustifiee",
                "annulee",
                name="statutorystatus",
                native_enum=False,
                length=27,
            ),
            nullable=False,
        ),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("restitution_due_on", sa.Date(), nullable=True),
        sa.Column("restitution_sent_on", sa.Date(), nullable=True),
        sa.Column("consumed_on", sa.Date(), nullable=False),
        sa.Column("within_quota", sa.Boolean(), nullable=False),
        sa.Column("points", app.core.types.Decimal(precision=5, scale=2), nullable=False),
        sa.Column("price", app.core.types.Decimal(precision=12, scale=2), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("cancel_reason", sa.String(length=250), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["act_id"], ["statutory_act.id"], name=op.f("fk_statutory_request_act_id_statutory_act")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_statutory_request_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_statutory_request_appointment_id_appointment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_statutory_request_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["ab_user.id"],
            name=op.f("fk_statutory_request_created_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            name=op.f("fk_statutory_request_office_id_office"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statutory_request")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("statutory_request", schema=None) as batch_op:
        batch_op.create_index("ix_statutory_request_agent", ["agent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_statutory_request_collectivity_id"), ["collectivity_id"], unique=False
        )
        batch_op.create_index(
            "ix_statutory_request_collectivity_requested",
            ["collectivity_id", "requested_on"],
            unique=False,
        )
        batch_op.create_index(
            "ix_statutory_request_consumption",
            ["collectivity_id", "consumed_on", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_statutory_request_queue", ["status", "mandatory", "deadline_on", "id"], unique=False
        )

    op.create_table(
        "statutory_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["ab_user.id"],
            name=op.f("fk_statutory_report_author_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["statutory_request.id"],
            name=op.f("fk_statutory_report_request_id_statutory_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statutory_report")),
        sa.UniqueConstraint("request_id", name=op.f("uq_statutory_report_request_id")),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "acfi_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("volume_days", app.core.types.Decimal(precision=5, scale=1), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=True),
        sa.Column("affiliated", sa.Boolean(), nullable=False),
        sa.Column("amendment_reference", sa.String(length=120), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_acfi_plan_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acfi_plan")),
        sa.UniqueConstraint(
            "collectivity_id", "year", name=op.f("uq_acfi_plan_collectivity_id_year")
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("acfi_plan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_acfi_plan_collectivity_id"), ["collectivity_id"], unique=False
        )
        batch_op.create_index("ix_acfi_plan_year", ["year"], unique=False)

    op.create_table(
        "acfi_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("day_on", sa.Date(), nullable=False),
        sa.Column("days", app.core.types.Decimal(precision=3, scale=1), nullable=False),
        sa.Column(
            "nature",
            sa.Enum(
                "visite", "rapport", "cst", "autre", name="acfinature", native_enum=False, length=15
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "planifie", "realise", "annule", name="acfidaystatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("inspector", sa.String(length=120), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_acfi_day_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["acfi_plan.id"],
            name=op.f("fk_acfi_day_plan_id_acfi_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acfi_day")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("acfi_day", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_acfi_day_collectivity_id"), ["collectivity_id"], unique=False
        )
        batch_op.create_index("ix_acfi_day_plan_day", ["plan_id", "day_on"], unique=False)


def downgrade():
    with op.batch_alter_table("acfi_day", schema=None) as batch_op:
        batch_op.drop_index("ix_acfi_day_plan_day")
        batch_op.drop_index(batch_op.f("ix_acfi_day_collectivity_id"))
    op.drop_table("acfi_day")
    with op.batch_alter_table("acfi_plan", schema=None) as batch_op:
        batch_op.drop_index("ix_acfi_plan_year")
        batch_op.drop_index(batch_op.f("ix_acfi_plan_collectivity_id"))
    op.drop_table("acfi_plan")
    op.drop_table("statutory_report")
    with op.batch_alter_table("statutory_request", schema=None) as batch_op:
        batch_op.drop_index("ix_statutory_request_queue")
        batch_op.drop_index("ix_statutory_request_consumption")
        batch_op.drop_index("ix_statutory_request_collectivity_requested")
        batch_op.drop_index(batch_op.f("ix_statutory_request_collectivity_id"))
        batch_op.drop_index("ix_statutory_request_agent")
    op.drop_table("statutory_request")
