"""Agents, careers and exits (SPEC C2-C4): validation, staged employer changes, contracts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, or_, select

from app.core import clock
from app.core.types import utcnow
from app.extensions import db
from app.referential.models import ContractType
from app.rules.errors import DomainError, FieldError, InvalidIdentifier
from app.rules.identifiers import normalize_ins
from app.tenancy import collectivity_scope, current_scope
from app.workforce.models import Agent, ChangeStatus, Contract, StagedAgentChange, WorkPosition

# Once the CDG has validated an agent, the employer may only change these (SSTRN).
EMPLOYER_EDITABLE_AFTER_VALIDATION = ("first_name", "birth_name", "usage_name", "ins")
PERSON_FIELDS = (
    "civility",
    "first_name",
    "birth_name",
    "usage_name",
    "birth_date",
    "ins",
    "status",
    "service",
)


def is_employer() -> bool:
    return current_scope().is_employer


def normalize_agent(agent: Agent) -> None:
    """Names trimmed (birth and usage names in capitals), INS checked, plausible birth date."""
    agent.first_name = " ".join((agent.first_name or "").split())
    agent.birth_name = " ".join((agent.birth_name or "").split()).upper()
    agent.usage_name = " ".join((agent.usage_name or "").split()).upper() or None
    if not agent.first_name:
        raise FieldError("Le prénom est obligatoire.", "first_name")
    if not agent.birth_name:
        raise FieldError("Le nom de naissance est obligatoire.", "birth_name")
    if agent.ins:
        try:
            agent.ins = normalize_ins(agent.ins)
        except InvalidIdentifier as error:
            raise FieldError(error.message, "ins") from error
    else:
        agent.ins = None
    today = clock.today()
    if agent.birth_date is None:
        raise FieldError("La date de naissance est obligatoire.", "birth_date")
    if agent.birth_date >= today or agent.birth_date.year < today.year - 100:
        raise FieldError("La date de naissance n'est pas plausible.", "birth_date")
    check_not_duplicate(agent)


def check_not_duplicate(agent: Agent) -> None:
    """Same INS, or same names and birth date, in the same collectivity (all of its agents,
    including those a secondary account does not manage)."""
    collectivity_id = agent.collectivity_id or current_scope().collectivity_id
    same = select(Agent.id).where(
        Agent.id != (agent.id or 0), Agent.collectivity_id == collectivity_id
    )
    with collectivity_scope():
        if agent.ins and db.session.scalar(same.where(Agent.ins == agent.ins)):
            raise FieldError("Un agent de la collectivité a déjà cet INS.", "ins")
        duplicate = db.session.scalar(
            same.where(
                func.lower(Agent.birth_name) == agent.birth_name.lower(),
                func.lower(Agent.first_name) == agent.first_name.lower(),
                Agent.birth_date == agent.birth_date,
            )
        )
    if duplicate:
        raise FieldError(
            "Cet agent existe déjà (mêmes nom, prénom et date de naissance).", "birth_name"
        )


@dataclass(frozen=True)
class ContractInput:
    work_position_id: int
    contract_type_id: int
    start_date: dt.date
    end_date: dt.date | None = None


def create_agent(agent: Agent, first_contract: ContractInput | None) -> Agent:
    """An agent created by an employer waits for the CDG's validation; staff validate at once."""
    normalize_agent(agent)
    agent.created_by_employer = is_employer()
    agent.validated_at = None if agent.created_by_employer else utcnow()
    db.session.add(agent)
    db.session.flush()
    if first_contract is not None:
        add_contract(agent, first_contract)
    return agent


def validate_agents(agents: list[Agent]) -> int:
    count = 0
    for agent in agents:
        if agent.validated_at is None:
            agent.validated_at = utcnow()
            count += 1
    return count


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(getattr(value, "name", value))


