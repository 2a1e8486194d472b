"""Security headers on every response (CSP, framing, sniffing, referrer, caching).

Every response carries a Content-Security-Policy that allows scripts from this origin only
(no inline script, no ``eval``: the templates keep their code in ``static/js`` and pass values
through ``data-*`` attributes), refuses framing, forbids MIME sniffing and trims the referrer.
Responses to an authenticated user (session cookie or JWT bearer) and the API's token answers
are marked ``Cache-Control: no-store``; static files keep their normal caching.

Style attributes stay allowed (``style-src 'unsafe-inline'``): Flask-AppBuilder's templates and
JavaScript widgets (tabs, action forms, filters) set them. ``style-src-elem 'self'`` still refuses
``<style>`` elements in browsers that know CSP level 3.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask_login import current_user

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "style-src-elem 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

# The API answers that hand out tokens are never stored, even to an anonymous client.
TOKEN_PATHS = ("/api/v1/security/",)


def _is_static() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def _is_authenticated() -> bool:
    user = g.get("user")
    if user is not None and getattr(user, "is_authenticated", False):
        return True
    return bool(current_user and current_user.is_authenticated)


def add_security_headers(response: Any) -> Any:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if _is_static():
        return response
    if (
        _is_authenticated()
        or "Authorization" in request.headers
        or request.path.startswith(TOKEN_PATHS)
    ):
        response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    app.after_request(add_security_headers)
