"""REST resource ``visit_request`` (CONTRACT.md §2) and its ``cancel`` action."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import request
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from marshmallow import Schema, fields

from app.core import files
from app.core.views import READ, WRITE, AppModelRestApi
from app.extensions import db
from app.referential.models import VisitType
from app.referential.services import reference_code
from app.rules import visit_requests as rules
from app.rules.errors import DomainError, FieldError
from app.rules.formatting import fold
from app.security import Res
from app.tenancy import TenantViolation
from app.visits import attachments
from app.visits import requests as services
from app.visits.models import VisitRequest


class AttachmentSchema(Schema):
    id = fields.Integer()
    nature = fields.Function(lambda row: row.nature.code)
    nature_label = fields.Function(lambda row: row.nature.label)
    filename = fields.String()
    size = fields.Integer()


class VisitRequestSchema(Schema):
    id = fields.Integer()
    agent_id = fields.Integer()
    visit_type = fields.Function(lambda item: item.visit_type.code)
    state = fields.Function(lambda item: item.state.name)
    created_on = fields.Date()
    situations = fields.List(fields.String())
    other_exposure = fields.String(allow_none=True)
    details = fields.Dict()
    information = fields.String(allow_none=True)
    interpreter = fields.Boolean()
    language = fields.String(allow_none=True)
    appointment_id = fields.Integer(allow_none=True)
    refusal_reason = fields.String(allow_none=True)
    # Staff only: an employer never reads a confidential request (SPEC E7).
    confidential = fields.Boolean(attribute="is_confidential")


class VisitRequestDetailSchema(VisitRequestSchema):
    # GET /api/v1/visit_request/<id>/attachment/<attachment_id> downloads one of them.
    attachments = fields.List(fields.Nested(AttachmentSchema))


def _code(choices: dict[str, str], value: Any, name: str) -> str:
    """A code given by itself or by its French label, ignoring case and accents."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        wanted = fold(value)
        for code, label in choices.items():
            if wanted in (fold(code), fold(label)):
                return code
    raise FieldError(
        f"Valeur inconnue pour « {name} » : « {str(value)[:60]} ». Valeurs acceptées : "
        + ", ".join(choices)
        + ".",
        name,
    )


