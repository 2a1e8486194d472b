"""Agents, careers and exits (SPEC C2-C4): validation, staged employer changes, contracts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, true, union

from app.core import clock
from app.core.types import utcnow
from app.extensions import db
from app.referential.models import ContractType
from app.rules.errors import DomainError, FieldError, InvalidIdentifier
from app.rules.identifiers import normalize_ins
from app.rules.names import prefix_bounds
from app.tenancy import collectivity_scope, current_scope, system_scope
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
    no longer matches the agent (a staff edit in between) is marked as a conflict, not applied.
    Only pending changes are read: the sync's batches (``change_ids`` slices) skip what is done.

    Set-based (issue 11: the night applies 100 000 changes within a minute): changes and agents
    are read as columns, compared and chained in id order (a second change of a field expects the
    first one's new value), written by one UPDATE per kind of row, with the agent's name keys
    kept (``rules.names``) and one audit entry per agent changed, as the ORM would write it."""
    db.session.flush()  # what the caller changed is what the changes are compared with
    if change_ids is None:
        change_ids = list(
            db.session.scalars(
                select(StagedAgentChange.id)
                .where(StagedAgentChange.status == ChangeStatus.en_attente)
                .order_by(StagedAgentChange.id)
            )
        )
    applied = conflicts = 0
    for start in range(0, len(change_ids), _SYNC_CHUNK):
        result = _apply_chunk(change_ids[start : start + _SYNC_CHUNK])
        applied += result.applied
        conflicts += result.conflicts
    return SyncResult(applied=applied, conflicts=conflicts)


_SYNC_CHUNK = 1000
_SYNCED_AGENT_COLUMNS = ("first_name", "birth_name", "usage_name", "ins")


def _apply_chunk(change_ids: list[int]) -> SyncResult:
    from sqlalchemy import bindparam, update

    from app.core.audit import log_updates
    from app.rules.names import agent_name_keys

    change = StagedAgentChange.__table__.c
    changes = db.session.execute(
        select(change.id, change.agent_id, change.field, change.old_value, change.new_value)
        .where(change.status == ChangeStatus.en_attente.name, change.id.in_(change_ids))
        .order_by(change.id)
    ).all()
    if not changes:
        return SyncResult(applied=0, conflicts=0)
    agent = Agent.__table__.c
    columns = ("collectivity_id", *_SYNCED_AGENT_COLUMNS, "search_name", "search_alt_name")
    before = {
        row.id: dict(row._mapping)
        for row in db.session.execute(
            select(agent.id, *(agent[name] for name in columns)).where(
                agent.id.in_({c.agent_id for c in changes})
            )
        )
    }
    current = {agent_id: dict(values) for agent_id, values in before.items()}
    now = utcnow()
    outcomes: list[tuple[int, int | None, dict[str, Any]]] = []
    for row in changes:
        values = current[row.agent_id]
        value = values.get(row.field) if row.field in _SYNCED_AGENT_COLUMNS else None
        if row.field not in _SYNCED_AGENT_COLUMNS or _text(value) != row.old_value:
            note = f"Valeur actuelle : {_text(value) or '∅'}"
            outcome = {"status": ChangeStatus.conflit, "note": note}
            outcomes.append((row.id, values["collectivity_id"], outcome))
        else:
            values[row.field] = row.new_value
            outcomes.append((row.id, values["collectivity_id"], {"status": ChangeStatus.appliquee}))
    agent_rows = []
    for agent_id, values in current.items():
        values["search_name"], values["search_alt_name"] = agent_name_keys(
            values["birth_name"], values["usage_name"], values["first_name"]
        )
        old = before[agent_id]
        changed = {k: (old[k], values[k]) for k in columns if old[k] != values[k]}
        if changed:
            agent_rows.append((agent_id, values["collectivity_id"], changed))
    if agent_rows:
        db.session.execute(
            update(Agent.__table__)
            .where(agent.id == bindparam("row_id"))
            .values({name: bindparam(f"new_{name}") for name in columns[1:]}),
            [
                {"row_id": agent_id, **{f"new_{k}": current[agent_id][k] for k in columns[1:]}}
                for agent_id, _, _ in agent_rows
            ],
        )
    db.session.execute(
        update(StagedAgentChange.__table__)
        .where(change.id == bindparam("row_id"))
        .values(
            status=bindparam("new_status"),
            note=bindparam("new_note"),
            processed_at=bindparam("new_processed_at"),
        ),
        [
            {
                "row_id": change_id,
                "new_status": values["status"].name,
                "new_note": values.get("note"),
                "new_processed_at": now,
            }
            for change_id, _, values in outcomes
        ],
    )
    # The business change is the agent's, audited below; a staged change row is its own record
    # (who asked, when, processed when, with which outcome): no second entry for it.
    log_updates("agent", agent_rows)
    _expire({Agent: set(current), StagedAgentChange: {row.id for row in changes}})
    applied = sum(1 for _, _, values in outcomes if values["status"] is ChangeStatus.appliquee)
    return SyncResult(applied=applied, conflicts=len(outcomes) - applied)


