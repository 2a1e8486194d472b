"""REST resources of the reference data (CONTRACT.md §2): collectivity, office, professional,
convention."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_appbuilder.models.sqla.interface import SQLAInterface
from marshmallow import Schema, ValidationError, fields
from sqlalchemy import select

from app.core.views import AppModelRestApi
from app.extensions import db
from app.referential import services
from app.referential.models import Collectivity, Convention, Mission, Office, Professional
from app.rules.errors import FieldError
from app.security import Res

_UNSET = object()


class CollectivityApi(AppModelRestApi):
    resource_name = "collectivity"
    datamodel = SQLAInterface(Collectivity)
    class_permission_name = Res.COLLECTIVITY
    list_columns = [
        "id",
        "name",
        "siret",
        "siren",
        "membership_number",
        "category",
        "regime",
        "kind",
    ]
    show_columns = [
        *list_columns,
        "naf_code",
        "has_own_cst",
        "secretariat_mode",
        "membership_start",
        "membership_end",
        "main_line1",
        "main_line2",
        "main_postcode",
        "main_city",
    ]
    add_columns = [c for c in show_columns if c not in ("id", "siren")]
    edit_columns = add_columns
    search_columns = ["name", "siret", "membership_number", "category"]
    order_columns = ["name", "siret", "membership_number"]

    def pre_add(self, item: Collectivity) -> None:
        services.prepare_collectivity(item)

    def pre_update(self, item: Collectivity) -> None:
        services.prepare_collectivity(item)


class OfficeApi(AppModelRestApi):
    resource_name = "office"
    datamodel = SQLAInterface(Office)
    class_permission_name = Res.OFFICE
    label_columns = {"served_collectivity_ids": "Collectivités desservies"}
    list_columns = ["id", "name", "kind", "city", "teleconsultation", "served_collectivity_ids"]
    show_columns = list_columns
    add_columns = ["name", "kind", "line1", "postcode", "city", "teleconsultation"]
    edit_columns = add_columns
    search_columns = ["name", "kind", "city"]
    order_columns = ["name", "city"]

    def payload(self) -> Any:
        """``served_collectivity_ids`` is written through the office's relation (staff only)."""
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return data
        data = dict(data)
        g.office_served_ids = data.pop("served_collectivity_ids", _UNSET)
        return data

    def pre_add(self, item: Office) -> None:
        self._serve(item)

    def pre_update(self, item: Office) -> None:
        self._serve(item)

    @staticmethod
    def _serve(item: Office) -> None:
        ids = g.pop("office_served_ids", _UNSET)
        if ids is not _UNSET:
            item.served_collectivities = services.served_collectivities(ids)


class ProfessionalApi(AppModelRestApi):
    resource_name = "professional"
    datamodel = SQLAInterface(Professional)
    class_permission_name = Res.PROFESSIONAL
    list_columns = ["id", "last_name", "first_name", "role", "email", "is_active"]
    show_columns = list_columns
    add_columns = ["last_name", "first_name", "role", "email", "phone", "is_active"]
    edit_columns = add_columns
    search_columns = ["last_name", "first_name", "role"]
    order_columns = ["last_name", "first_name"]


class ConventionSchema(Schema):
    """CONTRACT.md §2 ``convention``: the mission as its code."""

    id = fields.Integer()
    collectivity_id = fields.Integer()
    mission = fields.Function(lambda convention: convention.mission.code)
    number = fields.String()
    start_date = fields.Date()
    end_date = fields.Date()
    tacit_renewal = fields.Boolean()
    renewed = fields.Boolean()
    quota_percent = fields.Decimal(as_string=True, allow_none=True)
    declared_payroll = fields.Decimal(as_string=True, allow_none=True)
    notes = fields.String(allow_none=True)


class ConventionDetailSchema(ConventionSchema):
    pass


class ConventionApi(AppModelRestApi):
    """Conventions for staff (Secrétariat writes and deletes, Comptabilité writes, Direction
    reads); ``mission`` is given as its code or its French label."""

    resource_name = "convention"
    datamodel = SQLAInterface(Convention)
    class_permission_name = Res.CONVENTION
    list_columns = [
        "id",
        "collectivity_id",
        "mission_id",
        "number",
        "start_date",
        "end_date",
        "tacit_renewal",
        "renewed",
        "quota_percent",
        "declared_payroll",
        "notes",
    ]
    show_columns = list_columns
    list_model_schema = ConventionSchema()
    show_model_schema = ConventionDetailSchema()
    add_columns = [column for column in list_columns if column != "id"]
    edit_columns = add_columns
    search_columns = ["collectivity_id", "mission_id", "number", "start_date", "end_date"]
    order_columns = ["number", "start_date", "end_date"]
    label_columns = {
        "id": "Identifiant",
        "collectivity_id": "Collectivité",
        "mission_id": "Mission",
        "mission": "Mission",
        "number": "Numéro",
        "start_date": "Début",
        "end_date": "Fin",
        "tacit_renewal": "Reconduction tacite (une fois)",
        "renewed": "Reconduite",
        "quota_percent": "Droit de tirage (%)",
        "declared_payroll": "Masse salariale déclarée (€)",
        "notes": "Observations",
    }

    def payload(self) -> Any:
        """``mission`` (code or French label) stands for ``mission_id``."""
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or "mission" not in data:
            return data
        data = dict(data)
        try:
            code = services.reference_code(Mission, data.pop("mission"), "mission")
        except FieldError as error:
            raise ValidationError({"mission": [error.message]}) from error
        data["mission_id"] = db.session.scalar(select(Mission.id).where(Mission.code == code))
        return data

    def pre_add(self, item: Convention) -> None:
        services.prepare_convention(item)

    def pre_update(self, item: Convention) -> None:
        services.prepare_convention(item)

    def post_headless(self) -> Any:
        response = super().post_headless()
        if response.status_code != 201:
            return response
        pk = response.get_json()["id"]
        return self.response(201, id=pk, result=self._dump(pk))

    def put_headless(self, pk: Any) -> Any:
        response = super().put_headless(pk)
        if response.status_code != 200:
            return response
        return self.response(200, result=self._dump(pk))

    def _dump(self, pk: Any) -> Any:
        """Creations and changes answer with the resource's own schema (``mission`` code)."""
        return self.show_model_schema.dump(db.session.get(Convention, int(pk)))
