"""The three imports (SPEC C5): every row checked (file and database) before anything is written;
all or nothing; the same file twice creates nothing twice (an existing record is an error)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.core import audit, clock
from app.core.types import utcnow
from app.extensions import db
from app.referential.models import Civility, ContractType, Risk
from app.rules.formatting import fold, format_date
from app.rules.names import agent_name_keys
from app.tenancy import bulk_insert, check_bulk_write, collectivity_scope, current_scope
from app.workforce import importing
from app.workforce.importing import ImportIssue, ImportKind, ImportRejected
from app.workforce.models import Agent, AgentAssignment, Contract, PositionRisk, WorkPosition

# The panels of the page, named as the messages name them.
KIND_LABELS = importing.KIND_LABELS
POSITIONS_MENU = "Effectif › Postes de travail"


@dataclass(frozen=True)
class ImportResult:
    kind: ImportKind
    count: int

    @property
    def message(self) -> str:
        what = {
            ImportKind.positions: "poste(s) de travail créé(s)",
            ImportKind.agents: "agent(s) créé(s) avec leur contrat",
            ImportKind.exits: "date(s) de sortie enregistrée(s)",
        }[self.kind]
        return f"Import réussi : {self.count} {what}."


MISSING_REFERENCE_DATA = (
    "Les données de référence (risques, types de contrat) ne sont pas chargées : "
    "lancez flask seed-reference, puis relancez l'import."
)


def _check_reference_data(kind: ImportKind) -> None:
    """Positions need the risks, agents the contract types: without them every row would be
    refused (or fail) for a reason the user cannot fix in the file."""
    needed = {ImportKind.positions: Risk, ImportKind.agents: ContractType}.get(kind)
    if needed is not None and db.session.scalar(select(needed.id).limit(1)) is None:
        raise ImportRejected([ImportIssue(None, None, MISSING_REFERENCE_DATA)])


def run_import(kind: ImportKind, data: bytes, filename: str, collectivity_id: int) -> ImportResult:
    """Validate the whole file, then write it; raises ImportRejected (nothing written) otherwise.

    ``collectivity_id`` is decided by the caller's side (an employer's is his scope's): a scope
    that may not write into it is refused (TenantViolation) before the file is read.
    """
    check_bulk_write(collectivity_id)
    _check_reference_data(kind)
    rows = importing.read_table(data, filename, max_bytes=current_app.config["IMPORT_MAX_BYTES"])
    # File errors and database errors are reported together: the user fixes everything at once.
    issues: list[ImportIssue] = []
    try:
        if kind is ImportKind.positions:
            parsed_positions = importing.parse_positions(rows, issues)
            count = _import_positions(parsed_positions, collectivity_id, issues)
        elif kind is ImportKind.agents:
            keys: list[importing.AgentKeys] = []
            parsed = importing.parse_agents(rows, today=clock.today(), found=issues, keys=keys)
            count = _import_agents(parsed, keys, collectivity_id, issues, data, filename)
        else:
            count = _import_exits(importing.parse_exits(rows, issues), collectivity_id, issues)
    except ImportRejected as rejected:
        raise rejected.in_sheet(rows.sheet) from None
    db.session.flush()
    return ImportResult(kind, count)


def _reject_all(issues: list[ImportIssue]) -> None:
    if issues:
        raise ImportRejected(sorted(issues, key=lambda i: (i.line or 0, i.column or "")))


def _import_positions(
    rows: list[importing.PositionRow], collectivity_id: int, issues: list[ImportIssue]
) -> int:
    existing = {
        (pcs, key)
        for pcs, key in db.session.execute(
            select(WorkPosition.pcs_code, WorkPosition.label_key).where(
                WorkPosition.collectivity_id == collectivity_id
            )
        )
    }
    issues += [
        ImportIssue(
            row.line,
            "Libellé",
            f"Le poste « {row.label} » ({row.pcs_code}) existe déjà : ce fichier ne crée que de nouveaux postes.",
        )
        for row in rows
        if (row.pcs_code, fold(row.label)) in existing
    ]
    _reject_all(issues)
    risks = {risk.code: risk for risk in db.session.scalars(select(Risk))}
    for row in rows:
        position = WorkPosition(collectivity_id=collectivity_id, pcs_code=row.pcs_code)
        position.set_label(row.label)
        position.risk_links = [
            PositionRisk(
                risk=risks[code],
                collectivity_id=collectivity_id,
                description=row.risk_description if code == "autre" else None,
            )
            for code in sorted(row.risks)
        ]
        db.session.add(position)
    return len(rows)


def _import_agents(
    rows: list[importing.AgentRow],
    keys: list[importing.AgentKeys],
    collectivity_id: int,
    issues: list[ImportIssue],
    data: bytes,
    filename: str,
) -> int:
    positions = {
        (p.pcs_code, p.label_key): p
        for p in db.session.scalars(
            select(WorkPosition).where(WorkPosition.collectivity_id == collectivity_id)
        )
    }
    contract_types: dict[str, ContractType] = {}
    for contract_type in db.session.scalars(select(ContractType)):
        contract_types[fold(contract_type.label)] = contract_type
        contract_types[fold(contract_type.code)] = contract_type
    # Duplicates are looked for among all the collectivity's agents, managed by the caller or not.
    with collectivity_scope():
        existing_ins = set(
            db.session.scalars(
                select(Agent.ins).where(
                    Agent.collectivity_id == collectivity_id, Agent.ins.is_not(None)
                )
            )
        )
        existing_people = {
            (fold(birth), fold(first), born)
            for birth, first, born in db.session.execute(
                select(Agent.birth_name, Agent.first_name, Agent.birth_date).where(
                    Agent.collectivity_id == collectivity_id
                )
            )
        }
    # The same labels come back on every line: each is folded once.
    folded = functools.lru_cache(maxsize=None)(fold)
    # Every line is checked against the database, also those with errors in other cells.
    for key in keys:
        _check_agent_keys(
            key, positions, contract_types, existing_ins, existing_people, issues, folded
        )
    _reject_all(issues)
    return _write_agents(rows, positions, contract_types, collectivity_id, data, filename, folded)


def _check_agent_keys(
    key: importing.AgentKeys,
    positions: dict[tuple[str, str], WorkPosition],
    contract_types: dict[str, ContractType],
    existing_ins: set[str | None],
    existing_people: set[tuple[str, str, dt.date]],
    issues: list[ImportIssue],
    fold: Callable[[str], str],
) -> None:
    if key.pcs_code is not None and key.position_label is not None:
        position = positions.get((key.pcs_code, fold(key.position_label)))
        if position is None:
            issues.append(
                ImportIssue(
                    key.line,
                    "Libelle du type de poste",
                    f"Aucun poste « {key.position_label} » de code PCS {key.pcs_code} n'existe "
                    f"pour cette collectivité : déclarez-le d'abord (menu « {POSITIONS_MENU} », "
                    "ou cadre « Postes de travail » de cette page), avec exactement ce libellé "
                    "et ce code PCS.",
                )
            )
        elif position.is_closed:
            issues.append(
                ImportIssue(
                    key.line,
                    "Libelle du type de poste",
                    f"Le poste « {position.label} » est clôturé : réactivez-le d'abord "
                    f"(menu « {POSITIONS_MENU} », postes clôturés).",
                )
            )
    if key.contract_type_label is not None and fold(key.contract_type_label) not in contract_types:
        known = ", ".join(sorted({t.label for t in contract_types.values()}))
        issues.append(
            ImportIssue(
                key.line,
                "Libelle du type de contrat",
                f"Type de contrat « {key.contract_type_label} » inconnu (attendu : {known}).",
            )
        )
    if key.ins and key.ins in existing_ins:
        issues.append(
            ImportIssue(
                key.line,
                "INS",
                f"Un agent avec l'INS {key.ins} existe déjà : ce fichier ne crée que de nouveaux agents.",
            )
        )
    elif key.person is not None and key.person in existing_people:
        issues.append(
            ImportIssue(
                key.line,
                "Nom de naissance",
                f"L'agent {key.birth_name} {key.first_name} né(e) le {format_date(key.birth_date)} existe déjà.",
            )
        )


def _write_agents(
    rows: list[importing.AgentRow],
    positions: dict[tuple[str, str], WorkPosition],
    contract_types: dict[str, ContractType],
    collectivity_id: int,
    data: bytes,
    filename: str,
    fold: Callable[[str], str],
) -> int:
    """Core bulk inserts (one executemany per table) and one audit entry for the whole file.

    The ORM's per-object flush and audit diff cost 97 % of a 10 000-line import (issue 9). The
    rows bypass the tenancy flush guard, so ``bulk_insert`` forces ``collectivity_id`` and checks
    every reference; the positions were read in this collectivity and scope.
    """
    scope = current_scope()
    by_employer = scope.is_employer
    now = utcnow()
    validated_at = None if by_employer else now
    position_ids = {key: position.id for key, position in positions.items()}
    type_ids = {key: contract_type.id for key, contract_type in contract_types.items()}
    agent_ids = bulk_insert(
        db.session,
        Agent,
        [_agent_values(row, by_employer, validated_at, now) for row in rows],
        collectivity_id,
    )
    contract_values: list[dict[str, Any]] = [
        {
            "agent_id": agent_id,
            "work_position_id": position_ids[(row.pcs_code, fold(row.position_label))],
            "contract_type_id": type_ids[fold(row.contract_type_label)],
            "start_date": row.entry_date,
            "end_date": row.exit_date,
            "created_at": now,
            "updated_at": now,
        }
        for row, agent_id in zip(rows, agent_ids, strict=True)
    ]
    bulk_insert(db.session, Contract, contract_values, collectivity_id)
    if scope.is_secondary:
        bulk_insert(
            db.session,
            AgentAssignment,
            [
                {
                    "agent_id": agent_id,
                    "user_id": scope.secondary_user_id,
                    "created_at": now,
                    "updated_at": now,
                }
                for agent_id in agent_ids
            ],
            collectivity_id,
        )
    count = len(rows)
    audit.log_import(
        table_name=Agent.__tablename__,
        collectivity_id=collectivity_id,
        summary=f"Import de {count} agent{'s' if count > 1 else ''}",
        row_id=f"{agent_ids[0]}-{agent_ids[-1]}" if agent_ids else "",
        details={
            "fichier": filename,
            "sha256": hashlib.sha256(data).hexdigest(),
            "agents": count,
            "contrats": len(contract_values),
        },
    )
    return count


def _agent_values(
    row: importing.AgentRow, by_employer: bool, validated_at: dt.datetime | None, now: dt.datetime
) -> dict[str, Any]:
    first_name = " ".join(row.first_name.split())
    birth_name = " ".join(row.birth_name.split()).upper()
    usage_name = " ".join(row.usage_name.split()).upper() if row.usage_name else None
    # The search and sort keys the model's flush event would set (rules.names).
    search_name, search_alt_name = agent_name_keys(birth_name, usage_name, first_name)
    return {
        "civility": Civility[row.civility],
        "first_name": first_name,
        "birth_name": birth_name,
        "usage_name": usage_name,
        "search_name": search_name,
        "search_alt_name": search_alt_name,
        "birth_date": row.birth_date,
        "ins": row.ins,
        "created_by_employer": by_employer,
        "validated_at": validated_at,
        "created_at": now,
        "updated_at": now,
    }


def _import_exits(
    rows: list[importing.ExitRow], collectivity_id: int, issues: list[ImportIssue]
) -> int:
    ids = [row.contract_id for row in rows]
    contracts = {
        c.id: c
        for c in db.session.scalars(
            select(Contract).where(
                Contract.id.in_(ids), Contract.collectivity_id == collectivity_id
            )
        )
    }
    for row in rows:
        contract = contracts.get(row.contract_id)
        if contract is None:
            issues.append(
                ImportIssue(
                    row.line,
                    "id",
                    f"Contrat n° {row.contract_id} introuvable pour cette collectivité : utilisez le modèle pré-rempli.",
                )
            )
        elif row.exit_date < contract.start_date:
            issues.append(
                ImportIssue(
                    row.line,
                    "Date de sortie",
                    f"La date de sortie ({format_date(row.exit_date)}) précède l'entrée sur le poste ({format_date(contract.start_date)}).",
                )
            )
        elif contract.end_date is not None and contract.end_date < row.exit_date:
            issues.append(
                ImportIssue(
                    row.line,
                    "Date de sortie",
                    f"Ce contrat est déjà terminé depuis le {format_date(contract.end_date)}.",
                )
            )
    _reject_all(issues)
    for row in rows:
        contracts[row.contract_id].end_date = row.exit_date
    return len(rows)


def exits_template(collectivity_id: int, on: dt.date | None = None) -> bytes:
    """The end-of-contract template, pre-filled with the running contracts (``id`` = contract)."""
    on = on or clock.today()
    contracts = db.session.scalars(
        select(Contract)
        .join(Agent, Agent.id == Contract.agent_id)
        .where(
            Contract.collectivity_id == collectivity_id,
            Contract.open_on(on),
        )
        .order_by(Agent.search_name, Agent.id, Contract.start_date)
    )
    rows = [
        [
            str(c.id),
            c.agent.ins or "",
            c.agent.civility.label,
            c.agent.first_name,
            c.agent.birth_name,
            c.agent.usage_name or "",
            format_date(c.agent.birth_date),
            c.contract_type.label,
            c.work_position.label,
            format_date(c.start_date),
            "",
        ]
        for c in contracts
    ]
    return importing.template_csv(ImportKind.exits, rows)


def example_template(kind: ImportKind) -> bytes:
    return importing.template_csv(kind)
