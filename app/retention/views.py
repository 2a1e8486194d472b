"""« Exporter les données » of an agent (SPEC J1): the JSON or CSV download."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, g, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.core.spreadsheet import CSV_MIMETYPE
from app.core.types import utcnow
from app.core.views import READ
from app.extensions import db
from app.retention import portability
from app.security import Res

MIMETYPES = {"json": "application/json; charset=utf-8", "csv": CSV_MIMETYPE}


class AgentExportView(BaseView):
    route_base = "/portabilite"
    class_permission_name = Res.AGENT_EXPORT
    method_permission_name = {"agent": READ}

    @expose("/agent/<int:agent_id>")
    @has_access
    def agent(self, agent_id: int) -> Any:
        fmt = request.args.get("format", "json")
        if fmt not in portability.FORMATS:
            abort(404)
        role_names = {role.name for role in g.user.roles}
        try:
            agent, content = portability.export_agent(
                agent_id, fmt, medical=portability.may_see_medical(role_names), now=utcnow()
            )
        except portability.AgentNotFound:
            abort(404)
        db.session.commit()
        headers = {
            "Content-Disposition": f'attachment; filename="{portability.filename(agent, fmt)}"',
            "Cache-Control": "no-store",
        }
        return Response(content, mimetype=MIMETYPES[fmt], headers=headers)
