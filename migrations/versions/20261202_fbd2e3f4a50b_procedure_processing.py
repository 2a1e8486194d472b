"""procedure_processing: K: procedures processing (issue 16)

The absorbed collectivity of a merger request (the one that ends its membership) and the new
SIRET of a buy-out report.

Revision ID: fbd2e3f4a50b
Revises: fac1d2e3f40a
Create Date: 2026-12-02 19:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "fbd2e3f4a50b"
down_revision = "fac1d2e3f40a"
branch_labels = None
depends_on = None

# On SQLite a batch that rebuilds the table must keep AUTOINCREMENT (ids never reused).
_KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade():
    with op.batch_alter_table("procedure", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column("absorbed_collectivity_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("new_siret", sa.String(length=14), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_procedure_absorbed_collectivity_id_collectivity"),
            "collectivity",
            ["absorbed_collectivity_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            batch_op.f("ix_procedure_absorbed_collectivity_id"),
            ["absorbed_collectivity_id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("procedure", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procedure_absorbed_collectivity_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_procedure_absorbed_collectivity_id_collectivity"), type_="foreignkey"
        )
        batch_op.drop_column("new_siret")
        batch_op.drop_column("absorbed_collectivity_id")
