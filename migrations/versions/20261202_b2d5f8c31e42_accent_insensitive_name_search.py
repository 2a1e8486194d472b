"""accent_insensitive_name_search: agent name keys (search and French sort), their indexes

The agents get ``search_name`` (the name shown with the first name, folded: app.rules.names)
and ``search_alt_name`` (the birth name a usage name hides), compared byte by byte (collation
"C" on PostgreSQL), filled here for the existing rows. They replace the name indexes of
c37d6d0f06a0 and the (collectivity, birth name, first name) index, which nothing reads any more.

Revision ID: b2d5f8c31e42
Revises: a1c4e7b20d31
Create Date: 2026-12-02 00:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.types  # noqa: F401
from app.rules.names import agent_name_keys

# revision identifiers, used by Alembic.
revision = "b2d5f8c31e42"
down_revision = "a1c4e7b20d31"
branch_labels = None
depends_on = None

BATCH = 5000


# On SQLite a batch that rebuilds the table must keep AUTOINCREMENT (ids never reused).
_KEEP_IDS = {"sqlite_autoincrement": True}


def _key_type():
    return sa.String(length=300).with_variant(sa.String(length=300, collation="C"), "postgresql")


def _backfill():
    connection = op.get_bind()
    agent = sa.table(
        "agent",
        sa.column("id", sa.Integer),
        sa.column("birth_name", sa.String),
        sa.column("usage_name", sa.String),
        sa.column("first_name", sa.String),
        sa.column("search_name", sa.String),
        sa.column("search_alt_name", sa.String),
    )
    update = (
        sa.update(agent)
        .where(agent.c.id == sa.bindparam("agent_id"))
        .values(search_name=sa.bindparam("shown"), search_alt_name=sa.bindparam("hidden"))
    )
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(agent.c.id, agent.c.birth_name, agent.c.usage_name, agent.c.first_name)
            .where(agent.c.id > last_id)
            .order_by(agent.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        values = []
        for row in rows:
            shown, hidden = agent_name_keys(row.birth_name, row.usage_name, row.first_name)
            values.append({"agent_id": row.id, "shown": shown, "hidden": hidden})
        connection.execute(update, values)
        last_id = rows[-1].id


def upgrade():
    with op.batch_alter_table("agent", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column("search_name", _key_type(), nullable=True))
        batch_op.add_column(sa.Column("search_alt_name", _key_type(), nullable=True))
    _backfill()
    with op.batch_alter_table("agent", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.alter_column("search_name", existing_type=_key_type(), nullable=False)
        batch_op.drop_index("ix_agent_usage_name_prefix", postgresql_ops={"usage_name": "varchar_pattern_ops"})
        batch_op.drop_index("ix_agent_birth_name_prefix", postgresql_ops={"birth_name": "varchar_pattern_ops"})
        batch_op.drop_index("ix_agent_collectivity_names")
        batch_op.drop_index("ix_agent_birth_name")
        batch_op.drop_index("ix_agent_usage_name")
        batch_op.create_index("ix_agent_search_name", ["search_name", "id"], unique=False)
        batch_op.create_index(
            "ix_agent_collectivity_search_name", ["collectivity_id", "search_name", "id"], unique=False
        )
        batch_op.create_index(
            "ix_agent_search_alt_name", ["search_alt_name", "search_name", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("agent", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.drop_index("ix_agent_search_alt_name")
        batch_op.drop_index("ix_agent_collectivity_search_name")
        batch_op.drop_index("ix_agent_search_name")
        batch_op.create_index("ix_agent_usage_name", ["usage_name"], unique=False)
        batch_op.create_index("ix_agent_birth_name", ["birth_name"], unique=False)
        batch_op.create_index(
            "ix_agent_collectivity_names", ["collectivity_id", "birth_name", "first_name"], unique=False
        )
        batch_op.create_index(
            "ix_agent_birth_name_prefix", ["birth_name"], unique=False,
            postgresql_ops={"birth_name": "varchar_pattern_ops"},
        )
        batch_op.create_index(
            "ix_agent_usage_name_prefix", ["usage_name"], unique=False,
            postgresql_ops={"usage_name": "varchar_pattern_ops"},
        )
        batch_op.drop_column("search_alt_name")
        batch_op.drop_column("search_name")
