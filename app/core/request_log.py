"""Structured logs (issue 19): one line per request and per job run, no personal data in clear.

Each request gets a request id: the incoming ``X-Request-ID`` when it is a short token
(letters, digits, ``-_.:``; what a load balancer or reverse proxy sets), otherwise a new one; it
is returned in the ``X-Request-ID`` response header. At the end of the request one record goes to
the ``medecineprev.request`` logger (INFO) with these fields only::

    request_id, method, route (the URL rule, "/agents/<int:pk>", never the path with its ids),
    endpoint, status, duration_ms, sql (statements run), user_id, collectivity_id

No name, e-mail, query string, form field or raw path is written. A job run gives one record
on ``medecineprev.job`` (job, slot day, status, counts of rows, duration) when its run row is
finished (``app.core.metrics`` listens to the run rows).

``LOG_FORMAT=json`` (production) writes every record of the process, these and the others, as
one JSON object per line on stderr (gunicorn and systemd collect it); e-mail addresses in the
messages of other records are masked. ``LOG_FORMAT=text`` (the default: development, tests)
changes nothing to the logging set-up; the request records are then at INFO on their logger.

The per-request cost is a few microseconds: a counter bumped per SQL statement (a context
variable, no lock) and the record built only when its logger is enabled for INFO.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

from flask import Flask, Response, g, request
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from werkzeug.local import LocalProxy

from app.core import metrics

REQUEST_LOGGER = logging.getLogger("medecineprev.request")
JOB_LOGGER = logging.getLogger("medecineprev.job")
HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Fields a record may carry into the JSON line (``extra=`` of the log call).
FIELDS = (
    "request_id",
    "method",
    "route",
    "endpoint",
    "status",
    "duration_ms",
    "sql",
    "user_id",
    "collectivity_id",
    "job",
    "day",
    "run_id",
    "counts",
)

# Libraries whose INFO records hold personal data or raw URLs (silenced below WARNING in json).
QUIET_LOGGERS = ("flask_appbuilder", "werkzeug")

# One counter per request (a list so the engine hook bumps it in place); None outside requests.
_statements: ContextVar[list[int] | None] = ContextVar("request_sql_statements", default=None)


def _count_statement(*_args: Any) -> None:
    counter = _statements.get()
    if counter is not None:
        counter[0] += 1


if not event.contains(Engine, "before_cursor_execute", _count_statement):
    event.listen(Engine, "before_cursor_execute", _count_statement)


def request_id() -> str | None:
    """The id of the current request (None outside a request)."""
    return g.get("request_id")


def _start() -> None:
    incoming = request.headers.get(HEADER, "")
    g.request_id = incoming if _VALID_ID.fullmatch(incoming) else uuid.uuid4().hex
    g._request_started = time.perf_counter()
    g._request_sql = counter = [0]
    g._request_sql_token = _statements.set(counter)


def _finish(response: Response) -> Response:
    started = g.get("_request_started")
    if started is None:  # a request whose before_request did not run (an early abort)
        return response
    rid = g.request_id
    response.headers[HEADER] = rid
    duration_ms = (time.perf_counter() - started) * 1000
    rule = request.url_rule
    endpoint = request.endpoint or "-"
    if metrics.enabled:
        metrics.observe_request(endpoint, request.method, response.status_code, duration_ms)
    # The load balancer's probes every few seconds would drown the log: counted, not logged.
    if REQUEST_LOGGER.isEnabledFor(logging.INFO) and not endpoint.startswith("health."):
        REQUEST_LOGGER.info(
            "%s %s %s %.1f ms",
            request.method,
            rule.rule if rule is not None else "-",
            response.status_code,
            duration_ms,
            extra={
                "request_id": rid,
                "method": request.method,
                "route": rule.rule if rule is not None else None,
                "endpoint": endpoint,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 1),
                "sql": g._request_sql[0],
                "user_id": _user_id(),
                "collectivity_id": _collectivity_id(),
            },
        )
    return response


def _teardown(_error: BaseException | None) -> None:
    token = g.pop("_request_sql_token", None)
    if token is not None:
        _statements.reset(token)


def _user_id() -> int | None:
    """The signed-in user's id when the request loaded him (never loads him for the log):
    Flask-Login's user for a web session, FAB's ``g.user`` for an API token."""
    user = g.get("_login_user")
    if not getattr(user, "is_authenticated", False):
        user = g.get("user")
        if isinstance(user, LocalProxy):  # current_user: reading it could load the user
            return None
    if not getattr(user, "is_authenticated", False):
        return None
    # From the identity map key: reading ``user.id`` after the request's commit (attributes
    # expired) would reload the whole row just for the log.
    state = inspect(user, raiseerr=False)
    if state is not None:
        identity = state.identity
        user_id = identity[0] if identity else None
    else:
        user_id = getattr(user, "id", None)
    return user_id if isinstance(user_id, int) else None


def _collectivity_id() -> int | None:
    scope = g.get("_tenant_scope")
    collectivity_id = getattr(scope, "collectivity_id", None)
    return collectivity_id if isinstance(collectivity_id, int) else None


def log_job_run(
    job: str, day: Any, status: str, run_id: int | None, counts: Any, duration_ms: float | None
) -> None:
    """One record per finished job run (counts are numbers of rows, never their content)."""
    if not JOB_LOGGER.isEnabledFor(logging.INFO):
        return
    safe_counts = (
        {str(k): v for k, v in counts.items() if isinstance(v, int)}
        if isinstance(counts, dict)
        else {}
    )
    JOB_LOGGER.info(
        "job %s %s %s",
        job,
        day,
        status,
        extra={
            "job": job,
            "day": str(day),
            "status": status,
            "run_id": run_id,
            "counts": safe_counts,
            "duration_ms": round(duration_ms, 1) if duration_ms is not None else None,
        },
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, known fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.name not in (REQUEST_LOGGER.name, JOB_LOGGER.name):
            message = _EMAIL.sub("***@***", message)
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": message,
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                data[name] = value
        if "request_id" not in data:
            from flask import has_request_context

            if has_request_context():
                rid = g.get("request_id")
                if rid:
                    data["request_id"] = rid
        if record.exc_info:
            # The exception type and where it was raised; its message may quote data.
            exc_type = record.exc_info[0]
            data["exc_type"] = exc_type.__name__ if exc_type else None
            data["traceback"] = _EMAIL.sub("***@***", self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(app: Flask) -> None:
    """LOG_FORMAT=json: every record of the process as JSON lines on stderr (idempotent)."""
    if str(app.config.get("LOG_FORMAT", "text")).lower() != "json":
        return
    root = logging.getLogger()
    level = logging.getLevelName(str(app.config.get("LOG_LEVEL", "INFO")).upper())
    handler = next((h for h in root.handlers if getattr(h, "_medecineprev_json", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._medecineprev_json = True  # type: ignore[attr-defined]
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else logging.INFO)
    # Their INFO records name people (FAB: "Updated user <first> <last>", "Login Failed for
    # user: <username>", and formatting the user may even reload it) or carry raw paths with
    # their query strings (werkzeug's access lines): warnings and errors only.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Flask's own handler would print the app's records a second time, as text.
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)
    app.logger.propagate = True


def register(app: Flask) -> None:
    """First before_request and last after_request: the timing spans the other hooks."""
    configure_logging(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _finish)
    app.teardown_request(_teardown)
