"""« Demandes à planifier » (SPEC E3): the due list of the employer (primary or secondary
account, its agents) and of the secretariat (every collectivity), with its CSV / XLSX export;
the Admin screen of the periodicity rules (Référentiels).

The list is one indexed query on ``due_date`` (plus its count): the rows are stored and kept
fresh by app.visits.due. Employers are scoped by app.tenancy like every other list.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from app.core import clock, paging
from app.core.access import can
from app.core.exports import Export, column, export_links, export_response
from app.core.views import READ, AppModelView
from app.extensions import db
from app.rules.periodicity import add_months
from app.security import Res
from app.visits import due as services
from app.visits.due_models import DueDate, DueKind, PeriodicityRuleRecord
from app.workforce import agents as agent_services
from app.workforce.models import Agent

PAGE_SIZE = 25
# « Échéance » choices: within N months, or already overdue.
HORIZONS = {"1": "1 mois", "3": "3 mois", "6": "6 mois", "12": "12 mois", "retard": "En retard"}
DEFAULT_HORIZON = "3"
# The visit type the « Demander » button pre-selects on the request form.
REQUEST_TYPES = {
    DueKind.periodique: "periodique",
    DueKind.intermediaire: "periodique",
    DueKind.certificat: "periodique",
    DueKind.medecin: "occasionnelle",
    DueKind.mi_carriere: "mi_carriere",
}


def _filters(staff: bool) -> dict[str, Any]:
    horizon = request.args.get("echeance", DEFAULT_HORIZON)
    horizon = horizon if horizon in HORIZONS else DEFAULT_HORIZON
    kind = request.args.get("type", "")
    kind = kind if kind in DueKind.__members__ else ""
    collectivity_id = None
    raw = request.args.get("collectivity_id", "")
    if staff and raw.isdigit():
        collectivity_id = int(raw)
    return {
        "echeance": horizon,
        "type": kind,
        "nom": (request.args.get("nom") or "").strip()[:100],
        "collectivity_id": collectivity_id,
    }


def _where(filters: dict[str, Any], today: dt.date) -> list[Any]:
    clauses: list[Any] = []
    if filters["echeance"] == "retard":
        clauses.append(DueDate.due_on < today)
    else:
        clauses.append(DueDate.due_on <= add_months(today, int(filters["echeance"])))
    if filters["type"]:
        clauses.append(DueDate.kind == DueKind[filters["type"]])
    if filters["collectivity_id"]:
        clauses.append(DueDate.collectivity_id == filters["collectivity_id"])
    if filters["nom"]:
        clauses.append(agent_services.name_clause(filters["nom"]))
    return clauses


def list_statement(filters: dict[str, Any], today: dt.date) -> Any:
    """The rows of the list in its order (due date, then the agent's name), without paging."""
    return (
        select(DueDate)
        .join(DueDate.agent)
        .where(*_where(filters, today))
        .options(contains_eager(DueDate.agent).lazyload(Agent.assignments))
        .order_by(DueDate.due_on, Agent.search_name, DueDate.id)
    )


# Counted up to here only (« plus de 5 000 résultats ») : the secretariat's whole horizon may
# hold tens of thousands of rows, and an exact figure nobody pages to costs a scan.
COUNT_CAP = 5000


def count_statement(filters: dict[str, Any], today: dt.date) -> Any:
    """The number of rows of the list, counted up to COUNT_CAP + 1 (an index range walk)."""
    query = select(DueDate.id)
    if filters["nom"]:
        query = query.join(Agent, Agent.id == DueDate.agent_id)
    limited = query.where(*_where(filters, today)).limit(COUNT_CAP + 1).subquery()
    return select(func.count()).select_from(limited)


def due_export(staff: bool, today: dt.date) -> Export:
    columns = [
        column("Nom et prénom", lambda d: d.agent.full_name),
        column("Échéance", lambda d: d.due_on),
        column("En retard", lambda d: d.due_on < today),
        column("Visite", lambda d: d.kind.label),
        column("Explication", lambda d: d.explanation),
        column("Référence juridique", lambda d: d.legal_reference),
    ]
    if staff:
        columns.insert(0, column("Collectivité", lambda d: d.agent.collectivity.name))
    return Export("demandes_a_planifier", columns)


def _collectivities() -> list[tuple[int, str]]:
    from app.workforce.views import collectivity_choices

    return collectivity_choices()


class _DueList(BaseView):
    default_view = "index"
    staff = False
    request_endpoint = ""
    method_permission_name = {"index": READ, "export": READ}

    def _page(self) -> Any:
        today = clock.today()
        filters = _filters(self.staff)
        asked = paging.listing(default_size=PAGE_SIZE)
        total = db.session.scalar(count_statement(filters, today)) or 0
        rows = list(
            db.session.scalars(
                list_statement(filters, today).limit(asked.size).offset(asked.offset)
            ).unique()
        )
        return self.render_template(
            "due/due_list.html",
            title="Demandes à planifier",
            rows=rows,
            filters=filters,
            horizons=HORIZONS,
            kinds=DueKind.choices(),
            page=asked.page,
            pages=asked.pages(min(total, COUNT_CAP)),
            size=asked.size,
            total=total,
            total_capped=total > COUNT_CAP,
            count_cap=COUNT_CAP,
            today=today,
            staff=self.staff,
            collectivities=_collectivities() if self.staff else [],
            request_endpoint=self.request_endpoint if can(self.request_endpoint) else "",
            request_types=REQUEST_TYPES,
            export_links=export_links(f"{type(self).__name__}.export"),
        )

    def _export(self, fmt: str) -> Any:
        today = clock.today()
        statement = list_statement(_filters(self.staff), today)
        return export_response(fmt, due_export(self.staff, today), statement)


class DueListView(_DueList):
    """The employer's « Demandes à planifier » (primary account, or a secondary: its agents)."""

    route_base = "/portail/demandes-a-planifier"
    needs_collectivity = True
    class_permission_name = Res.VISIT_REQUEST_FOLLOW_UP
    request_endpoint = "VisitRequestsView.new"

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._page()

    @expose("/export/<fmt>")
    @has_access
    def export(self, fmt: str) -> Any:
        return self._export(fmt)


class DueQueueView(_DueList):
    """The secretariat's « Demandes à planifier »: every collectivity, or the one chosen."""

    route_base = "/demandes-a-planifier"
    class_permission_name = Res.VISIT_REQUEST_QUEUE
    staff = True
    request_endpoint = "VisitRequestQueueView.new"

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._page()

    @expose("/export/<fmt>")
    @has_access
    def export(self, fmt: str) -> Any:
        return self._export(fmt)


class PeriodicityRuleView(AppModelView):
    """Référentiels › Périodicité des visites: dated rules, edited by Admin (DOMAIN.md §5)."""

    datamodel = SQLAInterface(PeriodicityRuleRecord)
    class_permission_name = Res.RISK
    list_title = "Périodicité des visites (règles datées)"
    show_title = "Règle de périodicité"
    add_title = "Nouvelle règle de périodicité"
    edit_title = "Modifier la règle de périodicité"
    list_columns = [
        "regime",
        "population",
        "months",
        "intermediate_months",
        "valid_from",
        "valid_to",
        "legal_reference",
    ]
    add_columns = list_columns
    edit_columns = list_columns
    show_columns = [*list_columns, "description"]
    search_columns = ["regime", "population", "valid_from", "valid_to"]
    order_columns = ["months", "valid_from", "valid_to"]
    base_order = ("valid_from", "asc")
    label_columns = {
        "regime": "Régime",
        "population": "Population concernée",
        "months": "Périodicité (mois)",
        "intermediate_months": "Visite intermédiaire (mois)",
        "valid_from": "En vigueur du",
        "valid_to": "au",
        "legal_reference": "Référence juridique",
        "description": "Règle",
    }
    description_columns = {
        "months": "Intervalle maximal entre deux visites (60 = 5 ans).",
        "intermediate_months": "Vide : pas de visite intermédiaire.",
        "valid_from": "Vide : depuis toujours.",
        "valid_to": "Vide : sans date de fin.",
    }

    def pre_add(self, item: PeriodicityRuleRecord) -> None:
        services.check_rule(item)

    def pre_update(self, item: PeriodicityRuleRecord) -> None:
        services.check_rule(item)

    # The edit only records the recompute (app.visits.due.flush_pending): the ``sync`` job does it.
    def post_add(self, item: PeriodicityRuleRecord) -> None:
        flash(services.RECOMPUTE_FLASH, "info")

    def post_update(self, item: PeriodicityRuleRecord) -> None:
        flash(services.RECOMPUTE_FLASH, "info")

    def post_delete(self, item: PeriodicityRuleRecord) -> None:
        flash(services.RECOMPUTE_FLASH, "info")
