"""Who may use an endpoint: one check for menus, buttons and links (issue 10).

``can(endpoint)`` asks what the endpoint's view asks at the door (``@has_access`` with the
view's ``method_permission_name``) and, for screens that only make sense with a collectivity
(the employer portal), whether the user has one (``BaseView.needs_collectivity``). The menu
shows an entry only when ``can`` allows its default page; templates show a button only when
``can`` allows its target (``{% if can('AgentsView.add') %}``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flask import Flask, current_app, g, render_template, request, session
from markupsafe import Markup

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
    """The view's own condition beyond permissions: a collectivity for the employer portal; no
    collectivity yet for the membership wizard (``applicants_only``: an account that belongs to
    no collectivity, not a staff member); an employer-side account (``employers_only``)."""
    if getattr(view, "needs_collectivity", False):
        from app.tenancy import current_scope

        return current_scope().collectivity_id is not None
    if getattr(view, "applicants_only", False):
        from app.tenancy import current_scope

        scope = current_scope()
        return not scope.unrestricted and scope.collectivity_id is None
    if getattr(view, "employers_only", False):  # employer-side pages Admin may open but not use
        from app.tenancy import current_scope

        return not current_scope().unrestricted
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


# ----------------------------------------------------------------------------------------------
# The rendered menu, kept per identity (issue 9)
# ----------------------------------------------------------------------------------------------
#
# Rendering the menu asks ``can`` for every entry (22 ms of a list page). What it shows depends
# only on who asks: the account, its roles (their permissions are code: ``builtin_roles``), the
# request's scope (which collectivity is selected, secondary account or not), the locale and the
# URL prefix. The key holds all of them plus the account's security stamp, which rotates when
# its roles change (``app.accounts.stamps``), so such a change is seen on the very next request
# in every worker. A user holding a role defined in the database (its permissions could change
# in another worker) gets the menu rendered afresh. The menu of one account is never served to
# another: the account id is part of the key.

MENU_CACHE_SIZE = 2048
_menu_lock = threading.Lock()


def _menu_cache() -> OrderedDict[tuple[Any, ...], str]:
    cache: OrderedDict[tuple[Any, ...], str] | None = current_app.extensions.get("medprev_menu")
    if cache is None:
        cache = current_app.extensions.setdefault("medprev_menu", OrderedDict())
    return cache


def forget_menus(app: Flask | None = None) -> None:
    """Drop every kept menu (the built-in role definitions were installed again)."""
    extensions = (app or current_app).extensions
    with _menu_lock:
        extensions.get("medprev_menu", OrderedDict()).clear()


def menu_key() -> tuple[Any, ...] | None:
    """What the menu of this request depends on, or None when it must be rendered afresh."""
    from flask_babel import get_locale

    from app.accounts.stamps import SESSION_KEY
    from app.tenancy import current_scope

    sm = current_app.appbuilder.sm
    user = g.get("user")
    locale = str(get_locale())
    if user is None or not getattr(user, "is_authenticated", False):
        return ("anonymous", locale, request.script_root)
    stamp = session.get(SESSION_KEY)
    if not isinstance(stamp, str) or not stamp:
        return None
    names = frozenset(role.name for role in sm.get_user_roles(user))
    if not names <= sm.builtin_roles.keys():
        return None
    return (user.id, stamp, names, current_scope(), locale, request.script_root)


def rendered_menu() -> Markup:
    """The left part of the navbar (``appbuilder/navbar_menu.html``), rendered once per key."""
    key = menu_key()
    if key is not None:
        cache = _menu_cache()
        with _menu_lock:
            html = cache.get(key)
            if html is not None:
                cache.move_to_end(key)
                return Markup(html)
    html = render_template("appbuilder/navbar_menu.html", menu=current_app.appbuilder.menu)
    if key is not None:
        with _menu_lock:
            cache[key] = html
            while len(cache) > MENU_CACHE_SIZE:
                cache.popitem(last=False)
    return Markup(html)


def register(app: Flask) -> None:
    app.jinja_env.globals["can"] = can
    app.jinja_env.globals["rendered_menu"] = rendered_menu
    # Replaces Flask-AppBuilder's filter (menu_access only) used by its navbar template.
    app.jinja_env.filters["is_menu_visible"] = menu_item_visible
