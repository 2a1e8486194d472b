"""Prevention screens (SPEC E8): the health team's « Actions de prévention » and the
« Catalogue de prévention » (modules, sessions, closing, attendance); the employer's « Mes
actions de prévention » and « Programme et inscriptions »."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app import roles
from app.core import files
from app.core.views import READ, WRITE, run_service
from app.documents import prevention as services
from app.documents.models import PreventionAction, PreventionKind, PreventionSession
from app.documents.views import _download
from app.extensions import db
from app.referential.models import Collectivity
from app.rules.dates import parse_french_date, parse_french_datetime
from app.rules.errors import DomainError, FieldError
from app.security import register_resources

PREVENTION_ACTION = "PreventionAction"  # the health team's actions
MY_PREVENTION = "MyPrevention"  # the employer's « Mes actions de prévention »
CATALOGUE = "PreventionCatalogue"  # the CDG's catalogue, sessions and attendance
PROGRAMME = "PreventionProgramme"  # the employer's « Programme et inscriptions »
register_resources(
    {
        PREVENTION_ACTION: {roles.SANTE: (READ, WRITE), roles.SECRETARIAT: (READ,)},
        MY_PREVENTION: {roles.EMPLOYER_PRIMARY: (READ,), roles.EMPLOYER_SECONDARY: (READ,)},
        CATALOGUE: {roles.SANTE: (READ, WRITE), roles.SECRETARIAT: (READ, WRITE)},
        PROGRAMME: {
            roles.EMPLOYER_PRIMARY: (READ, WRITE),
            roles.EMPLOYER_SECONDARY: (READ, WRITE),
        },
    }
)


def _date(raw: str | None, field: str, label: str) -> Any:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return parse_french_date(text)
    except DomainError:
        raise FieldError(
            f"{label} : date invalide, tapez-la au format JJ/MM/AAAA.", field
        ) from None


def _datetime(raw: str | None, field: str) -> Any:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return parse_french_datetime(text)
    except DomainError:
        raise FieldError(
            "Date et heure de la session invalides : tapez-les au format JJ/MM/AAAA HH:MM.", field
        ) from None


def _collectivities() -> list[Any]:
    return list(
        db.session.execute(select(Collectivity.id, Collectivity.name).order_by(Collectivity.name))
    )


def _report(prevention_action_id: int) -> Any:
    """The report PDF of an action the caller reaches (none attached: 404)."""
    row = db.session.get(PreventionAction, prevention_action_id)
    if row is None or not row.report_path:
        abort(404)
    return _download(row.report_path, row.report_filename or "compte-rendu.pdf")


class PreventionActionsView(files.UploadLimitMixin, BaseView):
    """« Prévention hors visites »: the actions of the health team (outside visits)."""

    route_base = "/prevention/actions"
    default_view = "index"
    class_permission_name = PREVENTION_ACTION
    method_permission_name = {"index": READ, "add": WRITE, "report": READ}
    upload_limits = {"add": services.FORM_MAX_BYTES}

    @expose("/")
    @has_access
    def index(self) -> Any:
        raw = request.args.get("collectivite", "")
        collectivity_id = int(raw) if raw.isdigit() and len(raw) < 10 else None
        return self.render_template(
            "documents/prevention_actions.html",
            title="Prévention hors visites",
            rows=services.actions(collectivity_id),
            collectivities=_collectivities(),
            collectivity_id=collectivity_id,
            kinds=list(PreventionKind),
            max_size=files.human_size(services.REPORT_MAX_BYTES),
        )

    @expose("/ajouter", methods=["POST"])
    @has_access
    def add(self) -> Any:
        if files.refused_upload():
            return redirect(url_for("PreventionActionsView.index"))
        form = request.form

        def action() -> Any:
            data = services.ActionInput(
                collectivity_id=form.get("collectivity_id"),
                kind=form.get("kind", ""),
                action_on=_date(form.get("action_on"), "action_on", "Date de l'action"),
                participants=form.get("participants", ""),
                duration_minutes=form.get("duration_minutes"),
                summary=form.get("summary"),
            )
            return services.record_action(data, request.files.get("report"))

        if run_service(action):
            flash(
                "Action de prévention enregistrée : l'employeur la lit dans son espace.", "success"
            )
        return redirect(url_for("PreventionActionsView.index"))

    @expose("/<int:prevention_action_id>/compte-rendu.pdf")
    @has_access
    def report(self, prevention_action_id: int) -> Any:
        return _report(prevention_action_id)


class MyPreventionView(BaseView):
    """« Mes actions de prévention »: the health team's actions, newest first."""

    route_base = "/portail/actions-de-prevention"
    needs_collectivity = True
    default_view = "index"
    class_permission_name = MY_PREVENTION
    method_permission_name = {"index": READ, "report": READ}

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self.render_template(
            "documents/my_prevention.html",
            title="Mes actions de prévention",
            rows=services.actions(),
        )

    @expose("/<int:prevention_action_id>/compte-rendu.pdf")
    @has_access
    def report(self, prevention_action_id: int) -> Any:
        return _report(prevention_action_id)


