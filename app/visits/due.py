"""Due dates (SPEC E3): computed from the facts by ``app.rules.periodicity``, stored one row per
agent and kind, kept fresh.

- ``recompute(agent_ids, on)`` computes the rows of those agents (None: every agent) as of a
  date, by batches of ``BATCH`` agents (seven queries per batch whatever its size, bounded
  memory), and writes only what changed (Core statements: the rows are derived data).
- The nightly ``sync`` job runs ``recompute_step`` (every agent, as of the job's day).
- A session listener collects, at each flush, the agents whose due dates a change may move (a
  consultation, a contract, a position's risks, a visit request declaring a situation, the
  collectivity's regime) and recomputes them before the transaction commits: no service of
  another domain calls this module. A periodicity or risk-effect rule edit moves every agent:
  it only records a ``due_recompute_request`` row (``request_full_recompute``), done by the
  next ``sync`` (``recompute_step``), never inside Admin's request (5-9 s at 100 000 agents). Bulk imports (Core
  INSERTs) are not seen by the listener: the nightly step catches them up.
- ``compute_rows(collectivity_id, on)`` computes the rows on the fly without storing them
  (``flask due-list --on``: history is explained with the rules in force then).

The recompute reads the facts of an agent under the system scope; the rows it writes carry no
medical detail (see app.visits.due_models). Confidential visits and requests (SPEC E7: asked by
the agent himself) are left out: the employer reads these rows, and a date moved by a visit he
must not know of would tell him of it. Such a visit is an occasional one at the agent's
request, which does not stand for the periodic visit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, event, insert, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from app.core import clock
from app.core.types import utcnow
from app.extensions import db
from app.referential.models import (
    Collectivity,
    Professional,
    ProfessionalRole,
    Risk,
    RiskEffectRule,
    VisitType,
)
from app.rules import periodicity as rules
from app.rules.errors import DomainError
from app.rules.follow_up import RiskEffect, follow_up, highest, raise_for_situations
from app.tenancy import system_scope
from app.visits.consultation_models import Consultation
from app.visits.due_models import DueDate, DueRecomputeRequest, PeriodicityRuleRecord
from app.visits.models import VisitRequest, VisitRequestState
from app.workforce.models import Agent, Contract, PositionRisk

BATCH = 2000


# ----------------------------------------------------------------------------------------------
# Reference rules
# ----------------------------------------------------------------------------------------------


def periodicity_rules(session: Session | None = None) -> list[rules.PeriodicityRule]:
    """The periodicity rules of the database; the shipped defaults when the table is empty (a
    database not seeded yet), so that a due date never silently disappears."""
    session = session or db.session
    rows = session.scalars(select(PeriodicityRuleRecord)).all()
    if not rows:
        return list(rules.DEFAULT_PERIODICITY_RULES)
    return [row.as_rule() for row in rows]


def _risk_effects(session: Session) -> list[RiskEffect]:
    rows = session.execute(
        select(Risk.code, RiskEffectRule).join(RiskEffectRule, RiskEffectRule.risk_id == Risk.id)
    ).all()
    return [
        RiskEffect(
            risk_code=code,
            effect=rule.effect.rule,
            requires_certificate=rule.requires_certificate,
            valid_from=rule.valid_from,
            valid_to=rule.valid_to,
            legal_reference=rule.legal_reference,
        )
        for code, rule in rows
    ]


def check_rule(item: PeriodicityRuleRecord) -> None:
    """Periods of the same regime and population never overlap (Admin « Périodicité »)."""
    from app.rules.errors import FieldError
    from app.rules.periods import periods_overlap

    if item.months is None or item.months < 1:
        raise FieldError("La périodicité doit être d'au moins un mois.", "months")
    if item.intermediate_months is not None and not 0 < item.intermediate_months < item.months:
        raise FieldError(
            "La visite intermédiaire doit tomber avant la visite suivante.", "intermediate_months"
        )
    if item.valid_from and item.valid_to and item.valid_to < item.valid_from:
        raise FieldError("La fin de validité ne peut pas précéder son début.", "valid_to")
    with db.session.no_autoflush:
        others = db.session.scalars(
            select(PeriodicityRuleRecord).where(
                PeriodicityRuleRecord.regime == item.regime,
                PeriodicityRuleRecord.population == item.population,
                PeriodicityRuleRecord.id != (item.id or 0),
            )
        ).all()
    if any(periods_overlap(item, other) for other in others):
        raise FieldError(
            "Une règle de périodicité existe déjà pour ce régime et cette population sur cette "
            "période : fermez-la d'abord (date de fin).",
            "valid_from",
        )


# ----------------------------------------------------------------------------------------------
# Facts of a batch of agents (seven queries) and their due rows
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """Agent ids; ``contiguous`` when they are every agent id from the first to the last (a
    keyset slice): the queries then read a range, not a list of 2 000 bound parameters."""

    ids: Sequence[int]
    contiguous: bool = False

    def clause(self, column: Any) -> Any:
        if self.contiguous:
            return column.between(self.ids[0], self.ids[-1])
        return column.in_(self.ids)


@dataclass(frozen=True)
class DueRow:
    agent_id: int
    collectivity_id: int
    kind: str
    due_on: dt.date
    legal_reference: str
    explanation: str


@dataclass
class _Context:
    on: dt.date
    rules: list[rules.PeriodicityRule]
    effects: list[RiskEffect]
    position_results: dict[frozenset[str], Any]


def _context(session: Session, on: dt.date) -> _Context:
    from app.rules.periods import is_in_force

    # Only the rules in force on that date can apply (fewer to scan for each agent).
    in_force = [rule for rule in periodicity_rules(session) if is_in_force(rule, on)]
    return _Context(on, in_force, _risk_effects(session), {})


def _facts_of_batch(
    session: Session, batch: Batch, ctx: _Context
) -> Iterator[tuple[int, int, rules.AgentFacts]]:
    """(agent id, collectivity id, facts) of the agents of the batch present on ``ctx.on``:
    five Core queries (trusted code, the system scope: no loader criteria to add)."""
    on = ctx.on
    connection = session.connection()
    contracts = connection.execute(
        select(
            Contract.agent_id,
            Contract.collectivity_id,
            Contract.start_date,
            Contract.end_date,
            Contract.work_position_id,
            Collectivity.regime,
            Agent.birth_date,
        )
        .join(Collectivity, Collectivity.id == Contract.collectivity_id)
        .join(Agent, Agent.id == Contract.agent_id)
        .where(batch.clause(Contract.agent_id), Contract.start_date <= on)
    ).all()
    # (agent, collectivity, start, end, position, regime, birth date) tuples, by agent.
    by_agent: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    running_positions: set[int] = set()
    for row in contracts:
        values: tuple[Any, ...] = tuple(row)
        by_agent[values[0]].append(values)
        if values[3] is None or values[3] >= on:  # started on or before ``on``
            running_positions.add(values[4])
    risks: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if running_positions:
        for position_id, code, short in connection.execute(
            select(PositionRisk.work_position_id, Risk.code, Risk.short_label)
            .join(Risk, Risk.id == PositionRisk.risk_id)
            .where(PositionRisk.work_position_id.in_(sorted(running_positions)))
        ).all():
            risks[position_id].append((code, short))
    # Follow-up of each running position, once per batch (its risk set's, once per run).
    positions: dict[int, tuple[Any, dict[str, str]]] = {}
    for position_id in running_positions:
        codes = risks.get(position_id, [])
        key = frozenset(code for code, _ in codes)
        result = ctx.position_results.get(key)
        if result is None:
            result = follow_up(sorted(key), ctx.effects, on)
            ctx.position_results[key] = result
        positions[position_id] = (result, dict(codes))
    visits: dict[int, list[rules.Visit]] = defaultdict(list)
    for visit in connection.execute(
        select(
            Consultation.agent_id,
            Consultation.visit_date,
            VisitType.code,
            Consultation.outcome,
            Professional.role,
            Consultation.next_visit_on,
            Consultation.is_smp,
        )
        .join(VisitType, VisitType.id == Consultation.visit_type_id)
        .join(Professional, Professional.id == Consultation.professional_id)
        .where(
            batch.clause(Consultation.agent_id),
            Consultation.visit_date <= on,
            Consultation.is_confidential.is_(False),
        )
    ).all():
        agent_id, visit_date, code, outcome, role, next_visit_on, is_smp = visit
        visits[agent_id].append(
            rules.Visit(
                visit_date=visit_date,
                visit_type=code,
                outcome=outcome.name,
                by_doctor=role is ProfessionalRole.medecin,
                next_visit_on=next_visit_on,
                is_smp=bool(is_smp),
            )
        )
    # The situations declared with the agent's latest request (not cancelled) hold.
    situations: dict[int, tuple[dt.date, int, list[str]]] = {}
    for agent_id, created_on, request_id, declared in connection.execute(
        select(
            VisitRequest.agent_id,
            VisitRequest.created_on,
            VisitRequest.id,
            VisitRequest.situations,
        ).where(
            batch.clause(VisitRequest.agent_id),
            VisitRequest.created_on <= on,
            VisitRequest.state != VisitRequestState.annulee,
            VisitRequest.is_confidential.is_(False),
        )
    ).all():
        known = situations.get(agent_id)
        if known is None or (created_on, request_id) > known[:2]:
            situations[agent_id] = (created_on, request_id, list(declared or []))
    for agent_id, rows in by_agent.items():
        running = [r for r in rows if r[3] is None or r[3] >= on]
        if not running:
            continue  # left (or not arrived yet): nothing is due
        levels = []
        certificate_since: dt.date | None = None
        certificate_risks: list[str] = []
        for _agent, _collectivity, start, _end, position_id, _regime, _born in running:
            result, labels = positions[position_id]
            levels.append(result.level)
            if result.certificate_required:
                certificate_since = min(certificate_since or start, start)
                certificate_risks += [labels[c] for c in result.certificate_risks]
        declared = situations.get(agent_id, (None, None, []))[2]
        level = raise_for_situations(highest(levels), declared) if declared else highest(levels)
        yield (
            agent_id,
            running[0][1],
            rules.AgentFacts(
                regime=running[0][5].name,
                entry_date=min(r[2] for r in rows),
                level=level,
                certificate_since=certificate_since,
                certificate_risks=tuple(dict.fromkeys(certificate_risks)),
                visits=tuple(visits.get(agent_id, ())),
                birth_date=running[0][6],
            ),
        )


def _rows_of_batch(session: Session, batch: Batch, ctx: _Context) -> list[DueRow]:
    rows: list[DueRow] = []
    for agent_id, collectivity_id, facts in _facts_of_batch(session, batch, ctx):
        try:
            items = rules.due_items(facts, ctx.on, ctx.rules)
        except DomainError:
            continue  # no rule in force (Admin's data): nothing can be said, nothing stored
        rows += [
            DueRow(
                agent_id,
                collectivity_id,
                item.kind,
                item.due_on,
                item.legal_reference[:250],
                item.explanation[:500],
            )
            for item in items
        ]
    return rows


# ----------------------------------------------------------------------------------------------
# Recompute and store
# ----------------------------------------------------------------------------------------------


def _write_batch(session: Session, batch: Batch, rows: list[DueRow], on: dt.date) -> int:
    """Replace the stored rows of the batch's agents by ``rows``, writing only differences."""
    table = DueDate.__table__
    connection = session.connection()
    existing = {
        (row.agent_id, row.kind.name): row
        for row in connection.execute(
            select(
                table.c.id,
                table.c.agent_id,
                table.c.kind,
                table.c.collectivity_id,
                table.c.due_on,
                table.c.legal_reference,
                table.c.explanation,
            ).where(batch.clause(table.c.agent_id))
        ).all()
    }
    inserts, updates = [], []
    for row in rows:
        old = existing.pop((row.agent_id, row.kind), None)
        values = {
            "collectivity_id": row.collectivity_id,
            "due_on": row.due_on,
            "legal_reference": row.legal_reference,
            "explanation": row.explanation,
        }
        if old is None:
            inserts.append(
                {"agent_id": row.agent_id, "kind": row.kind, "computed_on": on, **values}
            )
        elif (old.collectivity_id, old.due_on, old.legal_reference, old.explanation) != tuple(
            values.values()
        ):
            updates.append({"b_id": old.id, "computed_on": on, **values})
    stale = [old.id for old in existing.values()]
    if stale:
        connection.execute(delete(table).where(table.c.id.in_(stale)))
    if updates:
        connection.execute(update(table).where(table.c.id == bindparam("b_id")), updates)
    if inserts and connection.dialect.name == "postgresql":
        _copy_inserts(connection, inserts)
    elif inserts:
        connection.execute(insert(table), inserts)
    return len(stale) + len(updates) + len(inserts)


