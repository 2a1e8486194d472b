"""Health checks and Prometheus metrics (issue 19): what the load balancer and the monitoring see.

``/healthz`` and ``/readyz`` answer without a session and say ok / not ready only; ``/metrics``
answers 404 unless METRICS_TOKEN is set and given as a bearer token.
"""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from app.core import health
from config import TestConfig
from tests import factories
from tests.util import require_redis_or_skip

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "jeton-de-supervision-7f3a"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def metrics_app(app):
    from app import create_app

    node = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        OUTBOX_DIR=app.config["OUTBOX_DIR"],
        METRICS_TOKEN=TOKEN,
    )
    yield node
    _dispose(node)


def _dispose(node) -> None:
    from app.extensions import db

    with node.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def other_node(app):
    """``other_node(**settings)``: another node over the same database, closed after the test."""
    from app import create_app

    built = []

    def _build(**overrides):
        config = {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "OUTBOX_DIR": app.config["OUTBOX_DIR"],
        }
        built.append(create_app(TestConfig, **{**config, **overrides}))
        return built[-1]

    yield _build
    for node in built:
        _dispose(node)


# -- /healthz, /readyz ------------------------------------------------------------------------


def test_healthz_answers_ok_without_signing_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ok_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_data(as_text=True) == "ok\n"


def test_the_head_is_read_from_the_migration_files_without_alembic():
    heads = health.script_heads()
    assert len(heads) == 1
    [head] = heads
    assert any(head in path.name for path in health.VERSIONS_DIR.glob("*.py"))


def test_readyz_refuses_a_schema_behind_the_migrations(client, monkeypatch):
    """The code carries a migration the database has not run: not ready."""
    heads, known = health.migration_graph()
    newer = frozenset({"0123456789ab"})
    monkeypatch.setattr(health, "migration_graph", lambda: (newer, known | newer))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "not ready\n"


def test_readyz_keeps_an_old_node_ready_when_a_newer_one_upgraded_the_schema(client, monkeypatch):
    """Rolling deploy: the database is at a revision this (older) code does not know yet."""
    heads, known = health.migration_graph()
    older = frozenset({"00000000old0"})
    monkeypatch.setattr(health, "migration_graph", lambda: (older, (known - heads) | older))
    assert client.get("/readyz").status_code == 200


def test_readyz_reflects_a_stopped_database_in_one_request_revealing_nothing(other_node):
    port = _free_port()  # nothing listens there: a stopped PostgreSQL
    node = other_node(
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://medprev:secret@127.0.0.1:{port}/medprev",
    )
    client = node.test_client()
    assert client.get("/healthz").status_code == 200, "the process itself is up"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert body == "not ready\n"
    for secret in ("psycopg", "OperationalError", str(port), "medprev", "secret", "5432"):
        assert secret not in body and secret not in str(response.headers)


def test_readyz_checks_redis_when_it_is_configured(other_node):
    down = other_node(REDIS_URL=f"redis://127.0.0.1:{_free_port()}/0")
    response = down.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "not ready\n"
    if not _redis_up():
        require_redis_or_skip()
    up = other_node(REDIS_URL="redis://127.0.0.1:6379/0")
    assert up.test_client().get("/readyz").status_code == 200


def test_health_routes_are_in_no_menu_and_need_no_csrf_nor_session(login, users, client):
    page = login(users.admin).get("/").get_data(as_text=True)
    assert "healthz" not in page and "readyz" not in page and "/metrics" not in page
    # A probe never gets a session cookie nor a CSRF check (HEAD, as some balancers send).
    response = client.head("/readyz")
    assert response.status_code == 200
    assert "session=" not in response.headers.get("Set-Cookie", "")


def test_health_routes_are_not_rate_limited(throttled_app):
    client = throttled_app.test_client()
    statuses = {client.get("/healthz").status_code for _ in range(30)}
    assert statuses == {200}


# -- /metrics --------------------------------------------------------------------------------


def test_metrics_answer_404_without_a_configured_token(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_answer_404_to_a_wrong_or_query_string_token(metrics_app):
    client = metrics_app.test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer faux"}).status_code == 404
    assert client.get(f"/metrics?token={TOKEN}").status_code == 404


def _scrape(node) -> str:
    response = node.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return response.get_data(as_text=True)


def _value(text: str, sample: str) -> float:
    """The value of one sample (name with its labels, as exposed), 0 when absent."""
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_and_latencies_by_endpoint_not_by_path(metrics_app, db_ctx):
    with db_ctx() as session:
        admin = factories.make_user(session, "Admin")
    client = metrics_app.test_client()
    client.post("/login/", data={"username": admin.username, "password": factories.PASSWORD})
    label = 'endpoint="health.healthz",method="GET",status="200"'
    before = _value(_scrape(metrics_app), f"medecineprev_http_requests_total{{{label}}}")
    for _ in range(3):
        client.get("/healthz")
    client.get("/agents/show/987654")
    text = _scrape(metrics_app)
    assert _value(text, f"medecineprev_http_requests_total{{{label}}}") == before + 3
    assert 'medecineprev_http_request_duration_seconds_bucket{endpoint="health.healthz"' in text
    assert "987654" not in text, "a path with its id is never a label"


def test_metrics_count_job_runs_by_status_and_emails(metrics_app):
    from app.core.mail import send_mail
    from app.extensions import db
    from app.scheduling import services

    before = _scrape(metrics_app)
    runs = 'medecineprev_job_runs_total{job="reminders",status="reussi"}'
    queued = "medecineprev_emails_queued_total"
    refused = 'medecineprev_emails_failed_total{reason="refused"}'
    with metrics_app.app_context():
        outcome = services.claim_and_run("reminders", today=dt.date(2031, 3, 3))
        assert outcome.ran
        assert send_mail("destinataire@example.fr", "Objet", "Corps")
        assert not send_mail("pas une adresse", "Objet", "Corps")
        db.session.commit()
        db.session.remove()
    after = _scrape(metrics_app)
    assert _value(after, runs) == _value(before, runs) + 1
    assert _value(after, queued) == _value(before, queued) + 1
    assert _value(after, refused) == _value(before, refused) + 1


def test_metrics_count_an_email_the_server_refuses(metrics_app, monkeypatch):
    from app.core import mail
    from app.extensions import db

    def refuse(_message):
        raise OSError("serveur SMTP injoignable")

    monkeypatch.setattr(mail, "deliver", refuse)
    before = _scrape(metrics_app)
    queued = "medecineprev_emails_queued_total"
    delivery = 'medecineprev_emails_failed_total{reason="delivery"}'
    with metrics_app.app_context():
        assert mail.send_mail("un@example.fr", "Objet", "Corps")
        assert mail.send_mail("deux@example.fr", "Objet", "Corps")
        db.session.commit()  # the commit never fails for a message the server refuses
        db.session.remove()
    after = _scrape(metrics_app)
    assert _value(after, queued) == _value(before, queued) + 2
    assert _value(after, delivery) == _value(before, delivery) + 2
