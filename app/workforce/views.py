"""Agent screens (SPEC C2); positions, careers and imports extend them."""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.core.views import AppModelView
from app.security import Res
from app.workforce.models import Agent

AGENT_LABELS = {
    "civility": "Civilité",
    "first_name": "Prénom",
    "birth_name": "Nom de naissance",
    "usage_name": "Nom d'usage",
    "full_name": "Nom et prénom",
    "birth_date": "Date de naissance",
    "ins": "INS",
    "status": "Statut",
    "service": "Service",
    "validated": "Validé par le CDG",
    "collectivity": "Collectivité",
}


class AgentView(AppModelView):
    route_base = "/agents"
    datamodel = SQLAInterface(Agent)
    class_permission_name = Res.AGENT
    list_title = "Agents"
    show_title = "Agent"
    add_title = "Nouvel agent"
    edit_title = "Modifier l'agent"
    list_columns = ["full_name", "birth_date", "ins", "service", "validated"]
    show_columns = [
        "civility",
        "first_name",
        "birth_name",
        "usage_name",
        "birth_date",
        "ins",
        "status",
        "service",
        "validated",
    ]
    add_columns = [
        "civility",
        "first_name",
        "birth_name",
        "usage_name",
        "birth_date",
        "ins",
        "status",
        "service",
    ]
    edit_columns = add_columns
    search_columns = ["birth_name", "usage_name", "first_name", "service"]
    order_columns = ["birth_date", "service"]
    base_order = ("birth_name", "asc")
    label_columns = AGENT_LABELS
