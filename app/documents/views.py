"""Document screens (SPEC E6, E5): the employer's « Dépôt de documents » (deposit, history,
delete until received) and « Mes documents » (folders of what the CDG publishes, the released
visit sheets among them); the health team's queue of deposits to confirm; the staff's
« Publier un document » (ACFI reports, annual reports...)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app import roles
from app.core import files
from app.core.views import READ, WRITE, run_service
from app.documents import services
from app.documents.models import DocumentFolder
from app.extensions import db
from app.referential.models import Collectivity
from app.security import register_resources
from app.tenancy import TenantViolation

EMPLOYER_DOCUMENT = "EmployerDocument"  # the employer's deposits
DEPOSIT_QUEUE = "DepositQueue"  # the health team's queue
MY_DOCUMENTS = "MyDocuments"  # « Mes documents »
PUBLICATION = "DocumentPublication"  # staff publish for a collectivity
register_resources(
    {
        EMPLOYER_DOCUMENT: {
            roles.EMPLOYER_PRIMARY: (READ, WRITE),
            roles.EMPLOYER_SECONDARY: (READ, WRITE),
        },
        DEPOSIT_QUEUE: {roles.SANTE: (READ, WRITE)},
        MY_DOCUMENTS: {roles.EMPLOYER_PRIMARY: (READ,), roles.EMPLOYER_SECONDARY: (READ,)},
        PUBLICATION: {roles.SANTE: (READ, WRITE), roles.SECRETARIAT: (READ, WRITE)},
    }
)


def _download(relative: str | None, name: str) -> Any:
    try:
        data = services.read_file(relative)
    except TenantViolation:
        abort(404)
    return files.download_response(data, name)


def _download_row(model: Any, row_id: int) -> Any:
    """The PDF of a document row the caller reaches (the lookup is scoped: otherwise 404)."""
    row = db.session.get(model, row_id)
    if row is None:
        abort(404)
    return _download(row.stored_path, row.filename)


def _remove(action: Any, done: str, back: str) -> Any:
    """Run a removal (the service returns the stored file), delete the file once it is
    committed, then go back to the list."""
    ran = run_service(action)
    if ran:
        files.delete(ran.result)
        flash(done, "success")
    return redirect(url_for(back))


def _checked(value: Any) -> bool:
    return str(value or "").lower() in ("1", "on", "true", "y", "oui")


class EmployerDocumentsView(files.UploadLimitMixin, BaseView):
    """« Dépôt de documents »: a PDF with its nature, optionally about one agent, never medical."""

    route_base = "/portail/documents"
    needs_collectivity = True
    default_view = "index"
    class_permission_name = EMPLOYER_DOCUMENT
    method_permission_name = {"index": READ, "deposit": WRITE, "remove": WRITE, "download": READ}
    upload_limits = {"deposit": services.FORM_MAX_BYTES}

    @expose("/")
    @has_access
    def index(self) -> Any:
        from app.documents.prevention import registrable_agents

        name = request.args.get("agent", "")[:100].strip()
        return self.render_template(
            "documents/deposits.html",
            title="Dépôt de documents",
            rows=services.deposits(name or None),
            name=name,
            natures=services.deposit_natures(),
            agents=registrable_agents(),
            max_size=files.human_size(services.DEPOSIT_MAX_BYTES),
            page_size=services.PAGE_SIZE,
        )

    @expose("/deposer", methods=["POST"])
    @has_access
    def deposit(self) -> Any:
        if files.refused_upload():
            return redirect(url_for("EmployerDocumentsView.index"))
        form = request.form
        ran = run_service(
            lambda: services.deposit(
                request.files.get("document"),
                form.get("nature_id"),
                form.get("agent_id") or None,
                no_medical_data=_checked(form.get("no_medical_data")),
            )
        )
        if ran:
            flash(
                "Document transmis à l'équipe santé. Vous pouvez le supprimer tant qu'elle n'en "
                "a pas confirmé la réception.",
                "success",
            )
        return redirect(url_for("EmployerDocumentsView.index"))

    @expose("/<int:employer_document_id>/supprimer", methods=["POST"])
    @has_access
    def remove(self, employer_document_id: int) -> Any:
        return _remove(
            lambda: services.delete_deposit(employer_document_id),
            "Document supprimé.",
            "EmployerDocumentsView.index",
        )

    @expose("/<int:employer_document_id>/pdf")
    @has_access
    def download(self, employer_document_id: int) -> Any:
        return _download_row(services.EmployerDocument, employer_document_id)


class MyDocumentsView(BaseView):
    """« Mes documents »: the folders (« Répertoires ») of what the CDG publishes."""

    route_base = "/portail/mes-documents"
    needs_collectivity = True
    default_view = "index"
    class_permission_name = MY_DOCUMENTS
    method_permission_name = {"index": READ, "download": READ}

    @expose("/")
    @has_access
    def index(self) -> Any:
        from app.visits.consultations import employer_sheets

        name = request.args.get("agent", "")[:100].strip()
        folder = request.args.get("repertoire", "")[:40]
        known = {services.SHEETS_FOLDER, *DocumentFolder.__members__}
        folder = folder if folder in known else ""
        sheets = (
            employer_sheets(name or None, services.PAGE_SIZE)
            if folder in ("", services.SHEETS_FOLDER)
            else []
        )
        published = (
            services.published(folder or None, name or None)
            if folder != services.SHEETS_FOLDER
            else []
        )
        return self.render_template(
            "documents/my_documents.html",
            title="Mes documents",
            folders=services.folders(),
            folder=folder,
            name=name,
            sheets=sheets,
            published=published,
            page_size=services.PAGE_SIZE,
        )

    @expose("/<int:published_document_id>/pdf")
    @has_access
    def download(self, published_document_id: int) -> Any:
        return _download_row(services.PublishedDocument, published_document_id)


class DepositQueueView(BaseView):
    """The health team's queue: new deposits of its collectivities, to confirm."""

    route_base = "/documents/depots"
    default_view = "index"
    class_permission_name = DEPOSIT_QUEUE
    method_permission_name = {"index": READ, "confirm": WRITE, "download": READ}

    @expose("/")
    @has_access
    def index(self) -> Any:
        everything = request.args.get("tous") == "1"
        rows, total = services.queue(pending_only=not everything)
        return self.render_template(
            "documents/queue.html",
            title="Documents déposés par les employeurs",
            rows=rows,
            total=total,
            everything=everything,
            team=services.team_collectivity_ids(),
        )

    @expose("/<int:employer_document_id>/reception", methods=["POST"])
    @has_access
    def confirm(self, employer_document_id: int) -> Any:
        if run_service(lambda: services.confirm_receipt(employer_document_id)):
            flash(
                "Réception confirmée : l'employeur ne peut plus supprimer ce document.", "success"
            )
        return redirect(url_for("DepositQueueView.index"))

    @expose("/<int:employer_document_id>/pdf")
    @has_access
    def download(self, employer_document_id: int) -> Any:
        try:
            row = services.team_deposit(employer_document_id)
        except TenantViolation:
            abort(404)
        return _download(row.stored_path, row.filename)


