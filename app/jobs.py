"""Scheduled jobs (SPEC G, CONTRACT.md §1 `flask jobs`): the registry.

Adding a job is one entry in JOBS and one service function taking a JobContext. The framework
(app/scheduling) claims a `job_run` row per (job, slot) before calling it, so a job runs once.
A job step never calls date.today(): it reads ctx.today, which `flask jobs run --date` sets.
It writes in batches through ctx.batches(), which commits after each batch, so a failure
half-way leaves the committed batches done and the current one undone; each batch skips what is
already done, so running a failed slot again completes the work without redoing it.

A dry run (`--dry-run`) runs the same steps inside one transaction that is rolled back at the
end: each batch is flushed instead of committed (later steps see what earlier steps would have
done, e-mails stay queued and are dropped), and any commit raises DryRunCommit.

The slot of a run is a day (app/scheduling/services.py: a job runs at most once a day); counts
are French labels (« modifications appliquées ») shown as they are in the history and the CLI.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class JobContext:
    """What a job step sees: the day it runs as of, dry run or not, and its counts."""

    today: dt.date
    dry_run: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    batch_size: int = 500
    # The counts as of the last committed batch: what a failed run really did.
    committed_counts: Counter[str] = field(default_factory=Counter)
    # The run row (None in a dry run), for jobs that need it.
    run_id: int | None = None
    # Keys of work done outside the database (an e-mail sent to a collectivity): kept on the run
    # row with each batch, so a re-run of a failed slot skips them (see `is_done`/`mark_done`).
    done: set[str] = field(default_factory=set)
    # Called before each batch commit (app/scheduling records counts and done keys on the row).
    on_commit: Callable[[JobContext], None] | None = None

    def is_done(self, key: str) -> bool:
        return key in self.done

    def mark_done(self, key: str) -> None:
        self.done.add(key)

    def end_batch(self) -> None:
        """Commit the work of one batch (a dry run only flushes it: see the module docstring)."""
        from app.extensions import db

        if self.dry_run:
            db.session.flush()
            return
        if self.on_commit is not None:
            self.on_commit(self)
        db.session.commit()
        self.committed_counts = Counter(self.counts)

    def batches(self, ids: Sequence[Any]) -> Iterator[list[Any]]:
        """Yield `ids` in slices of batch_size, ending each batch (commit / dry-run flush)
        after the caller's loop body has handled it. Select the ids first (keyset, ordered):
        never "the next undone rows", which a dry run would select again forever."""
        for start in range(0, len(ids), self.batch_size):
            yield list(ids[start : start + self.batch_size])
            self.end_batch()


@dataclass(frozen=True)
class Job:
    name: str
    label: str  # French, shown in Administration › Tâches planifiées
    cron: dict[str, Any]  # APScheduler CronTrigger arguments, Europe/Paris
    step: str  # "package.module:function", imported when the job runs (start-up stays light)
    description: str = ""

    def run(self, ctx: JobContext) -> None:
        module, function = self.step.split(":")
        getattr(importlib.import_module(module), function)(ctx)


def _job(name: str, label: str, cron: dict[str, Any], step: str, description: str) -> Job:
    return Job(name=name, label=label, cron=cron, step=step, description=description)


# -- the jobs: one entry each, and the service function it names -------------------------------

JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        _job(
            "sync",
            "Synchronisation de nuit",
            {"hour": 2, "minute": 0},
            "app.scheduling.sync:run_sync",
            "Applique les modifications des employeurs, relève les contrats terminés et envoie "
            "à chaque collectivité le récapitulatif de ce qui a changé, puis recalcule les "
            "échéances des visites (Demandes à planifier).",
        ),
        _job(
            "retention",
            "Effacement des données personnelles (fin d'adhésion)",
            {"hour": 3, "minute": 30},
            "app.retention.services:run_retention",
            "3 mois après la fin d'adhésion d'une collectivité, les données personnelles de ses "
            "agents sont anonymisées (SPEC G5).",
        ),
        _job(
            "reminders",
            "Rappels",
            {"hour": 7, "minute": 0},
            "app.scheduling.reminders:run_reminders",
            "Rappelle aux collectivités les plages réservées encore incomplètes à 15 jours.",
        ),
        _job(
            "activity-report",
            "Rapport annuel d'activité",
            {"month": 1, "day": 15, "hour": 4, "minute": 0},
            "app.dashboards.report:run_activity_report",
            "Produit le rapport annuel d'activité de l'année écoulée (PDF et Excel) de chaque "
            "collectivité et le publie dans « Mes documents » (SPEC H2, dû au 31 mars), ainsi "
            "que le rapport global de toutes les collectivités (Direction et Admin).",
        ),
        _job(
            "billing-contributions",
            "Facturation des cotisations annuelles",
            {"month": 4, "day": 1, "hour": 5, "minute": 0},
            "app.billing.runs:run_contributions",
            "Cotisation de médecine préventive de l'année (effectif déclaré x coût unitaire) et "
            "participation de médecine statutaire (masse salariale x taux), après la date limite "
            "des déclarations (SPEC F3, F5, G3).",
        ),
        _job(
            "billing-absences",
            "Facturation de la majoration d'absentéisme",
            {"month": "1,7", "day": 2, "hour": 5, "minute": 0},
            "app.billing.runs:run_absences",
            "Majoration du semestre écoulé quand le taux d'absences injustifiées dépasse le seuil "
            "(SPEC F4, G3).",
        ),
        _job(
            "billing-msc",
            "Facturation des actes de médecine statutaire",
            {"month": 1, "day": 15, "hour": 5, "minute": 0},
            "app.billing.runs:run_msc",
            "Actes de l'année écoulée réalisés au-delà du droit de tirage, au prix à l'acte "
            "(SPEC F5, G3).",
        ),
        _job(
            "billing-acfi",
            "Facturation de l'inspection (ACFI)",
            {"month": 1, "day": 15, "hour": 5, "minute": 30},
            "app.billing.runs:run_acfi",
            "Jours d'inspection de l'année écoulée : jours supplémentaires des affiliées (au-delà "
            "du volume annuel) et journées des non-affiliées, au tarif en vigueur (SPEC I2, G3).",
        ),
        _job(
            "billing-legal",
            "Facturation du conseil juridique",
            {"month": 1, "day": 20, "hour": 5, "minute": 0},
            "app.billing.runs:run_legal",
            "Forfait annuel de conseil juridique des collectivités ayant une convention pour "
            "l'année, au tarif en vigueur (DOMAIN §1, G3).",
        ),
        _job(
            "billing-archiving",
            "Facturation des journées d'archivage",
            {"month": 1, "day": 15, "hour": 5, "minute": 45},
            "app.billing.runs:run_archiving",
            "Journées d'intervention d'archivage réalisées l'année écoulée, au tarif en vigueur, "
            "pour les collectivités ayant une convention d'archivage (DOMAIN §1, SPEC F6, G3).",
        ),
    )
}
