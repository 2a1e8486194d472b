"""REST resource ``invoice`` (CONTRACT.md §2) with its ``lines``, and ``GET /api/v1/invoice/<id>/pdf``.

Read-only for everyone: an issued invoice is never edited nor deleted through the API (payments
and credit notes are recorded on the accounting screens). Employers read their collectivity's
invoices (primary account only: a secondary account sees none, by the scope's criteria).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from marshmallow import Schema, fields
from sqlalchemy import select

from app.billing.invoice_pdf import invoice_pdf
from app.billing.invoice_views import INVOICE
from app.billing.models import Invoice, InvoiceLine, InvoiceStatus
from app.core import files
from app.core.views import AppModelRestApi
from app.extensions import db

LABELS = {
    "collectivity_id": "Collectivité",
    "number": "Numéro",
    "issue_date": "Date d'émission",
    "due_date": "Date d'échéance",
    "label": "Intitulé",
    "total": "Montant",
    "paid": "Payée",
    "paid_amount": "Montant réglé",
    "kind": "Nature",
    "status": "Statut",
    "credit_for_id": "Facture d'origine (avoir)",
    "credit_for": "Facture d'origine (avoir)",
    "collectivity": "Collectivité",
    "lines": "Lignes",
}


class InvoiceSchema(Schema):
    id = fields.Integer()
    collectivity_id = fields.Integer()
    number = fields.String()
    issue_date = fields.Date()
    due_date = fields.Date()
    label = fields.String()
    total = fields.Decimal(as_string=True)
    paid = fields.Function(lambda i: i.status is InvoiceStatus.payee)
    paid_amount = fields.Decimal(as_string=True)
    kind = fields.Function(lambda i: i.kind.name)
    status = fields.Function(lambda i: i.status.name)
    credited_invoice_id = fields.Integer(attribute="credit_for_id", allow_none=True)


def _line(line: InvoiceLine) -> dict[str, Any]:
    return {
        "label": line.label,
        "quantity": str(line.quantity),
        "unit_price": str(line.unit_price),
        "amount": str(line.amount),
        "source": line.source,
    }


def _lines_of(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The lines of these invoices in one query (constant per page)."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        rows = db.session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id.in_(ids))
            .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
        )
        for line in rows:
            found[line.invoice_id].append(_line(line))
    return found


class InvoiceDetailSchema(InvoiceSchema):
    """The same fields for one record: a schema of its own in the OpenAPI document (apispec
    refuses one schema class registered twice)."""


class InvoiceApi(AppModelRestApi):
    resource_name = "invoice"
    datamodel = SQLAInterface(Invoice)
    class_permission_name = INVOICE
    base_permissions = ["can_read"]
    include_route_methods = {"get", "get_list", "info", "pdf", "facturx"}
    method_permission_name = {
        **AppModelRestApi.method_permission_name,
        "pdf": "read",
        "facturx": "read",
    }
    show_title = "Facture"
    list_title = "Factures et avoirs"
    label_columns = LABELS
    list_columns = [
        "id",
        "collectivity_id",
        "number",
        "issue_date",
        "due_date",
        "label",
        "total",
        "paid_amount",
        "kind",
        "status",
        "credit_for_id",
    ]
    show_columns = list_columns
    search_columns = ["collectivity_id", "number", "issue_date", "due_date", "kind", "status"]
    order_columns = ["issue_date", "due_date", "number", "id"]
    base_order = ("id", "desc")
    list_model_schema = InvoiceSchema()
    show_model_schema = InvoiceDetailSchema()

    def pre_get_list(self, data: dict[str, Any]) -> None:
        lines = _lines_of(list(data.get("ids") or []))
        for row in data.get("result") or []:
            if isinstance(row, dict) and "id" in row:
                row["lines"] = lines.get(row["id"], [])

    def pre_get(self, data: dict[str, Any]) -> None:
        result = data.get("result")
        if isinstance(result, dict):
            result["lines"] = _lines_of([data["id"]]).get(data["id"], [])

    @expose("/<int:pk>/pdf", methods=["GET"])
    @protect()
    @safe
    @permission_name("read")
    def pdf(self, pk: int) -> Any:
        """The invoice or credit note as a French PDF.
        ---
        get:
          responses:
            200:
              description: The invoice (application/pdf)
            404:
              $ref: '#/components/responses/404'
        """
        return self._download(invoice_pdf(pk))

    @expose("/<int:pk>/facturx", methods=["GET"])
    @protect()
    @safe
    @permission_name("read")
    def facturx(self, pk: int) -> Any:
        """The invoice or credit note as a Factur-X PDF/A-3 (EN 16931, issue 18).
        ---
        get:
          responses:
            200:
              description: The Factur-X invoice (application/pdf)
            404:
              $ref: '#/components/responses/404'
        """
        from app.einvoicing.facturx import facturx_pdf

        return self._download(facturx_pdf(pk))

    def _download(self, rendered: tuple[bytes, str] | None) -> Any:
        """A rendered invoice file as a download; 404 when the scoped lookup found nothing (an
        invoice of another collectivity answers exactly like a missing one)."""
        if rendered is None:
            return self.response_404()
        data, filename = rendered
        return files.download_response(data, filename)
