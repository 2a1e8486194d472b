"""visit_request_attachments: PDF attachments of visit requests and uploaded visit sheets (SPEC E1, E5)

Revision ID: b8d1e4f97ba8
Revises: a7c0d3e86a97
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "b8d1e4f97ba8"
down_revision = "a7c0d3e86a97"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "visit_request_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_request_id", sa.Integer(), nullable=False),
        sa.Column("nature_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("stored_path", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collectivity_id"],
            ["collectivity.id"],
            name=op.f("fk_visit_request_attachment_collectivity_id_collectivity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["nature_id"],
            ["document_nature.id"],
            name=op.f("fk_visit_request_attachment_nature_id_document_nature"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["ab_user.id"],
            name=op.f("fk_visit_request_attachment_uploaded_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["visit_request_id"],
            ["visit_request.id"],
            name=op.f("fk_visit_request_attachment_visit_request_id_visit_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_request_attachment")),
        sa.UniqueConstraint("stored_path", name=op.f("uq_visit_request_attachment_stored_path")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("visit_request_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_visit_request_attachment_collectivity_id"),
            ["collectivity_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_visit_request_attachment_request", ["visit_request_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("visit_request_attachment", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_request_attachment_request")
        batch_op.drop_index(batch_op.f("ix_visit_request_attachment_collectivity_id"))
    op.drop_table("visit_request_attachment")
