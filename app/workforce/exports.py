"""What the agents and positions lists export (``app.core.exports``): their columns, in French."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import joinedload, lazyload, selectinload

from app.core import clock
from app.core.exports import Export, ExportColumn, column
from app.rules.follow_up import follow_up
from app.workforce import positions as position_services
from app.workforce.models import Agent, Contract, WorkPosition

NO_POSITION = "Aucun poste actuel"


def agents_export(staff: bool) -> Export:
    """The columns of « Effectif » (no INS, no id: what the list shows), the contract shown
    being the running one, else the latest (as on the list)."""
    today = clock.today()

    def running(agent: Agent) -> Contract | None:
        return agent.current_contract(today)

    def shown(agent: Agent) -> Contract | None:
        return running(agent) or (agent.contracts[0] if agent.contracts else None)

    def position(agent: Agent) -> str:
        contract = running(agent)
        return contract.work_position.label if contract else NO_POSITION

    columns = [
        column("Nom et prénom", lambda a: a.full_name),
        column("Date de naissance", lambda a: a.birth_date),
        column("Poste occupé", position),
        column("Date de début", lambda a: c.start_date if (c := shown(a)) else None),
        column("Date de fin", lambda a: c.end_date if (c := shown(a)) else None),
        column("Service", lambda a: a.service),
        column("État", lambda a: a.state_label),
    ]
    if staff:
        columns.insert(0, column("Collectivité", lambda a: a.collectivity.name))
    return Export("agents", columns)


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
