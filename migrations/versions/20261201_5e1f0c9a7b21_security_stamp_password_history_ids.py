"""security stamp, password history, ids never reused (SQLite AUTOINCREMENT)

Revision ID: 5e1f0c9a7b21
Revises: c37d6d0f06a0
Create Date: 2026-12-01 20:40:00

Every account gets a random security stamp (sessions and API tokens carry it). Security
questions answered by the collectivity's SIRET (public) are cleared: the holder chooses a secret
one the next time he sets his password. On SQLite every table with a single integer key of its
own is rebuilt with AUTOINCREMENT (the documented 12-step procedure: new table from the stored
CREATE TABLE text, rows copied, old table dropped, new one renamed, the table's own indexes
re-created from their stored text, partial ones included); PostgreSQL sequences never reuse ids.
"""

import re
import secrets

import sqlalchemy as sa
from alembic import op

import app.core.types

# revision identifiers, used by Alembic.
revision = "5e1f0c9a7b21"
down_revision = "c37d6d0f06a0"
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table("account_security", schema=None) as batch_op:
        batch_op.add_column(sa.Column("security_stamp", sa.String(length=64), nullable=True))

    now = sa.bindparam("now", app.core.types.utcnow(), type_=app.core.types.UTCDateTime())
    bind.execute(
        sa.text(
            "INSERT INTO account_security (user_id, created_at, updated_at) "
            "SELECT id, :now, :now FROM ab_user "
            "WHERE id NOT IN (SELECT user_id FROM account_security)"
        ).bindparams(now)
    )
    for (user_id,) in bind.execute(sa.text("SELECT user_id FROM account_security")).all():
        bind.execute(
            sa.text("UPDATE account_security SET security_stamp = :stamp WHERE user_id = :id"),
            {"stamp": secrets.token_urlsafe(24), "id": user_id},
        )
    bind.execute(
        sa.text(
            "UPDATE account_security SET security_question = NULL, security_answer_hash = NULL "
            "WHERE security_question = 'siret'"
        )
    )
    with op.batch_alter_table("account_security", schema=None) as batch_op:
        batch_op.alter_column("security_stamp", existing_type=sa.String(length=64), nullable=False)

    op.create_table(
        "password_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["ab_user.id"],
            name=op.f("fk_password_history_user_id_ab_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_history")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("password_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_password_history_user_id"), ["user_id"], unique=False
        )

    if bind.dialect.name == "sqlite":
        for table in _sqlite_tables(bind):
            _rebuild_with_autoincrement(bind, table)


def downgrade():
    with op.batch_alter_table("password_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_history_user_id"))
    op.drop_table("password_history")
    with op.batch_alter_table("account_security", schema=None) as batch_op:
        batch_op.drop_column("security_stamp")


def _sqlite_tables(bind):
    rows = bind.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name != 'alembic_version' ORDER BY name"
    ).all()
    return [name for (name,) in rows]


def _rebuild_with_autoincrement(bind, table):
    columns = bind.exec_driver_sql(f'PRAGMA table_info("{table}")').all()
    keys = [c for c in columns if c[5]]
    if len(keys) != 1 or keys[0][2].upper() != "INTEGER":
        return
    key = keys[0][1]
    foreign = bind.exec_driver_sql(f'PRAGMA foreign_key_list("{table}")').all()
    if any(row[3] == key for row in foreign):
        return
    create_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar()
    if "AUTOINCREMENT" in create_sql.upper():
        return
    index_sqls = [
        sql
        for (sql,) in bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        ).all()
    ]
    constraint = re.search(r",\s*CONSTRAINT (\w+) PRIMARY KEY \(" + re.escape(key) + r"\)", create_sql)
    if constraint is None:
        raise RuntimeError(f"{table}: primary key constraint not found in {create_sql!r}")
    new_sql = create_sql[: constraint.start()] + create_sql[constraint.end() :]
    column = re.compile(r"(\(\s*|,\s*)" + re.escape(key) + r" INTEGER NOT NULL(?=,|\s*\))")
    if not column.search(new_sql):
        raise RuntimeError(f"{table}: key column not found in {create_sql!r}")
    new_sql = column.sub(
        lambda m: f"{m.group(1)}{key} INTEGER NOT NULL CONSTRAINT {constraint.group(1)} "
        "PRIMARY KEY AUTOINCREMENT",
        new_sql,
        count=1,
    )
    temporary = f"_autoincrement_{table}"
    new_sql = re.sub(r"^CREATE TABLE \"?" + re.escape(table) + r"\"?", f'CREATE TABLE "{temporary}"', new_sql)
    names = ", ".join(f'"{c[1]}"' for c in columns)
    bind.exec_driver_sql(new_sql)
    bind.exec_driver_sql(f'INSERT INTO "{temporary}" ({names}) SELECT {names} FROM "{table}"')
    bind.exec_driver_sql(f'DROP TABLE "{table}"')
    bind.exec_driver_sql(f'ALTER TABLE "{temporary}" RENAME TO "{table}"')
    for sql in index_sqls:
        bind.exec_driver_sql(sql)
    # The next ids continue after the highest one ever seen in the table.
    bind.exec_driver_sql(
        f"DELETE FROM sqlite_sequence WHERE name IN ('{table}', '{temporary}')"
    )
    bind.exec_driver_sql(
        f"INSERT INTO sqlite_sequence (name, seq) SELECT '{table}', COALESCE(MAX(\"{key}\"), 0) "
        f'FROM "{table}"'
    )
