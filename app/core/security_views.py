"""Flask-AppBuilder's user, role and group screens without a query per row (issue 9), in words
(issue 10): users with « Oui/Non » and role names, no groups, roles as the permission matrix.

FAB lists users with their roles and groups, roles with their permissions and groups with their
roles, each loaded row by row, and its default search filters load whole related tables (every
user, every permission) at each render. These screens load the listed relations with one
``selectinload`` each and search on plain columns (users may still be filtered by role: a
handful of rows).
"""

from __future__ import annotations

from typing import Any

from flask_appbuilder import expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security import views as fab_views
from flask_appbuilder.security.decorators import has_access
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


def yes_no(value: Any) -> str:
    return "Oui" if value else "Non"


def role_names(roles: Any) -> str:
    return ", ".join(sorted(role.name for role in roles or ()))


class UserDBModelView(fab_views.UserDBModelView):
    search_columns = ["first_name", "last_name", "username", "email", "active", "roles"]
    formatters_columns = {"active": yes_no, "roles": role_names}
    # Groups are not used (roles are built in): not shown, not asked.
    list_columns = [c for c in fab_views.UserDBModelView.list_columns if c != "groups"]
    add_columns = [c for c in fab_views.UserDBModelView.add_columns if c != "groups"]
    edit_columns = [c for c in fab_views.UserDBModelView.edit_columns if c != "groups"]
    list_title = "Utilisateurs"
    show_title = "Utilisateur"
    add_title = "Nouvel utilisateur"
    edit_title = "Modifier l'utilisateur"


def matrix_rows() -> list[tuple[str, list[str]]]:
    """The permission matrix (app/security.py MATRIX) with French resource and permission
    names, one row per resource, one cell per role (docs/permissions.md in words)."""
    from app import roles
    from app.core.labels import resource_label
    from app.security import MATRIX, PERMISSION_LABELS

    rows = []
    for resource, grants in MATRIX.items():
        cells = [
            "tout"
            if role == roles.ADMIN
            else ", ".join(PERMISSION_LABELS[p] for p in grants.get(role, ())) or "–"
            for role in roles.ALL_ROLES
        ]
        rows.append((resource_label(resource), cells))
    return sorted(rows, key=lambda row: row[0].casefold())


class RoleModelView(fab_views.RoleModelView):
    """Roles are data in the code (app/security.py): the list is the permission matrix."""

    search_columns = ["name"]
    list_title = "Rôles et permissions"

    @expose("/list/")
    @has_access
    def list(self) -> Any:
        from app import roles

        return self.render_template(
            "medprev/roles_matrix.html",
            title=self.list_title,
            role_names=roles.ALL_ROLES,
            rows=matrix_rows(),
        )


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
