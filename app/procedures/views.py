"""« Votre demande : » and « Mes démarches » (the requester), « Démarches à valider » (the
administrator of a collectivity: its gestion requests) and « Démarches » (the CDG's queue).
Both queues share one page and one decision handler (app/core/decisions.py)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app import roles
from app.core.decisions import decide
from app.core.views import READ, WRITE
from app.extensions import db
from app.procedures import services
from app.procedures.machine import ProcedureEvent, ProcedureKind, ProcedureState
from app.procedures.models import KIND_LABELS, Procedure
from app.rules.errors import DomainError
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
NO_DECISION = "Choisissez « Accepter » ou « Refuser »."
SENT = {
    ProcedureKind.GESTION: "Votre demande a été envoyée à l'administrateur de l'adhérent.",
}
SENT_TO_CDG = "Votre demande a été transmise au service adhérent du CDG."
# The button of each kind (the seed: « SYNCHRONISER », otherwise « DEMANDER »).
BUTTONS = {ProcedureKind.SYNCHRONISE.value: "Synchroniser"}
DESCRIPTION_HELP = (
    "Vos coordonnées téléphoniques et tous les éléments complémentaires utiles à prendre en compte."
)
# The fields of each kind, with the seed's labels: (name, label, help).
FIELDS: dict[str, list[tuple[str, str, str]]] = {
    ProcedureKind.SYNCHRONISE.value: [
        ("membership_number", "Numéro d'adhérent", ""),
        ("siret", "SIREN", "Les 9 chiffres du SIREN (ou les 14 du SIRET)."),
    ],
    ProcedureKind.GESTION.value: [
        ("membership_number", "Numéro d'adhérent", ""),
        ("siret", "SIRET", ""),
    ],
    ProcedureKind.ADMINISTRATEUR.value: [
        ("membership_number", "Numéro d'adhérent", ""),
        ("siret", "Siret", ""),
        ("former_admin_email", "Email de l'ancien administrateur", ""),
    ],
    ProcedureKind.RACHAT.value: [
        ("message", "Description", DESCRIPTION_HELP),
        ("membership_number", "Numéro d'adhérent", ""),
        ("siret", "Ancien numéro de Siret", ""),
        ("new_siret", "Nouveau numéro de Siret", "Si le rachat a changé le SIRET."),
    ],
    ProcedureKind.FUSION.value: [
        ("message", "Description", DESCRIPTION_HELP),
        ("siret", "SIRET de l'entreprise absorbée", "Absorbée par votre adhérent actuel."),
        ("membership_number", "Numéro d'adhérent de l'entreprise absorbée", "Facultatif."),
    ],
}
ALL_FIELDS = [
    ("membership_number", "Numéro d'adhérent", ""),
    (
        "siret",
        "SIRET",
        "Synchronisation : SIREN ; rachat : ancien SIRET ; fusion : SIRET "
        "de l'entreprise absorbée par votre adhérent actuel.",
    ),
    ("new_siret", "Nouveau numéro de Siret", "Rachat, si le SIRET a changé."),
    (
        "former_admin_email",
        "Email de l'ancien administrateur",
        "Pour « Modifier l'administrateur d'un compte adhérent ».",
    ),
    ("message", "Description", DESCRIPTION_HELP + " (rachat, fusion)"),
]


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
            waiting=services.pending_to_validate(g.user.id),
        )

    @expose("/nouvelle", methods=["GET", "POST"])
    @has_access
    def new(self) -> Any:
        kind = (request.values.get("type") or "").strip()[:20]
        values = services.form_values(request.form)
        errors: list[str] = []
        if request.method == "POST":
            try:
                services.request_procedure(g.user.id, kind, values)
                db.session.flush()
            except DomainError as error:
                db.session.rollback()
                errors.append(error.message)
            else:
                db.session.commit()
                flash(SENT.get(ProcedureKind(kind), SENT_TO_CDG), "success")
                return redirect(url_for("MyProceduresView.index"))
        return self.render_template(
            "procedures/new.html",
            title="Votre demande",
            kinds=[(k.value, KIND_LABELS[k]) for k in services.REQUESTABLE],
            kind=kind,
            values=values,
            errors=errors,
            button=BUTTONS.get(kind, "Demander"),
            fields=FIELDS.get(kind, ALL_FIELDS),
        )


class _DecisionQueue(BaseView):
    """A list of procedures with « Accepter » / « Refuser » on the pending ones."""

    default_view = "index"
    method_permission_name = {"index": READ, "decide": WRITE}
    queue_title = ""

    def rows(self) -> list[Procedure]:
        raise NotImplementedError

    def reachable(self, procedure_id: int) -> Procedure | None:
        """The procedure if the caller may decide it (None: a 404)."""
        raise NotImplementedError

    @expose("/")
    @has_access
    def index(self) -> Any:
        rows = self.rows()
        return self.render_template(
            "procedures/queue.html",
            title=self.queue_title,
            rows=rows,
            names=services.collectivity_names(rows),
            requesters=services.requester_names(rows),
            endpoint=f"{type(self).__name__}.decide",
            pending=ProcedureState.EN_COURS.value,
        )

    @expose("/<int:procedure_id>", methods=["POST"])
    @has_access
    def decide(self, procedure_id: int) -> Any:
        procedure = self.reachable(procedure_id)
        back = url_for(f"{type(self).__name__}.index")
        event = EVENTS.get(request.form.get("decision") or "")
        if procedure is not None and event is None:
            flash(NO_DECISION, "danger")
            return redirect(back)
        reason = request.form.get("reason", "")
        return decide(
            procedure,
            lambda: services.decide(procedure_id, g.user.id, event, reason),  # type: ignore[arg-type]
            "Démarche acceptée ; le demandeur est prévenu."
            if event is ProcedureEvent.ACCEPT
            else "Démarche refusée ; le demandeur est prévenu.",
            back,
        )


class ProceduresToValidateView(_DecisionQueue):
    """« Démarches à valider »: the gestion requests aimed at the user's collectivities."""

    route_base = "/demarches/a-valider"
    class_permission_name = PROCEDURES_TO_VALIDATE
    employers_only = True  # Admin holds the permission, but has no procedures
    queue_title = "Démarches à valider"

    def rows(self) -> list[Procedure]:
        return services.to_validate(g.user.id)

    def reachable(self, procedure_id: int) -> Procedure | None:
        return services.administrator_procedure(g.user.id, procedure_id)


class ProcedureQueueView(_DecisionQueue):
    """« Démarches » (CDG): synchronisation, change of administrator, buy-out, merger."""

    route_base = "/demarches/cdg"
    class_permission_name = PROCEDURE_QUEUE
    queue_title = "Démarches"

    def rows(self) -> list[Procedure]:
        return services.cdg_queue()

    def reachable(self, procedure_id: int) -> Procedure | None:
        return services.cdg_procedure(procedure_id)
