"""Roles as data (SPEC A2) and the security manager.

A resource is a ``class_permission_name`` shared by a screen and its REST API; its permissions
are ``can_read``, ``can_write`` and ``can_delete`` (see ``app.core.views.METHOD_PERMISSIONS``).
``MATRIX`` says which role gets which permission on which resource; it is turned into
Flask-AppBuilder built-in roles (checked in memory, no per-request permission queries) and
printed as the documented matrix by ``flask roles matrix`` (docs/permissions.md).
"""

from __future__ import annotations

import re
from typing import Any

from flask_appbuilder.security.sqla.manager import SecurityManager as FabSecurityManager

from app import roles
from app.core import security_views
from app.roles import (
    ADMIN,
    COMPTABILITE,
    DIRECTION,
    EMPLOYER_PRIMARY,
    EMPLOYER_SECONDARY,
    SANTE,
    SECRETARIAT,
)

R, W, D, B = "read", "write", "delete", "book"
RW = (R, W)
RWD = (R, W, D)


class Res:
    """Resource (permission view) names: one constant each, never renamed lightly."""

    COLLECTIVITY = "Collectivity"
    CONTACT = "Contact"
    HEALTH_TEAM = "HealthTeam"
    CONVENTION = "Convention"
    MISSION = "Mission"
    OFFICE = "Office"
    PROFESSIONAL = "Professional"
    RISK = "Risk"
    REFERENCE = "ReferenceList"
    TARIFF = "Tariff"
    AUDIT = "AuditLog"
    OUTBOX = "Outbox"
    OPENAPI = "OpenApi"
    MY_ACCOUNT = "MyAccount"
    EMPLOYER_ACCOUNTS = "EmployerAccount"
    MY_DETAILS = "MyDetails"
    MY_CONTACTS = "MyContacts"
    MY_HEALTH_TEAM = "MyHealthTeam"
    SECONDARY_ACCOUNTS = "SecondaryAccount"
    AGENT = "Agent"
    WORK_POSITION = "WorkPosition"
    CONTRACT = "Contract"
    AGENT_VALIDATION = "AgentValidation"
    IMPORT = "Import"
    HEADCOUNT = "Headcount"
    PLAGE = "Plage"
    APPOINTMENT = "Appointment"
    BOOKING = "Booking"
    CALENDAR = "PlageCalendar"
    AGENT_EXPORT = "AgentExport"
    VISIT_REQUEST = "VisitRequest"
    VISIT_REQUEST_FOLLOW_UP = "VisitRequestFollowUp"
    VISIT_REQUEST_QUEUE = "VisitRequestQueue"


