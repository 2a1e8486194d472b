"""« Pilotage › Rapprochement bancaire » (issue 18): import a bank statement (camt.053 / camt.054
or the public accountant's CSV), the lines of each statement with what became of them, the
manual match of a line left unmatched and « ignorer » with a reason. Comptabilité and Admin
only (an employer gets 403)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app import roles
from app.core import files
from app.core.paging import listing
from app.core.views import READ, WRITE, run_service
from app.extensions import db
from app.payments.models import BankStatement, BankStatementLine, StatementLineStatus
from app.rules.bank_statements import StatementRejected
from app.security import register_resources

RECONCILIATION = "BankReconciliation"  # Pilotage › Rapprochement bancaire (Comptabilité, Admin)
register_resources({RECONCILIATION: {roles.COMPTABILITE: (READ, WRITE)}})
UPLOAD_MAX_BYTES = 20 * 1024 * 1024
REQUIRED = "Ce champ est obligatoire."
SAME_FILE_AT_ONCE = (
    "Ce relevé vient d'être importé au même moment depuis une autre session : cette copie n'a "
    "rien enregistré. Consultez la liste des relevés."
)
STATUS_FILTERS = {s.name: s.label for s in StatementLineStatus}


class ManualMatchForm(FlaskForm):
    invoice_number = StringField(
        "Numéro de facture",
        validators=[DataRequired(message=REQUIRED), Length(max=20, message="8 chiffres.")],
    )


class IgnoreForm(FlaskForm):
    reason = TextAreaField(
        "Motif",
        validators=[
            DataRequired(message=REQUIRED),
            Length(max=400, message="Le motif ne doit pas dépasser 400 caractères."),
        ],
    )


def _user() -> str:
    return str(getattr(current_user, "username", "") or "")


class ReconciliationView(files.UploadLimitMixin, BaseView):
    route_base = "/comptabilite/rapprochement"
    default_view = "index"
    class_permission_name = RECONCILIATION
    method_permission_name = {
        "index": READ,
        "upload": WRITE,
        "statement": READ,
        "line": WRITE,
        "ignore": WRITE,
    }
    upload_limits = {"upload": UPLOAD_MAX_BYTES + files.FORM_MARGIN_BYTES}

    def _index_page(self, report: Any = None, status: int = 200) -> Any:
        page = listing(default_size=50)
        total = db.session.scalar(select(func.count(BankStatement.id))) or 0
        statements = list(
            db.session.scalars(
                select(BankStatement)
                .order_by(BankStatement.imported_at.desc(), BankStatement.id.desc())
                .offset(page.offset)
                .limit(page.size)
            )
        )
        return (
            self.render_template(
                "payments/reconciliation.html",
                title="Rapprochement bancaire",
                statements=statements,
                total=total,
                page=page,
                pages=page.pages(total),
                report=report,
                max_mb=UPLOAD_MAX_BYTES // (1024 * 1024),
                can_write=self.appbuilder.sm.has_access("can_write", RECONCILIATION),
            ),
            status,
        )

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._index_page()

    @expose("/import", methods=["POST"])
    @has_access
    def upload(self) -> Any:
        from app.payments.reconciliation import import_statement

        refused = files.refused_upload()
        if refused:
            flash(refused, "danger")
            return self._index_page(status=400)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("Choisissez le fichier du relevé à importer.", "danger")
            return self._index_page(status=400)
        name = files.safe_filename(upload.filename, default="releve")
        try:
            data = files.read_capped(upload.stream, UPLOAD_MAX_BYTES, name)
            result = import_statement(data, name, imported_by=_user())
        except StatementRejected as rejected:
            db.session.rollback()
            return self._index_page(report=rejected, status=400)
        except files.FileRefused as refused_file:
            db.session.rollback()
            flash(refused_file.message, "danger")
            return self._index_page(status=400)
        except IntegrityError:
            # The same file imported at the same moment by another session: its unique digest
            # refused this copy, which wrote nothing.
            db.session.rollback()
            flash(SAME_FILE_AT_ONCE, "warning")
            return redirect(url_for("ReconciliationView.index"))
        if result.already_imported:
            db.session.rollback()
            flash(result.message, "warning")
            return redirect(url_for("ReconciliationView.index"))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            flash(SAME_FILE_AT_ONCE, "warning")
            return redirect(url_for("ReconciliationView.index"))
        flash(result.message, "success")
        return redirect(url_for("ReconciliationView.statement", statement_id=result.statement.id))

    @expose("/releve/<int:statement_id>")
    @has_access
    def statement(self, statement_id: int) -> Any:
        statement = db.session.get(BankStatement, statement_id)
        if statement is None:
            abort(404)
        chosen = request.args.get("etat", "")
        chosen = chosen if chosen in STATUS_FILTERS else ""
        where = [BankStatementLine.statement_id == statement_id]
        if chosen:
            where.append(BankStatementLine.status == StatementLineStatus[chosen])
        page = listing(default_size=100)
        total = db.session.scalar(select(func.count(BankStatementLine.id)).where(*where)) or 0
        lines = list(
            db.session.scalars(
                select(BankStatementLine)
                .where(*where)
                .options(joinedload(BankStatementLine.invoice))
                .order_by(BankStatementLine.line_no, BankStatementLine.id)
                .offset(page.offset)
                .limit(page.size)
            )
        )
        return self.render_template(
            "payments/statement.html",
            title=f"Relevé {statement.file_name}",
            statement=statement,
            lines=lines,
            total=total,
            page=page,
            pages=page.pages(total),
            filters=STATUS_FILTERS,
            chosen=chosen,
            can_write=self.appbuilder.sm.has_access("can_write", RECONCILIATION),
        )

    def _line_page(
        self,
        line: BankStatementLine,
        form: ManualMatchForm,
        ignore_form: IgnoreForm,
        status: int = 200,
    ) -> Any:
        from app.payments.reconciliation import search_invoices

        query = (request.args.get("q") or "").strip()[:20]
        found = search_invoices(query) if query else []
        return (
            self.render_template(
                "payments/statement_line.html",
                title=f"Ligne {line.line_no} du relevé {line.statement.file_name}",
                line=line,
                form=form,
                ignore_form=ignore_form,
                query=query,
                found=found,
            ),
            status,
        )

    def _load_line(self, line_id: int) -> BankStatementLine:
        line = db.session.scalar(
            select(BankStatementLine)
            .where(BankStatementLine.id == line_id)
            .options(joinedload(BankStatementLine.statement), joinedload(BankStatementLine.invoice))
        )
        if line is None:
            abort(404)
        return line

    @expose("/ligne/<int:line_id>", methods=["GET", "POST"])
    @has_access
    def line(self, line_id: int) -> Any:
        from app.payments.reconciliation import match_manually

        line = self._load_line(line_id)
        form = ManualMatchForm()
        ignore_form = IgnoreForm(formdata=None)
        if request.method == "GET":
            if request.args.get("numero"):
                form.invoice_number.data = request.args["numero"][:20]
            return self._line_page(line, form, ignore_form)
        if not form.validate():
            return self._line_page(line, form, ignore_form, 400)
        number = (form.invoice_number.data or "").strip()
        ran = run_service(lambda: match_manually(line_id, number, by=_user()), form)
        if not ran:
            return self._line_page(self._load_line(line_id), form, ignore_form, 400)
        flash(f"Ligne {line.line_no} rapprochée de la facture {number}.", "success")
        return redirect(url_for("ReconciliationView.statement", statement_id=line.statement_id))

    @expose("/ligne/<int:line_id>/ignorer", methods=["POST"])
    @has_access
    def ignore(self, line_id: int) -> Any:
        from app.payments.reconciliation import ignore_line

        line = self._load_line(line_id)
        ignore_form = IgnoreForm()
        form = ManualMatchForm(formdata=None)
        if not ignore_form.validate():
            return self._line_page(line, form, ignore_form, 400)
        reason = ignore_form.reason.data or ""
        ran = run_service(lambda: ignore_line(line_id, reason, by=_user()), ignore_form)
        if not ran:
            return self._line_page(self._load_line(line_id), form, ignore_form, 400)
        flash(f"Ligne {line.line_no} ignorée.", "success")
        return redirect(url_for("ReconciliationView.statement", statement_id=line.statement_id))
