"""REST resources of the workforce (CONTRACT.md §2): agent."""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.core.views import AppModelRestApi
from app.security import Res
from app.workforce.models import Agent


class AgentApi(AppModelRestApi):
    resource_name = "agent"
    datamodel = SQLAInterface(Agent)
    class_permission_name = Res.AGENT
    list_columns = [
        "id",
        "collectivity_id",
        "civility",
        "first_name",
        "birth_name",
        "usage_name",
        "birth_date",
        "ins",
        "validated",
        "secondary_account_ids",
    ]
    show_columns = [*list_columns, "status", "service"]
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
    search_columns = ["birth_name", "usage_name", "first_name", "ins", "collectivity_id"]
    order_columns = ["birth_name", "first_name", "birth_date"]