def update_agent(agent: Agent, new_values: dict[str, Any]) -> int:
    """Staff (and employers on agents not yet validated) change the agent directly; employer
    changes to a validated agent are staged for the nightly sync. Returns the number staged."""
    old = {name: getattr(agent, name) for name in PERSON_FIELDS}
    for name, value in new_values.items():
        setattr(agent, name, value)
    normalize_agent(agent)
    if not (is_employer() and agent.validated):
        return 0
    changed = {name for name in PERSON_FIELDS if getattr(agent, name) != old[name]}
    forbidden = changed - set(EMPLOYER_EDITABLE_AFTER_VALIDATION)
    if forbidden:
        labels = ", ".join(sorted(forbidden))
        raise DomainError(
            "Cet agent est validé par le CDG : seuls les noms, le prénom et l'INS peuvent être "
            f"modifiés (champs refusés : {labels}). Contactez le centre médical pour les autres corrections."
        )
    staged = 0
    for name in sorted(changed):
        db.session.add(
            StagedAgentChange(
                agent=agent,
                collectivity_id=agent.collectivity_id,
                field=name,
                old_value=_text(old[name]),
                new_value=_text(getattr(agent, name)),
                requested_by_id=current_scope().user_id,
            )
        )
        setattr(agent, name, old[name])  # the agent keeps its values until the sync applies them
        staged += 1
    return staged


@dataclass(frozen=True)
class SyncResult:
    applied: int
    conflicts: int


def apply_staged_changes(change_ids: list[int] | None = None) -> SyncResult:
    """Apply pending employer changes (the nightly sync calls this too): a change whose old value
    no longer matches the agent (a staff edit in between) is marked as a conflict, not applied."""
    query = select(StagedAgentChange).where(StagedAgentChange.status == ChangeStatus.en_attente)
    if change_ids is not None:
        query = query.where(StagedAgentChange.id.in_(change_ids))
    applied = conflicts = 0
    now = utcnow()
    for change in db.session.scalars(query.order_by(StagedAgentChange.id)):
        agent = change.agent
        if _text(getattr(agent, change.field)) != change.old_value:
            change.status = ChangeStatus.conflit
            change.note = f"Valeur actuelle : {_text(getattr(agent, change.field)) or '∅'}"
            conflicts += 1
        else:
            setattr(agent, change.field, change.new_value)
            change.status = ChangeStatus.appliquee
            applied += 1
        change.processed_at = now
    db.session.flush()
    return SyncResult(applied=applied, conflicts=conflicts)


def reject_staged_changes(change_ids: list[int]) -> int:
    count = 0
    for change in db.session.scalars(
        select(StagedAgentChange).where(
            StagedAgentChange.id.in_(change_ids),
            StagedAgentChange.status == ChangeStatus.en_attente,
        )
    ):
        change.status = ChangeStatus.refusee
        change.processed_at = utcnow()
        count += 1
    return count


def delete_agent(agent: Agent) -> None:
    """An agent goes with his appointments (database cascade): refused while one of them still
    counts (booked, convoked, honoured or an unjustified absence), whoever deletes him."""
    from app.planning.models import Appointment, AppointmentStatus

    if is_employer() and agent.validated:
        raise DomainError(
            "Cet agent est validé par le CDG : il ne peut pas être supprimé. Déclarez plutôt sa sortie."
        )
    cancelled = (AppointmentStatus.annulee, AppointmentStatus.absence_justifiee)
    with collectivity_scope():
        booked = db.session.scalar(
            select(
                exists().where(
                    Appointment.agent_id == agent.id, Appointment.status.not_in(cancelled)
                )
            )
        )
    if booked:
        raise DomainError(
            "Cet agent a des rendez-vous de médecine préventive : il ne peut pas être supprimé. "
            "Annulez ses rendez-vous à venir ou déclarez sa sortie."
        )
    db.session.delete(agent)


# ----------------------------------------------------------------------------------------------
# Careers (SPEC C3)
# ----------------------------------------------------------------------------------------------


def _check_contract(
    agent: Agent, data: ContractInput, contract_id: int | None = None
) -> tuple[WorkPosition, ContractType]:
    position = db.session.get(WorkPosition, data.work_position_id)
    if position is None or position.collectivity_id != agent.collectivity_id:
        raise FieldError("Poste de travail inconnu pour cette collectivité.", "work_position")
    if position.is_closed and contract_id is None:
        raise FieldError(
            "Ce poste est clôturé : réactivez-le ou choisissez un autre poste.", "work_position"
        )
    contract_type = db.session.get(ContractType, data.contract_type_id)
    if contract_type is None:
        raise FieldError("Type de contrat inconnu.", "contract_type")
    if data.start_date is None:
        raise FieldError("La date de début est obligatoire.", "start_date")
    if data.end_date is not None and data.end_date < data.start_date:
        raise FieldError("La date de fin ne peut pas précéder la date de début.", "end_date")
    if data.start_date < agent.birth_date + dt.timedelta(days=14 * 365):
        raise FieldError("La date de début précède les 14 ans de l'agent.", "start_date")
    for other in agent.contracts:
        if other.id == contract_id or other.work_position_id != position.id:
            continue
        if _overlap(other.start_date, other.end_date, data.start_date, data.end_date):
            raise FieldError("L'agent occupe déjà ce poste sur cette période.", "start_date")
    return position, contract_type


