"""membership_records: J: membership wizard records (issue 16)

Revision ID: fac1d2e3f40a
Revises: f9b0c1d2e309
Create Date: 2026-12-02 19:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "fac1d2e3f40a"
down_revision = "f9b0c1d2e309"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("membership_application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("applicant_function", sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table("membership_application", schema=None) as batch_op:
        batch_op.drop_column("applicant_function")
