"""visits_completion: F: visits and lists completion (issues 10, 12)

- ``periodicity_rule.population`` takes ``mi_carriere`` (the private regime's mid-career visit,
  DOMAIN.md §5): VARCHAR(18) -> VARCHAR(19);
- ``due_recompute_request``: a rule edit records the full recompute the ``sync`` job does;
- ``agent.list_position`` / ``agent.list_start``: the « Effectif » sort keys (what the line
  shows of the shown contract), filled here, and an index per sort and direction (issue 10:
  sorting 200 000 agents by position or start date aggregated every contract, 315 / 237 ms).

Revision ID: f6f7a8b9ca06
Revises: f4d5e6f7a804
Create Date: 2026-12-02 13:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.types

# revision identifiers, used by Alembic.
revision = "f6f7a8b9ca06"
down_revision = "f4d5e6f7a804"
branch_labels = None
depends_on = None

# On SQLite a batch that rebuilds the table must keep AUTOINCREMENT (ids never reused).
_KEEP_IDS = {"sqlite_autoincrement": True}
POPULATIONS = ("tous", "smp", "SI", "SIA", "SIR", "certificat")


SORT_KEYS = ("birth_date", "list_position", "list_start")

BACKFILL = """
UPDATE agent SET
  list_start = (
    SELECT COALESCE(
      MAX(CASE WHEN c.start_date <= CURRENT_DATE
               AND (c.end_date IS NULL OR c.end_date >= CURRENT_DATE) THEN c.start_date END),
      MAX(c.start_date))
    FROM contract c WHERE c.agent_id = agent.id),
  list_position = (
    SELECT wp.label_key FROM contract c JOIN work_position wp ON wp.id = c.work_position_id
    WHERE c.agent_id = agent.id AND c.start_date <= CURRENT_DATE
      AND (c.end_date IS NULL OR c.end_date >= CURRENT_DATE)
    ORDER BY c.start_date DESC, wp.label_key DESC LIMIT 1)
"""


def upgrade():
    op.add_column("agent", sa.Column("list_position", sa.String(length=200), nullable=True))
    op.add_column("agent", sa.Column("list_start", sa.Date(), nullable=True))
    op.execute(BACKFILL)
    # SQLite cannot say NULLS LAST in an index (its nulls sort first).
    nulls = " NULLS LAST" if op.get_bind().dialect.name == "postgresql" else ""
    for key in SORT_KEYS:
        for direction in ("asc", "desc"):
            op.create_index(
                f"ix_agent_{key}_{direction}",
                "agent",
                [sa.text(f"{key} {direction.upper()}{nulls}"), "search_name", "id"],
                unique=False,
            )
    with op.batch_alter_table("periodicity_rule", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.alter_column(
            "population",
            existing_type=sa.Enum(*POPULATIONS, name="population", native_enum=False, length=18),
            type_=sa.Enum(
                *POPULATIONS, "mi_carriere", name="population", native_enum=False, length=19
            ),
            existing_nullable=False,
        )
    op.create_table(
        "due_recompute_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=250), nullable=False),
        sa.Column("done_at", app.core.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_due_recompute_request")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_due_recompute_request_done_at", "due_recompute_request", ["done_at"], unique=False
    )


def downgrade():
    for key in SORT_KEYS:
        for direction in ("asc", "desc"):
            op.drop_index(f"ix_agent_{key}_{direction}", table_name="agent")
    with op.batch_alter_table("agent", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.drop_column("list_start")
        batch_op.drop_column("list_position")
    op.drop_index("ix_due_recompute_request_done_at", table_name="due_recompute_request")
    op.drop_table("due_recompute_request")
    op.execute("DELETE FROM periodicity_rule WHERE population = 'mi_carriere'")
    with op.batch_alter_table("periodicity_rule", table_kwargs=_KEEP_IDS) as batch_op:
        batch_op.alter_column(
            "population",
            existing_type=sa.Enum(
                *POPULATIONS, "mi_carriere", name="population", native_enum=False, length=19
            ),
            type_=sa.Enum(*POPULATIONS, name="population", native_enum=False, length=18),
            existing_nullable=False,
        )
