"""job_runs_and_reminders: the run history of the scheduled jobs, one row per (job, slot)
(SPEC G1); the reminders keep using plage.reminder_sent_at

Revision ID: a1c4e7b20d31
Revises: 5e1f0c9a7b21
Create Date: 2026-12-02 00:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.core.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = "a1c4e7b20d31"
down_revision = "5e1f0c9a7b21"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("scheduled_for", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("started_at", app.core.types.UTCDateTime(), nullable=False),
        sa.Column("ended_at", app.core.types.UTCDateTime(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("en_cours", "reussi", "echoue", name="runstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "trigger",
            sa.Enum(
                "planificateur",
                "ligne_de_commande",
                "ecran",
                name="runtrigger",
                native_enum=False,
                length=25,
            ),
            nullable=False,
        ),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("done", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["ab_user.id"],
            name=op.f("fk_job_run_started_by_id_ab_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_run")),
        sa.UniqueConstraint("job", "scheduled_for", name=op.f("uq_job_run_job_scheduled_for")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.create_index("ix_job_run_started_at", ["started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_run_status"), ["status"], unique=False)


def downgrade():
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_run_status"))
        batch_op.drop_index("ix_job_run_started_at")
    op.drop_table("job_run")
