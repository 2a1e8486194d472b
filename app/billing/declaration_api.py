"""REST resource ``declaration`` (CONTRACT.md §2): the annual declarations (SPEC F1). The primary
account declares its collectivity's year and changes it within 7 days; staff read them all and
declare for a collectivity (``collectivity_id``). No delete: a declaration is reopened by staff.
"""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from marshmallow import Schema, fields

from app.billing import declarations as services
from app.billing.declaration_views import DECLARATION
from app.core.json_body import json_object
from app.core.views import AppModelRestApi
from app.rules.errors import DomainError
from app.workforce.models import Headcount


class DeclarationSchema(Schema):
    id = fields.Integer()
    collectivity_id = fields.Integer()
    year = fields.Integer()
    headcount = fields.Integer()
    permanent_headcount = fields.Integer(allow_none=True)
    payroll = fields.Decimal(as_string=True, allow_none=True)
    validated_on = fields.Date(allow_none=True)
    editable = fields.Function(lambda row: services.is_editable(row))
    locked_since = fields.Function(
        lambda row: (lambda d: d.isoformat() if d else None)(services.locked_since(row))
    )
    reopened_reason = fields.String(allow_none=True)


WRITABLE = {"headcount", "permanent_headcount", "payroll"}
CREATABLE = WRITABLE | {"year", "collectivity_id"}


class DeclarationDetailSchema(DeclarationSchema):
    """The same fields for one record: a schema of its own in the OpenAPI document (apispec
    refuses one schema class registered twice)."""


class DeclarationApi(AppModelRestApi):
    resource_name = "declaration"
    datamodel = SQLAInterface(Headcount)
    class_permission_name = DECLARATION
    base_permissions = ["can_read", "can_write"]
    include_route_methods = {"get", "get_list", "post", "put", "info"}
    show_title = "Déclaration annuelle"
    list_title = "Déclarations annuelles"
    label_columns = {
        "collectivity_id": "Collectivité",
        "year": "Année",
        "headcount": "Effectif au 1er janvier",
        "permanent_headcount": "Effectif permanent au 31 décembre N-1",
        "payroll": "Masse salariale",
        "validated_on": "Date de validation",
        "declared_on": "Date de validation",
        "editable": "Modifiable",
        "locked_since": "Verrouillée depuis le",
        "reopened_reason": "Motif de réouverture",
    }
    list_columns = [
        "id",
        "collectivity_id",
        "year",
        "headcount",
        "permanent_headcount",
        "payroll",
        "declared_on",
        "reopened_reason",
    ]
    show_columns = list_columns
    # The schema reads the lock state (``reopened_at``): select it with the listed columns.
    list_select_columns = [*list_columns, "reopened_at", "validated_at"]
    show_select_columns = list_select_columns
    add_columns = ["collectivity_id", "year", "headcount", "permanent_headcount", "payroll"]
    edit_columns = ["headcount", "permanent_headcount", "payroll"]
    search_columns = ["collectivity_id", "year", "declared_on"]
    order_columns = ["year", "declared_on", "id"]
    base_order = ("year", "desc")
    list_model_schema = DeclarationSchema()
    show_model_schema = DeclarationDetailSchema()

    def post_headless(self) -> Any:
        """{year, headcount, permanent_headcount, payroll[, collectivity_id for staff]} -> 201;
        the declaration is validated at once. 400 with a French message when refused."""
        try:
            payload = json_object(CREATABLE)
            data = services.parse_input(
                payload.get("year"),
                payload.get("headcount"),
                payload.get("permanent_headcount"),
                payload.get("payroll"),
            )
            result = services.declare(data, payload.get("collectivity_id"))
            self._commit()
        except DomainError as error:
            return self._refused(error)
        return self.response(
            201,
            id=result.row.id,
            result=DeclarationSchema().dump(result.row),
            warnings=result.warnings,
        )

    def put_headless(self, pk: Any) -> Any:
        """{headcount, permanent_headcount, payroll} within 7 days of the validation (or once
        staff reopened it) -> 200; 400 after the 7 days."""
        if self.datamodel.get(pk) is None:
            return self.response_404()
        try:
            row = services.get_declaration(pk)
            payload = {
                "headcount": row.headcount,
                "permanent_headcount": row.permanent_headcount,
                "payroll": row.payroll,
                **json_object(WRITABLE),
            }
            data = services.parse_input(
                row.year,
                payload["headcount"],
                payload["permanent_headcount"],
                payload["payroll"],
            )
            result = services.update(pk, data)
            self._commit()
        except DomainError as error:
            return self._refused(error)
        return self.response(
            200, result=DeclarationSchema().dump(result.row), warnings=result.warnings
        )
