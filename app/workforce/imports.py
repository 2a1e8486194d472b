"""The three imports (SPEC C5): every row checked (file and database) before anything is written;
all or nothing; the same file twice creates nothing twice (an existing record is an error)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from app.core import clock
from app.core.types import utcnow
from app.extensions import db
from app.referential.models import Civility, ContractType, Risk
from app.rules.formatting import fold, format_date
from app.tenancy import collectivity_scope, current_scope
from app.workforce import importing
from app.workforce.importing import ImportIssue, ImportKind, ImportRejected
from app.workforce.models import Agent, AgentAssignment, Contract, PositionRisk, WorkPosition

IMPORT_BATCH = 1000

KIND_LABELS = {
    ImportKind.positions: "Postes de travail",
    ImportKind.agents: "Création de salariés",
    ImportKind.exits: "Fins de contrats",
}


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
    """Validate the whole file, then write it; raises ImportRejected (nothing written) otherwise."""
    _check_reference_data(kind)
    rows = importing.read_table(data, filename, max_bytes=current_app.config["IMPORT_MAX_BYTES"])
    # File errors and database errors are reported together: the user fixes everything at once.
    issues: list[ImportIssue] = []
    if kind is ImportKind.positions:
        count = _import_positions(importing.parse_positions(rows, issues), collectivity_id, issues)
    elif kind is ImportKind.agents:
        parsed = importing.parse_agents(rows, today=clock.today(), found=issues)
        count = _import_agents(parsed, collectivity_id, issues)
    else:
        count = _import_exits(importing.parse_exits(rows, issues), collectivity_id, issues)
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
    rows: list[importing.AgentRow], collectivity_id: int, issues: list[ImportIssue]
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
    for row in rows:
        position = positions.get((row.pcs_code, fold(row.position_label)))
        if position is None:
            issues.append(
                ImportIssue(
                    row.line,
                    "Libelle du type de poste",
                    f"Aucun poste « {row.position_label} » de code PCS {row.pcs_code} n'existe pour cette "
                    "collectivité : déclarez-le d'abord (onglet « Postes »), avec exactement ce libellé et ce code.",
                )
            )
        elif position.is_closed:
            issues.append(
                ImportIssue(
                    row.line,
                    "Libelle du type de poste",
                    f"Le poste « {position.label} » est clôturé : réactivez-le d'abord.",
                )
            )
        if fold(row.contract_type_label) not in contract_types:
            known = ", ".join(sorted({t.label for t in contract_types.values()}))
            issues.append(
                ImportIssue(
                    row.line,
                    "Libelle du type de contrat",
                    f"Type de contrat « {row.contract_type_label} » inconnu (attendu : {known}).",
                )
            )
        if row.ins and row.ins in existing_ins:
            issues.append(
                ImportIssue(
                    row.line,
                    "INS",
                    f"Un agent avec l'INS {row.ins} existe déjà : ce fichier ne crée que de nouveaux agents.",
                )
            )
        elif (fold(row.birth_name), fold(row.first_name), row.birth_date) in existing_people:
            issues.append(
                ImportIssue(
                    row.line,
                    "Nom de naissance",
                    f"L'agent {row.birth_name} {row.first_name} né(e) le {format_date(row.birth_date)} existe déjà.",
                )
            )
    _reject_all(issues)
    scope = current_scope()
    by_employer = scope.is_employer
    validated_at = None if by_employer else utcnow()
    position_ids = {key: position.id for key, position in positions.items()}
    type_ids = {key: contract_type.id for key, contract_type in contract_types.items()}
    # Written by batches, each flushed then let go: memory stays flat whatever the file size.
    for start in range(0, len(rows), IMPORT_BATCH):
        batch = []
        for row in rows[start : start + IMPORT_BATCH]:
            agent = Agent(
                collectivity_id=collectivity_id,
                civility=Civility[row.civility],
                first_name=" ".join(row.first_name.split()),
                birth_name=" ".join(row.birth_name.split()).upper(),
                usage_name=" ".join(row.usage_name.split()).upper() if row.usage_name else None,
                birth_date=row.birth_date,
                ins=row.ins,
                created_by_employer=by_employer,
                validated_at=validated_at,
            )
            written = [
                agent,
                Contract(
                    agent=agent,
                    collectivity_id=collectivity_id,
                    work_position_id=position_ids[(row.pcs_code, fold(row.position_label))],
                    contract_type_id=type_ids[fold(row.contract_type_label)],
                    start_date=row.entry_date,
                    end_date=row.exit_date,
                ),
            ]
            if scope.is_secondary:
                written.append(
                    AgentAssignment(
                        agent=agent,
                        user_id=scope.secondary_user_id,
                        collectivity_id=collectivity_id,
                    )
                )
            batch.extend(written)
        db.session.add_all(batch)
        db.session.flush()
        for item in batch:
            if isinstance(item, Agent):
                db.session.expunge(item)  # its contract and assignment go with it (cascade)
    return len(rows)


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
        .order_by(Agent.birth_name, Agent.first_name, Contract.start_date)
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