def _expire(ids: dict[type, set[int]]) -> None:
    """Rows loaded in the session before a set-based UPDATE are read again at their next use."""
    for obj in list(db.session.identity_map.values()):
        if obj.id in ids.get(type(obj), ()):
            db.session.expire(obj)


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
    # The agent is already the caller's: every appointment of his counts, a confidential one
    # too (SPEC E7: hidden from the employer, never deleted by him; the message names none).
    with system_scope():
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
    """Set the end date of every contract still open; returns how many were closed. An exit
    dated today or earlier cancels the agent's pending visit requests (SPEC C4; a later one:
    the nightly sync, once the date has passed)."""
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
    if exit_date <= clock.today():
        from app.visits.requests import cancel_for_exit

        db.session.flush()
        cancel_for_exit(agent.id, exit_date)
    return len(open_contracts)


# ----------------------------------------------------------------------------------------------
# Lists (« En activité » / « Tous »)
# ----------------------------------------------------------------------------------------------


def active_clause(on: dt.date) -> Any:
    """EXISTS a contract running on that date (SPEC C2 « En activité »)."""
    clause = exists().where(Contract.agent_id == Agent.id, Contract.running_on(on))
    clause._medprev_active_on = on  # type: ignore[attr-defined]  # see _walkable
    return clause


def _active_probe(on: dt.date) -> Any:
    """The rows of ``active_clause``, as a probe per row rather than a semi-join."""
    running = select(Contract.id).where(Contract.agent_id == Agent.id, Contract.running_on(on))
    return running.limit(1).scalar_subquery().is_not(None)


def _walkable(query: Any) -> Any:
    """``query`` with its « En activité » EXISTS as a per-row probe, for a page in list order.

    In one collectivity the planner estimates the semi-join from two tenant criteria as if
    independent (24 rows for 4 500) and hashes every contract then sorts the collectivity
    (61-300 ms at 1 000 000 agents); a probe lets it walk the list's index and stop at the
    page's end (0.4 ms). Counts keep the EXISTS (a hash join counts faster)."""
    from sqlalchemy.sql.visitors import replacement_traverse

    def swap(element: Any) -> Any:
        on = getattr(element, "_medprev_active_on", None)
        return _active_probe(on) if on is not None else None

    return replacement_traverse(query, {}, swap)


COUNT_CAP = 5000
# A searched list is counted up to here only: beyond it the list says « plus de 500 résultats :
# précisez la recherche ». Each row counted « En activité » is one contract lookup, and a search
# that matches 40 000 agents at 1 000 000 would pay 5 001 of them for a figure nobody pages to.
SEARCH_COUNT_CAP = 500


def count_cap(searched: bool) -> int:
    """How far a list is counted: a search, less far than a whole list (SEARCH_COUNT_CAP)."""
    return SEARCH_COUNT_CAP if searched else COUNT_CAP


def count_statement(query: Any, name: str = "", cap: int = COUNT_CAP) -> Any:
    """SELECT the number of rows of ``query`` (agents, unordered, searched by ``name``), counted
    up to ``cap + 1``: a larger result means « more than ``cap`` », a smaller one is exact.

    A name search counts each half of ``page_statement`` up to the cap, then their union: an
    ``OR`` of the two ranges makes the planner read every matching agent into a bitmap first
    (45 000 for « DUP » at 1 000 000 agents); a half walks its index and stops at the cap. The
    union is exact while both halves stay under the cap, and larger than it otherwise."""
    ranges = name_ranges(name) if name else None
    if ranges is None:
        limited = query.with_only_columns(Agent.id).order_by(None).limit(cap + 1).subquery()
        return select(func.count()).select_from(limited)
    # Each half walks its own index in its order and stops at the cap (without an order the
    # planner reads the whole range into a bitmap first). The « En activité » EXISTS stays a
    # semi-join here: the planner estimates it right (9 agents in 10), when it prices a per-row
    # probe as if 1 in 50 passed and then sorts the whole range rather than walk it.
    orders = ((Agent.search_name, Agent.id), (Agent.search_alt_name, Agent.search_name, Agent.id))
    query = _without_name(query)
    halves = [
        query.where(clause).with_only_columns(Agent.id).order_by(*order).limit(cap + 1).subquery()
        for clause, order in zip(ranges, orders, strict=True)
    ]
    ids = union(*(select(half.c.id) for half in halves)).subquery()
    return select(func.count()).select_from(ids)


def capped_count(query: Any, name: str = "", cap: int = COUNT_CAP) -> int:
    """The number of rows, counted up to ``cap + 1`` (an exact count of 200 000 agents costs
    more than the page itself; beyond the cap the list says « plus de 5 000 »)."""
    return db.session.scalar(count_statement(query, name, cap)) or 0