class PublicationsView(files.UploadLimitMixin, BaseView):
    """Staff publish a PDF in a collectivity's « Mes documents » (ACFI report, annual
    report...)."""

    route_base = "/documents/publications"
    default_view = "index"
    class_permission_name = PUBLICATION
    method_permission_name = {
        "index": READ,
        "publish": WRITE,
        "remove": WRITE,
        "download": READ,
    }
    upload_limits = {"publish": files.PDF_MAX_BYTES + files.FORM_MARGIN_BYTES}

    @expose("/")
    @has_access
    def index(self) -> Any:
        raw = request.args.get("collectivite", "")
        collectivity_id = int(raw) if raw.isdigit() and len(raw) < 10 else None
        folder = request.args.get("repertoire", "")
        collectivities = list(
            db.session.execute(
                select(Collectivity.id, Collectivity.name).order_by(Collectivity.name)
            ).all()
        )
        query = select(services.PublishedDocument)
        if collectivity_id:
            query = query.where(services.PublishedDocument.collectivity_id == collectivity_id)
        rows = list(
            db.session.scalars(
                query.order_by(
                    services.PublishedDocument.published_on.desc(),
                    services.PublishedDocument.id.desc(),
                ).limit(services.PAGE_SIZE)
            ).unique()
        )
        names = dict(collectivities)
        return self.render_template(
            "documents/publications.html",
            title="Publier un document",
            collectivities=collectivities,
            names=names,
            collectivity_id=collectivity_id,
            folder=folder if folder in DocumentFolder.__members__ else "",
            folders=list(DocumentFolder),
            rows=rows,
            max_size=files.human_size(files.PDF_MAX_BYTES),
        )

    @expose("/publier", methods=["POST"])
    @has_access
    def publish(self) -> Any:
        form = request.form
        if files.refused_upload():
            return redirect(url_for("PublicationsView.index"))
        ran = run_service(
            lambda: services.publish_upload(
                form.get("collectivity_id"),
                form.get("folder", ""),
                form.get("title", ""),
                request.files.get("document"),
                form.get("agent_id"),
            )
        )
        if ran:
            flash("Document publié : la collectivité le lit dans « Mes documents ».", "success")
        return redirect(
            url_for("PublicationsView.index", collectivite=form.get("collectivity_id", ""))
        )

    @expose("/<int:published_document_id>/retirer", methods=["POST"])
    @has_access
    def remove(self, published_document_id: int) -> Any:
        return _remove(
            lambda: services.unpublish(published_document_id),
            "Document retiré de « Mes documents ».",
            "PublicationsView.index",
        )

    @expose("/<int:published_document_id>/pdf")
    @has_access
    def download(self, published_document_id: int) -> Any:
        return _download_row(services.PublishedDocument, published_document_id)
