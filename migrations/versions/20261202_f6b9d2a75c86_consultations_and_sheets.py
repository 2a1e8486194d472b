"""consultations_and_sheets: recorded visits with their outcome and the visit sheet's release
date, medical notes (health roles only) and the medical access log (SPEC E4, E5, E7, J3)

Revision ID: f6b9d2a75c86
Revises: e5a8c1f64b75
Create Date: 2026-12-02 02:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "f6b9d2a75c86"
down_revision = "e5a8c1f64b75"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "consultation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("visit_type_id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "attestation_suivi",
                "apte",
                "apte_restrictions",
                "inapte_temporaire",
                "inapte",
                "avis_differe",
                name="outcome",
                native_enum=False,
                length=25,
            ),
            nullable=False,
        ),
        sa.Column("restrictions", sa.Text(), nullable=True),
        sa.Column("next_visit_on", sa.Date(), nullable=True),
        sa.Column("is_smp", sa.Boolean(), nullable=False),
        sa.Column("is_confidential", sa.Boolean(), nullable=False),
        sa.Column("sheet_released_on", sa.Date(), nullable=True),
        sa.Column("sheet_available_on", sa.Date(), nullable=False),
        sa.Column("sheet_path", sa.String(length=255), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_consultation_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_consultation_appointment_id_appointment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_consultation_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            name=op.f("fk_consultation_office_id_office"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professional.id"],
            name=op.f("fk_consultation_professional_id_professional"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["ab_user.id"],
            name=op.f("fk_consultation_recorded_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["visit_type_id"],
            ["visit_type.id"],
            name=op.f("fk_consultation_visit_type_id_visit_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_consultation_appointment_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("consultation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consultation_agent_date", ["agent_id", "visit_date"], unique=False
        )
        batch_op.create_index(
            "ix_consultation_collectivity_available",
            ["collectivity_id", "sheet_available_on"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_consultation_collectivity_id"), ["collectivity_id"], unique=False
        )
        batch_op.create_index(
            "ix_consultation_professional_date", ["professional_id", "visit_date"], unique=False
        )

    op.create_table(
        "medical_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("accessed_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("agent_label", sa.String(length=250), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=True),
        sa.Column("what", sa.String(length=200), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_medical_access_agent_id_agent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_medical_access_consultation_id_consultation"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["ab_user.id"],
            name=op.f("fk_medical_access_user_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medical_access")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("medical_access", schema=None) as batch_op:
        batch_op.create_index("ix_medical_access_accessed_at", ["accessed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_medical_access_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "medical_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["ab_user.id"],
            name=op.f("fk_medical_note_author_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_medical_note_consultation_id_consultation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medical_note")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("medical_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_medical_note_consultation_id"), ["consultation_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("medical_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_medical_note_consultation_id"))

    op.drop_table("medical_note")
    with op.batch_alter_table("medical_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_medical_access_agent_id"))
        batch_op.drop_index("ix_medical_access_accessed_at")

    op.drop_table("medical_access")
    with op.batch_alter_table("consultation", schema=None) as batch_op:
        batch_op.drop_index("ix_consultation_professional_date")
        batch_op.drop_index(batch_op.f("ix_consultation_collectivity_id"))
        batch_op.drop_index("ix_consultation_collectivity_available")
        batch_op.drop_index("ix_consultation_agent_date")

    op.drop_table("consultation")
