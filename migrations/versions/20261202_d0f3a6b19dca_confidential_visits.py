"""confidential_visits: confidential appointments and visit requests, hidden from employers (SPEC E7);
the consultations history index (visit date)

Revision ID: d0f3a6b19dca
Revises: c9e2f5a08cb9
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "d0f3a6b19dca"
down_revision = "c9e2f5a08cb9"
branch_labels = None
depends_on = None


# On SQLite a batch that rebuilds the table must keep AUTOINCREMENT (ids never reused).
_KEEP_IDS = {"sqlite_autoincrement": True}
TABLES = ("appointment", "visit_request")


def upgrade():
    # Existing rows are not confidential: the server default fills them.
    for table in TABLES:
        with op.batch_alter_table(table, table_kwargs=_KEEP_IDS) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "is_confidential", sa.Boolean(), nullable=False, server_default=sa.false()
                )
            )
    # The consultations history lists every collectivity's visits newest first (issue 12:
    # 92 -> 48 ms for the first page at 50 000 consultations on PostgreSQL).
    op.create_index("ix_consultation_visit_date", "consultation", ["visit_date", "id"])


def downgrade():
    op.drop_index("ix_consultation_visit_date", table_name="consultation")
    for table in TABLES:
        with op.batch_alter_table(table, table_kwargs=_KEEP_IDS) as batch_op:
            batch_op.drop_column("is_confidential")
