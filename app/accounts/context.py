"""Template context of the employer portal: the collectivity being managed and the others."""

from __future__ import annotations

from typing import Any

from flask import Flask, g

from app.tenancy import current_scope, request_memberships


def portal_context() -> dict[str, Any]:
    cached = g.get("_portal_context")
    if cached is not None:
        return cached
    from app.accounts.services import my_collectivities

    scope = current_scope()
    context: dict[str, Any] = {"collectivities": [], "current_id": None, "current_name": ""}
    if scope.is_employer:
        collectivities = request_memberships(scope.user_id)
        if collectivities is None:
            collectivities = my_collectivities(scope.user_id)
        else:
            collectivities.sort(key=lambda pair: pair[1])
        context = {
            "collectivities": collectivities,
            "current_id": scope.collectivity_id,
            "current_name": next((n for c, n in collectivities if c == scope.collectivity_id), ""),
        }
    g._portal_context = context
    return context


def register(app: Flask) -> None:
    app.jinja_env.globals["portal_context"] = portal_context
