"""Visit-request screens: the request form from an agent's line (SPEC E1), the employer's
« Suivi des demandes » and the secretariat's « Demandes de visite » work queue (E2)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app.core import files
from app.core.mail import take_refused_mail
from app.core.views import READ, WRITE, attach_error, page_of, run_service
from app.extensions import db
from app.planning.views import _fresh_transaction
from app.referential.models import VisitType
from app.rules import visit_requests as rules
from app.rules.errors import DomainError, FieldError
from app.security import Res
from app.tenancy import TenantViolation, current_scope
from app.visits import attachments
from app.visits import requests as services
from app.visits.models import VisitRequest, VisitRequestState
from app.visits.request_forms import FilterForm, ReasonForm, ScheduleForm, VisitRequestForm
from app.workforce.models import RadiationCategory

PAGE_SIZE = 50
FORM_MAX_BYTES = attachments.FORM_MAX_BYTES

# The fieldsets of the form and the types that show them (static/js/medprev.js hides the
# others; without JavaScript every fieldset shows and the server ignores what does not apply).
TYPE_FIELDSETS = {
    "situations": "embauche periodique mi_carriere reprise pre_reprise fin_carriere post_exposition",
    "embauche": "embauche",
    "reprise": "reprise pre_reprise",
    "fin_carriere": "fin_carriere",
    "occasionnelle": "occasionnelle",
}


def _visit_types() -> list[tuple[str, str]]:
    return [
        (v.code, v.label)
        for v in db.session.scalars(
            select(VisitType).where(VisitType.is_active.is_(True)).order_by(VisitType.sort_order)
        )
    ]


def _filters(default_state: str = "") -> tuple[FilterForm, services.Filters]:
    form = FilterForm(request.args)
    if "etat" not in request.args:
        form.etat.data = default_state
    types = _visit_types()
    form.type.choices = [("", "Tous"), *types]
    visit_type = form.type.data if form.type.data in dict(types) else ""
    state = form.etat.data if form.etat.data in VisitRequestState.__members__ else ""
    return form, services.Filters(visit_type=visit_type, state=state)


def _render_list(
    view: BaseView, title: str, form: FilterForm, query: Any, *, staff: bool, show_endpoint: str
) -> Any:
    """A page of requests: the employer's follow-up or (``staff``) the secretariat's queue."""
    return view.render_template(
        "visits/request_list.html",
        title=title,
        form=form,
        staff=staff,
        show_endpoint=show_endpoint,
        **page_of(query, PAGE_SIZE),
    )


def _uploads() -> list[attachments.Upload]:
    """The files of the form's attachment rows (``pieces``) with their nature (``natures``,
    same order); the empty rows a browser sends are left out."""
    pieces = request.files.getlist("pieces")
    natures = request.form.getlist("natures")
    return [
        attachments.Upload(piece, natures[index] if index < len(natures) else "")
        for index, piece in enumerate(pieces)
        if piece is not None and piece.filename
    ]


def _new_request(view: BaseView, agent_id: int, endpoint: str) -> Any:
    """The request form for one agent: the type first, then its fields (SPEC E1)."""
    try:
        agent = services.get_agent(agent_id)
    except TenantViolation:
        abort(404)
    has_position = services.agent_has_position(agent.id)
    form = VisitRequestForm()
    form.visit_type.choices = _visit_types()
    missing = services.missing_precisions(agent) if has_position else []
    typed = {
        services.precision_field(link): request.form.get(services.precision_field(link), "")
        for link in missing
    }
    errors: dict[str, list[str]] = {}
    user_id = current_scope().user_id
    # Files that passed their checks in a refused submit, carried by the form (signed tokens).
    kept = attachments.kept_uploads(request.form.getlist("kept"), user_id)
    shown_kept: list[attachments.Kept] = []
    if request.method == "GET" and request.args.get("type") in dict(form.visit_type.choices):
        form.visit_type.data = request.args.get("type")  # « Demander » from the due list
    if request.method == "POST" and has_position and form.validate_on_submit():
        uploads = _uploads()
        try:
            created = services.create_request(
                agent.id, form.to_input(), [upload for _token, upload in kept] + uploads, typed
            )
            created_id = created.id
            db.session.commit()
        except TenantViolation:
            db.session.rollback()
            abort(404)
        except services.InvalidRequest as error:
            db.session.rollback()
            for name, message in error.problems:
                if name in form:
                    attach_error(form, FieldError(message, name))
                else:
                    errors.setdefault(name, []).append(message)
            shown_kept = attachments.keep_for_redisplay(kept, uploads, user_id)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            shown_kept = attachments.keep_for_redisplay(kept, uploads, user_id)
        else:
            for _token, upload in kept:
                files.delete(upload.file.path)  # now stored as the request's attachment
            flash("Votre demande de rendez-vous est enregistrée.", "success")
            for refused in take_refused_mail():
                flash(refused.message, "warning")
            return redirect(url_for(endpoint, request_id=created_id))
        agent = services.get_agent(agent_id)
        missing = services.missing_precisions(agent)
    return view.render_template(
        "visits/request_form.html",
        title="Demande de rendez-vous",
        form=form,
        agent=agent,
        has_position=has_position,
        no_position=services.NO_POSITION,
        fieldsets=TYPE_FIELDSETS,
        natures=attachments.natures(),
        kept=shown_kept,
        max_attachments=rules.MAX_ATTACHMENTS,
        free_rows=max(rules.MAX_ATTACHMENTS - len(shown_kept), 1),
        max_size=files.human_size(rules.ATTACHMENT_MAX_BYTES),
        missing=[(link, services.precision_field(link)) for link in missing],
        precision_labels=services.PRECISION_LABELS,
        radiation_choices=RadiationCategory.choices(),
        typed=typed,
        errors=errors,
        staff=not current_scope().is_employer,
    )


def _render_detail(
    view: BaseView,
    item: VisitRequest,
    *,
    staff: bool,
    back: str,
    attachment_endpoint: str,
    **forms: Any,
) -> Any:
    """A request's page; the secretariat's (``staff``) has its action ``forms`` too (schedule,
    refuse)."""
    return view.render_template(
        "visits/request_detail.html",
        title="Demande de rendez-vous",
        item=item,
        staff=staff,
        back=back,
        attachment_endpoint=attachment_endpoint,
        **forms,
    )


def _attachment(request_id: int, attachment_id: int) -> Any:
    try:
        response = attachments.download(request_id, attachment_id)
    except TenantViolation:
        db.session.rollback()
        abort(404)
    db.session.commit()  # the access log of a medical document
    return response


def _get(request_id: int) -> VisitRequest:
    try:
        return services.get_request(request_id)
    except TenantViolation:
        abort(404)


def _flash_run(action: Any, success: str) -> bool:
    ran = run_service(action)
    if ran:
        flash(success, "success")
        for refused in take_refused_mail():
            flash(refused.message, "warning")
    return bool(ran)


def _cancel(request_id: int, show_endpoint: str) -> Any:
    """Cancel a request the caller reaches, then show it again."""
    _flash_run(lambda: services.cancel_request(request_id), "La demande est annulée.")
    return redirect(url_for(show_endpoint, request_id=request_id))


class VisitRequestsView(files.UploadLimitMixin, BaseView):
    """« Suivi des demandes » of an employer (primary, or secondary for its agents)."""

    route_base = "/portail/demandes-de-visite"
    needs_collectivity = True  # the portal of one collectivity (app/core/access.py)
    default_view = "index"
    class_permission_name = Res.VISIT_REQUEST_FOLLOW_UP
    method_permission_name = {
        "index": READ,
        "show": READ,
        "attachment": READ,
        "new": WRITE,
        "cancel": WRITE,
    }
    upload_limits = {"new": FORM_MAX_BYTES}

    @expose("/")
    @has_access
    def index(self) -> Any:
        form, filters = _filters()
        return _render_list(
            self,
            "Suivi des demandes",
            form,
            services.list_query(filters),
            staff=False,
            show_endpoint="VisitRequestsView.show",
        )

    @expose("/agent/<int:agent_id>/nouvelle", methods=["GET", "POST"])
    @has_access
    def new(self, agent_id: int) -> Any:
        return _new_request(self, agent_id, "VisitRequestsView.show")

    @expose("/<int:request_id>")
    @has_access
    def show(self, request_id: int) -> Any:
        return _render_detail(
            self,
            _get(request_id),
            staff=False,
            back="VisitRequestsView.index",
            attachment_endpoint="VisitRequestsView.attachment",
        )

    @expose("/<int:request_id>/pieces-jointes/<int:attachment_id>")
    @has_access
    def attachment(self, request_id: int, attachment_id: int) -> Any:
        return _attachment(request_id, attachment_id)

    @expose("/<int:request_id>/annuler", methods=["POST"])
    @has_access
    def cancel(self, request_id: int) -> Any:
        return _cancel(request_id, "VisitRequestsView.show")


class VisitRequestQueueView(files.UploadLimitMixin, BaseView):
    """« Demandes de visite »: the secretariat's work queue (most urgent and oldest first)."""

    route_base = "/demandes-de-visite"
    default_view = "index"
    class_permission_name = Res.VISIT_REQUEST_QUEUE
    upload_limits = {"new": FORM_MAX_BYTES}
    method_permission_name = {
        "index": READ,
        "show": READ,
        "attachment": READ,
        "new": WRITE,
        "cancel": WRITE,
        "refuse": WRITE,
        "schedule": WRITE,
    }

    @expose("/")
    @has_access
    def index(self) -> Any:
        # The queue opens on the pending requests.
        form, filters = _filters(VisitRequestState.en_attente.name)
        return _render_list(
            self,
            "Demandes de visite",
            form,
            services.list_query(filters, queue=True),
            staff=True,
            show_endpoint="VisitRequestQueueView.show",
        )

    @expose("/agent/<int:agent_id>/nouvelle", methods=["GET", "POST"])
    @has_access
    def new(self, agent_id: int) -> Any:
        return _new_request(self, agent_id, "VisitRequestQueueView.show")

    @expose("/<int:request_id>")
    @has_access
    def show(self, request_id: int) -> Any:
        item = _get(request_id)
        schedule_form = ScheduleForm()
        plages = services.schedulable_plages(item) if item.is_pending else []
        schedule_form.plage_id.choices = [
            (
                str(plage.id),
                f"{plage.starts_at:%d/%m/%Y %H:%M}-{plage.ends_at:%H:%M} – {plage.office.name} – "
                f"{plage.professional} ({plage.state.label.lower()}, {free} place(s) libre(s))",
            )
            for plage, free in plages
        ]
        return _render_detail(
            self,
            item,
            staff=True,
            back="VisitRequestQueueView.index",
            attachment_endpoint="VisitRequestQueueView.attachment",
            schedule_form=schedule_form,
            refuse_form=ReasonForm(),
        )

    @expose("/<int:request_id>/pieces-jointes/<int:attachment_id>")
    @has_access
    def attachment(self, request_id: int, attachment_id: int) -> Any:
        return _attachment(request_id, attachment_id)

    @expose("/<int:request_id>/planifier", methods=["POST"])
    @has_access
    def schedule(self, request_id: int) -> Any:
        form = ScheduleForm()
        _get(request_id)
        _fresh_transaction()  # the request's lock, then the plage's, open a new transaction
        _flash_run(
            lambda: services.schedule_request(request_id, form.plage_id.data),
            "La demande est planifiée : le rendez-vous est créé et le demandeur prévenu.",
        )
        return redirect(url_for("VisitRequestQueueView.show", request_id=request_id))

    @expose("/<int:request_id>/refuser", methods=["POST"])
    @has_access
    def refuse(self, request_id: int) -> Any:
        form = ReasonForm()
        _flash_run(
            lambda: services.refuse_request(request_id, form.reason.data),
            "La demande est refusée : le motif est transmis au demandeur.",
        )
        return redirect(url_for("VisitRequestQueueView.show", request_id=request_id))

    @expose("/<int:request_id>/annuler", methods=["POST"])
    @has_access
    def cancel(self, request_id: int) -> Any:
        return _cancel(request_id, "VisitRequestQueueView.show")
