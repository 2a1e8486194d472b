"""« Votre demande : » and « Mes démarches » (the requester), « Démarches à valider » (the
administrator of a collectivity: its gestion requests) and « Démarches » (the CDG's queue)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app import roles
from app.core.views import READ, WRITE
from app.extensions import db
from app.procedures import services
from app.procedures.machine import ProcedureEvent, ProcedureKind, ProcedureState
from app.procedures.models import KIND_LABELS, Procedure
from app.security import register_resources

MY_PROCEDURES = "MyProcedures"
PROCEDURES_TO_VALIDATE = "ProceduresToValidate"
PROCEDURE_QUEUE = "ProcedureQueue"
register_resources(
    {
        MY_PROCEDURES: {
            roles.EMPLOYER_PRIMARY: (READ, WRITE),
            roles.EMPLOYER_SECONDARY: (READ, WRITE),
            roles.ADMIN: (READ, WRITE),
        },
        PROCEDURES_TO_VALIDATE: {roles.EMPLOYER_PRIMARY: (READ, WRITE), roles.ADMIN: (READ, WRITE)},
        PROCEDURE_QUEUE: {roles.SECRETARIAT: (READ, WRITE), roles.ADMIN: (READ, WRITE)},
    }
)

EVENTS = {"accepter": ProcedureEvent.ACCEPT, "refuser": ProcedureEvent.REFUSE}


class MyProceduresView(BaseView):
    """« Mes démarches » (history with state and reason) and « Votre demande : »."""

    route_base = "/demarches"
    default_view = "index"
    class_permission_name = MY_PROCEDURES
    employers_only = True  # Admin holds the permission, but has no procedures
    method_permission_name = {"index": READ, "new": WRITE}

    @expose("/")
    @has_access
    def index(self) -> Any:
        rows = services.my_procedures(g.user.id)
        return self.render_template(
            "procedures/mine.html",
            title="Mes démarches",
            rows=rows,
            names=services.collectivity_names(rows),
        )

    @expose("/nouvelle", methods=["GET", "POST"])
    @has_access
    def new(self) -> Any:
        kind = (request.values.get("type") or "").strip()
        values = services.form_values(request.form)
        errors: list[str] = []
        if request.method == "POST":
            try:
                services.request_procedure(g.user.id, kind, values)
            except services.ProcedureError as error:
                db.session.rollback()
                errors.append(str(error))
            else:
                db.session.commit()
                if kind == ProcedureKind.GESTION:
                    message = "Votre demande a été envoyée à l'administrateur de l'adhérent."
                else:
                    message = "Votre demande a été transmise au service adhérent du CDG."
                flash(message, "success")
                return redirect(url_for("MyProceduresView.index"))
        return self.render_template(
            "procedures/new.html",
            title="Votre demande",
            kinds=[(k.value, KIND_LABELS[k]) for k in services.REQUESTABLE],
            kind=kind,
            values=values,
            errors=errors,
        )


def _decide(procedure: Procedure, endpoint: str) -> Any:
    event = EVENTS.get(request.form.get("decision") or "")
    if event is None:
        abort(400)
    try:
        services.decide(procedure.id, g.user.id, event, request.form.get("reason", ""))
    except services.ProcedureError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for(endpoint))
    db.session.commit()
    flash(
        "Démarche acceptée ; le demandeur est prévenu."
        if event is ProcedureEvent.ACCEPT
        else "Démarche refusée ; le demandeur est prévenu.",
        "success",
    )
    return redirect(url_for(endpoint))


class ProceduresToValidateView(BaseView):
    """« Démarches à valider »: the gestion requests aimed at the user's collectivities."""

    route_base = "/demarches/a-valider"
    default_view = "index"
    class_permission_name = PROCEDURES_TO_VALIDATE
    employers_only = True  # Admin holds the permission, but has no procedures
    method_permission_name = {"index": READ, "decide": WRITE}

    @expose("/")
    @has_access
    def index(self) -> Any:
        rows = services.to_validate(g.user.id)
        return self.render_template(
            "procedures/queue.html",
            title="Démarches à valider",
            rows=rows,
            names=services.collectivity_names(rows),
            requesters=services.requester_names(rows),
            endpoint="ProceduresToValidateView.decide",
            pending=ProcedureState.EN_COURS.value,
        )

    @expose("/<int:procedure_id>", methods=["POST"])
    @has_access
    def decide(self, procedure_id: int) -> Any:
        procedure = services.administrator_procedure(g.user.id, procedure_id)
        if procedure is None:
            abort(404)
        return _decide(procedure, "ProceduresToValidateView.index")


class ProcedureQueueView(BaseView):
    """« Démarches » (CDG): change of administrator, buy-out, merger."""

    route_base = "/demarches/cdg"
    default_view = "index"
    class_permission_name = PROCEDURE_QUEUE
    method_permission_name = {"index": READ, "decide": WRITE}

    @expose("/")
    @has_access
    def index(self) -> Any:
        rows = services.cdg_queue()
        return self.render_template(
            "procedures/queue.html",
            title="Démarches",
            rows=rows,
            names=services.collectivity_names(rows),
            requesters=services.requester_names(rows),
            endpoint="ProcedureQueueView.decide",
            pending=ProcedureState.EN_COURS.value,
        )

    @expose("/<int:procedure_id>", methods=["POST"])
    @has_access
    def decide(self, procedure_id: int) -> Any:
        procedure = services.cdg_procedure(procedure_id)
        if procedure is None:
            abort(404)
        return _decide(procedure, "ProcedureQueueView.index")