# resource -> role -> permissions. Admin has everything (see fab_roles) and is listed for the doc.
MATRIX: dict[str, dict[str, tuple[str, ...]]] = {
    Res.COLLECTIVITY: {
        SECRETARIAT: RW,
        SANTE: (R,),
        COMPTABILITE: (R,),
        DIRECTION: (R,),
        EMPLOYER_PRIMARY: (R,),
        EMPLOYER_SECONDARY: (R,),
    },
    Res.CONTACT: {SECRETARIAT: RWD, SANTE: (R,), COMPTABILITE: (R,)},
    Res.HEALTH_TEAM: {SECRETARIAT: RWD, SANTE: (R,)},
    Res.CONVENTION: {SECRETARIAT: RWD, COMPTABILITE: RW, DIRECTION: (R,)},
    Res.MISSION: {SECRETARIAT: (R,), COMPTABILITE: (R,), DIRECTION: (R,)},
    Res.OFFICE: {SECRETARIAT: RWD, SANTE: (R,), DIRECTION: (R,)},
    Res.PROFESSIONAL: {SECRETARIAT: RWD, SANTE: (R,), DIRECTION: (R,)},
    Res.RISK: {SECRETARIAT: (R,), SANTE: (R,)},
    Res.REFERENCE: {SECRETARIAT: (R,), SANTE: (R,), COMPTABILITE: (R,)},
    Res.TARIFF: {COMPTABILITE: (R,), DIRECTION: (R,)},
    Res.AUDIT: {},
    Res.OUTBOX: {SECRETARIAT: (R,)},
    Res.OPENAPI: {role: ("get",) for role in roles.ALL_ROLES if role != ADMIN},
    Res.MY_ACCOUNT: {role: RW for role in roles.ALL_ROLES if role != ADMIN},
    Res.EMPLOYER_ACCOUNTS: {SECRETARIAT: RW},
    Res.MY_DETAILS: {EMPLOYER_PRIMARY: RW, EMPLOYER_SECONDARY: (R,)},
    Res.MY_CONTACTS: {EMPLOYER_PRIMARY: RWD, EMPLOYER_SECONDARY: (R,)},
    Res.MY_HEALTH_TEAM: {EMPLOYER_PRIMARY: (R,), EMPLOYER_SECONDARY: (R,)},
    Res.SECONDARY_ACCOUNTS: {EMPLOYER_PRIMARY: RWD},
    Res.AGENT: {
        SECRETARIAT: RWD,
        SANTE: (R,),
        DIRECTION: (R,),
        EMPLOYER_PRIMARY: RWD,
        EMPLOYER_SECONDARY: RW,
    },
    Res.WORK_POSITION: {
        SECRETARIAT: RWD,
        SANTE: (R,),
        DIRECTION: (R,),
        EMPLOYER_PRIMARY: RWD,
        EMPLOYER_SECONDARY: (R,),
    },
    Res.CONTRACT: {SECRETARIAT: RWD, SANTE: (R,), EMPLOYER_PRIMARY: RWD, EMPLOYER_SECONDARY: RW},
    Res.AGENT_VALIDATION: {SECRETARIAT: RW},
    Res.IMPORT: {SECRETARIAT: RW, EMPLOYER_PRIMARY: RW},
    Res.HEADCOUNT: {
        SECRETARIAT: RWD,
        COMPTABILITE: (R,),
        DIRECTION: (R,),
        EMPLOYER_PRIMARY: (R,),
        EMPLOYER_SECONDARY: (R,),
    },
    Res.PLAGE: {
        SECRETARIAT: (R, W, D, B),
        SANTE: (R,),
        DIRECTION: (R,),
        EMPLOYER_PRIMARY: (R, B),
        EMPLOYER_SECONDARY: (R, B),
    },
    Res.APPOINTMENT: {
        SECRETARIAT: (R, B),
        SANTE: (R,),
        DIRECTION: (R,),
        EMPLOYER_PRIMARY: (R, B),
        EMPLOYER_SECONDARY: (R, B),
    },
    Res.BOOKING: {EMPLOYER_PRIMARY: RW, EMPLOYER_SECONDARY: RW},
    Res.CALENDAR: {SECRETARIAT: RWD, SANTE: (R,), DIRECTION: (R,)},
    # Portability (SPEC J1): staff who read agents and the primary account, not a secondary one.
    Res.AGENT_EXPORT: {SECRETARIAT: (R,), SANTE: (R,), DIRECTION: (R,), EMPLOYER_PRIMARY: (R,)},
    # Visit requests (SPEC E1, E2): the REST resource, the employer's « Suivi des demandes », the
    # secretariat's work queue (schedule, refuse).
    Res.VISIT_REQUEST: {
        SECRETARIAT: RW,
        SANTE: (R,),
        EMPLOYER_PRIMARY: RW,
        EMPLOYER_SECONDARY: RW,
    },
    Res.VISIT_REQUEST_FOLLOW_UP: {EMPLOYER_PRIMARY: RW, EMPLOYER_SECONDARY: RW},
    Res.VISIT_REQUEST_QUEUE: {SECRETARIAT: RW, SANTE: (R,)},
}

# Flask-AppBuilder screens every signed-in user needs (own profile).
COMMON_PERMISSIONS: list[tuple[str, str]] = [
    ("UserDBModelView", "can_userinfo"),
    ("UserInfoEditView", "can_this_form_get"),
    ("UserInfoEditView", "can_this_form_post"),
]


def register_resources(matrix: dict[str, dict[str, tuple[str, ...]]]) -> None:
    """Domain packages add their resources to the matrix (called at import time)."""
    for resource, grants in matrix.items():
        if resource in MATRIX:
            raise ValueError(f"Resource {resource} declared twice")
        MATRIX[resource] = grants


def role_permissions(role: str) -> list[tuple[str, str]]:
    """(resource, permission) pairs of a role, from the matrix."""
    pairs = [
        (resource, f"can_{permission}")
        for resource, grants in MATRIX.items()
        for permission in grants.get(role, ())
    ]
    return pairs + COMMON_PERMISSIONS


# Medical content reaches health roles only (SPEC J3): Admin has every resource but these.
HEALTH_ONLY = ("MedicalNote",)


