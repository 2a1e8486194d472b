"""Portability (SPEC J1): everything held on one agent, as one JSON document or one CSV file.

The document is a list of sections (identity, career, positions, secondary accounts,
appointments, staged changes); a later issue adds its own (visit requests, documents) with
``@section(...)``. A section marked ``medical`` is only written for the health roles (SPEC J3).
Rows are read in the caller's scope (app/tenancy.py): an employer exports only an agent of his
collectivity, and the agent of another one is « not found ». Every export is written to the
audit log (who exported whom, in which format), never with the exported values.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app import roles
from app.core import audit
from app.core.spreadsheet import csv_bytes
from app.core.types import LabelledEnum
from app.extensions import db
from app.planning.models import Appointment
from app.rules.errors import DomainError
from app.workforce.models import Agent, AgentAssignment, StagedAgentChange

FORMATS = ("json", "csv")
FORMAT_VERSION = "medecineprev-portabilite/1"
HEALTH_ROLES = frozenset({roles.SANTE})

Row = dict[str, Any]


class AgentNotFound(DomainError):
    def __init__(self, agent_id: object) -> None:
        super().__init__(f"Agent introuvable : {agent_id}.")


@dataclass(frozen=True)
class Section:
    key: str
    title: str  # French, the CSV's section heading
    columns: dict[str, str]  # key -> French column heading
    rows: Callable[[Agent], list[Row]]
    medical: bool = False


SECTIONS: list[Section] = []


def section(
    key: str, title: str, columns: dict[str, str], *, medical: bool = False
) -> Callable[[Callable[[Agent], list[Row]]], Callable[[Agent], list[Row]]]:
    """Register a section of the export (a domain adds what it holds on an agent)."""

    def register(function: Callable[[Agent], list[Row]]) -> Callable[[Agent], list[Row]]:
        if any(existing.key == key for existing in SECTIONS):
            raise ValueError(f"Section {key} declared twice")
        SECTIONS.append(Section(key, title, columns, function, medical))
        return function

    return register


def _label(value: LabelledEnum | None) -> str | None:
    return value.label if value is not None else None


@section(
    "identite",
    "Identité",
    {
        "id": "Identifiant",
        "civilite": "Civilité",
        "prenom": "Prénom",
        "nom_naissance": "Nom de naissance",
        "nom_usage": "Nom d'usage",
        "date_naissance": "Date de naissance",
        "ins": "INS",
        "statut": "Statut",
        "service": "Service",
        "collectivite": "Collectivité",
        "siret_collectivite": "SIRET de la collectivité",
        "valide_le": "Validé par le CDG le",
        "cree_par_employeur": "Créé par l'employeur",
        "cree_le": "Créé le",
        "modifie_le": "Modifié le",
    },
)
def _identity(agent: Agent) -> list[Row]:
    return [
        {
            "id": agent.id,
            "civilite": _label(agent.civility),
            "prenom": agent.first_name,
            "nom_naissance": agent.birth_name,
            "nom_usage": agent.usage_name,
            "date_naissance": agent.birth_date,
            "ins": agent.ins,
            "statut": _label(agent.status),
            "service": agent.service,
            "collectivite": agent.collectivity.name,
            "siret_collectivite": agent.collectivity.siret,
            "valide_le": agent.validated_at,
            "cree_par_employeur": agent.created_by_employer,
            "cree_le": agent.created_at,
            "modifie_le": agent.updated_at,
        }
    ]


@section(
    "carriere",
    "Carrière",
    {
        "id": "Identifiant",
        "poste": "Poste",
        "code_pcs": "Code PCS",
        "type_contrat": "Type de contrat",
        "debut": "Début",
        "fin": "Fin",
    },
)
def _career(agent: Agent) -> list[Row]:
    return [
        {
            "id": contract.id,
            "poste": contract.work_position.label,
            "code_pcs": contract.work_position.pcs_code,
            "type_contrat": contract.contract_type.label,
            "debut": contract.start_date,
            "fin": contract.end_date,
        }
        for contract in sorted(agent.contracts, key=lambda c: (c.start_date, c.id))
    ]


@section(
    "postes",
    "Postes occupés et leurs risques",
    {"id": "Identifiant", "poste": "Poste", "code_pcs": "Code PCS", "risques": "Risques"},
)
def _positions(agent: Agent) -> list[Row]:
    positions = {contract.work_position.id: contract.work_position for contract in agent.contracts}
    return [
        {
            "id": position.id,
            "poste": position.label,
            "code_pcs": position.pcs_code,
            "risques": position.risks_summary,
        }
        for position in sorted(positions.values(), key=lambda p: p.id)
    ]


@section(
    "comptes_secondaires",
    "Comptes secondaires qui gèrent l'agent",
    {"identifiant_compte": "Compte", "depuis": "Depuis"},
)
def _assignments(agent: Agent) -> list[Row]:
    rows = db.session.execute(
        select(User.username, AgentAssignment.created_at)
        .join(User, User.id == AgentAssignment.user_id)
        .where(AgentAssignment.agent_id == agent.id)
        .order_by(AgentAssignment.id)
    ).all()
    return [{"identifiant_compte": row.username, "depuis": row.created_at} for row in rows]


@section(
    "rendez_vous",
    "Rendez-vous",
    {
        "id": "Identifiant",
        "debut": "Date et heure",
        "lieu": "Lieu",
        "professionnel": "Professionnel",
        "type_visite": "Type de visite",
        "etat": "État",
        "commentaire": "Commentaire",
        "annule_le": "Annulé le",
        "motif_annulation": "Motif d'annulation",
    },
)
def _appointments(agent: Agent) -> list[Row]:
    appointments = db.session.scalars(
        select(Appointment)
        .where(Appointment.agent_id == agent.id)
        .order_by(Appointment.starts_at, Appointment.id)
    ).unique()
    return [
        {
            "id": a.id,
            "debut": a.starts_at,
            "lieu": a.plage.office.name,
            "professionnel": str(a.plage.professional),
            "type_visite": a.visit_type.label,
            "etat": a.status.label,
            "commentaire": a.comment,
            "annule_le": a.cancelled_at,
            "motif_annulation": a.cancellation_reason,
        }
        for a in appointments
    ]


@section(
    "modifications",
    "Modifications demandées par l'employeur",
    {
        "id": "Identifiant",
        "champ": "Champ",
        "ancienne_valeur": "Ancienne valeur",
        "nouvelle_valeur": "Nouvelle valeur",
        "etat": "État",
        "demandee_le": "Demandée le",
        "traitee_le": "Traitée le",
        "note": "Note",
    },
)
def _staged_changes(agent: Agent) -> list[Row]:
    changes = db.session.scalars(
        select(StagedAgentChange)
        .where(StagedAgentChange.agent_id == agent.id)
        .order_by(StagedAgentChange.id)
    )
    return [
        {
            "id": c.id,
            "champ": c.field_label,
            "ancienne_valeur": c.old_value,
            "nouvelle_valeur": c.new_value,
            "etat": c.status.label,
            "demandee_le": c.created_at,
            "traitee_le": c.processed_at,
            "note": c.note,
        }
        for c in changes
    ]


@section(
    "demandes_visite",
    "Demandes de visite",
    {
        "id": "Identifiant",
        "type_visite": "Type de visite",
        "etat": "État",
        "demandee_le": "Demandée le",
        "situations": "Situations",
        "informations": "Informations complémentaires",
        "echeance": "Échéance",
        "motif_refus": "Motif du refus",
    },
)
def _visit_requests(agent: Agent) -> list[Row]:
    from app.visits.models import VisitRequest

    requests = db.session.scalars(
        select(VisitRequest).where(VisitRequest.agent_id == agent.id).order_by(VisitRequest.id)
    ).unique()
    return [
        {
            "id": r.id,
            "type_visite": r.visit_type.label,
            "etat": r.state.label,
            "demandee_le": r.created_on,
            "situations": ", ".join(r.situations or ()),
            "informations": r.information,
            "echeance": r.deadline_on,
            "motif_refus": r.refusal_reason,
        }
        for r in requests
    ]


@section(
    "consultations",
    "Consultations (avis, sans les notes médicales)",
    {
        "id": "Identifiant",
        "date": "Date de la visite",
        "type_visite": "Type de visite",
        "professionnel": "Professionnel",
        "avis": "Avis",
        "restrictions": "Restrictions / aménagements",
        "prochaine_visite": "Prochaine visite",
        "confidentielle": "Confidentielle",
    },
    medical=True,
)
def _consultations(agent: Agent) -> list[Row]:
    # Medical notes stay out: each of their reads is logged one by one (SPEC J3).
    from app.visits.consultation_models import Consultation

    consultations = db.session.scalars(
        select(Consultation)
        .where(Consultation.agent_id == agent.id)
        .order_by(Consultation.visit_date, Consultation.id)
    ).unique()
    return [
        {
            "id": c.id,
            "date": c.visit_date,
            "type_visite": c.visit_type.label,
            "professionnel": str(c.professional),
            "avis": c.outcome.label,
            "restrictions": c.restrictions,
            "prochaine_visite": c.next_visit_on,
            "confidentielle": c.is_confidential,
        }
        for c in consultations
    ]


# ----------------------------------------------------------------------------------------------
# The export
# ----------------------------------------------------------------------------------------------


def may_see_medical(role_names: set[str]) -> bool:
    """SPEC J3: medical content is for the health roles only."""
    return bool(role_names & HEALTH_ROLES)


def collect(
    agent_id: int, *, medical: bool = False
) -> tuple[Agent, list[tuple[Section, list[Row]]]]:
    """The agent (read in the caller's scope: AgentNotFound when out of it) and his sections."""
    agent = db.session.get(Agent, agent_id)
    if agent is None:
        raise AgentNotFound(agent_id)
    return agent, [(s, s.rows(agent)) for s in SECTIONS if medical or not s.medical]


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _csv_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return "oui" if value else "non"
    return value


def to_json(agent: Agent, sections: list[tuple[Section, list[Row]]], now: dt.datetime) -> bytes:
    document = {
        "format": FORMAT_VERSION,
        "genere_le": now.isoformat(),
        "agent_id": agent.id,
        "sections": {
            s.key: [{k: _json_value(v) for k, v in row.items()} for row in rows]
            for s, rows in sections
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def to_csv(agent: Agent, sections: list[tuple[Section, list[Row]]], now: dt.datetime) -> bytes:
    """One CSV file (UTF-8 with BOM, « ; »): each section is its title, its column headings and
    its rows, then an empty line. Every cell goes through the safe writer (no formula)."""
    lines: list[list[Any]] = [[f"Export des données de l'agent {agent.id}", _csv_value(now)], []]
    for s, rows in sections:
        lines.append([s.title])
        lines.append(list(s.columns.values()))
        for row in rows:
            lines.append([_csv_value(row.get(key)) for key in s.columns])
        if not rows:
            lines.append(["(aucune donnée)"])
        lines.append([])
    return csv_bytes(lines[0], lines[1:])


def export_agent(
    agent_id: int, fmt: str, *, medical: bool, now: dt.datetime
) -> tuple[Agent, bytes]:
    """Build the export and write it to the audit log (the caller commits)."""
    if fmt not in FORMATS:
        raise DomainError(f"Format inconnu : {fmt} (json ou csv).")
    agent, sections = collect(agent_id, medical=medical)
    content = (to_json if fmt == "json" else to_csv)(agent, sections, now)
    audit.log_event(
        action="export",
        table_name="agent",
        row_id=str(agent.id),
        collectivity_id=agent.collectivity_id,
        details={"format": fmt, "sections": ", ".join(s.key for s, _ in sections)},
    )
    return agent, content


def filename(agent: Agent, fmt: str) -> str:
    return f"agent-{agent.id}-donnees.{fmt}"
