"""Flask-AppBuilder's user, role and group screens without a query per row (issue 9).

FAB lists users with their roles and groups, roles with their permissions and groups with their
roles, each loaded row by row, and its default search filters load whole related tables (every
user, every permission) at each render. These screens load the listed relations with one
``selectinload`` each and search on plain columns (users may still be filtered by role: a
handful of rows).
"""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security import views as fab_views
from sqlalchemy.orm import selectinload


class EagerSQLAInterface(SQLAInterface):
    """A ``SQLAInterface`` whose list queries load the named relations in one query each."""

    def __init__(self, obj: Any, session: Any = None, eager: tuple[str, ...] = ()) -> None:
        super().__init__(obj, session)
        self.eager = eager

    def apply_all(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        query = super().apply_all(query, *args, **kwargs)
        return query.options(*(selectinload(getattr(self.obj, name)) for name in self.eager))


def eager(datamodel: SQLAInterface, *relations: str) -> EagerSQLAInterface:
    return EagerSQLAInterface(datamodel.obj, datamodel.session, eager=relations)


# The classes keep FAB's names: blueprints, endpoints and permission names come from them.


class UserDBModelView(fab_views.UserDBModelView):
    search_columns = ["first_name", "last_name", "username", "email", "active", "roles"]


class RoleModelView(fab_views.RoleModelView):
    search_columns = ["name"]


class UserGroupModelView(fab_views.UserGroupModelView):
    search_columns = ["name", "label", "description"]


def install(security_manager: Any) -> None:
    """Give the manager's screens their eager data models (FAB sets plain ones in __init__)."""
    security_manager.userdbmodelview.datamodel = eager(
        security_manager.userdbmodelview.datamodel, "roles", "groups"
    )
    security_manager.rolemodelview.datamodel = eager(
        security_manager.rolemodelview.datamodel, "permissions"
    )
    security_manager.groupmodelview.datamodel = eager(
        security_manager.groupmodelview.datamodel, "roles"
    )
