"""Claim a job's slot, run it, record it (SPEC G1): a job runs once per slot, whoever asks.

The slot of a run is a day: ``scheduled_for`` is that day at 00:00 Europe/Paris (stored in
UTC). The scheduler's fire of a day, ``flask jobs run NAME --date D`` and « Lancer maintenant »
(today) therefore aim at the same slot: whichever claims it first runs the job, the others do
nothing and say « déjà exécutée le … ». A job runs at most once a day; a job that would need
several runs a day needs another slot rule.

The claim is an INSERT of the ``job_run`` row, committed in its own transaction before any work:
the UNIQUE (job, scheduled_for) constraint lets exactly one process through, on SQLite (writers
serialise) as on PostgreSQL (the second INSERT waits for the first to commit, then fails).

A failed run (``echoue``) keeps its committed batches. The scheduler never retries it; a manual
run (command line or admin screen) of the same slot takes the row over (``attempts`` + 1) with
an UPDATE guarded by the status, so two manual re-runs still make one. The same goes for a run
left ``en_cours`` for more than STALE_AFTER (its process died). Each batch skips what is done,
so the re-run completes the work without redoing it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.clock import PARIS
from app.core.formatting import to_local
from app.core.sqlite import write_transactions
from app.core.types import utcnow
from app.extensions import db
from app.jobs import JOBS, Job, JobContext
from app.rules.errors import DomainError
from app.scheduling.models import JobRun, RunStatus, RunTrigger, counts_summary
from app.tenancy import system_scope

log = logging.getLogger(__name__)

STALE_AFTER = dt.timedelta(hours=12)
ERROR_MAX = 2000
_DRY_RUN_KEY = "job_dry_run"


class UnknownJob(DomainError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"Tâche inconnue : « {name} ». Tâches possibles : {', '.join(sorted(JOBS))}."
        )


class DryRunCommit(RuntimeError):
    """A job committed during a dry run: refused, so a dry run never writes."""


@event.listens_for(Session, "before_commit")
def _refuse_commit_in_dry_run(session: Session) -> None:
    if session.info.get(_DRY_RUN_KEY):
        raise DryRunCommit("Une simulation ne peut rien enregistrer.")


def slot_for(day: dt.date) -> dt.datetime:
    """The slot of a day: 00:00 Europe/Paris that day, as an aware UTC datetime."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=PARIS).astimezone(dt.UTC)


def day_of(slot: dt.datetime) -> dt.date:
    return slot.astimezone(PARIS).date()


@dataclass
class Outcome:
    """What a claim_and_run did: ran (reussi / echoue), or nothing (already claimed)."""

    job: Job
    day: dt.date
    dry_run: bool
    status: RunStatus | None = None  # None: not run (already claimed) or a dry run
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    run_id: int | None = None
    existing: JobRun | None = None  # the run that holds the slot when nothing was done

    @property
    def ran(self) -> bool:
        return self.status is not None

    @property
    def message(self) -> str:
        """The one-line French summary printed by the CLI and flashed by the screen."""
        label = f"{self.job.label} ({self.job.name}) du {self.day:%d/%m/%Y}"
        if self.existing is not None:
            run = self.existing
            when = to_local(run.started_at)
            text = f"{label} : déjà exécutée le {when:%d/%m/%Y à %H:%M}"
            if run.status is RunStatus.en_cours:
                return f"{text} (en cours) : rien n'a été fait."
            return f"{text} ({run.status.label.lower()}) : rien n'a été fait."
        summary = counts_summary(self.counts)
        if self.dry_run:
            return f"Simulation — {label} : rien n'a été enregistré. {summary}."
        if self.status is RunStatus.echoue:
            return f"{label} : échec ({self.error}). Déjà fait : {summary}."
        return f"{label} : terminée. {summary}."


def get_job(name: str) -> Job:
    job = JOBS.get(name)
    if job is None:
        raise UnknownJob(name)
    return job


def claim_and_run(
    job_name: str,
    slot: dt.datetime | None = None,
    today: dt.date | None = None,
    dry_run: bool = False,
    started_by: int | None = None,
    trigger: RunTrigger = RunTrigger.ligne_de_commande,
    batch_size: int | None = None,
) -> Outcome:
    """Claim (job, slot) and run the job as of ``today``; see the module docstring.

    ``today`` defaults to the slot's day and the slot to ``today``'s: pass one of them (the
    scheduler passes the fire's day, the CLI ``--date``). Commits; never raises for a failure
    of the job (recorded as ``echoue``).
    """
    job = get_job(job_name)
    if today is None and slot is None:
        raise ValueError("claim_and_run needs a slot or a day")
    day = today if today is not None else day_of(slot)  # type: ignore[arg-type]
    slot = slot_for(day_of(slot) if slot is not None else day)
    outcome = Outcome(job=job, day=day, dry_run=dry_run)
    size = batch_size or JobContext.batch_size
    with system_scope(), write_transactions():
        if dry_run:
            existing = _holder(job.name, slot)
            if existing is not None and existing.status is not RunStatus.echoue:
                outcome.existing = existing
                return outcome
            return _dry_run(JobContext(today=day, dry_run=True, batch_size=size), job, outcome)
        run_id = _claim(job.name, slot, trigger, started_by)
        if run_id is None:
            outcome.existing = _holder(job.name, slot)
            if outcome.existing is not None and _may_take_over(outcome.existing, trigger):
                run_id = _take_over(outcome.existing, trigger, started_by)
            if run_id is None:
                return outcome
            outcome.existing = None
        return _run(job, day, run_id, outcome, size)


