"""What the agents and positions lists export (``app.core.exports``): their columns, in French."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from app.core import clock
from app.core.exports import Export, ExportColumn, column
from app.rules.follow_up import follow_up
from app.workforce import positions as position_services
from app.workforce.models import Agent, ChangeStatus, Contract, StagedAgentChange, WorkPosition

NO_POSITION = "Aucun poste actuel"


def agents_sql(ordered: Any) -> Any:
    """The list's statement (tab, filters, order, tenant criteria) reading only the agent
    columns the export shows: plain rows, no ORM entity (``app.core.exports``)."""
    return ordered.with_only_columns(
        Agent.id.label("id"),
        Agent.collectivity_id.label("collectivity_id"),
        Agent.birth_name.label("birth_name"),
        Agent.usage_name.label("usage_name"),
        Agent.first_name.label("first_name"),
        Agent.birth_date.label("birth_date"),
        Agent.service.label("service"),
        Agent.validated_at.label("validated_at"),
    )


def _agents_prepare(rows: list[Any]) -> dict[str, Any]:
    """Once per chunk of rows: their contracts (latest start first, as ``Agent.contracts``)
    with the position label, the agents with a pending change, the collectivity names."""
    from app.extensions import db
    from app.referential.models import Collectivity

    ids = [row.id for row in rows]
    contracts: dict[int, list[Any]] = defaultdict(list)
    for contract in db.session.execute(
        select(Contract.agent_id, Contract.start_date, Contract.end_date, WorkPosition.label)
        .join(WorkPosition, WorkPosition.id == Contract.work_position_id)
        .where(Contract.agent_id.in_(ids))
        .order_by(Contract.agent_id, Contract.start_date.desc(), Contract.id.desc())
    ):
        contracts[contract.agent_id].append(contract)
    pending = set(
        db.session.scalars(
            select(StagedAgentChange.agent_id).where(
                StagedAgentChange.agent_id.in_(ids),
                StagedAgentChange.status == ChangeStatus.en_attente,
            )
        )
    )
    names = dict(
        db.session.execute(
            select(Collectivity.id, Collectivity.name).where(
                Collectivity.id.in_({row.collectivity_id for row in rows})
            )
        ).all()
    )
    return {"contracts": contracts, "pending": pending, "names": names}


def agents_export(staff: bool) -> Export:
    """The columns of « Effectif » (no INS, no id: what the list shows), the contract shown
    being the running one, else the latest (as on the list). Read as plain rows (``sql``)."""
    today = clock.today()

    def running(row: Any, held: dict[str, Any]) -> Any:
        found = held["contracts"].get(row.id, ())
        return next(
            (
                c
                for c in found
                if c.start_date <= today and (c.end_date is None or c.end_date >= today)
            ),
            None,
        )

    def shown(row: Any, held: dict[str, Any]) -> Any:
        found = held["contracts"].get(row.id)
        return running(row, held) or (found[0] if found else None)

    def position(row: Any, held: dict[str, Any]) -> str:
        contract = running(row, held)
        return contract.label if contract else NO_POSITION

    def full_name(row: Any) -> str:
        return f"{(row.usage_name or row.birth_name).upper()} {row.first_name}"

    def state(row: Any, held: dict[str, Any]) -> str:
        if row.validated_at is None:
            return "À valider par le CDG"
        if row.id in held["pending"]:
            return "En attente de synchronisation"
        return "Validé"

    columns = [
        column("Nom et prénom", full_name),
        column("Date de naissance", lambda r: r.birth_date),
        ExportColumn("Poste occupé", position),
        ExportColumn("Date de début", lambda r, h: c.start_date if (c := shown(r, h)) else None),
        ExportColumn("Date de fin", lambda r, h: c.end_date if (c := shown(r, h)) else None),
        column("Service", lambda r: r.service),
        ExportColumn("État", state),
    ]
    if staff:
        columns.insert(
            0, ExportColumn("Collectivité", lambda r, h: h["names"].get(r.collectivity_id))
        )
    return Export("agents", columns, prepare=_agents_prepare, sql=agents_sql)


def agents_statement(ordered: Any) -> Any:
    """The list's statement with what every exported row reads, loaded per chunk (and only
    that: not the agents' assignments, nor the positions' risks and the contract types)."""
    return ordered.options(
        selectinload(Agent.contracts).options(
            joinedload(Contract.work_position).lazyload(WorkPosition.risk_links),
            lazyload(Contract.contract_type),
        ),
        selectinload(Agent.staged_changes),
        lazyload(Agent.assignments),
    )


def _position_prepare(positions: list[WorkPosition]) -> Any:
    return position_services.present_agent_counts([p.id for p in positions])


def positions_export(staff: bool) -> Export:
    """The columns of « Postes de travail »."""
    effects = position_services.risk_effects()
    today = clock.today()
    columns = [
        column("Libellé du poste de travail", lambda p: p.label),
        column("Risques", lambda p: p.risks_summary),
        column("Code PCS", lambda p: p.pcs_code),
        column("Suivi", lambda p: follow_up(p.risk_codes, effects, today).level.value),
        ExportColumn("Agents présents", lambda p, held: held.get(p.id, 0)),
    ]
    if staff:
        columns.insert(0, column("Collectivité", lambda p: p.collectivity.name))
    return Export("postes", columns, prepare=_position_prepare)


def positions_statement(ordered: Any) -> Any:
    return ordered.options(selectinload(WorkPosition.collectivity))
