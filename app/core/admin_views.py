"""Administration screens: audit log (SPEC A5) and the e-mail outbox (SPEC A6)."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access

from app.core.audit import AuditLog
from app.core.mail import outbox_entries, read_outbox
from app.core.views import READ, ReadOnlyModelView
from app.security import Res


class AuditLogView(ReadOnlyModelView):
    datamodel = SQLAInterface(AuditLog)
    class_permission_name = Res.AUDIT
    list_title = "Journal d'audit"
    show_title = "Entrée du journal d'audit"
    list_columns = ["at", "username", "action_label", "record_label", "row_id", "collectivity"]
    show_columns = [*list_columns, "changes_text"]
    search_columns = ["username", "table_name", "row_id", "action", "at", "collectivity_id"]
    order_columns = ["at", "username", "table_name"]
    base_order = ("at", "desc")
    label_columns = {
        "at": "Date",
        "username": "Utilisateur",
        "action": "Action",
        "action_label": "Action",
        "table_name": "Table",
        "record_label": "Enregistrement",
        "row_id": "Numéro",
        "collectivity": "Collectivité",
        "collectivity_id": "Collectivité (numéro)",
        "changes_text": "Modifications (ancienne valeur → nouvelle valeur)",
    }


class OutboxView(BaseView):
    """Messages written to the outbox folder when no SMTP server is configured."""

    route_base = "/courriels"
    default_view = "list"
    class_permission_name = Res.OUTBOX
    method_permission_name = {"list": READ, "show": READ}

    @expose("/")
    @has_access
    def list(self) -> Any:
        return self.render_template("medprev/outbox.html", entries=outbox_entries())

    @expose("/<name>")
    @has_access
    def show(self, name: str) -> Any:
        try:
            entry = read_outbox(name)
        except FileNotFoundError:
            abort(404)
        return self.render_template("medprev/outbox_message.html", entry=entry)