def fab_roles(menu: Any) -> dict[str, list[list[str]]]:
    """Built-in role definitions for Flask-AppBuilder, menus included (regexes, anchored)."""
    health_only = "|".join(re.escape(resource) for resource in HEALTH_ONLY)
    admin = [[f"^(?!(?:{health_only})$).*", ".*"]]
    definitions: dict[str, list[list[str]]] = {ADMIN: admin, roles.PUBLIC: []}
    for role in roles.ALL_ROLES:
        if role == ADMIN:
            continue
        pairs = role_permissions(role)
        readable = {resource for resource, permission in pairs if permission == "can_read"}
        menus = accessible_menus(menu, readable)
        definitions[role] = [[f"^{re.escape(r)}$", f"^{re.escape(p)}$"] for r, p in pairs] + [
            [f"^{re.escape(name)}$", "^menu_access$"] for name in sorted(menus)
        ]
    return definitions


def accessible_menus(menu: Any, readable: set[str]) -> set[str]:
    names: set[str] = set()
    for category in menu.get_list():
        children = [child for child in category.childs if child.name != "-"]
        if not children:
            view = getattr(category, "baseview", None)
            if view is not None and view.class_permission_name in readable:
                names.add(category.name)
            continue
        for child in children:
            view = getattr(child, "baseview", None)
            if view is not None and view.class_permission_name in readable:
                names.add(child.name)
                names.add(category.name)
    return names


# How the matrix names each permission (docs/permissions.md and the « Rôles » screen).
PERMISSION_LABELS = {
    R: "lire",
    W: "modifier",
    D: "supprimer",
    B: "réserver/refuser/annuler",
    "get": "lire",
}


