"""« Historique des consultations »: the statement of the list (filters, order) and its CSV /
XLSX export (SPEC E4). Rows are read as plain columns (no ORM entity, no lazy load): one
query per page, one per chunk of ``exports.CHUNK`` rows for an export, whatever its size.
No medical content: the outcome is the only result of the visit shown."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Response
from sqlalchemy import Select, func, select

from app.core import clock, exports
from app.core.exports import Export, column
from app.core.spreadsheet import csv_response, xlsx_response
from app.extensions import db
from app.referential.models import Collectivity, Professional, ProfessionalRole, VisitType
from app.visits.consultation_models import Consultation
from app.workforce.models import Agent


@dataclass(frozen=True)
class HistoryFilters:
    """What the list is filtered by (every field optional)."""

    start: dt.date | None = None
    end: dt.date | None = None
    visit_type_id: int | None = None
    professional_id: int | None = None
    collectivity_id: int | None = None
    name: str = ""

    @property
    def any(self) -> bool:
        return any(
            (
                self.start,
                self.end,
                self.visit_type_id,
                self.professional_id,
                self.collectivity_id,
                self.name,
            )
        )


# The sortable columns (``?tri=...&ordre=desc``), each ending on the id (pages never overlap).
SORTS: dict[str, tuple[Any, ...]] = {
    "date": (Consultation.visit_date, Consultation.id),
    "agent": (Agent.search_name, Consultation.visit_date, Consultation.id),
    "collectivite": (Collectivity.name, Consultation.visit_date, Consultation.id),
    "type": (VisitType.sort_order, Consultation.visit_date, Consultation.id),
    "professionnel": (
        Professional.last_name,
        Professional.first_name,
        Consultation.visit_date,
        Consultation.id,
    ),
}


def history_statement(filters: HistoryFilters) -> Any:
    """The consultations of the filters, unordered, as rows of plain columns."""
    from app.workforce import agents as agent_services

    query: Any = (
        select(
            Consultation.id,
            Consultation.visit_date,
            Consultation.outcome,
            Consultation.is_confidential,
            Consultation.sheet_available_on,
            Consultation.appointment_id,
            Collectivity.name.label("collectivity"),
            Agent.id.label("agent_id"),
            Agent.birth_name,
            Agent.usage_name,
            Agent.first_name,
            Agent.birth_date,
            VisitType.label.label("visit_type"),
            Professional.last_name.label("professional_last_name"),
            Professional.first_name.label("professional_first_name"),
            Professional.role.label("professional_role"),
        )
        .select_from(Consultation)
        .join(Agent, Agent.id == Consultation.agent_id)
        .join(Collectivity, Collectivity.id == Consultation.collectivity_id)
        .join(VisitType, VisitType.id == Consultation.visit_type_id)
        .join(Professional, Professional.id == Consultation.professional_id)
    )
    if filters.start is not None:
        query = query.where(Consultation.visit_date >= filters.start)
    if filters.end is not None:
        query = query.where(Consultation.visit_date <= filters.end)
    if filters.visit_type_id is not None:
        query = query.where(Consultation.visit_type_id == filters.visit_type_id)
    if filters.professional_id is not None:
        query = query.where(Consultation.professional_id == filters.professional_id)
    if filters.collectivity_id is not None:
        query = query.where(Consultation.collectivity_id == filters.collectivity_id)
    if filters.name:
        query = query.where(agent_services.name_clause(filters.name))
    return query


def count(query: Select[Any]) -> int:
    ids = query.with_only_columns(Consultation.id).subquery()
    return db.session.scalar(select(func.count()).select_from(ids)) or 0


def agent_name(row: Any) -> str:
    return f"{(row.usage_name or row.birth_name).upper()} {row.first_name}"


def professional_name(row: Any) -> str:
    title = "Dr " if row.professional_role is ProfessionalRole.medecin else ""
    return f"{title}{row.professional_first_name} {row.professional_last_name}"


def history_export() -> Export:
    """The columns of the list, in French."""
    return Export(
        "historique_consultations",
        [
            column("Date de la visite", lambda r: r.visit_date),
            column("Collectivité", lambda r: r.collectivity),
            column("Agent", agent_name),
            column("Date de naissance", lambda r: r.birth_date),
            column("Type de visite", lambda r: r.visit_type),
            column("Professionnel", professional_name),
            column("Avis", lambda r: r.outcome),
            column("Confidentielle", lambda r: r.is_confidential),
            column("Fiche disponible le", lambda r: r.sheet_available_on),
        ],
    )


def _chunks(statement: Select[Any], size: int = exports.CHUNK) -> Iterator[list[Any]]:
    result = db.session.execute(statement.execution_options(yield_per=size))
    for partition in result.partitions():
        yield list(partition)


def export_response(fmt: str, ordered: Select[Any]) -> Response:
    """The download of the filtered, ordered list (``fmt``: ``csv`` or ``xlsx``), streamed."""
    fmt = exports.requested_format(fmt)
    export = history_export()
    filename = f"{export.name}_{clock.today():%Y%m%d}.{fmt}"
    rows = export.rows(_chunks(ordered))
    if fmt == "csv":
        return csv_response(filename, export.header, (exports.csv_cells(r) for r in rows))
    return xlsx_response(filename, export.header, (exports.xlsx_cells(r) for r in rows))
