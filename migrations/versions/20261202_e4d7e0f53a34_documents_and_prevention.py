"""documents_and_prevention: employer documents, published documents, prevention actions and catalogue (SPEC E6, E8)

Revision ID: e4d7e0f53a34
Revises: e2b5c8d31e12
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "e4d7e0f53a34"
down_revision = "e2b5c8d31e12"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "prevention_module",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=300), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prevention_module")),
        sa.UniqueConstraint("title", name=op.f("uq_prevention_module_title")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "prevention_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "f3sct",
                "etude_poste",
                "reunion_rh",
                "visite_site",
                "sensibilisation",
                "autre",
                name="preventionkind",
                native_enum=False,
                length=23,
            ),
            nullable=False,
        ),
        sa.Column("action_on", sa.Date(), nullable=False),
        sa.Column("participants", sa.String(length=500), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("report_filename", sa.String(length=120), nullable=True),
        sa.Column("report_path", sa.String(length=255), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_prevention_action_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["ab_user.id"],
            name=op.f("fk_prevention_action_recorded_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prevention_action")),
        sa.UniqueConstraint("report_path", name=op.f("uq_prevention_action_report_path")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_prevention_action_collectivity_id"),
        "prevention_action",
        ["collectivity_id"],
        unique=False,
    )
    op.create_index(
        "ix_prevention_action_collectivity_on",
        "prevention_action",
        ["collectivity_id", "action_on"],
        unique=False,
    )
    op.create_table(
        "prevention_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("registration_deadline", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["prevention_module.id"],
            name=op.f("fk_prevention_session_module_id_prevention_module"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prevention_session")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_prevention_session_module_id"), "prevention_session", ["module_id"], unique=False
    )
    op.create_index(
        "ix_prevention_session_starts", "prevention_session", ["starts_at"], unique=False
    )
    op.create_table(
        "employer_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("nature_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("stored_path", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("no_medical_data_by_id", sa.Integer(), nullable=True),
        sa.Column("no_medical_data_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("received_by_id", sa.Integer(), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_employer_document_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_employer_document_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["nature_id"],
            ["document_nature.id"],
            name=op.f("fk_employer_document_nature_id_document_nature"),
        ),
        sa.ForeignKeyConstraint(
            ["no_medical_data_by_id"],
            ["ab_user.id"],
            name=op.f("fk_employer_document_no_medical_data_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["received_by_id"],
            ["ab_user.id"],
            name=op.f("fk_employer_document_received_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["ab_user.id"],
            name=op.f("fk_employer_document_uploaded_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer_document")),
        sa.UniqueConstraint("stored_path", name=op.f("uq_employer_document_stored_path")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_employer_document_agent_id"), "employer_document", ["agent_id"], unique=False
    )
    op.create_index(
        op.f("ix_employer_document_collectivity_id"),
        "employer_document",
        ["collectivity_id"],
        unique=False,
    )
    op.create_index(
        "ix_employer_document_collectivity_uploaded",
        "employer_document",
        ["collectivity_id", "uploaded_at"],
        unique=False,
    )
    op.create_index(
        "ix_employer_document_received", "employer_document", ["received_at"], unique=False
    )
    op.create_table(
        "prevention_registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("seat_index", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("inscrit", "annule", name="registrationstatus", native_enum=False, length=15),
            nullable=False,
        ),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("registered_by_id", sa.Integer(), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_prevention_registration_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_prevention_registration_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["registered_by_id"],
            ["ab_user.id"],
            name=op.f("fk_prevention_registration_registered_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["prevention_session.id"],
            name=op.f("fk_prevention_registration_session_id_prevention_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prevention_registration")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_prevention_registration_agent_id"),
        "prevention_registration",
        ["agent_id"],
        unique=False,
    )
    op.create_index(
        "ix_prevention_registration_collectivity",
        "prevention_registration",
        ["collectivity_id", "session_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_prevention_registration_collectivity_id"),
        "prevention_registration",
        ["collectivity_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_prevention_registration_session_id"),
        "prevention_registration",
        ["session_id"],
        unique=False,
    )
    op.create_index(
        "uq_prevention_registration_agent",
        "prevention_registration",
        ["session_id", "agent_id"],
        unique=True,
        postgresql_where=sa.text("status = 'inscrit'"),
        sqlite_where=sa.text("status = 'inscrit'"),
    )
    op.create_index(
        "uq_prevention_registration_seat",
        "prevention_registration",
        ["session_id", "seat_index"],
        unique=True,
        postgresql_where=sa.text("status = 'inscrit'"),
        sqlite_where=sa.text("status = 'inscrit'"),
    )
    op.create_table(
        "published_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "folder",
            sa.Enum(
                "rapports_acfi",
                "rapports_annuels",
                "releves_factures",
                "prevention",
                "autres",
                name="documentfolder",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("stored_path", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_published_document_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_published_document_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["ab_user.id"],
            name=op.f("fk_published_document_published_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_document")),
        sa.UniqueConstraint("stored_path", name=op.f("uq_published_document_stored_path")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_published_document_agent_id"), "published_document", ["agent_id"], unique=False
    )
    op.create_index(
        "ix_published_document_collectivity_folder",
        "published_document",
        ["collectivity_id", "folder"],
        unique=False,
    )
    op.create_index(
        op.f("ix_published_document_collectivity_id"),
        "published_document",
        ["collectivity_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_published_document_published_on"),
        "published_document",
        ["published_on"],
        unique=False,
    )


def downgrade():
    op.drop_table("published_document")
    op.drop_table("prevention_registration")
    op.drop_table("employer_document")
    op.drop_table("prevention_session")
    op.drop_table("prevention_action")
    op.drop_table("prevention_module")
