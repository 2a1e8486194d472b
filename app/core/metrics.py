"""Prometheus metrics (issue 19) with the official client, at ``/metrics`` behind a token.

Metrics are collected only when ``METRICS_TOKEN`` is set (nobody could read them otherwise):
``prometheus_client`` is then imported at start-up, never without it. ``GET /metrics`` answers
404 unless the request carries ``Authorization: Bearer <METRICS_TOKEN>`` (the token is never
accepted in the query string, which access logs keep).

- ``medecineprev_http_requests_total{endpoint,method,status}`` and
  ``medecineprev_http_request_duration_seconds{endpoint}`` (a histogram): the endpoint is the
  Flask endpoint name (``AgentView.list``), never a path with ids;
- ``medecineprev_job_runs_total{job,status}`` (``reussi``, ``echoue``) and
  ``medecineprev_job_run_duration_seconds{job}``: from the run rows of ``app.scheduling``;
- ``medecineprev_emails_queued_total`` (messages handed to delivery at a commit) and
  ``medecineprev_emails_failed_total{reason}`` (``refused``: an invalid address, nothing queued;
  ``delivery``: the SMTP server or the outbox folder refused it).

Under gunicorn (several worker processes) set ``PROMETHEUS_MULTIPROC_DIR`` to an empty
directory writable by the workers, emptied at each start: the client then keeps each worker's
values in files there and ``/metrics`` adds them up (see docs/deployment.md for the
``child_exit`` hook).
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request

enabled = False
_metrics: dict[str, Any] = {}

# The latency buckets (seconds): a page is expected well under 250 ms.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

blueprint = Blueprint("metrics", __name__)


def _define() -> None:
    """The metric objects, once per process (prometheus_client refuses a name twice)."""
    if _metrics:
        return
    from prometheus_client import Counter, Histogram

    _metrics["requests"] = Counter(
        "medecineprev_http_requests_total",
        "HTTP requests by endpoint, method and status",
        ("endpoint", "method", "status"),
    )
    _metrics["latency"] = Histogram(
        "medecineprev_http_request_duration_seconds",
        "HTTP request duration by endpoint",
        ("endpoint",),
        buckets=BUCKETS,
    )
    _metrics["job_runs"] = Counter(
        "medecineprev_job_runs_total", "Finished job runs by job and status", ("job", "status")
    )
    _metrics["job_duration"] = Histogram(
        "medecineprev_job_run_duration_seconds",
        "Job run duration",
        ("job",),
        buckets=(1, 5, 15, 60, 300, 900, 3600),
    )
    _metrics["emails_queued"] = Counter(
        "medecineprev_emails_queued_total", "E-mails handed to delivery after a commit"
    )
    _metrics["emails_failed"] = Counter(
        "medecineprev_emails_failed_total", "E-mails not sent, by reason", ("reason",)
    )


def observe_request(endpoint: str, method: str, status: int, duration_ms: float) -> None:
    _metrics["requests"].labels(endpoint, method, str(status)).inc()
    _metrics["latency"].labels(endpoint).observe(duration_ms / 1000)


def observe_job_run(job: str, status: str, duration_s: float | None) -> None:
    if not enabled:
        return
    _metrics["job_runs"].labels(job, status).inc()
    if duration_s is not None:
        _metrics["job_duration"].labels(job).observe(duration_s)


def emails_queued(count: int) -> None:
    if enabled and count:
        _metrics["emails_queued"].inc(count)


def email_failed(reason: str) -> None:
    if enabled:
        _metrics["emails_failed"].labels(reason).inc()


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    """The current value of a sample of this process's registry (tests, benchmarks)."""
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@blueprint.route("/metrics")
def metrics_view() -> Response:
    token = current_app.config.get("METRICS_TOKEN") or ""
    given = request.headers.get("Authorization", "")
    if not token or not enabled or not hmac.compare_digest(given, f"Bearer {token}"):
        abort(404)
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    registry: Any = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    response = Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the sources: job run rows (app.core.mail calls the e-mail counters itself) -------------


def _job_run_finished(_mapper: Any, _connection: Any, run: Any) -> None:
    """A run row whose end was just written: one log line, one count (flush of the run row)."""
    from sqlalchemy import inspect

    history = inspect(run).attrs.ended_at.history
    if not history.added or run.ended_at is None:
        return
    status = getattr(run.status, "name", str(run.status))
    duration = None
    if run.started_at is not None:
        duration = (run.ended_at - run.started_at).total_seconds()
    from app.core.request_log import log_job_run
    from app.scheduling.services import day_of

    log_job_run(
        run.job,
        day_of(run.scheduled_for) if run.scheduled_for is not None else None,
        status,
        run.id,
        run.counts,
        duration * 1000 if duration is not None else None,
    )
    observe_job_run(run.job, status, duration)


def _install_sources(app: Flask) -> None:
    from sqlalchemy import event

    from app.scheduling.models import JobRun

    if not event.contains(JobRun, "after_update", _job_run_finished):
        event.listen(JobRun, "after_update", _job_run_finished)
    # E-mails are counted by app.core.mail itself (emails_queued, email_failed).


def register(app: Flask) -> None:
    """The /metrics route always exists (404 without a token); collection only with one."""
    global enabled
    app.register_blueprint(blueprint)
    if app.config.get("METRICS_TOKEN"):
        _define()
        enabled = True
    # Job runs are logged whether or not metrics are collected.
    _install_sources(app)
