"""Who may use an endpoint: one check for menus, buttons and links (issue 10).

``can(endpoint)`` asks what the endpoint's view asks at the door (``@has_access`` with the
view's ``method_permission_name``) and, for screens that only make sense with a collectivity
(the employer portal), whether the user has one (``BaseView.needs_collectivity``). The menu
shows an entry only when ``can`` allows its default page; templates show a button only when
``can`` allows its target (``{% if can('AgentsView.add') %}``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g

PERMISSION_PREFIX = "can_"


def _views() -> dict[str, Any]:
    views: dict[str, Any] | None = current_app.extensions.get("medprev_views")
    if views is None:
        views = {view.endpoint: view for view in current_app.appbuilder.baseviews}
        current_app.extensions["medprev_views"] = views
    return views


def permission_of(view: Any, method: str) -> str | None:
    """The permission ``@has_access`` checks for ``view.method`` (None: not protected)."""
    function = getattr(view, method, None)
    name = getattr(function, "_permission_name", None)
    if name is None:
        return None
    if view.method_permission_name and view.method_permission_name.get(method):
        name = view.method_permission_name[method]
    return f"{PERMISSION_PREFIX}{name}" if not name.startswith(PERMISSION_PREFIX) else name


def view_is_usable(view: Any) -> bool:
    """The view's own condition beyond permissions (a collectivity for the employer portal)."""
    if getattr(view, "needs_collectivity", False):
        from app.tenancy import current_scope

        return current_scope().collectivity_id is not None
    return True


def can(endpoint: str) -> bool:
    """May the current user open this endpoint (``View.method``)? Endpoints outside
    Flask-AppBuilder's views (static files) are open."""
    cache: dict[str, bool] = g.setdefault("_medprev_can", {})
    if endpoint in cache:
        return cache[endpoint]
    view_name, _, method = endpoint.partition(".")
    view = _views().get(view_name)
    allowed = True
    if view is not None:
        permission = permission_of(view, method or view.default_view)
        if permission is not None:
            allowed = permission in view.base_permissions and bool(
                current_app.appbuilder.sm.has_access(permission, view.class_permission_name)
            )
        allowed = allowed and view_is_usable(view)
    cache[endpoint] = allowed
    return allowed


def menu_item_visible(item: Any) -> bool:
    """A menu entry shows when its page may be opened; a category when one of its entries does."""
    if item.childs:
        return any(menu_item_visible(child) for child in item.childs if child.name != "-")
    view = getattr(item, "baseview", None)
    if view is None:
        return bool(current_app.appbuilder.sm.has_access("menu_access", item.name))
    return item.should_render() and can(f"{view.endpoint}.{view.default_view}")


def register(app: Flask) -> None:
    app.jinja_env.globals["can"] = can
    # Replaces Flask-AppBuilder's filter (menu_access only) used by its navbar template.
    app.jinja_env.filters["is_menu_visible"] = menu_item_visible
