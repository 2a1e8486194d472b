"""MédecinePrev: the application factory (no application is built at import time)."""

from __future__ import annotations

from typing import Any

from app.core import lazy_imports

lazy_imports.install()  # before Flask-AppBuilder imports them: jsonschema, sqlalchemy_utils

from flask import Flask, jsonify, request  # noqa: E402
from flask_appbuilder import AppBuilder  # noqa: E402
from flask_appbuilder.api import BaseApi  # noqa: E402


def create_app(config_object: str | object = "config.Config", **overrides: Any) -> Flask:
    from app import models  # noqa: F401  - every model mapped before anything else
    from app.accounts import context as portal_context
    from app.cli import register_commands
    from app.core import access, headers, input_guard, paging
    from app.core.formatting import register_filters
    from app.extensions import csrf, db, migrate
    from app.views import register_views

    app = Flask(__name__)
    app.config.from_object(config_object)
    app.config.update(overrides)
    _secure_cookies(app)
    _shared_rate_limits(app, overrides)
    if int(app.config.get("TRUSTED_PROXIES") or 0) > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        proxied = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
        app.wsgi_app = proxied  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True
    )
    paging.install()
    input_guard.install(app)  # before any route: it replaces the ``int`` URL converter

    with app.app_context():
        appbuilder = AppBuilder(update_perms=False)
        appbuilder.init_app(app, db.session)
        register_views(appbuilder)
        appbuilder.sm.install_roles()
        for view in appbuilder.baseviews:
            # The REST API authenticates with JWT bearer tokens, not cookies: no CSRF token.
            if isinstance(view, BaseApi) and view.blueprint is not None:
                csrf.exempt(view.blueprint)
        # FAB throttles the web login only; the API login gets the same limit.
        security_api = next(
            v for v in appbuilder.baseviews if v.__class__.__name__ == "SecurityApi"
        )
        appbuilder.sm.limiter.limit(app.config["AUTH_RATE_LIMIT"], methods=["POST"])(
            security_api.blueprint
        )
        # So are the first-connection and forgotten-password requests (per address; per
        # account, see app/accounts/services.py).
        password_links = next(
            v for v in appbuilder.baseviews if v.__class__.__name__ == "PasswordLinkView"
        )
        appbuilder.sm.limiter.limit(app.config["AUTH_RATE_LIMIT"], methods=["POST"])(
            password_links.blueprint
        )

    # After AppBuilder: its before_request sets g.user, which the French error pages need when
    # the CSRF check refuses a request.
    csrf.init_app(app)
    register_filters(app)
    access.register(app)
    portal_context.register(app)
    app.context_processor(lambda: {"appbuilder": app.appbuilder})
    register_commands(app)
    if app.config.get("SCHEDULER_ENABLED"):
        from app.scheduling.scheduler import install_web_scheduler

        install_web_scheduler(app)
    _register_error_handlers(app)
    headers.register(app)
    from app.core import health, metrics, request_log

    request_log.register(app)  # issue 19: request ids, JSON logs, /healthz, /readyz, /metrics
    health.register(app)
    metrics.register(app)
    return app


def _secure_cookies(app: Flask) -> None:
    """An https PUBLIC_URL (also when given as an override) puts the Secure flag on cookies."""
    from config import secure_cookies

    if secure_cookies(str(app.config.get("PUBLIC_URL", ""))):
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)


def _shared_rate_limits(app: Flask, overrides: dict[str, Any]) -> None:
    """A REDIS_URL given as an override shares the rate limits too (as it does from the env)."""
    if (
        app.config.get("REDIS_URL")
        and "RATELIMIT_STORAGE_URI" not in overrides
        and app.config.get("RATELIMIT_STORAGE_URI", "memory://") == "memory://"
    ):
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]


def _migrations_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _register_error_handlers(app: Flask) -> None:
    from flask import g
    from flask import render_template as _render_template
    from flask_login import current_user

    def render_template(template: str, **context: Any) -> Any:
        if "user" not in g:
            g.user = current_user
        return _render_template(template, **context)

    from app.extensions import db
    from app.tenancy import TenantViolation

    def _not_found(error: Exception) -> Any:
        db.session.rollback()
        if request.path.startswith("/api/"):
            return jsonify(message="Enregistrement introuvable."), 404
        return render_template(
            "medprev/error.html", code=404, message="Page ou enregistrement introuvable."
        ), 404

    app.register_error_handler(TenantViolation, _not_found)
    app.register_error_handler(404, _not_found)

    def _forbidden(error: Exception) -> Any:
        if request.path.startswith("/api/"):
            return jsonify(message="Accès refusé."), 403
        return render_template(
            "medprev/error.html", code=403, message="Vous n'avez pas accès à cette page."
        ), 403

    app.register_error_handler(403, _forbidden)

    def _csrf(error: Exception) -> Any:
        return render_template(
            "medprev/error.html",
            code=400,
            message="Le formulaire a expiré ou n'est pas valide : rechargez la page et recommencez.",
        ), 400

    from flask_wtf.csrf import CSRFError

    app.register_error_handler(CSRFError, _csrf)

    def _too_large(error: Exception) -> Any:
        message = "Le fichier envoyé est trop volumineux."
        if request.path.startswith("/api/"):
            return jsonify(message=message), 413
        return render_template("medprev/error.html", code=413, message=message), 413

    app.register_error_handler(413, _too_large)

    from sqlalchemy.exc import StatementError
    from werkzeug.exceptions import BadRequest

    from app.core.input_guard import BadInput, bad_input_message

    def _bad_request(error: BadRequest) -> Any:
        db.session.rollback()
        message = error.message if isinstance(error, BadInput) else "Requête invalide."
        if request.path.startswith("/api/"):
            return jsonify(message=message), 400
        return render_template("medprev/error.html", code=400, message=message), 400

    app.register_error_handler(BadRequest, _bad_request)

    def _refused_value(error: Exception) -> Any:
        """A value the database or a column type refused (out of range, unknown code)."""
        message = bad_input_message(error)
        if message is None:
            raise error
        return _bad_request(BadInput(message))

    app.register_error_handler(StatementError, _refused_value)
    app.register_error_handler(OverflowError, _refused_value)

    def _too_many_requests(error: Exception) -> Any:
        # Flask-Limiter throttles the logins (web and API): answer in French, JSON on the API.
        message = "Trop de tentatives : réessayez dans quelques instants."
        if request.path.startswith("/api/"):
            return jsonify(message=message), 429
        return render_template("medprev/error.html", code=429, message=message), 429

    app.register_error_handler(429, _too_many_requests)