def _date(value: Any, name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise FieldError(f"« {name} » : date ISO attendue (AAAA-MM-JJ).", name) from None


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError(f"« {name} » : texte attendu.", name)
    return value


def _flag(value: Any, name: str) -> bool:
    if value in (None, ""):
        return False
    if not isinstance(value, bool):
        raise FieldError(f"« {name} » : true ou false attendu.", name)
    return value


def parse_input(payload: dict[str, Any]) -> rules.RequestInput:
    raw_type = payload.get("visit_type")
    if not raw_type:
        raise FieldError("« visit_type » est obligatoire.", "visit_type")
    details = payload.get("details") or {}
    situations = payload.get("situations") or []
    if not isinstance(details, dict):
        raise FieldError("« details » doit être un objet.", "details")
    if not isinstance(situations, list):
        raise FieldError("« situations » doit être une liste de codes.", "situations")
    return rules.RequestInput(
        visit_type=reference_code(VisitType, raw_type, "visit_type"),
        situations=frozenset(_code(rules.SITUATIONS, s, "situations") for s in situations),
        other_exposure=_text(payload.get("other_exposure"), "other_exposure"),
        dispense=_flag(details.get("dispense"), "dispense"),
        attestation_on=_date(details.get("attestation_on"), "attestation_on"),
        stoppage_nature=_code(
            rules.STOPPAGE_NATURES, details.get("stoppage_nature"), "stoppage_nature"
        ),
        therapeutic_part_time=_flag(details.get("therapeutic_part_time"), "therapeutic_part_time"),
        retirement_on=_date(details.get("retirement_on"), "retirement_on"),
        exposed_risk=_text(details.get("exposed_risk"), "exposed_risk"),
        requester=_code(rules.REQUESTERS, details.get("requester"), "requester"),
        employer_reason=_code(
            rules.EMPLOYER_REASONS, details.get("employer_reason"), "employer_reason"
        ),
        comment=_text(details.get("comment"), "comment"),
        deadline_on=_date(details.get("deadline_on"), "deadline_on"),
        information=_text(payload.get("information"), "information"),
        interpreter=_flag(payload.get("interpreter"), "interpreter"),
        language=_text(payload.get("language"), "language"),
        confidential=_flag(payload.get("confidential"), "confidential"),
    )


class VisitRequestApi(files.UploadLimitMixin, AppModelRestApi):
    resource_name = "visit_request"
    upload_limits = {"post": attachments.FORM_MAX_BYTES}
    datamodel = SQLAInterface(VisitRequest)
    class_permission_name = Res.VISIT_REQUEST
    show_title = "Demande de visite"
    include_route_methods = {"get", "get_list", "post", "info", "cancel", "attachment"}
    method_permission_name = {
        **AppModelRestApi.method_permission_name,
        "cancel": WRITE,
        "attachment": READ,
    }
    label_columns = {
        "agent_id": "Agent",
        "agent": "Agent",
        "visit_type": "Type de visite",
        "visit_type_id": "Type de visite",
        "state": "État",
        "created_on": "Demandée le",
        "situations": "Situations du salarié",
        "other_exposure": "Autre exposition",
        "details": "Précisions du type de visite",
        "information": "Information complémentaire ou contrainte de convocation",
        "interpreter": "Interprète",
        "language": "Langue",
        "appointment_id": "Rendez-vous",
        "refusal_reason": "Motif du refus",
        "appointment": "Rendez-vous",
        "created_by_id": "Demandée par",
        "processed_at": "Traitée le",
        "processed_by_id": "Traitée par",
        "urgency": "Urgence",
        "deadline_on": "Date butoir",
        "attachments": "Pièces jointes",
        "confidential": "Confidentielle",
        "is_confidential": "Confidentielle",
    }
    list_columns = [
        "id",
        "agent_id",
        "visit_type_id",
        "state",
        "created_on",
        "situations",
        "other_exposure",
        "details",
        "information",
        "interpreter",
        "language",
        "appointment_id",
        "refusal_reason",
        # Listed so that the page loads it with the rows (the schema's ``confidential`` reads it).
        "is_confidential",
    ]
    show_columns = [*list_columns, "attachments"]
    add_columns = ["agent_id", "visit_type_id"]
    search_columns = ["agent_id", "state", "created_on", "visit_type"]
    order_columns = ["created_on", "id"]
    list_model_schema = VisitRequestSchema()
    show_model_schema = VisitRequestDetailSchema()

    def post_headless(self) -> Any:
        """{agent_id, visit_type, situations, other_exposure, details, information,
        interpreter, language, precisions} -> 201 with the request. With attachments: a
        multipart/form-data body whose ``payload`` part is that JSON object, with the PDFs as
        ``files`` parts and their nature codes as ``natures`` parts (same order)."""
        uploads: list[attachments.Upload] = []
        if request.mimetype == "multipart/form-data":
            try:
                payload = json.loads(request.form.get("payload") or "")
            except ValueError:
                payload = None
            natures = request.form.getlist("natures")
            uploads = [
                attachments.Upload(piece, natures[index] if index < len(natures) else "")
                for index, piece in enumerate(request.files.getlist("files"))
                if piece is not None and piece.filename
            ]
        else:
            payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return self.response(400, message="Le corps de la requête doit être un objet JSON.")
        precisions = payload.get("precisions") or {}
        if not isinstance(precisions, dict):
            return self.response(400, message="« precisions » doit être un objet.")
        try:
            item = services.create_request(
                payload.get("agent_id"),
                parse_input(payload),
                uploads,
                {f"precision_{code}": str(value) for code, value in precisions.items()},
            )
            self._commit()
        except services.InvalidRequest as error:
            db.session.rollback()
            return self.response(400, message=error.message, errors=dict(error.problems))
        except DomainError as error:
            return self._refused(error)
        return self.response(201, id=item.id, result=self.show_model_schema.dump(item))

    @expose("/<int:pk>/cancel", methods=["POST"])
    @protect()
    @safe
    @permission_name("cancel")
    def cancel(self, pk: int) -> Any:
        """Cancel a pending request -> 200; 409 when it is no longer pending.
        ---
        post:
          responses:
            200:
              description: Request cancelled
            404:
              $ref: '#/components/responses/404'
            409:
              description: The request is no longer pending
        """
        if self.datamodel.get(pk) is None:
            return self.response_404()
        try:
            item = services.cancel_request(pk)
            self._commit()
        except services.NotPending as error:
            db.session.rollback()
            return self.response(409, message=error.message)
        except DomainError as error:
            return self._refused(error)
        return self.response(200, message="Demande annulée.", state=item.state.name)

    @expose("/<int:pk>/attachment/<int:attachment_id>", methods=["GET"])
    @protect()
    @safe
    @permission_name("attachment")
    def attachment(self, pk: int, attachment_id: int) -> Any:
        """Download one attachment of the request (PDF).
        ---
        get:
          responses:
            200:
              description: The PDF
              content:
                application/pdf: {}
            404:
              $ref: '#/components/responses/404'
        """
        try:
            response = attachments.download(pk, attachment_id)
        except TenantViolation:
            db.session.rollback()
            return self.response_404()
        db.session.commit()
        return response
