"""REST resource ``document`` (CONTRACT.md §2): the employer's deposits, read-only here (the
deposit itself, with its « no medical data » box, is made on the screen), and
``GET /api/v1/document/<id>/file`` to download one. The scope's criteria apply: another
collectivity's deposit, or one about an agent a secondary account does not manage, is a 404."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from marshmallow import Schema, fields

from app import roles
from app.core import files
from app.core.views import READ, AppModelRestApi
from app.documents import services
from app.documents.models import EmployerDocument
from app.extensions import db
from app.security import register_resources

DOCUMENT_API = "Document"
register_resources(
    {
        DOCUMENT_API: {
            roles.SANTE: (READ,),
            roles.EMPLOYER_PRIMARY: (READ,),
            roles.EMPLOYER_SECONDARY: (READ,),
        }
    }
)


def health_team_scope() -> list[int] | None:
    """The collectivities a Santé user reads deposits of: those of his health team, as on the
    deposit queue; None for everyone else (employers are scoped by the tenant criteria)."""
    names = {role.name for role in getattr(g.get("user"), "roles", [])}
    if roles.SANTE in names and roles.ADMIN not in names:
        return services.team_collectivity_ids()
    return None


class HealthTeamScope(BaseFilter):
    name = "Équipe santé"
    arg_name = "team"

    def apply(self, query: Any, value: Any) -> Any:
        team = health_team_scope()
        return query if team is None else query.filter(EmployerDocument.collectivity_id.in_(team))


class DocumentSchema(Schema):
    id = fields.Integer()
    collectivity_id = fields.Integer()
    agent_id = fields.Integer(allow_none=True)
    nature = fields.Function(lambda d: d.nature.code)
    filename = fields.String()
    uploaded_on = fields.Function(lambda d: d.uploaded_at.date().isoformat())
    received_on = fields.Function(
        lambda d: d.received_at.date().isoformat() if d.received_at else None
    )


class DocumentDetailSchema(DocumentSchema):
    """The same fields for one record: a schema of its own in the OpenAPI document (apispec
    refuses one schema class registered twice)."""


class DocumentApi(AppModelRestApi):
    resource_name = "document"
    datamodel = SQLAInterface(EmployerDocument)
    class_permission_name = DOCUMENT_API
    base_permissions = ["can_read"]
    method_permission_name = {**AppModelRestApi.method_permission_name, "file": "read"}
    show_title = "Document déposé par l'employeur"
    label_columns = {
        "agent_id": "Agent",
        "nature_id": "Nature du document",
        "filename": "Nom du fichier",
        "uploaded_at": "Déposé le",
        "received_at": "Réception confirmée le",
    }
    list_columns = ["id", "collectivity_id", "agent_id", "nature_id", "filename", "uploaded_at"]
    show_columns = [*list_columns, "received_at"]
    search_columns = ["agent_id", "uploaded_at", "received_at"]
    order_columns = ["uploaded_at", "received_at"]
    base_order = ("uploaded_at", "desc")
    base_filters = [["collectivity_id", HealthTeamScope, None]]
    list_model_schema = DocumentSchema()
    show_model_schema = DocumentDetailSchema()

    @expose("/<int:pk>/file", methods=["GET"])
    @protect()
    @safe
    @permission_name("read")
    def file(self, pk: int) -> Any:
        """The deposited PDF.
        ---
        get:
          responses:
            200:
              description: The document (application/pdf)
            404:
              $ref: '#/components/responses/404'
        """
        row = db.session.get(EmployerDocument, pk)
        team = health_team_scope()
        if row is None or (team is not None and row.collectivity_id not in team):
            return self.response_404()
        data = files.read_stored(row.stored_path)
        if data is None:
            return self.response_404()
        return files.download_response(data, row.filename)
