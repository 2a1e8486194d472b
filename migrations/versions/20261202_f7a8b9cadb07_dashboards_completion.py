"""dashboards_completion: G: dashboards and operations completion (issues 17, 19)

Revision ID: f7a8b9cadb07
Revises: f6f7a8b9ca06
Create Date: 2026-12-02 13:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "f7a8b9cadb07"
down_revision = "f6f7a8b9ca06"
branch_labels = None
depends_on = None


def upgrade():
    # The dashboard's global period filters (all collectivities at once).
    op.create_index("ix_appointment_starts", "appointment", ["starts_at"], unique=False)
    op.create_index(
        "ix_statutory_request_consumed", "statutory_request", ["consumed_on"], unique=False
    )


def downgrade():
    op.drop_index("ix_statutory_request_consumed", table_name="statutory_request")
    op.drop_index("ix_appointment_starts", table_name="appointment")