def _overlap(
    start_a: dt.date, end_a: dt.date | None, start_b: dt.date, end_b: dt.date | None
) -> bool:
    return (end_a is None or start_b <= end_a) and (end_b is None or start_a <= end_b)


def add_contract(agent: Agent, data: ContractInput) -> Contract:
    position, contract_type = _check_contract(agent, data)
    contract = Contract(
        agent=agent,
        collectivity_id=agent.collectivity_id,
        work_position=position,
        contract_type=contract_type,
        start_date=data.start_date,
        end_date=data.end_date,
    )
    db.session.add(contract)
    db.session.flush()
    return contract


def update_contract(contract: Contract, data: ContractInput) -> None:
    """A running contract's position is never changed: close it and open a new one (SSTRN)."""
    running = contract.is_running(clock.today())
    if running and data.work_position_id != contract.work_position_id:
        raise FieldError(
            "Vous ne pouvez pas modifier le poste d'un contrat en cours : indiquez sa date de fin "
            "puis créez un nouveau contrat.",
            "work_position",
        )
    position, contract_type = _check_contract(contract.agent, data, contract.id)
    contract.work_position = position
    contract.contract_type = contract_type
    contract.start_date = data.start_date
    contract.end_date = data.end_date


# ----------------------------------------------------------------------------------------------
# Exits (SPEC C4)
# ----------------------------------------------------------------------------------------------


def running_contracts(agent: Agent, on: dt.date | None = None) -> list[Contract]:
    """Contracts still open on that date (running or future)."""
    on = on or clock.today()
    return [c for c in agent.contracts if c.end_date is None or c.end_date >= on]


def exit_agent(agent: Agent, exit_date: dt.date) -> int:
    """Set the end date of every contract still open; returns how many were closed."""
    open_contracts = [c for c in agent.contracts if c.end_date is None or c.end_date > exit_date]
    if not open_contracts:
        raise DomainError("Cet agent n'a aucun contrat en cours à clôturer.")
    for contract in open_contracts:
        if exit_date < contract.start_date:
            raise FieldError(
                f"La date de sortie précède l'entrée sur le poste « {contract.work_position.label} » "
                f"({contract.start_date:%d/%m/%Y}).",
                "exit_date",
            )
    for contract in open_contracts:
        contract.end_date = exit_date
    return len(open_contracts)


# ----------------------------------------------------------------------------------------------
# Lists (« En activité » / « Tous »)
# ----------------------------------------------------------------------------------------------


def active_clause(on: dt.date) -> Any:
    """EXISTS a contract running on that date (SPEC C2 « En activité »)."""
    return exists().where(Contract.agent_id == Agent.id, Contract.running_on(on))


COUNT_CAP = 5000


def capped_count(query: Any) -> int:
    """The number of rows, counted up to COUNT_CAP + 1 (an exact count of 200 000 agents costs
    more than the page itself; beyond the cap the list says « plus de 5 000 »)."""
    limited = query.with_only_columns(Agent.id).order_by(None).limit(COUNT_CAP + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(limited)) or 0


def name_clause(text: str) -> Any:
    """« dup » finds DUPONT (birth or usage name, prefix); « dupont lé » adds the first name."""
    words = text.split()
    term = words[0].upper() + "%"
    clause = or_(Agent.birth_name.like(term), Agent.usage_name.like(term))
    for word in words[1:]:
        clause = and_(clause, func.lower(Agent.first_name).like(word.lower() + "%"))
    return clause


def position_clause(text: str) -> Any:
    """The agent holds (or held) a position whose label contains the text."""
    return exists().where(
        and_(
            Contract.agent_id == Agent.id,
            Contract.work_position_id == WorkPosition.id,
            WorkPosition.label_key.contains(text),
        )
    )
