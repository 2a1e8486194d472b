"""retention_and_portability: when a collectivity's personal data were erased, when an agent was
anonymised (SPEC G5)

Revision ID: c3e6a9d42f53
Revises: b2d5f8c31e42
Create Date: 2026-12-02 00:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "c3e6a9d42f53"
down_revision = "b2d5f8c31e42"
branch_labels = None
depends_on = None


# On SQLite a batch that rebuilds the table must keep AUTOINCREMENT (ids never reused).
_KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade():
    with op.batch_alter_table("collectivity", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column("personal_data_erased_on", sa.Date(), nullable=True))
    with op.batch_alter_table("agent", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column("anonymised_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("agent", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.drop_column("anonymised_on")
    with op.batch_alter_table("collectivity", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.drop_column("personal_data_erased_on")