def matrix_markdown() -> str:
    """The documented permission matrix (docs/permissions.md is this text)."""
    labels = PERMISSION_LABELS
    header = "| ressource | " + " | ".join(roles.ALL_ROLES) + " |"
    lines = [
        "# Matrice des permissions",
        "",
        "Générée par `flask roles matrix` depuis `app/security.py` (MATRIX) ; un test vérifie",
        "que ce fichier est à jour. `Admin` a toutes les permissions, sauf les notes médicales",
        "(réservées au rôle `Santé`). Les employeurs ne voient",
        "que les données de leur collectivité (un compte secondaire : ses agents), quelle que",
        "soit la permission (`app/tenancy.py`).",
        "",
        header,
        "|" + " --- |" * (len(roles.ALL_ROLES) + 1),
    ]
    for resource in sorted(MATRIX):
        cells = []
        for role in roles.ALL_ROLES:
            if role == ADMIN:
                cells.append("–" if resource in HEALTH_ONLY else "tout")
            else:
                cells.append(", ".join(labels[p] for p in MATRIX[resource].get(role, ())) or "–")
        lines.append(f"| {resource} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


class SecurityManager(FabSecurityManager):
    """Flask-AppBuilder's manager without the Google-based user chart, roles from MATRIX,
    French login with first-connection links, and a temporary lock after repeated failures
    (shared by the web login and the REST API login)."""

    userstatschartview = None
    userdbmodelview = security_views.UserDBModelView
    rolemodelview = security_views.RoleModelView
    groupmodelview = security_views.UserGroupModelView

    def __init__(self, appbuilder: Any) -> None:
        super().__init__(appbuilder)
        security_views.install(self)

    @property
    def authdbview(self) -> Any:  # type: ignore[override]
        from app.accounts.views import LoginView

        return LoginView

    def auth_user_db(self, username: str, password: str) -> Any:
        from app.accounts import services
        from app.tenancy import system_scope

        with system_scope():
            user = self.find_user(username=username) or self.find_user(email=username)
            if user is not None and services.is_locked(user.id):
                services.dummy_password_check()
                return None
            authenticated = super().auth_user_db(username, password)
            if authenticated is None and user is not None:
                services.record_failed_login(user)
            elif authenticated is not None:
                services.clear_lock(authenticated.id)
            return authenticated

    # Sessions and tokens name a user by id *and* security stamp (app/accounts/stamps.py).
    def load_user(self, pk: Any) -> Any:
        from app.accounts import stamps

        return stamps.user_from_session(pk)

    def load_user_jwt(self, _jwt_header: Any, jwt_data: dict[str, Any]) -> Any:
        from flask import g

        from app.accounts import stamps

        user = stamps.user_from_token(jwt_data)
        if user is not None:
            g.user = user
        return user

    def create_jwt_manager(self, app: Any) -> Any:
        from app.accounts import stamps

        jwt_manager = super().create_jwt_manager(app)
        stamps.install(app, jwt_manager)
        return jwt_manager

    def create_builtin_roles(self) -> dict[str, Any]:
        # Filled by install_roles() once every view and menu is registered.
        return {}

    def install_roles(self) -> None:
        self._builtin_roles.clear()
        self._builtin_roles.update(fab_roles(self.appbuilder.menu))
        self._decisions().clear()
        from app.core.access import forget_menus

        forget_menus()

    # -- built-in role checks without a regex per check (issue 9) ----------------------------
    #
    # FAB matches every (view, permission) pattern of every role with ``re.match`` at each
    # check (~2 450 per page with the menu). The patterns are compiled once per role into a
    # set of exact pairs plus the few real regexes, and each decision is kept per *set of role
    # names*: a user whose roles change asks with another key (and his security stamp, hence
    # his session, changed with them); the definitions only change in ``install_roles``,
    # which empties the decisions, and a role whose pattern list is replaced is recompiled.

    def _decisions(self) -> dict[tuple[frozenset[str], str, str], bool]:
        return self.__dict__.setdefault("_builtin_decisions", {})  # type: ignore[no-any-return]

    def _matcher(self, role_name: str) -> BuiltinMatcher:
        matchers: dict[str, BuiltinMatcher] = self.__dict__.setdefault("_builtin_matchers", {})
        patterns = self.builtin_roles.get(role_name, [])
        matcher = matchers.get(role_name)
        if matcher is None or not matcher.compiled_from(patterns):
            matcher = matchers[role_name] = BuiltinMatcher(patterns)
        return matcher

    def _has_access_builtin_roles(self, role: Any, permission_name: str, view_name: str) -> bool:
        return self._matcher(role.name).allows(view_name, permission_name)

    def _has_view_access(self, user: Any, permission_name: str, view_name: str) -> bool:
        user_roles = self.get_user_roles(user)
        names = frozenset(role.name for role in user_roles)
        if not names <= self.builtin_roles.keys():
            return bool(super()._has_view_access(user, permission_name, view_name))
        key = (names, permission_name, view_name)
        decisions = self._decisions()
        decision = decisions.get(key)
        if decision is None:
            if len(decisions) > 50_000:
                decisions.clear()
            decision = decisions[key] = any(
                self._matcher(name).allows(view_name, permission_name) for name in names
            )
        return decision

    # -- the Public role is built in: no query to read it ------------------------------------

    def get_public_role(self) -> Any:
        if self.auth_role_public in self.builtin_roles:
            return BuiltinRole(self.auth_role_public)
        return super().get_public_role()

    def is_item_public(self, permission_name: str, view_name: str) -> bool:
        if self.auth_role_public in self.builtin_roles:
            return self._matcher(self.auth_role_public).allows(view_name, permission_name)
        return bool(super().is_item_public(permission_name, view_name))


class BuiltinRole:
    """Stands for a built-in role (its permissions are code, not rows) where FAB only reads the
    name: the Public role of an anonymous request."""

    __slots__ = ("name",)
    id = None

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


class BuiltinMatcher:
    """FAB's ``re.match(view) and re.match(permission)`` over a role's patterns, with the
    anchored literal patterns ``fab_roles`` writes turned into a set lookup."""

    def __init__(self, patterns: list[list[str]]) -> None:
        self._source = patterns
        self._size = len(patterns)
        self.exact: set[tuple[str, str]] = set()
        self.regexes: list[tuple[re.Pattern[str], re.Pattern[str]]] = []
        for view_pattern, permission_pattern in patterns:
            view, permission = _literal(view_pattern), _literal(permission_pattern)
            if view is not None and permission is not None:
                self.exact.add((view, permission))
            else:
                self.regexes.append((re.compile(view_pattern), re.compile(permission_pattern)))

    def compiled_from(self, patterns: list[list[str]]) -> bool:
        return patterns is self._source and len(patterns) == self._size

    def allows(self, view_name: str, permission_name: str) -> bool:
        if (view_name, permission_name) in self.exact:
            return True
        return any(
            view.match(view_name) and permission.match(permission_name)
            for view, permission in self.regexes
        )


def _literal(pattern: str) -> str | None:
    """``^name$`` written by ``re.escape`` -> ``name``; None for a real regex."""
    if not (pattern.startswith("^") and pattern.endswith("$")) or pattern.endswith("\\$"):
        return None
    body = pattern[1:-1]
    text = re.sub(r"\\(.)", r"\1", body, flags=re.DOTALL)
    return text if re.escape(text) == body else None