def _claim(name: str, slot: dt.datetime, trigger: RunTrigger, started_by: int | None) -> int | None:
    db.session.rollback()  # the claim is a transaction of its own
    run = JobRun(
        job=name,
        scheduled_for=slot,
        started_at=utcnow(),
        status=RunStatus.en_cours,
        counts={},
        done=[],
        trigger=trigger,
        started_by_id=started_by,
        attempts=1,
    )
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if _holder(name, slot) is None:
            raise  # not the slot's constraint (an unknown user id...): a bug, not a claim
        return None
    return run.id


def _holder(name: str, slot: dt.datetime) -> JobRun | None:
    return db.session.scalar(select(JobRun).where(JobRun.job == name, JobRun.scheduled_for == slot))


def _may_take_over(run: JobRun, trigger: RunTrigger) -> bool:
    if trigger is RunTrigger.planificateur:
        return False  # a scheduler fires a slot once; re-running a failure is a person's call
    if run.status is RunStatus.echoue:
        return True
    return run.status is RunStatus.en_cours and run.started_at < utcnow() - STALE_AFTER


def _take_over(run: JobRun, trigger: RunTrigger, started_by: int | None) -> int | None:
    """Start a failed (or dead) run's slot again, if nobody else did meanwhile."""
    stale = utcnow() - STALE_AFTER
    result = db.session.execute(
        update(JobRun)
        .where(
            JobRun.id == run.id,
            JobRun.attempts == run.attempts,
            or_(
                JobRun.status == RunStatus.echoue,
                (JobRun.status == RunStatus.en_cours) & (JobRun.started_at < stale),
            ),
        )
        .values(
            status=RunStatus.en_cours,
            started_at=utcnow(),
            ended_at=None,
            error=None,
            trigger=trigger,
            started_by_id=started_by,
            attempts=JobRun.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if getattr(result, "rowcount", 0) != 1:
        return None
    return run.id


def _record_progress(ctx: JobContext) -> None:
    """Before each batch commit: the run row shows the counts so far and keeps the done keys."""
    run = db.session.get(JobRun, ctx.run_id)
    if run is not None:
        run.counts = dict(ctx.counts)
        run.done = sorted(ctx.done)


def _run(job: Job, day: dt.date, run_id: int, outcome: Outcome, batch_size: int) -> Outcome:
    previous = db.session.get(JobRun, run_id)
    done = set(previous.done or []) if previous is not None else set()
    ctx = JobContext(
        today=day, run_id=run_id, done=done, on_commit=_record_progress, batch_size=batch_size
    )
    outcome.run_id = run_id
    try:
        job.run(ctx)
        db.session.commit()
    except Exception as error:  # recorded, never raised: the scheduler carries on
        db.session.rollback()
        log.exception("La tâche %s du %s a échoué", job.name, day)
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        outcome.status = RunStatus.echoue
        outcome.error = message[:ERROR_MAX]
        outcome.counts = dict(ctx.committed_counts)
    else:
        outcome.status = RunStatus.reussi
        outcome.counts = dict(ctx.counts)
    run = db.session.get(JobRun, run_id, populate_existing=True)
    assert run is not None
    run.status = outcome.status
    run.ended_at = utcnow()
    run.counts = outcome.counts
    run.error = outcome.error
    if outcome.status is RunStatus.reussi:
        run.done = sorted(ctx.done)
    db.session.commit()
    return outcome


def _dry_run(ctx: JobContext, job: Job, outcome: Outcome) -> Outcome:
    db.session.rollback()
    with dry_run_session():
        try:
            job.run(ctx)
            db.session.flush()
        except Exception as error:
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            outcome.error = message[:ERROR_MAX]
        finally:
            db.session.rollback()
    outcome.counts = dict(ctx.counts)
    return outcome


@contextmanager
def dry_run_session() -> Iterator[None]:
    """Inside the block the session refuses to commit (a dry run writes nothing)."""
    session = db.session()
    session.info[_DRY_RUN_KEY] = True
    try:
        yield
    finally:
        session.info.pop(_DRY_RUN_KEY, None)


# -- what the screen and `flask jobs list` show ---------------------------------------------


@dataclass(frozen=True)
class JobRow:
    job: Job
    schedule: str
    last_run: JobRun | None
    next_run: dt.datetime | None


def job_rows(now: dt.datetime | None = None) -> list[JobRow]:
    """Every job with its schedule, last run and next fire time (one query for the last runs)."""
    now = now or utcnow()
    latest = (
        select(JobRun.job, func.max(JobRun.started_at).label("started_at"))
        .group_by(JobRun.job)
        .subquery()
    )
    last_runs = {
        run.job: run
        for run in db.session.scalars(
            select(JobRun).join(
                latest,
                (JobRun.job == latest.c.job) & (JobRun.started_at == latest.c.started_at),
            )
        ).unique()
    }
    from app.scheduling.scheduler import describe_cron, next_fire_time

    return [
        JobRow(
            job=job,
            schedule=describe_cron(job.cron),
            last_run=last_runs.get(job.name),
            next_run=next_fire_time(job, now),
        )
        for job in JOBS.values()
    ]


def runs_query(job: str | None = None, status: RunStatus | None = None) -> Any:
    query = select(JobRun)
    if job:
        query = query.where(JobRun.job == job)
    if status is not None:
        query = query.where(JobRun.status == status)
    return query