class CatalogueView(BaseView):
    """« Catalogue de prévention » of the CDG: modules and their sessions; a session's
    registrations (every collectivity), closing with the convocations, attendance."""

    route_base = "/prevention/catalogue"
    default_view = "index"
    class_permission_name = CATALOGUE
    method_permission_name = {
        "index": READ,
        "session": READ,
        "add_module": WRITE,
        "add_session": WRITE,
        "close": WRITE,
        "attendance": WRITE,
    }

    @expose("/")
    @has_access
    def index(self) -> Any:
        sessions = services.all_sessions()
        return self.render_template(
            "documents/catalogue.html",
            title="Catalogue de prévention",
            modules=services.modules(active_only=False),
            sessions=sessions,
            taken=services.taken_counts([s.id for s in sessions]),
        )

    @expose("/session")
    @has_access
    def session(self) -> Any:
        raw = request.args.get("id", "")
        item = db.session.get(PreventionSession, int(raw)) if raw.isdigit() else None
        if item is None or len(raw) > 12:
            abort(404)
        return self.render_template(
            "documents/catalogue_session.html",
            title="Session de prévention",
            item=item,
            registrations=services.session_registrations(item.id),
            names=dict(_collectivities()),
        )

    @expose("/module", methods=["POST"])
    @has_access
    def add_module(self) -> Any:
        form = request.form
        ran = run_service(
            lambda: services.add_module(
                form.get("title", ""),
                form.get("content", ""),
                form.get("audience", ""),
                form.get("duration_minutes"),
            )
        )
        if ran:
            flash("Module ajouté au catalogue.", "success")
        return redirect(url_for("CatalogueView.index"))

    @expose("/nouvelle-session", methods=["POST"])
    @has_access
    def add_session(self) -> Any:
        form = request.form
        ran = run_service(
            lambda: services.add_session(
                form.get("module_id"),
                _datetime(form.get("starts_at"), "starts_at"),
                form.get("place", ""),
                form.get("capacity"),
                _date(form.get("deadline"), "deadline", "Date limite d'inscription"),
            )
        )
        if ran:
            flash("Session ouverte aux inscriptions.", "success")
        return redirect(url_for("CatalogueView.index"))

    @expose("/cloturer", methods=["POST"])
    @has_access
    def close(self) -> Any:
        session_id = request.form.get("session_id", "")
        ran = run_service(lambda: services.close_session(session_id))
        if ran:
            flash(
                f"Inscriptions closes : {ran.result} convocation(s) envoyée(s) aux contacts des "
                "collectivités.",
                "success",
            )
        return redirect(url_for("CatalogueView.session", id=session_id))

    @expose("/presences", methods=["POST"])
    @has_access
    def attendance(self) -> Any:
        session_id = request.form.get("session_id", "")
        present = {int(v) for v in request.form.getlist("present") if v.isdigit() and len(v) < 12}
        ran = run_service(lambda: services.record_attendance(session_id, present))
        if ran:
            flash(f"Présences enregistrées ({ran.result} présent(s)).", "success")
        return redirect(url_for("CatalogueView.session", id=session_id))


class ProgrammeView(BaseView):
    """« Programme et inscriptions »: the modules and their sessions, the registration of the
    account's active agents, its registrations."""

    route_base = "/portail/programme-et-inscriptions"
    needs_collectivity = True
    default_view = "index"
    class_permission_name = PROGRAMME
    method_permission_name = {"index": READ, "register": WRITE, "cancel": WRITE}

    @expose("/")
    @has_access
    def index(self) -> Any:
        sessions = services.upcoming_sessions()
        return self.render_template(
            "documents/programme.html",
            title="Programme et inscriptions",
            modules=services.modules(),
            sessions=sessions,
            taken=services.taken_counts([s.id for s in sessions]),
            agents=services.registrable_agents(),
            registrations=services.my_registrations(),
        )

    @expose("/inscrire", methods=["POST"])
    @has_access
    def register(self) -> Any:
        session_id = request.form.get("session_id", "")
        agent_ids = request.form.getlist("agent_ids")
        ran = run_service(lambda: services.register(session_id, agent_ids))
        if ran:
            flash(f"{len(ran.result)} agent(s) inscrit(s) à la session.", "success")
        return redirect(url_for("ProgrammeView.index"))

    @expose("/inscriptions/<int:prevention_registration_id>/annuler", methods=["POST"])
    @has_access
    def cancel(self, prevention_registration_id: int) -> Any:
        if run_service(lambda: services.cancel_registration(prevention_registration_id)):
            flash("Inscription annulée.", "success")
        return redirect(url_for("ProgrammeView.index"))
