"""Invoice screens (SPEC F7): the employer's « Factures » (the SSTRN-EXTRANET list: number, date,
due date, label, amount, paid mark, PDF) and Comptabilité › Factures (filters, an invoice with
its lines and their sources, record a payment, issue a credit note, overdue invoices).

There is no edit and no delete of an issued invoice: payments and credit notes are the only
changes. Every query is constant per page (a count and a page, lines loaded in one IN query).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_wtf import FlaskForm
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app import roles
from app.billing import invoices as services
from app.billing.invoice_pdf import invoice_pdf
from app.billing.models import Invoice, InvoiceKind, InvoiceStatus, Payment
from app.core import clock, files
from app.core.paging import listing
from app.core.views import READ, WRITE, FrenchDateField, FrenchDecimalField, run_service
from app.extensions import db
from app.referential.models import Collectivity
from app.security import register_resources

# Resources (permission names).
INVOICE = "Invoice"  # REST resource ``invoice`` (read-only)
INVOICE_DESK = "InvoiceDesk"  # Comptabilité › Factures et avoirs (payments, credit notes)
MY_INVOICES = "MyInvoices"  # the employer's « Factures » (primary account only)
register_resources(
    {
        INVOICE: {
            roles.COMPTABILITE: (READ,),
            roles.DIRECTION: (READ,),
            roles.EMPLOYER_PRIMARY: (READ,),
        },
        INVOICE_DESK: {roles.COMPTABILITE: (READ, WRITE), roles.DIRECTION: (READ,)},
        MY_INVOICES: {roles.EMPLOYER_PRIMARY: (READ,)},
    }
)

NATURES = {
    "": "Toutes les pièces",
    "a_regler": "À régler",
    "reglees": "Réglées",
    "avoirs": "Avoirs",
}
UNPAID = (InvoiceStatus.emise, InvoiceStatus.partiellement_payee)
REQUIRED = "Ce champ est obligatoire."


def _by_nature(query: Select[Any], nature: str) -> Select[Any]:
    if nature == "a_regler":
        return query.where(Invoice.kind == InvoiceKind.facture, Invoice.status.in_(UNPAID))
    if nature == "reglees":
        return query.where(
            Invoice.kind == InvoiceKind.facture, Invoice.status == InvoiceStatus.payee
        )
    if nature == "avoirs":
        return query.where(Invoice.kind == InvoiceKind.avoir)
    return query


def _number_filter(query: Select[Any], number: str) -> Select[Any]:
    digits = "".join(ch for ch in number if ch.isdigit())[:8]
    if digits:
        query = query.where(Invoice.number.startswith(digits, autoescape=True))
    return query


def _pdf_response(invoice_id: int) -> Any:
    rendered = invoice_pdf(invoice_id)
    if rendered is None:
        abort(404)
    data, filename = rendered
    return files.download_response(data, filename)


class EmployerInvoicesView(BaseView):
    """« Factures » of the employer (SSTRN-EXTRANET « Les Factures »)."""

    route_base = "/portail/factures"
    needs_collectivity = True
    default_view = "index"
    class_permission_name = MY_INVOICES
    method_permission_name = {"index": READ, "download": READ}

    @expose("/")
    @has_access
    def index(self) -> Any:
        number = request.args.get("numero", "")[:20].strip()
        nature = request.args.get("nature", "")
        nature = nature if nature in NATURES else ""
        page = listing(default_size=25)
        query = _by_nature(_number_filter(select(Invoice), number), nature)
        total = db.session.scalar(query.with_only_columns(func.count(Invoice.id))) or 0
        rows = list(
            db.session.scalars(
                query.order_by(Invoice.issue_date.desc(), Invoice.id.desc())
                .offset(page.offset)
                .limit(page.size)
            )
        )
        return self.render_template(
            "billing/invoice_employer_list.html",
            title="Factures",
            rows=rows,
            number=number,
            nature=nature,
            natures=NATURES,
            page=page.page,
            pages=page.pages(total),
            total=total,
            sepa_mandate=_own_sepa_mandate(),
        )

    @expose("/<int:invoice_id>/pdf")
    @has_access
    def download(self, invoice_id: int) -> Any:
        # Another collectivity's invoice is not found through the scope's criteria: 404.
        return _pdf_response(invoice_id)


class PaymentForm(FlaskForm):
    amount = FrenchDecimalField(
        "Montant réglé (€)", places=2, validators=[DataRequired(message=REQUIRED)]
    )
    paid_on = FrenchDateField("Date du règlement", validators=[DataRequired(message=REQUIRED)])
    reference = StringField(
        "Référence (virement, mandat...)", validators=[Optional(), Length(max=120)]
    )


class CreditNoteForm(FlaskForm):
    amount = FrenchDecimalField(
        "Montant de l'avoir (€)", places=2, validators=[DataRequired(message=REQUIRED)]
    )
    reason = TextAreaField("Motif", validators=[DataRequired(message=REQUIRED), Length(max=2000)])


def _parse_date(raw: str) -> dt.date | None:
    from app.rules.dates import parse_french_date
    from app.rules.errors import DomainError

    raw = raw.strip()[:10]
    if not raw:
        return None
    try:
        return parse_french_date(raw)
    except DomainError:
        flash(f"Date ignorée (format attendu JJ/MM/AAAA) : {raw}", "warning")
        return None


class AccountingInvoicesView(BaseView):
    """Comptabilité › Factures: list, detail with lines and sources, payments, credit notes."""

    route_base = "/comptabilite/factures"
    default_view = "index"
    class_permission_name = INVOICE_DESK
    method_permission_name = {
        "index": READ,
        "overdue": READ,
        "show": READ,
        "download": READ,
        "pay": WRITE,
        "credit": WRITE,
    }

    def _list(self, query: Select[Any], template_title: str, overdue: bool = False) -> Any:
        page = listing(("date", "echeance", "numero", "montant"), "date", default_descending=True)
        sorts = {
            "date": (Invoice.issue_date, Invoice.id),
            "echeance": (Invoice.due_date, Invoice.id),
            "numero": (Invoice.number,),
            "montant": (Invoice.total, Invoice.id),
        }
        total = db.session.scalar(query.with_only_columns(func.count(Invoice.id))) or 0
        sums = db.session.execute(
            query.with_only_columns(
                func.coalesce(func.sum(Invoice.total), 0),
                func.coalesce(func.sum(Invoice.paid_amount), 0),
            )
        ).one()
        rows = list(
            db.session.scalars(
                query.options(joinedload(Invoice.collectivity))
                .order_by(*page.order_by(sorts))
                .offset(page.offset)
                .limit(page.size)
            )
        )
        return self.render_template(
            "billing/invoice_accounting_list.html",
            title=template_title,
            rows=rows,
            total=total,
            sum_total=Decimal(sums[0]) if not isinstance(sums[0], Decimal) else sums[0],
            sum_paid=Decimal(sums[1]) if not isinstance(sums[1], Decimal) else sums[1],
            listing=page,
            page=page.page,
            pages=page.pages(total),
            args=request.args,
            statuses=InvoiceStatus.choices(),
            natures=NATURES,
            overdue=overdue,
            today=clock.today(),
        )

    @expose("/")
    @has_access
    def index(self) -> Any:
        args = request.args
        query = _number_filter(select(Invoice), args.get("numero", "")[:20])
        name = args.get("collectivite", "")[:100].strip()
        if name:
            query = query.join(Collectivity, Collectivity.id == Invoice.collectivity_id).where(
                or_(
                    Collectivity.name.ilike(f"%{_escape(name)}%", escape="\\"),
                    Collectivity.siret.startswith(name, autoescape=True),
                )
            )
        status = args.get("statut", "")
        if status in InvoiceStatus.__members__:
            query = query.where(Invoice.status == InvoiceStatus[status])
        query = _by_nature(query, args.get("nature", "") if args.get("nature") in NATURES else "")
        start, end = _parse_date(args.get("du", "")), _parse_date(args.get("au", ""))
        if start:
            query = query.where(Invoice.issue_date >= start)
        if end:
            query = query.where(Invoice.issue_date <= end)
        return self._list(query, "Factures et avoirs")

    @expose("/en-retard")
    @has_access
    def overdue(self) -> Any:
        query = select(Invoice).where(
            Invoice.kind == InvoiceKind.facture,
            Invoice.status.in_(UNPAID),
            Invoice.due_date < clock.today(),
        )
        return self._list(query, "Factures échues non réglées", overdue=True)

    def _invoice(self, invoice_id: int) -> Invoice:
        invoice: Invoice | None = db.session.scalar(
            select(Invoice)
            .where(Invoice.id == invoice_id)
            .options(joinedload(Invoice.collectivity), selectinload(Invoice.lines))
        )
        if invoice is None:
            abort(404)
        return invoice

    def _show(self, invoice: Invoice, payment_form: Any = None, credit_form: Any = None) -> Any:
        payments = list(
            db.session.scalars(
                select(Payment)
                .where(Payment.invoice_id == invoice.id)
                .order_by(Payment.paid_on, Payment.id)
            )
        )
        related = list(
            db.session.scalars(
                select(Invoice)
                .where(
                    or_(
                        Invoice.credit_for_id == invoice.id,
                        Invoice.id == invoice.credit_for_id,
                    )
                )
                .order_by(Invoice.id)
            )
        )
        return self.render_template(
            "billing/invoice_show.html",
            title=f"{invoice.kind.label} {invoice.number}",
            invoice=invoice,
            payments=payments,
            related=related,
            payment_form=payment_form or PaymentForm(formdata=None, paid_on=clock.today()),
            credit_form=credit_form or CreditNoteForm(formdata=None),
            can_write=self.appbuilder.sm.has_access("can_write", INVOICE_DESK),
        )

    @expose("/<int:invoice_id>")
    @has_access
    def show(self, invoice_id: int) -> Any:
        return self._show(self._invoice(invoice_id))

    @expose("/<int:invoice_id>/pdf")
    @has_access
    def download(self, invoice_id: int) -> Any:
        return _pdf_response(invoice_id)

    @expose("/<int:invoice_id>/reglement", methods=["POST"])
    @has_access
    def pay(self, invoice_id: int) -> Any:
        invoice = self._invoice(invoice_id)
        form = PaymentForm()
        if form.validate():
            ran = run_service(
                lambda: services.record_payment(
                    invoice.id,
                    form.amount.data,
                    form.paid_on.data or clock.today(),
                    form.reference.data,
                ),
                form,
            )
            if ran:
                flash("Règlement enregistré.", "success")
                return redirect(url_for("AccountingInvoicesView.show", invoice_id=invoice_id))
            invoice = self._invoice(invoice_id)
        return self._show(invoice, payment_form=form), 400

    @expose("/<int:invoice_id>/avoir", methods=["POST"])
    @has_access
    def credit(self, invoice_id: int) -> Any:
        invoice = self._invoice(invoice_id)
        form = CreditNoteForm()
        if form.validate():
            ran = run_service(
                lambda: services.credit_note(
                    invoice.id, amount=form.amount.data, reason=form.reason.data
                ),
                form,
            )
            if ran:
                flash(f"Avoir {ran.result.number} émis.", "success")
                return redirect(url_for("AccountingInvoicesView.show", invoice_id=ran.result.id))
            invoice = self._invoice(invoice_id)
        return self._show(invoice, credit_form=form), 400


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _own_sepa_mandate() -> Any:
    """The employer's SEPA mandate (app.payments, issue 18): one query, scoped to its tenant."""
    from app.payments.models import SepaMandate

    return db.session.scalar(select(SepaMandate).limit(1))
