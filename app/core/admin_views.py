"""Administration screens: audit log (SPEC A5) and the e-mail outbox (SPEC A6)."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_appbuilder import BaseView, expose
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterNotEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from wtforms import SelectField

from app.core.audit import AuditLog
from app.core.labels import model_label
from app.core.mail import outbox_entries, read_outbox
from app.core.views import READ, ReadOnlyModelView
from app.security import Res


def audited_table_choices() -> list[tuple[str, str]]:
    """(table, French name) of every table the audit log records, by French name: the search
    filter offers « Demande de visite », not ``visit_request`` (issue 10)."""
    from flask_appbuilder import Model

    from app.rules.names import name_key

    tables = {
        mapper.class_.__tablename__
        for mapper in Model.registry.mappers
        if getattr(mapper.class_, "__audited__", False) and hasattr(mapper.class_, "__tablename__")
    }
    tables.add("ab_user")
    choices = [(table, model_label(table)) for table in tables]
    return sorted(choices, key=lambda choice: (name_key(choice[1]), choice[0]))


def _action_choices() -> list[tuple[str, str]]:
    return list(AuditLog.ACTION_LABELS.items())


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
    # The table and the action are chosen by their French names (stored: the codes).
    search_form_extra_fields = {
        "table_name": SelectField("Table", choices=audited_table_choices, widget=Select2Widget()),
        "action": SelectField("Action", choices=_action_choices, widget=Select2Widget()),
    }

    def _init_properties(self) -> None:
        super()._init_properties()
        # A chosen value is compared whole (« est » / « n'est pas »), not as a text prefix.
        for column in ("table_name", "action"):
            self._filters._search_filters[column] = [
                FilterEqual(column, self.datamodel),
                FilterNotEqual(column, self.datamodel),
            ]


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
