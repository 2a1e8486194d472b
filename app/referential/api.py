"""REST resources of the reference data (CONTRACT.md §2): collectivity, office, professional."""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.core.views import AppModelRestApi
from app.referential import services
from app.referential.models import Collectivity, Office, Professional
from app.security import Res


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
    list_columns = ["id", "name", "kind", "city", "teleconsultation", "served_collectivity_ids"]
    show_columns = list_columns
    add_columns = ["name", "kind", "line1", "postcode", "city", "teleconsultation"]
    edit_columns = add_columns
    search_columns = ["name", "kind", "city"]
    order_columns = ["name", "city"]


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