_COPY_COLUMNS = (
    "agent_id",
    "kind",
    "due_on",
    "legal_reference",
    "explanation",
    "computed_on",
    "collectivity_id",
)


def _copy_inserts(connection: Any, inserts: list[dict[str, Any]]) -> None:
    """PostgreSQL: the new rows in one ``COPY`` (ids from the sequence): an INSERT of 2 000
    rows spends most of its time having its placeholders parsed by the driver."""
    now = utcnow().replace(tzinfo=None)  # naive UTC, as UTCDateTime stores it
    names = ", ".join((*_COPY_COLUMNS, "created_at", "updated_at"))
    raw = connection.connection.dbapi_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY due_date ({names}) FROM STDIN") as copy:
        for row in inserts:
            copy.write_row((*(row[name] for name in _COPY_COLUMNS), now, now))


@dataclass
class RecomputeResult:
    agents: int = 0
    written: int = 0


def _all_agent_ids(session: Session, after: int, limit: int) -> list[int]:
    statement = select(Agent.id).where(Agent.id > after).order_by(Agent.id).limit(limit)
    return list(session.connection().execute(statement).scalars())


def recompute(
    agent_ids: Sequence[int] | None = None,
    on: dt.date | None = None,
    *,
    session: Session | None = None,
    batch_size: int = BATCH,
    after_batch: Any = None,
) -> RecomputeResult:
    """Compute and store the due rows of the agents (None: all, by keyset batches) as of
    ``on`` (default today). ``after_batch()`` is called after each batch (a job commits)."""
    session = session or db.session
    on = on or clock.today()
    result = RecomputeResult()
    # The Core reads below do not autoflush; flushed in the caller's scope, so that the tenant
    # guard checks its pending writes as its own (never under the system scope).
    session.flush()
    with system_scope():
        ctx = _context(session, on)
        if agent_ids is not None:
            ids = sorted(set(agent_ids))
            batches: Iterator[Batch] = (
                Batch(ids[i : i + batch_size]) for i in range(0, len(ids), batch_size)
            )
        else:
            batches = _keyset_batches(session, batch_size)
        for batch in batches:
            rows = _rows_of_batch(session, batch, ctx)
            result.written += _write_batch(session, batch, rows, on)
            result.agents += len(batch.ids)
            if after_batch is not None:
                after_batch()
    return result


