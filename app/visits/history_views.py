"""« Historique des consultations » (SPEC E4): the agents seen, searched by dates, visit type,
professional, agent and collectivity, exported as CSV / XLSX; and the import of a former tool's
history (CONTRACT.md §3). Health staff and secretariat only; no medical content (the outcome
is the only result shown, never a note)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from flask import Response, abort, current_app, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app import roles
from app.core import paging
from app.core.exports import export_links
from app.core.views import READ, WRITE
from app.extensions import db
from app.referential.models import Professional, VisitType
from app.rules.dates import parse_french_date
from app.rules.errors import DomainError
from app.security import register_resources
from app.tenancy import TenantViolation
from app.visits import history_exports
from app.visits.history_exports import SORTS, HistoryFilters

CONSULTATION_HISTORY = "ConsultationHistory"
register_resources(
    {CONSULTATION_HISTORY: {roles.SANTE: (READ, WRITE), roles.SECRETARIAT: (READ, WRITE)}}
)

PAGE_SIZE = 25


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _date_arg(name: str, label: str, problems: list[str]) -> dt.date | None:
    raw = request.args.get(name, "").strip()[:40]
    if not raw:
        return None
    try:
        return parse_french_date(raw)
    except DomainError as exc:
        problems.append(f"{label} : {exc.message} Le filtre n'est pas appliqué.")
        return None


def read_filters() -> tuple[HistoryFilters, list[str]]:
    """The request's filters; a date that does not read is ignored, with a French message."""
    problems: list[str] = []
    start = _date_arg("du", "Du", problems)
    end = _date_arg("au", "Au", problems)
    if start and end and end < start:
        problems.append(
            "La date de fin précède la date de début : aucune visite ne peut s'y trouver."
        )
    return (
        HistoryFilters(
            start=start,
            end=end,
            visit_type_id=_int_arg("type"),
            professional_id=_int_arg("professionnel"),
            collectivity_id=_int_arg("collectivite"),
            name=request.args.get("agent", "").strip()[:100],
        ),
        problems,
    )


def _listing() -> paging.Listing:
    return paging.listing(SORTS, "date", default_size=PAGE_SIZE, default_descending=True)


def _ordered(filters: HistoryFilters) -> Any:
    return history_exports.history_statement(filters).order_by(*_listing().order_by(SORTS))


class ConsultationHistoryView(BaseView):
    """« Historique des consultations »: search, export, import."""

    route_base = "/consultations/historique"
    default_view = "index"
    class_permission_name = CONSULTATION_HISTORY
    method_permission_name = {
        "index": READ,
        "export": READ,
        "import_page": WRITE,
        "template": WRITE,
        "upload": WRITE,
    }

    @expose("/")
    @has_access
    def index(self) -> Any:
        from app.workforce.views import collectivity_choices

        filters, problems = read_filters()
        listing = _listing()
        query = history_exports.history_statement(filters)
        total = history_exports.count(query)
        pages = max(1, math.ceil(total / listing.size))
        rows = list(
            db.session.execute(
                query.order_by(*listing.order_by(SORTS)).limit(listing.size).offset(listing.offset)
            )
        )
        return self.render_template(
            "history/index.html",
            title="Historique des consultations",
            rows=rows,
            filters=filters,
            args=request.args,
            problems=problems,
            listing=listing,
            page=listing.page,
            pages=pages,
            total=total,
            agent_name=history_exports.agent_name,
            professional_name=history_exports.professional_name,
            visit_types=list(
                db.session.execute(
                    select(VisitType.id, VisitType.label).order_by(
                        VisitType.sort_order, VisitType.id
                    )
                )
            ),
            professionals=list(
                db.session.execute(
                    select(
                        Professional.id, Professional.last_name, Professional.first_name
                    ).order_by(Professional.last_name, Professional.first_name, Professional.id)
                )
            ),
            collectivities=collectivity_choices(),
            export_links=export_links("ConsultationHistoryView.export"),
            can_import=self.appbuilder.sm.has_access("can_write", CONSULTATION_HISTORY),
        )

    @expose("/export/<fmt>")
    @has_access
    def export(self, fmt: str) -> Response:
        """Every row of the filtered list, in its order, as CSV or XLSX (streamed)."""
        filters, _ = read_filters()
        return history_exports.export_response(fmt, _ordered(filters))

    def _import_page(self, report: Any = None, result: Any = None) -> Any:
        return self.render_template(
            "history/import.html",
            title="Importer l'historique des consultations",
            report=report,
            result=result,
            headers=" ; ".join(_headers()),
            max_mb=current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024),
        )

    @expose("/import/")
    @has_access
    def import_page(self) -> Any:
        return self._import_page()

    @expose("/import/modele.csv")
    @has_access
    def template(self) -> Response:
        from app.visits.history_import import template_csv

        return Response(
            template_csv(),
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="historique_consultations.csv"'},
        )

    @expose("/import/", methods=["POST"])
    @has_access
    def upload(self) -> Any:
        from flask import flash

        from app.visits.history_import import run_history_import
        from app.workforce.importing import ImportRejected

        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("Choisissez un fichier à importer.", "danger")
            return self._import_page()
        write = request.form.get("action") == "importer"
        try:
            result = run_history_import(upload.read(), upload.filename, write=write)
        except ImportRejected as rejected:
            db.session.rollback()
            return self._import_page(report=rejected)
        except TenantViolation:
            db.session.rollback()
            abort(404)
        if write:
            db.session.commit()
        else:
            db.session.rollback()
        return self._import_page(result=result)


def _headers() -> tuple[str, ...]:
    from app.visits.history_import import HEADERS

    return HEADERS
