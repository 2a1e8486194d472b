"""REST resources of the planning (CONTRACT.md §2): plage, appointment, and the book / refuse /
cancel actions. Times are ISO wall-clock Europe/Paris."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from marshmallow import Schema, fields

from app.core.json_body import json_object
from app.core.views import AppModelRestApi, enum_member
from app.extensions import db
from app.planning import services
from app.planning.models import Appointment, Plage, PlageNature, PlageState
from app.referential.models import VisitType
from app.referential.services import reference_code
from app.rules import planning as rules
from app.rules.errors import DomainError
from app.security import Res

BOOK = "book"


class PlageSchema(Schema):
    id = fields.Integer()
    office_id = fields.Integer()
    professional_id = fields.Integer()
    start = fields.DateTime(attribute="starts_at")
    end = fields.DateTime(attribute="ends_at")
    appointment_minutes = fields.Integer()
    nature = fields.Function(lambda plage: plage.nature.name)
    state = fields.Function(lambda plage: plage.state.name)
    reserved_for_id = fields.Integer(allow_none=True)
    # Filled for the whole page at once by PlageApi.pre_get_list (no query per row).
    free_capacity = fields.Constant(None)


class PlageDetailSchema(PlageSchema):
    free_capacity = fields.Method("get_free_capacity")  # type: ignore[assignment]

    def get_free_capacity(self, plage: Plage) -> int:
        return services.free_capacity(plage)


class AppointmentSchema(Schema):
    id = fields.Integer()
    plage_id = fields.Integer()
    agent_id = fields.Integer()
    start = fields.DateTime(attribute="starts_at")
    visit_type = fields.Function(lambda appointment: appointment.visit_type.code)
    status = fields.Function(lambda appointment: appointment.status.name)
    comment = fields.String(allow_none=True)
    # Always false for an employer: it never reads a confidential appointment (SPEC E7).
    confidential = fields.Boolean(attribute="is_confidential")


class AppointmentDetailSchema(AppointmentSchema):
    pass


def _flag(value: Any) -> bool:
    """A JSON boolean (true/false, or absent); anything else is refused in French."""
    if value is None or isinstance(value, bool):
        return bool(value)
    raise DomainError("confidential doit valoir true ou false.")


class PlageApi(AppModelRestApi):
    resource_name = "plage"
    datamodel = SQLAInterface(Plage)
    class_permission_name = Res.PLAGE
    show_title = "Plage"
    label_columns = {
        "office_id": "Cabinet médical",
        "professional_id": "Professionnel de santé",
        "starts_at": "Début",
        "ends_at": "Fin",
        "nature": "Nature",
        "state": "État",
        "appointment_minutes": "Durée d'un rendez-vous (minutes)",
        "reserved_for_id": "Réservée pour (collectivité)",
    }
    method_permission_name = {
        **AppModelRestApi.method_permission_name,
        "book": BOOK,
        "refuse": BOOK,
    }
    list_columns = [
        "id",
        "office_id",
        "professional_id",
        "starts_at",
        "ends_at",
        "appointment_minutes",
        "nature",
        "state",
        "reserved_for_id",
    ]
    show_columns = list_columns
    add_columns = [
        "office_id",
        "professional_id",
        "starts_at",
        "ends_at",
        "appointment_minutes",
        "nature",
        "reserved_for_id",
    ]
    edit_columns = ["reserved_for_id"]
    search_columns = ["office_id", "professional_id", "starts_at", "state", "reserved_for_id"]
    order_columns = ["starts_at"]
    list_model_schema = PlageSchema()
    show_model_schema = PlageDetailSchema()

    def pre_get_list(self, data: dict[str, Any]) -> None:
        """Free capacities of the whole page in one query."""
        rows = data.get("result", [])
        taken = services.taken_counts([row["id"] for row in rows])
        for row in rows:
            capacity = rules.capacity(
                dt.datetime.fromisoformat(row["start"]),
                dt.datetime.fromisoformat(row["end"]),
                row["appointment_minutes"],
            )
            cancelled = row["state"] == PlageState.annulee.name
            row["free_capacity"] = 0 if cancelled else capacity - taken.get(row["id"], 0)

    def post_headless(self) -> Any:
        """Staff create a plage: {office_id, professional_id, start, end, appointment_minutes,
        nature, reserved_for_id}."""
        try:
            payload = json_object()
            start = dt.datetime.fromisoformat(str(payload["start"]))
            end = dt.datetime.fromisoformat(str(payload["end"]))
            if end.date() != start.date():
                raise DomainError("Une plage commence et finit le même jour.")
            plage = services.create_plage(
                services.PlageInput(
                    office_id=int(payload["office_id"]),
                    professional_id=int(payload["professional_id"]),
                    day=start.date(),
                    start=start.time(),
                    end=end.time(),
                    appointment_minutes=int(payload["appointment_minutes"]),
                    nature=enum_member(PlageNature, payload.get("nature", "medecin")),  # type: ignore[arg-type]
                    reserved_for_id=int(payload["reserved_for_id"])
                    if payload.get("reserved_for_id")
                    else None,
                )
            )
            self._commit()
        except (KeyError, ValueError, TypeError):
            db.session.rollback()
            return self.response(
                400,
                message="Champs attendus : office_id, professional_id, start, end (ISO), appointment_minutes, nature.",
            )
        except DomainError as error:
            return self._refused(error)
        return self.response(201, id=plage.id, result=self.show_model_schema.dump(plage))

    def put_headless(self, pk: Any) -> Any:
        """Staff reserve a common plage for a collectivity or make it common: {reserved_for_id}."""
        try:
            payload = json_object()
            raw = payload.get("reserved_for_id")
            services.set_reservation(int(pk), int(raw) if raw else None)
            self._commit()
        except (ValueError, TypeError):
            db.session.rollback()
            return self.response(
                400, message="reserved_for_id doit être un identifiant de collectivité ou null."
            )
        except DomainError as error:
            return self._refused(error)
        plage = db.session.get(Plage, int(pk))
        return self.response(200, result=self.show_model_schema.dump(plage))

    def delete_headless(self, pk: Any) -> Any:
        plage = self.datamodel.get(pk, self._base_filters)
        if plage is None:
            return self.response_404()
        return self.response(
            400,
            message="Une plage ne se supprime pas : annulez-la avec un motif depuis le planning.",
        )

    @expose("/<int:pk>/book", methods=["POST"])
    @protect()
    @safe
    @permission_name("book")
    def book(self, pk: int) -> Any:
        """Book an agent: {agent_id, visit_type, comment, confidential} -> 201 with the
        appointment; 409 when no capacity is left; 404 when the plage is not visible to the
        caller. ``confidential`` (a visit the agent asked for himself, SPEC E7) is staff only.
        ---
        post:
          responses:
            201:
              description: Appointment created
            400:
              $ref: '#/components/responses/400'
            404:
              $ref: '#/components/responses/404'
            409:
              description: No capacity left
        """
        if self.datamodel.get(pk) is None:
            return self.response_404()
        try:
            payload = json_object()
            db.session.commit()  # the booking transaction starts with the plage's lock
            visit_type = payload.get("visit_type")
            appointment = services.book(
                pk,
                payload.get("agent_id"),
                reference_code(VisitType, visit_type, "visit_type") if visit_type else "",
                payload.get("comment"),
                confidential=_flag(payload.get("confidential")),
            )
            self._commit()
        except services.SlotFull as error:
            db.session.rollback()
            return self.response(409, message=error.message)
        except DomainError as error:
            return self._refused(error)
        return self.response(
            201, id=appointment.id, result=AppointmentDetailSchema().dump(appointment)
        )

    @expose("/<int:pk>/refuse", methods=["POST"])
    @protect()
    @safe
    @permission_name("refuse")
    def refuse(self, pk: int) -> Any:
        """Refuse a reserved or common plage: {reason} (mandatory) -> 200.
        ---
        post:
          responses:
            200:
              description: Plage refused
            400:
              $ref: '#/components/responses/400'
            404:
              $ref: '#/components/responses/404'
        """
        if self.datamodel.get(pk) is None:
            return self.response_404()
        try:
            plage = services.refuse_plage(pk, str(json_object().get("reason") or ""))
            self._commit()
        except DomainError as error:
            return self._refused(error)
        return self.response(
            200,
            message="Plage refusée : le motif est transmis au secrétariat.",
            state=plage.state.name,
        )


class AppointmentApi(AppModelRestApi):
    resource_name = "appointment"
    datamodel = SQLAInterface(Appointment)
    class_permission_name = Res.APPOINTMENT
    show_title = "Rendez-vous"
    label_columns = {
        "plage_id": "Plage",
        "plage": "Plage",
        "agent_id": "Agent",
        "agent": "Agent",
        "starts_at": "Heure",
        "status": "Statut",
        "comment": "Commentaire",
        "slot_index": "Numéro du créneau",
        "visit_type": "Type de visite",
        "cancellation_reason": "Motif d'annulation",
        "cancelled_at": "Annulé le",
        "convocation_sent_at": "Convocation envoyée le",
        "attendance_recorded_at": "Présence saisie le",
        "is_confidential": "Confidentielle",
    }
    method_permission_name = {**AppModelRestApi.method_permission_name, "cancel": BOOK}
    base_permissions = ["can_read", "can_book"]
    # ``is_confidential`` is listed so that the page loads it with the rows (the schema reads it).
    list_columns = [
        "id",
        "plage_id",
        "agent_id",
        "starts_at",
        "status",
        "comment",
        "is_confidential",
    ]
    show_columns = list_columns
    search_columns = ["plage_id", "agent_id", "starts_at", "status"]
    order_columns = ["starts_at"]
    list_model_schema = AppointmentSchema()
    show_model_schema = AppointmentDetailSchema()

    @expose("/<int:pk>/cancel", methods=["POST"])
    @protect()
    @safe
    @permission_name("cancel")
    def cancel(self, pk: int) -> Any:
        """Cancel an appointment: by the employer 48 hours or more before, a justified absence;
        later, an unjustified one; by the secretariat, « annulee ».
        ---
        post:
          responses:
            200:
              description: Appointment cancelled
            400:
              $ref: '#/components/responses/400'
            404:
              $ref: '#/components/responses/404'
        """
        if self.datamodel.get(pk) is None:
            return self.response_404()
        payload = request.get_json(silent=True) or {}
        try:
            appointment = services.cancel_appointment(
                pk, payload.get("reason") if isinstance(payload, dict) else None
            )
            self._commit()
        except DomainError as error:
            return self._refused(error)
        return self.response(200, message="Rendez-vous annulé.", status=appointment.status.name)