def _keyset_batches(session: Session, size: int) -> Iterator[Batch]:
    after = 0
    while True:
        ids = _all_agent_ids(session, after, size)
        if not ids:
            return
        yield Batch(ids, contiguous=True)
        after = ids[-1]


def compute_rows(collectivity_id: int, on: dt.date) -> list[DueRow]:
    """The due rows of a collectivity as of a date, computed now and not stored (CLI ``--on``),
    ordered by date then agent."""
    session = db.session
    rows: list[DueRow] = []
    with system_scope():
        ctx = _context(session, on)
        ids = list(
            session.scalars(
                select(Agent.id).where(Agent.collectivity_id == collectivity_id).order_by(Agent.id)
            )
        )
        for start in range(0, len(ids), BATCH):
            rows += _rows_of_batch(session, Batch(ids[start : start + BATCH]), ctx)
    return sorted(rows, key=lambda r: (r.due_on, r.agent_id, r.kind))


def stored_rows(collectivity_id: int) -> list[DueRow]:
    """The stored due rows of a collectivity (CLI without ``--on``), by date then agent."""
    with system_scope():
        found = db.session.execute(
            select(
                DueDate.agent_id,
                DueDate.collectivity_id,
                DueDate.kind,
                DueDate.due_on,
                DueDate.legal_reference,
                DueDate.explanation,
            )
            .where(DueDate.collectivity_id == collectivity_id)
            .order_by(DueDate.due_on, DueDate.agent_id, DueDate.kind)
        ).all()
    return [DueRow(r[0], r[1], r[2].name, r[3], r[4], r[5]) for r in found]


