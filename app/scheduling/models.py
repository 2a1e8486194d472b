"""The run history of the scheduled jobs (SPEC G1, CONTRACT.md §2 `job_run`).

One row per (job, slot): the UNIQUE constraint is the claim that makes a job run once whatever
the number of schedulers, web workers or manual runs aiming at the same slot.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.types import LabelledEnum, UTCDateTime, enum_column


class RunStatus(LabelledEnum):
    en_cours = "En cours"
    reussi = "Réussie"
    echoue = "Échouée"


class RunTrigger(LabelledEnum):
    planificateur = "Planificateur"
    ligne_de_commande = "Ligne de commande"
    ecran = "Écran d'administration"


class JobRun(Model):
    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("job", "scheduled_for"),
        Index("ix_job_run_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    # The slot: the day the run is for, at 00:00 Europe/Paris (stored in UTC, see scheduling.services).
    scheduled_for: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[RunStatus] = enum_column(RunStatus, index=True)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[RunTrigger] = enum_column(RunTrigger)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))
    # Work done outside the database (e-mails sent), by key: a re-run skips it.
    done: Mapped[list[str]] = mapped_column(JSON, default=list)
    # 1, then 2, 3... when a failed slot is run again by hand (the same row is reused).
    attempts: Mapped[int] = mapped_column(Integer, default=1)

    started_by: Mapped[User | None] = relationship(User, lazy="joined")

    @property
    def day(self) -> dt.date:
        """The day of the slot (Europe/Paris)."""
        from app.core.clock import PARIS

        return self.scheduled_for.astimezone(PARIS).date()

    @property
    def duration(self) -> dt.timedelta | None:
        if self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @property
    def duration_text(self) -> str:
        duration = self.duration
        if duration is None:
            return ""
        seconds = duration.total_seconds()
        if seconds < 60:
            return f"{seconds:.1f} s".replace(".", ",")
        minutes, rest = divmod(int(seconds), 60)
        return f"{minutes} min {rest:02d} s"

    @property
    def counts_text(self) -> str:
        return counts_summary(self.counts or {})

    @property
    def started_by_label(self) -> str:
        if self.started_by is not None:
            return str(self.started_by.username)
        return self.trigger.label

    @property
    def job_label(self) -> str:
        from app.jobs import JOBS

        job = JOBS.get(self.job)
        return job.label if job else self.job


def counts_summary(counts: dict[str, Any]) -> str:
    """« 3 modifications appliquées, 1 conflit » — the counts in their order, zeros included."""
    if not counts:
        return "rien à faire"
    return ", ".join(f"{name} : {value}" for name, value in counts.items())
