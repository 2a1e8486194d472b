"""Factur-X downloads (employer, accounting) and « Pilotage › Dépôts Chorus Pro » (issue 18)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app import roles
from app.billing.invoice_views import INVOICE_DESK, MY_INVOICES
from app.billing.models import Invoice
from app.core import files
from app.core.views import READ, WRITE
from app.einvoicing.chorus import DEPOSITABLE
from app.einvoicing.facturx import facturx_pdf
from app.einvoicing.models import DEPOSITED, ChorusBatch, ChorusDeposit
from app.extensions import db
from app.security import register_resources

CHORUS_DEPOSITS = "ChorusDeposits"  # Pilotage › Dépôts Chorus Pro (Comptabilité, Admin)
register_resources({CHORUS_DEPOSITS: {roles.COMPTABILITE: (READ, WRITE)}})
MAX_BATCH = 200


def _facturx_response(invoice_id: int) -> Any:
    rendered = facturx_pdf(invoice_id)
    if rendered is None:
        abort(404)
    data, filename = rendered
    return files.download_response(data, filename)


class EmployerFacturxView(BaseView):
    """The employer's Factur-X download (« Factures »): its own invoices only (scope: 404)."""

    route_base = "/portail/factures-x"
    needs_collectivity = True
    class_permission_name = MY_INVOICES
    method_permission_name = {"download": READ}

    @expose("/<int:invoice_id>")
    @has_access
    def download(self, invoice_id: int) -> Any:
        return _facturx_response(invoice_id)


class AccountingFacturxView(BaseView):
    route_base = "/comptabilite/factures-x"
    class_permission_name = INVOICE_DESK
    method_permission_name = {"download": READ}

    @expose("/<int:invoice_id>")
    @has_access
    def download(self, invoice_id: int) -> Any:
        return _facturx_response(invoice_id)


class ChorusDepositsView(BaseView):
    """Issued invoices not yet deposited, the batches and their deposits."""

    route_base = "/comptabilite/chorus"
    default_view = "index"
    class_permission_name = CHORUS_DEPOSITS
    method_permission_name = {"index": READ, "archive": READ, "create": WRITE}

    @expose("/")
    @has_access
    def index(self) -> Any:
        deposited = select(ChorusDeposit.invoice_id).where(ChorusDeposit.status == DEPOSITED)
        pending = list(
            db.session.scalars(
                select(Invoice)
                .where(Invoice.status.in_(DEPOSITABLE), Invoice.id.not_in(deposited))
                .options(joinedload(Invoice.collectivity))
                .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
                .limit(MAX_BATCH)
            )
        )
        batches = list(
            db.session.scalars(select(ChorusBatch).order_by(ChorusBatch.id.desc()).limit(20))
        )
        counts = dict(
            db.session.execute(
                select(ChorusDeposit.batch_id, func.count(ChorusDeposit.id))
                .where(ChorusDeposit.batch_id.in_([b.id for b in batches] or [0]))
                .group_by(ChorusDeposit.batch_id)
            ).all()
        )
        done = dict(
            db.session.execute(
                select(ChorusDeposit.batch_id, func.count(ChorusDeposit.id))
                .where(
                    ChorusDeposit.batch_id.in_([b.id for b in batches] or [0]),
                    ChorusDeposit.status == DEPOSITED,
                )
                .group_by(ChorusDeposit.batch_id)
            ).all()
        )
        return self.render_template(
            "einvoicing/chorus_deposits.html",
            title="Dépôts Chorus Pro",
            pending=pending,
            batches=batches,
            counts=counts,
            done=done,
            configured=bool(current_app.config.get("CHORUS_API_URL")),
            can_write=self.appbuilder.sm.has_access("can_write", CHORUS_DEPOSITS),
        )

    @expose("/lot", methods=["POST"])
    @has_access
    def create(self) -> Any:
        from app.einvoicing.service import create_batch

        ids: list[int] = []
        for raw in request.form.getlist("invoice")[:MAX_BATCH]:
            if raw.isdigit():
                ids.append(int(raw))
        if not ids:
            flash("Sélectionnez au moins une facture émise.", "danger")
            return redirect(url_for("ChorusDepositsView.index"))
        outcome = create_batch(
            ids, created_by=getattr(current_user, "username", ""), config=current_app.config
        )
        for blocked in outcome.blocked:
            flash(f"Facture {blocked.number} bloquée : {blocked.reason}", "warning")
        if outcome.batch is None:
            db.session.rollback()
            flash("Aucune facture déposable : aucun lot n'a été créé.", "danger")
            return redirect(url_for("ChorusDepositsView.index"))
        batch_id, size = outcome.batch.id, len(outcome.batch.deposits)
        db.session.commit()
        for error in outcome.errors:
            flash(f"Dépôt non effectué : {error}", "danger")
        flash(
            f"Lot {batch_id} créé ({size} facture(s)) : téléchargeable ci-dessous.",
            "success",
        )
        return redirect(url_for("ChorusDepositsView.index"))

    @expose("/lot/<int:batch_id>.zip")
    @has_access
    def archive(self, batch_id: int) -> Any:
        from app.einvoicing.service import batch_archive

        built = batch_archive(batch_id, current_app.config)
        if built is None:
            abort(404)
        data, name = built
        return files.download_response(data, name, mimetype="application/zip")
