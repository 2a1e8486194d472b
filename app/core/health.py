"""Health checks for the load balancer (issue 19): ``/healthz`` and ``/readyz``.

- ``GET /healthz``: the process answers (no database access): 200 ``ok``.
- ``GET /readyz``: 200 ``ok`` when the database answers, the schema is at the head revision
  of ``migrations/versions`` (or at a revision this code does not know yet: a newer node
  upgraded it during a rolling deploy, see ``schema_is_servable``) and, when ``REDIS_URL`` is set, Redis answers ``PING``;
  otherwise 503 ``not ready``.

Neither needs a session, a CSRF token or a rate-limit slot, neither appears in a menu, and
neither says anything beyond ok / not ready: no version, no revision, no error text (the cause
of a 503 goes to the log, ``medecineprev.health``, at WARNING). Both answer ``no-store``.

The head revision is read from the migration files themselves (their ``revision`` and
``down_revision`` lines), once per process: Alembic is not imported by the web process.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app
from sqlalchemy import text

log = logging.getLogger("medecineprev.health")
blueprint = Blueprint("health", __name__)

VERSIONS_DIR = Path(__file__).resolve().parents[2] / "migrations" / "versions"
_REVISION = re.compile(r"^revision\s*(?::\s*\w+\s*)?=\s*['\"]([0-9a-zA-Z_]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]+)?=\s*(.+)$", re.M)
_IDS = re.compile(r"['\"]([0-9a-zA-Z_]+)['\"]")
REDIS_TIMEOUT_S = 1.0


@lru_cache(maxsize=4)
def migration_graph(directory: Path = VERSIONS_DIR) -> tuple[frozenset[str], frozenset[str]]:
    """(head revisions, every revision) of the migration scripts, read once per process."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in directory.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = _DOWN.search(source)
        if down is not None:
            parents.update(_IDS.findall(down.group(1)))
    return frozenset(revisions - parents), frozenset(revisions)


def script_heads() -> frozenset[str]:
    """The head revisions of the migration scripts (the revisions nobody revises)."""
    return migration_graph()[0]


def schema_is_servable(current: set[str]) -> bool:
    """The database's revisions are this code's head, or revisions this code does not know: a
    newer version ran ``flask db upgrade`` during a rolling deploy (its migrations add before
    they remove, so the old nodes keep serving until they are restarted). A known revision
    other than the head means the schema is behind the code: not ready."""
    heads, known = migration_graph()
    if not current:
        return False
    return current == set(heads) or not (current & known)


def _plain(body: str, status: int) -> Response:
    response = Response(body + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/healthz")
def healthz() -> Response:
    return _plain("ok", 200)


@blueprint.route("/readyz")
def readyz() -> Response:
    problem = not_ready_reason()
    if problem is not None:
        log.warning("not ready: %s", problem)
        return _plain("not ready", 503)
    return _plain("ok", 200)


def not_ready_reason() -> str | None:
    """Why the node cannot serve (for the log only), or None when it can."""
    from app.extensions import db

    try:
        with db.engine.connect() as connection:
            current = set(
                connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
            )
    except Exception as error:  # unreachable, refused, no alembic_version table...
        return f"database: {type(error).__name__}"
    if not schema_is_servable(current):
        return "database: schema behind the migrations' head"
    url = current_app.config.get("REDIS_URL")
    if url:
        try:
            _redis_ping(url)
        except Exception as error:
            return f"redis: {type(error).__name__}"
    return None


def _redis_ping(url: str) -> Any:
    import redis

    client = redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
    )
    try:
        if not client.ping():
            raise ConnectionError("no PONG")
    finally:
        client.close()


def register(app: Flask) -> None:
    from app.extensions import csrf

    app.register_blueprint(blueprint)
    csrf.exempt(blueprint)
    limiter = getattr(app.appbuilder.sm, "limiter", None)
    if limiter is not None:
        limiter.exempt(blueprint)