RECOMPUTE_FLASH = (
    "Les échéances seront recalculées pour tous les agents par la prochaine synchronisation "
    "(tâche « sync », chaque nuit à 02:00) ; la liste « Demandes à planifier » garde les dates "
    "actuelles d'ici là."
)


def request_full_recompute(session: Session, reason: str) -> None:
    """Record that every agent's due dates must be recomputed (a rule changed): one pending
    row at most, done by the next ``sync`` (``recompute_step``)."""
    with system_scope():
        pending = session.scalar(
            select(DueRecomputeRequest.id).where(DueRecomputeRequest.done_at.is_(None)).limit(1)
        )
        if pending is None:
            session.add(DueRecomputeRequest(reason=reason[:250]))


def pending_full_recompute(session: Session | None = None) -> bool:
    """Is a rule edit's recompute still waiting for the ``sync`` job?"""
    session = session or db.session
    with system_scope():
        found = session.scalar(
            select(DueRecomputeRequest.id).where(DueRecomputeRequest.done_at.is_(None)).limit(1)
        )
    return found is not None


def recompute_step(ctx: Any) -> None:
    """``sync`` step: every agent's due dates as of the job's day, committed by batch (each
    batch all or nothing: its reads and writes commit together), then the pending rule-edit
    requests recorded before the step started are marked done, with the last commit.

    It adds no count to the job's summary: the due dates are derived data, and the summary
    reports what changed for the collectivities (a rerun writes nothing anyway)."""
    session = db.session
    with system_scope():
        last_request = session.scalar(
            select(DueRecomputeRequest.id)
            .where(DueRecomputeRequest.done_at.is_(None))
            .order_by(DueRecomputeRequest.id.desc())
            .limit(1)
        )
    recompute(on=ctx.today, batch_size=ctx.batch_size * 4, after_batch=ctx.end_batch)
    if last_request is not None:
        with system_scope():
            session.execute(
                update(DueRecomputeRequest)
                .where(
                    DueRecomputeRequest.id <= last_request,
                    DueRecomputeRequest.done_at.is_(None),
                )
                .values(done_at=utcnow())
            )
        ctx.end_batch()