# Every list of agents is sorted by the name it shows, as a French reader expects (GÉRARD,
# Gérard, then GUÉRIN; rules.names): the key, then the id for namesakes.
NAME_ORDER = (Agent.search_name, Agent.id)
NAME_SEARCH_LABEL = "Nom (naissance ou d'usage), puis prénom"


def _key_range(column: Any, bounds: tuple[str, str | None]) -> Any:
    low, high = bounds
    return column >= low if high is None else and_(column >= low, column < high)


def name_ranges(text: str) -> tuple[Any, Any] | None:
    """The two halves of a name search: the name shown starts with the text, or the birth name
    that a usage name hides does. None when the text has nothing to search."""
    bounds = prefix_bounds(text)
    if bounds is None:
        return None
    return _key_range(Agent.search_name, bounds), _key_range(Agent.search_alt_name, bounds)


def name_clause(text: str) -> Any:
    """« gerard » finds GÉRARD, « dup » DUPONT and DUPUIS, by birth or usage name, ignoring case,
    accents, hyphens and apostrophes; « dupont lé » adds the first name (prefix of the keys)."""
    ranges = name_ranges(text)
    if ranges is None:
        return true()
    clause = or_(*ranges)
    clause._medprev_name_search = True  # type: ignore[attr-defined]  # see _without_name
    return clause


def _without_name(query: Any) -> Any:
    """``query`` without its ``name_clause``, for a half of the search that adds its own range
    (the ``OR`` left beside it makes the planner think one row in a hundred passes)."""
    from sqlalchemy.sql.visitors import replacement_traverse

    def swap(element: Any) -> Any:
        return true() if getattr(element, "_medprev_name_search", False) else None

    return replacement_traverse(query, {}, swap)


def ordered(query: Any) -> Any:
    """The statement in list order (the name shown, French style)."""
    return query.order_by(*NAME_ORDER)


def page_statement(query: Any, name: str, offset: int, size: int) -> Any:
    """One page of ``query`` (agents, filtered, unordered) in list order, searched by ``name``.

    A search is two index ranges, one ordered by the list's key: each half is cut at the page's
    end before the two are merged, so neither database walks the whole list filtering rows (an
    ``OR`` makes the planner walk the sort index: 430-900 ms at 1 000 000 agents, issue 9).
    """
    walk = _walkable(query)
    ranges = name_ranges(name) if name else None
    if ranges is None:
        return ordered(walk).limit(size).offset(offset)
    shown, hidden = ranges
    end = offset + size
    halves = [
        ordered(_without_name(walk).where(shown)).with_only_columns(Agent.id).limit(end).subquery(),
        _hidden_half(_without_name(query), hidden, end),
    ]
    ids = union(*(select(half.c.id) for half in halves)).subquery()
    return ordered(select(Agent).where(Agent.id.in_(select(ids.c.id)))).limit(size).offset(offset)


def _hidden_half(query: Any, hidden: Any, end: int) -> Any:
    """The first ``end`` ids, in list order, of the agents found by the birth name that their
    usage name hides. Their index is in the order of that birth name, not the list's: the range
    is sorted first (index only, no contract read), behind an ``OFFSET 0`` that keeps the
    planner from probing each row's « En activité » contract before the sort (5 982 probes for
    « DUP » at 1 000 000 agents, 190 ms); then the sorted rows are probed until ``end`` match."""
    on: list[dt.date] = []

    def unprobed(element: Any) -> Any:
        active_on = getattr(element, "_medprev_active_on", None)
        if active_on is None:
            return None
        on.append(active_on)
        return true()

    from sqlalchemy.sql.visitors import replacement_traverse

    rest = replacement_traverse(query, {}, unprobed)
    if not on:
        return ordered(query.where(hidden)).with_only_columns(Agent.id).limit(end).subquery()
    rows = (
        ordered(rest.where(hidden)).with_only_columns(Agent.id, Agent.search_name).offset(0)
    ).subquery()
    running = select(Contract.id).where(Contract.agent_id == rows.c.id, Contract.running_on(on[0]))
    return (
        select(rows.c.id)
        .where(running.limit(1).scalar_subquery().is_not(None))
        .order_by(rows.c.search_name, rows.c.id)
        .limit(end)
        .subquery()
    )


def position_clause(text: str) -> Any:
    """The agent holds (or held) a position whose label contains the text.

    The positions are an ORM subquery of their own, so that an employer's tenant criteria reach
    them and the contracts (issue 9: in a joined EXISTS they reached neither, and the planner
    scanned the contracts of every collectivity's matching positions, 2-4 s at 1 000 000)."""
    positions = select(WorkPosition.id).where(WorkPosition.label_key.contains(text))
    return exists().where(Contract.agent_id == Agent.id, Contract.work_position_id.in_(positions))
