"""The home page: a page per role (SPEC H1) and the shortcuts the signed-in user can use.

The secretariat sees today's plages, the pending visit requests and the reserved plages still
unfilled; health staff their day; accounting each billing run's current period (what it issued)
and the overdue invoices; an employer its next convocations, pending requests, newly available
visit sheets and documents, invoices to pay and its statutory quota; Direction lands on the
dashboard. Each section is a constant number of SQL aggregates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose

from app import roles
from app.core import clock
from app.core.access import can, menu_item_visible


def _role_names(user: Any) -> set[str]:
    return {role.name for role in getattr(user, "roles", [])}


def _overdue(today: dt.date) -> tuple[int, Any]:
    """(number, amount left to pay) of the invoices past their due date: one statement."""
    from sqlalchemy import func, select

    from app.billing.models import Invoice, InvoiceKind, InvoiceStatus
    from app.extensions import db

    left = Invoice.total - Invoice.paid_amount - Invoice.credited_amount
    count, amount = db.session.execute(
        select(func.count(Invoice.id), func.coalesce(func.sum(left), 0)).where(
            Invoice.kind == InvoiceKind.facture,
            Invoice.status.in_([InvoiceStatus.emise, InvoiceStatus.partiellement_payee]),
            Invoice.due_date < today,
        )
    ).one()
    return int(count or 0), amount


def _employer_section(collectivity_id: int, today: dt.date) -> dict[str, Any]:
    from app.dashboards import queries
    from app.tenancy import current_scope

    counts = queries.employer_counts(collectivity_id, today)
    return {
        "convocations": queries.next_convocations(collectivity_id, clock.now_local()),
        "pending": counts.pending_requests,
        "new_sheets": counts.new_sheets,
        "new_documents": counts.new_documents,
        # Invoices are the primary account's (a secondary account has no « Factures »).
        "invoices": None
        if current_scope().is_secondary
        else queries.invoices_to_pay(collectivity_id, today),
        "quota": _quota(collectivity_id, today),
    }


def _quota(collectivity_id: int, today: dt.date) -> Any:
    """The year's statutory-medicine quota of a collectivity with an MSC convention (2
    statements), else None."""
    from app.rules.errors import DomainError
    from app.statutory import services

    known = services.facts(collectivity_id, today)
    if known.convention is None:
        return None
    try:
        return services.year_quota(collectivity_id, today.year, with_consumption=True, known=known)
    except DomainError:
        return None


class HomeView(IndexView):
    route_base = ""
    index_template = "medprev/index.html"

    @expose("/")
    def index(self) -> Any:
        shortcuts: list[tuple[str, str, str]] = []
        sections: dict[str, Any] = {}
        user = g.user
        if user is not None and user.is_authenticated:
            names = _role_names(user)
            if names == {roles.DIRECTION} and can("DashboardView.index"):
                return redirect(url_for("DashboardView.index"))
            sections = self._sections(names)
            menu = self.appbuilder.menu
            for category in menu.get_list():
                for item in category.childs or [category]:
                    if item.name == "-" or not item.get_url():
                        continue
                    if menu_item_visible(item):
                        shortcuts.append(
                            (item.label or item.name, item.get_url(), item.icon or "fa-angle-right")
                        )
        return self.render_template(
            self.index_template,
            appbuilder=self.appbuilder,
            shortcuts=shortcuts[:12],
            home=sections,
        )

    def _sections(self, names: set[str]) -> dict[str, Any]:
        from app.dashboards import queries
        from app.tenancy import current_scope

        today = clock.today()
        sections: dict[str, Any] = {"today": today}
        if roles.SECRETARIAT in names:
            sections["secretariat"] = {
                "plages": queries.plages_of_day(today),
                "pending": queries.pending_requests(),
                "unfilled": queries.unfilled_reserved(today),
            }
        if roles.SANTE in names:
            sections["health"] = {"plages": queries.plages_of_day(today, g.user.id)}
        if roles.COMPTABILITE in names:
            from app.billing.runs import runs_to_do

            sections["accounting"] = {"overdue": _overdue(today), "runs": runs_to_do(today)}
        if names & {roles.DIRECTION, roles.ADMIN}:
            sections["dashboard"] = True
        scope = current_scope()
        if scope.is_employer and scope.collectivity_id is not None:
            sections["employer"] = _employer_section(scope.collectivity_id, today)
            if not scope.is_secondary:  # the annual declaration's banner (SPEC F1)
                from app.billing.declarations import pending_banner

                sections["declaration"] = pending_banner(scope.collectivity_id, today)
        return sections
