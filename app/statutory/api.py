"""REST resource ``statutory_request`` (CONTRACT.md §2): employers and staff file requests;
staff plan them, record them done (or an unjustified absence); either cancels an open one. The
deadline and the quota fields are read-only; the medical report is never part of it."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from marshmallow import Schema, fields

from app.core.json_body import bool_field, date_field, json_object, text_field
from app.core.views import AppModelRestApi, enum_member
from app.rules.errors import DomainError, FieldError
from app.statutory import services
from app.statutory.acfi_views import INSPECTION
from app.statutory.models import AcfiDay, AcfiPlan, StatutoryRequest, StatutoryStatus
from app.statutory.views import STATUTORY_REQUEST
from app.tenancy import current_scope


class StatutoryRequestSchema(Schema):
    id = fields.Integer()
    collectivity_id = fields.Integer()
    agent_id = fields.Integer()
    act_number = fields.Function(lambda item: item.act.number)
    kind = fields.Function(lambda item: item.kind.name)
    mandatory = fields.Boolean()
    coefficient = fields.Decimal(as_string=True)
    written_report = fields.Boolean()
    requested_on = fields.Date()
    deadline = fields.Date(attribute="deadline_on")
    planned_on = fields.Date(allow_none=True)
    appointment_id = fields.Integer(allow_none=True)
    done_on = fields.Date(allow_none=True)
    restitution_due_on = fields.Date(allow_none=True)
    restitution_sent_on = fields.Date(allow_none=True)
    status = fields.Function(lambda item: item.status.name)
    within_quota = fields.Boolean()
    points = fields.Decimal(as_string=True)
    price = fields.Decimal(as_string=True)
    information = fields.String(allow_none=True)


class StatutoryRequestDetailSchema(StatutoryRequestSchema):
    pass


WRITABLE = {"status", "planned_on", "appointment_id", "done_on", "cancel_reason"}


class StatutoryRequestApi(AppModelRestApi):
    resource_name = "statutory_request"
    datamodel = SQLAInterface(StatutoryRequest)
    class_permission_name = STATUTORY_REQUEST
    base_permissions = ["can_read", "can_write"]
    include_route_methods = {"get", "get_list", "post", "put", "info"}
    show_title = "Demande de médecine statutaire"
    list_title = "Demandes de médecine statutaire"
    label_columns = {
        "agent_id": "Agent",
        "act_id": "Acte",
        "act_number": "Numéro de l'acte",
        "kind": "Nature (contrôle ou expertise)",
        "mandatory": "Obligatoire",
        "rpi_ati": "Majoration RPI / ATI",
        "written_report": "Rapport écrit",
        "coefficient": "Coefficient (points)",
        "information": "Informations utiles à la convocation",
        "requested_on": "Demandée le",
        "office_id": "Cabinet (calendrier des jours ouvrés)",
        "deadline_on": "Échéance",
        "deadline": "Échéance",
        "status": "État",
        "planned_on": "Prévue le",
        "appointment_id": "Rendez-vous",
        "done_on": "Réalisée le",
        "restitution_due_on": "Avis ou rapport à transmettre avant le",
        "restitution_sent_on": "Avis ou rapport transmis le",
        "consumed_on": "Décomptée le",
        "within_quota": "Dans le quota",
        "points": "Points consommés",
        "price": "Prix hors quota",
        "created_by_id": "Demandée par",
        "cancel_reason": "Motif d'annulation",
    }
    list_columns = [
        "id",
        "collectivity_id",
        "agent_id",
        "act_id",
        "kind",
        "mandatory",
        "coefficient",
        "written_report",
        "requested_on",
        "deadline_on",
        "planned_on",
        "appointment_id",
        "done_on",
        "restitution_due_on",
        "restitution_sent_on",
        "status",
        "within_quota",
        "points",
        "price",
        "information",
    ]
    show_columns = list_columns
    add_columns = ["agent_id", "act_id", "written_report", "requested_on", "information"]
    edit_columns = ["status", "planned_on", "appointment_id", "done_on"]
    search_columns = [
        "agent_id",
        "collectivity_id",
        "status",
        "requested_on",
        "done_on",
        "within_quota",
        "mandatory",
    ]
    order_columns = ["requested_on", "deadline_on", "done_on", "id"]
    list_model_schema = StatutoryRequestSchema()
    show_model_schema = StatutoryRequestDetailSchema()

    def post_headless(self) -> Any:
        """{agent_id, act_number (1-17), written_report, requested_on (ISO, default today),
        information} -> 201 with the request."""
        try:
            payload = json_object()
            item = services.create_request(
                payload.get("agent_id"),
                payload.get("act_number"),
                written_report=bool_field(payload, "written_report"),
                requested_on=date_field(payload, "requested_on"),
                information=text_field(payload, "information"),
            )
            self._commit()
        except DomainError as error:
            return self._refused(error)
        return self.response(201, id=item.id, result=StatutoryRequestDetailSchema().dump(item))

    def put_headless(self, pk: Any) -> Any:
        """{status: planifiee, planned_on | appointment_id}, {status: realisee |
        absence_injustifiee, done_on}, {status: annulee, cancel_reason}. Employers may only
        cancel."""
        if self.datamodel.get(pk) is None:
            return self.response_404()
        try:
            payload = json_object()
            unknown = set(payload) - WRITABLE
            if unknown:
                raise DomainError("Champs non modifiables : " + ", ".join(sorted(unknown)) + ".")
            try:
                status = enum_member(StatutoryStatus, payload.get("status"))
            except ValueError as error:
                raise FieldError(str(error), "status") from error
            if current_scope().is_employer and status is not StatutoryStatus.annulee:
                raise DomainError("Un employeur peut seulement annuler sa demande.")
            if status is StatutoryStatus.planifiee:
                item = services.plan_request(
                    pk,
                    planned_on=date_field(payload, "planned_on"),
                    appointment_id=payload.get("appointment_id"),
                )
            elif status is StatutoryStatus.realisee:
                item = services.mark_done(pk, date_field(payload, "done_on"))
            elif status is StatutoryStatus.absence_injustifiee:
                item = services.mark_absent(pk, date_field(payload, "done_on"))
            elif status is StatutoryStatus.annulee:
                item = services.cancel_request(pk, text_field(payload, "cancel_reason"))
            else:
                raise FieldError("Une demande ne revient pas « en attente ».", "status")
            self._commit()
        except services.NotOpen as error:
            self.datamodel.session.rollback()
            return self.response(409, message=error.message)
        except DomainError as error:
            return self._refused(error)
        return self.response(200, result=StatutoryRequestDetailSchema().dump(item))


# ----------------------------------------------------------------------------------------------
# Inspection (ACFI): read-only resources for the staff (the billing run reads them)
# ----------------------------------------------------------------------------------------------

ACFI_PLAN_LABELS = {
    "year": "Année",
    "volume_days": "Volume annuel (jours)",
    "headcount": "Effectif retenu",
    "affiliated": "Collectivité affiliée",
    "amendment_reference": "Avenant (au-delà de +20 %)",
    "note": "Observations",
}
ACFI_DAY_LABELS = {
    "plan_id": "Année d'inspection",
    "plan": "Année d'inspection",
    "day_on": "Date de l'intervention",
    "days": "Durée (jours)",
    "nature": "Nature de l'intervention",
    "status": "État",
    "inspector": "Inspecteur (ACFI)",
    "note": "Observations",
}


class AcfiPlanApi(AppModelRestApi):
    resource_name = "acfi_plan"
    datamodel = SQLAInterface(AcfiPlan)
    class_permission_name = INSPECTION
    base_permissions = ["can_read"]
    include_route_methods = {"get", "get_list", "info"}
    show_title = "Année d'inspection (ACFI)"
    list_title = "Années d'inspection (ACFI)"
    label_columns = {**ACFI_PLAN_LABELS, "days": "Interventions"}
    list_columns = ["id", "collectivity_id", *ACFI_PLAN_LABELS]
    show_columns = list_columns
    search_columns = ["collectivity_id", "year"]
    order_columns = ["year", "id"]


class AcfiDayApi(AppModelRestApi):
    resource_name = "acfi_day"
    datamodel = SQLAInterface(AcfiDay)
    class_permission_name = INSPECTION
    base_permissions = ["can_read"]
    include_route_methods = {"get", "get_list", "info"}
    show_title = "Intervention de l'inspecteur (ACFI)"
    list_title = "Interventions de l'inspecteur (ACFI)"
    label_columns = ACFI_DAY_LABELS
    list_columns = [
        "id",
        "collectivity_id",
        "plan_id",
        "day_on",
        "days",
        "nature",
        "status",
        "inspector",
        "note",
    ]
    show_columns = list_columns
    search_columns = ["collectivity_id", "plan_id", "day_on", "status"]
    order_columns = ["day_on", "id"]
