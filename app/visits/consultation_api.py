"""REST resource ``consultation`` (CONTRACT.md §2) and its visit sheet. Staff (health roles)
write it; employers read only released, non-confidential consultations (their scope's
criteria); medical notes are never part of this resource."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from marshmallow import Schema, fields
from sqlalchemy import select

from app.core import files
from app.core.json_body import bool_field, date_field, id_field, json_object, text_field
from app.core.views import AppModelRestApi, enum_member
from app.extensions import db
from app.referential.models import VisitType
from app.referential.services import reference_code
from app.rules.errors import DomainError, FieldError
from app.visits import consultations as services
from app.visits import sheets
from app.visits.consultation_models import Consultation, Outcome
from app.visits.consultation_views import CONSULTATION


class ConsultationSchema(Schema):
    id = fields.Integer()
    agent_id = fields.Integer()
    date = fields.Date(attribute="visit_date")
    visit_type = fields.Function(lambda c: c.visit_type.code)
    professional_id = fields.Integer()
    outcome = fields.Function(lambda c: c.outcome.name)
    confidential = fields.Boolean(attribute="is_confidential")
    sheet_available_on = fields.Date()
    appointment_id = fields.Integer(allow_none=True)
    restrictions = fields.String(allow_none=True)
    next_visit_on = fields.Date(allow_none=True)
    smp = fields.Boolean(attribute="is_smp")


class ConsultationDetailSchema(ConsultationSchema):
    pass


WRITABLE = {
    "outcome",
    "confidential",
    "restrictions",
    "next_visit_on",
    "smp",
    "released",
}


def _outcome(payload: dict[str, Any]) -> Outcome:
    try:
        return enum_member(Outcome, payload.get("outcome"))  # type: ignore[return-value]
    except ValueError as error:
        raise FieldError(str(error), "outcome") from error


class ConsultationApi(AppModelRestApi):
    resource_name = "consultation"
    datamodel = SQLAInterface(Consultation)
    class_permission_name = CONSULTATION
    base_permissions = ["can_read", "can_write"]
    method_permission_name = {**AppModelRestApi.method_permission_name, "sheet": "read"}
    show_title = "Consultation (visite enregistrée)"
    label_columns = {
        "agent_id": "Agent",
        "visit_date": "Date de la visite",
        "visit_type_id": "Type de visite",
        "professional_id": "Professionnel de santé",
        "outcome": "Avis",
        "is_confidential": "Confidentielle",
        "sheet_available_on": "Fiche disponible le",
        "appointment_id": "Rendez-vous",
        "restrictions": "Restrictions / aménagements",
        "next_visit_on": "Prochaine visite",
        "is_smp": "SMP",
    }
    list_columns = [
        "id",
        "agent_id",
        "visit_date",
        "visit_type_id",
        "professional_id",
        "outcome",
        "is_confidential",
        "sheet_available_on",
        "appointment_id",
        "restrictions",
        "next_visit_on",
        "is_smp",
    ]
    show_columns = list_columns
    add_columns = list_columns[1:]
    edit_columns = ["outcome", "restrictions", "next_visit_on", "is_smp", "is_confidential"]
    search_columns = ["agent_id", "visit_date", "professional_id", "outcome", "sheet_available_on"]
    order_columns = ["visit_date", "sheet_available_on"]
    list_model_schema = ConsultationSchema()
    show_model_schema = ConsultationDetailSchema()

    def post_headless(self) -> Any:
        """Staff record a consultation: {agent_id, date, visit_type, professional_id, outcome,
        confidential, restrictions, next_visit_on, smp, released}."""
        try:
            payload = json_object()
            visit_date = date_field(payload, "date")
            if visit_date is None:
                raise FieldError("« date » est obligatoire.", "date")
            code = reference_code(VisitType, payload.get("visit_type"), "visit_type")
            visit_type_id = db.session.scalar(select(VisitType.id).where(VisitType.code == code))
            consultation = services.create_consultation(
                agent_id=id_field(payload, "agent_id") or 0,
                visit_date=visit_date,
                visit_type_id=visit_type_id or 0,
                professional_id=id_field(payload, "professional_id") or 0,
                office_id=id_field(payload, "office_id", required=False),
                data=services.VisitInput(
                    outcome=_outcome(payload),
                    restrictions=text_field(payload, "restrictions", max_length=4000),
                    next_visit_on=date_field(payload, "next_visit_on"),
                    is_smp=bool_field(payload, "smp"),
                    is_confidential=bool_field(payload, "confidential"),
                    release_now=bool_field(payload, "released"),
                ),
            )
            self._commit()
        except DomainError as error:
            return self._refused(error)
        return self.response(
            201, id=consultation.id, result=ConsultationDetailSchema().dump(consultation)
        )

    def put_headless(self, pk: Any) -> Any:
        """Staff change {outcome, restrictions, next_visit_on, smp, confidential} or release the
        sheet now ({"released": true})."""
        if self.datamodel.get(pk) is None:
            return self.response_404()
        try:
            payload = json_object()
            unknown = set(payload) - WRITABLE
            if unknown:
                raise DomainError("Champs non modifiables : " + ", ".join(sorted(unknown)) + ".")
            changes: dict[str, Any] = {}
            if "outcome" in payload:
                changes["outcome"] = _outcome(payload)
            if "restrictions" in payload:
                changes["restrictions"] = text_field(payload, "restrictions", max_length=4000)
            if "next_visit_on" in payload:
                changes["next_visit_on"] = date_field(payload, "next_visit_on")
            if "smp" in payload:
                changes["is_smp"] = bool_field(payload, "smp")
            if "confidential" in payload:
                changes["is_confidential"] = bool_field(payload, "confidential")
            consultation = services.update_consultation(int(pk), changes)
            if payload.get("released") is True:
                consultation = services.release_sheet(int(pk))
            self._commit()
        except DomainError as error:
            return self._refused(error)
        return self.response(200, result=ConsultationDetailSchema().dump(consultation))

    def delete_headless(self, pk: Any) -> Any:
        if self.datamodel.get(pk) is None:
            return self.response_404()
        return self.response(400, message="Une consultation enregistrée ne se supprime pas.")

    @expose("/<int:pk>/sheet", methods=["GET"])
    @protect()
    @safe
    @permission_name("read")
    def sheet(self, pk: int) -> Any:
        """The visit sheet PDF: for an employer only once released, never a confidential one.
        ---
        get:
          responses:
            200:
              description: The visit sheet (application/pdf)
            404:
              $ref: '#/components/responses/404'
        """
        consultation = db.session.get(Consultation, pk)
        if consultation is None:
            return self.response_404()
        return files.download_response(
            sheets.sheet_pdf(consultation), sheets.sheet_filename(consultation)
        )
