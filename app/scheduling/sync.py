"""The nightly sync (SPEC G2), a job of app.jobs: its steps run in order, each in batches.

1. apply the employers' staged changes (``workforce.agents.apply_staged_changes``, conflicts
   detected), by slices of ids: a slice only touches changes still pending;
2. contracts whose end date has passed: a contract is running while ``end_date >= today``
   (``Contract.running_on``), so an ended contract is already closed for every screen and rule;
   the step counts the contracts that ended since the previous sync, for the digest, and
   cancels the pending visit requests of agents who left (requesters e-mailed);
3. each collectivity's digest e-mail of what changed (to its convocation contact), one per
   collectivity per run and only if something changed; a re-run skips those already sent.

"Since the previous sync" is the previous successful run of the job (``reussi``, an earlier
slot): changes processed after it ended, contracts that ended on or after its day. Later issues
add steps (recompute due dates, release visit sheets) to SYNC_STEPS.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import render_template
from sqlalchemy import func, select

from app.core.mail import send_mail
from app.extensions import db
from app.jobs import JobContext
from app.referential.models import Collectivity
from app.scheduling.models import JobRun, RunStatus
from app.workforce.agents import apply_staged_changes
from app.workforce.models import Agent, ChangeStatus, Contract, StagedAgentChange, WorkPosition

APPLIED = "modifications appliquées"
CONFLICTS = "conflits"
ENDED = "contrats terminés"
REQUESTS_CANCELLED = "demandes de visite annulées (sortie)"
DIGESTS = "récapitulatifs envoyés"
NO_ADDRESS = "récapitulatifs sans destinataire"


@dataclass(frozen=True)
class Window:
    """What "since the previous sync" means for a run as of ``today``."""

    processed_after: dt.datetime  # staged changes processed after this instant
    ended_from: dt.date  # contracts whose end date is in [ended_from, ended_until]
    ended_until: dt.date


def window(today: dt.date) -> Window:
    from app.scheduling.services import slot_for

    previous = db.session.scalar(
        select(JobRun)
        .where(
            JobRun.job == "sync",
            JobRun.status == RunStatus.reussi,
            JobRun.scheduled_for < slot_for(today),
        )
        .order_by(JobRun.scheduled_for.desc())
        .limit(1)
    )
    yesterday = today - dt.timedelta(days=1)
    if previous is None or previous.ended_at is None:
        return Window(slot_for(yesterday), yesterday, yesterday)
    from app.scheduling.services import day_of

    return Window(previous.ended_at, min(day_of(previous.scheduled_for), yesterday), yesterday)


def apply_changes_step(ctx: JobContext) -> None:
    ids = list(
        db.session.scalars(
            select(StagedAgentChange.id)
            .where(StagedAgentChange.status == ChangeStatus.en_attente)
            .order_by(StagedAgentChange.id)
        )
    )
    for batch in ctx.batches(ids):
        result = apply_staged_changes(batch)
        ctx.counts[APPLIED] += result.applied
        ctx.counts[CONFLICTS] += result.conflicts


def ended_contracts_step(ctx: JobContext) -> None:
    span = window(ctx.today)
    ctx.counts[ENDED] += (
        db.session.scalar(select(func.count(Contract.id)).where(*_ended(span))) or 0
    )
    # SPEC C4: the pending visit requests of agents who left (every contract ended before
    # today: an exit typed with a later date, the exits import) are cancelled, requesters told.
    from app.visits.requests import cancel_for_exit, departed_with_pending, last_exit_date

    for batch in ctx.batches(departed_with_pending(ctx.today)):
        for agent_id in batch:
            cancelled = cancel_for_exit(agent_id, last_exit_date(agent_id) or ctx.today)
            if cancelled:  # counted only when it happens: most nights cancel nothing
                ctx.counts[REQUESTS_CANCELLED] += cancelled


@dataclass(frozen=True)
class ChangeLine:
    agent: str
    field: str
    old_value: str
    new_value: str
    note: str


@dataclass
class Digest:
    collectivity: Collectivity
    applied: list[ChangeLine] = field(default_factory=list)
    conflicts: list[ChangeLine] = field(default_factory=list)
    ended: list[tuple[str, str, dt.date]] = field(default_factory=list)  # agent, position, end


def digest_step(ctx: JobContext) -> None:
    span = window(ctx.today)
    changed = select(StagedAgentChange.collectivity_id).where(*_processed(span))
    ended = select(Contract.collectivity_id).where(*_ended(span))
    ids = sorted(set(db.session.scalars(changed.union(ended))))
    for batch in ctx.batches(ids):
        pending = [cid for cid in batch if not ctx.is_done(f"digest:{cid}")]
        for digest in _digests(pending, span):
            _send_digest(ctx, digest)


def _processed(span: Window) -> tuple[Any, ...]:
    return (
        StagedAgentChange.status.in_((ChangeStatus.appliquee, ChangeStatus.conflit)),
        StagedAgentChange.processed_at > span.processed_after,
    )


def _ended(span: Window) -> tuple[Any, ...]:
    return (Contract.end_date >= span.ended_from, Contract.end_date <= span.ended_until)


def _digests(collectivity_ids: list[int], span: Window) -> list[Digest]:
    """The digests of a batch of collectivities: four queries, whatever their size."""
    if not collectivity_ids:
        return []
    digests = {
        c.id: Digest(c)
        for c in db.session.scalars(
            select(Collectivity).where(Collectivity.id.in_(collectivity_ids))
        )
    }
    change = StagedAgentChange
    changes = db.session.execute(
        select(
            change.collectivity_id,
            change.status,
            change.field,
            change.old_value,
            change.new_value,
            change.note,
            Agent.first_name,
            Agent.birth_name,
            Agent.usage_name,
        )
        .join(Agent, Agent.id == change.agent_id)
        .where(change.collectivity_id.in_(collectivity_ids), *_processed(span))
        .order_by(change.id)
    )
    for row in changes:
        line = ChangeLine(
            agent=f"{row.usage_name or row.birth_name} {row.first_name}",
            field=StagedAgentChange.FIELD_LABELS.get(row.field, row.field),
            old_value=row.old_value or "∅",
            new_value=row.new_value or "∅",
            note=row.note or "",
        )
        digest = digests[row.collectivity_id]
        if row.status is ChangeStatus.appliquee:
            digest.applied.append(line)
        else:
            digest.conflicts.append(line)
    contracts = db.session.execute(
        select(
            Contract.collectivity_id,
            Agent.first_name,
            Agent.birth_name,
            Agent.usage_name,
            WorkPosition.label,
            Contract.end_date,
        )
        .join(Agent, Agent.id == Contract.agent_id)
        .join(WorkPosition, WorkPosition.id == Contract.work_position_id)
        .where(Contract.collectivity_id.in_(collectivity_ids), *_ended(span))
        .order_by(Contract.end_date, Contract.id)
    )
    for cid, first_name, birth_name, usage_name, label, end_date in contracts:
        digests[cid].ended.append((f"{usage_name or birth_name} {first_name}", label, end_date))
    return [digests[cid] for cid in collectivity_ids if cid in digests]


def _send_digest(ctx: JobContext, digest: Digest) -> None:
    if not (digest.applied or digest.conflicts or digest.ended):
        return
    collectivity = digest.collectivity
    recipient = collectivity.convocation_email
    if not recipient:
        ctx.counts[NO_ADDRESS] += 1
        ctx.mark_done(f"digest:{collectivity.id}")
        return
    body = render_template(
        "scheduling/mail_digest.txt",
        collectivity=collectivity,
        digest=digest,
        today=ctx.today,
    )
    if send_mail(recipient, f"Synchronisation du {ctx.today:%d/%m/%Y} : {collectivity.name}", body):
        ctx.counts[DIGESTS] += 1
    ctx.mark_done(f"digest:{collectivity.id}")


def due_dates_step(ctx: JobContext) -> None:
    """Recompute every agent's due dates as of the job's day (SPEC E3, app.visits.due)."""
    from app.visits.due import recompute_step

    recompute_step(ctx)


def list_keys_step(ctx: JobContext) -> None:
    """The « Effectif » sort keys as of the job's day (a contract started or ended since, Core
    imports), by committed id ranges (app.workforce.models.refresh_list_keys)."""
    from app.workforce.models import refresh_list_keys

    after, size = 0, ctx.batch_size * 20
    while True:
        statement = select(Agent.id).where(Agent.id > after).order_by(Agent.id).limit(size)
        ids = list(db.session.connection().execute(statement).scalars())
        if not ids:
            return
        refresh_list_keys(db.session.connection(), ids, ctx.today)
        ctx.end_batch()
        after = ids[-1]


SYNC_STEPS: list[Callable[[JobContext], None]] = [
    apply_changes_step,
    ended_contracts_step,
    digest_step,
    due_dates_step,
    list_keys_step,
]


def run_sync(ctx: JobContext) -> None:
    """The `sync` job: every step in order (each commits its batches)."""
    for key in (APPLIED, CONFLICTS, ENDED, DIGESTS):
        ctx.counts[key] += 0  # zeros shown too: « 0 modification appliquée » is news
    for step in SYNC_STEPS:
        step(ctx)
        ctx.end_batch()