# ----------------------------------------------------------------------------------------------
# The listener: what a flush changed, recomputed before the commit
# ----------------------------------------------------------------------------------------------

_PENDING = "due_dates_pending"
_DISABLED = "due_dates_listener_off"


def _pending(session: Session) -> dict[str, set[int]]:
    pending: dict[str, set[int]] = session.info.setdefault(
        _PENDING, {"agents": set(), "positions": set(), "collectivities": set(), "all": set()}
    )
    return pending


def _agent_of(obj: Any) -> int | None:
    value = getattr(obj, "agent_id", None)
    if value is None and getattr(obj, "agent", None) is not None:
        value = obj.agent.id
    return value


@event.listens_for(Session, "after_flush")
def _collect(session: Session, flush_context: Any) -> None:
    if session.info.get(_DISABLED):
        return
    pending: dict[str, set[int]] | None = None
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, (Consultation, Contract, VisitRequest)):
            agent_id = _agent_of(obj)
            if agent_id is not None:
                pending = pending or _pending(session)
                pending["agents"].add(agent_id)
        elif isinstance(obj, PositionRisk):
            position_id = obj.work_position_id or getattr(obj.work_position, "id", None)
            if position_id is not None:
                pending = pending or _pending(session)
                pending["positions"].add(position_id)
        elif isinstance(obj, Collectivity) and obj in session.dirty:
            if sa_inspect(obj).attrs.regime.history.has_changes():
                pending = pending or _pending(session)
                pending["collectivities"].add(obj.id)
        elif isinstance(obj, (PeriodicityRuleRecord, RiskEffectRule)):
            pending = pending or _pending(session)
            pending["all"].add(1)


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "before_commit")
def _recompute_pending(session: Session) -> None:
    if session.info.get(_DISABLED):
        return
    if session.dirty or session.new or session.deleted:
        session.flush()  # collects what the commit would flush
    if session.info.get(_PENDING):
        flush_pending(session)


def flush_pending(session: Session) -> RecomputeResult:
    """Recompute now what the session's flushes collected (the listener does it at commit)."""
    session.flush()  # in the caller's scope (see recompute)
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return RecomputeResult()
    with system_scope():
        if pending["all"]:
            # A rule changed: every agent, by the next ``sync`` (5-9 s at 100 000 agents: never
            # inside Admin's request); the other changes of this transaction wait with it.
            request_full_recompute(session, "Règle de périodicité ou effet de risque modifié")
            session.flush()
            return RecomputeResult()
        ids = set(pending["agents"])
        if pending["positions"]:
            ids.update(
                session.scalars(
                    select(Contract.agent_id).where(
                        Contract.work_position_id.in_(sorted(pending["positions"]))
                    )
                )
            )
        if pending["collectivities"]:
            ids.update(
                session.scalars(
                    select(Agent.id).where(Agent.collectivity_id.in_(pending["collectivities"]))
                )
            )
        if not ids:
            return RecomputeResult()
        return recompute(sorted(ids), session=session)


def listener_disabled(session: Session) -> Any:
    """``with listener_disabled(session):`` bulk loaders that recompute once at their end."""
    from contextlib import contextmanager

    @contextmanager
    def _off() -> Iterator[None]:
        session.info[_DISABLED] = True
        try:
            yield
        finally:
            session.info.pop(_DISABLED, None)

    return _off()
