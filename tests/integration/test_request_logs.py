"""One log line per request and per job run (issue 19), with no personal data in clear."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest
from flask import Flask

from app.core import request_log
from tests import factories

REQUEST_LOGGER = "medecineprev.request"


@pytest.fixture
def records(caplog):
    caplog.set_level(logging.INFO, logger=REQUEST_LOGGER)
    caplog.set_level(logging.INFO, logger="medecineprev.job")

    def _records(name: str = REQUEST_LOGGER) -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == name]

    return _records


def test_each_request_gets_an_id_returned_in_the_response(client, records):
    first = client.get("/login/")
    second = client.get("/login/")
    ids = [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert ids[0] != ids[1] and all(len(i) >= 16 for i in ids)
    assert [r.request_id for r in records()] == ids


def test_an_incoming_request_id_is_kept_and_a_bad_one_replaced(client, records):
    kept = client.get("/login/", headers={"X-Request-ID": "lb-2026.12.02:abc_42"})
    assert kept.headers["X-Request-ID"] == "lb-2026.12.02:abc_42"
    forged = client.get("/login/", headers={"X-Request-ID": "x; Set-Cookie: a=b" + "y" * 80})
    assert forged.headers["X-Request-ID"] and "Set-Cookie" not in forged.headers["X-Request-ID"]
    assert [r.request_id for r in records()] == [
        "lb-2026.12.02:abc_42",
        forged.headers["X-Request-ID"],
    ]


def test_the_line_names_the_route_user_collectivity_status_and_sql_not_the_person(
    login, users, records
):
    web = login(users.primary_a)
    response = web.get(
        f"/portail/contacts/list/?_flt_0_last_name={users.primary_a.last_name}&x=secret@exemple.fr"
    )
    assert response.status_code == 200
    [line] = [r for r in records() if r.route == "/portail/contacts/list/"]
    assert line.method == "GET" and line.status == 200
    assert line.user_id == users.primary_a.id
    assert line.collectivity_id == users.collectivity_a.id
    assert line.sql > 0 and line.duration_ms > 0
    shown = json.dumps(_json(line))
    for personal in (
        users.primary_a.last_name,
        users.primary_a.username,
        users.primary_a.email,
        "secret@exemple.fr",
        "_flt_0",
    ):
        assert personal not in shown


def test_the_route_is_the_url_rule_never_the_path_with_its_ids(login, users, records):
    web = login(users.secretariat)
    web.get("/effectifs/show/987654")
    [line] = [r for r in records() if r.route and r.route.startswith("/effectifs/show/")]
    assert line.route == "/effectifs/show/<pk>" and line.status == 404
    web.get("/nulle-part/123")
    assert records()[-1].route is None and records()[-1].status == 404


def test_anonymous_requests_have_no_user(client, records):
    client.get("/login/")
    [line] = records()
    assert line.user_id is None and line.collectivity_id is None


def test_health_probes_are_not_logged(client, records):
    client.get("/healthz")
    client.get("/readyz")
    assert records() == []


def test_a_job_run_gives_one_line_with_its_status_and_counts(app, records):
    from app.scheduling import services

    with app.app_context():
        outcome = services.claim_and_run("reminders", today=dt.date(2031, 3, 4))
    assert outcome.ran
    [line] = records("medecineprev.job")
    assert line.job == "reminders" and line.status == "reussi" and line.day == "2031-03-04"
    assert all(isinstance(v, int) for v in line.counts.values())
    assert line.run_id == outcome.run_id and line.duration_ms >= 0


def _json(record: logging.LogRecord) -> dict:
    return json.loads(request_log.JsonFormatter().format(record))


def test_the_json_format_writes_one_object_per_line_and_masks_addresses(records):
    node = Flask("json-node")
    node.config.update(LOG_FORMAT="json", LOG_LEVEL="INFO")
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        request_log.configure_logging(node)
        request_log.configure_logging(node)  # idempotent: one handler
        added = [h for h in root.handlers if h not in handlers]
        assert len(added) == 1
        stream = io.StringIO()
        added[0].setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("app.core.mail").warning(
            "Envoi du courriel impossible à %s : %s", "marie.dupont@mairie.fr", "Convocation"
        )
        [line] = stream.getvalue().splitlines()
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    data = json.loads(line)
    assert data["level"] == "WARNING" and data["logger"] == "app.core.mail"
    assert "marie.dupont" not in line and "***@***" in data["msg"]
    assert data["ts"].endswith("Z")


def test_text_is_the_default_and_changes_no_handler(app):
    assert app.config["LOG_FORMAT"] == "text"
    assert not any(getattr(h, "_medecineprev_json", False) for h in logging.getLogger().handlers)


def test_the_statement_count_is_per_request(login, users, records, count_queries):
    web = login(users.secretariat)
    web.get("/effectif/")
    [line] = [r for r in records() if r.route == "/effectif/"]
    assert 0 < line.sql < 30
    assert factories.PASSWORD not in json.dumps(_json(line))


def test_an_api_request_names_the_token_s_user(api_login, users, records):
    api = api_login(users.primary_a)
    assert api.get("/api/v1/agent/").status_code == 200
    [line] = [r for r in records() if r.route == "/api/v1/agent/"]
    assert line.user_id == users.primary_a.id
    assert line.collectivity_id == users.collectivity_a.id


def test_json_logging_silences_the_libraries_that_log_names_and_raw_urls():
    node = Flask("json-quiet")
    node.config.update(LOG_FORMAT="json")
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    levels = {name: logging.getLogger(name).level for name in request_log.QUIET_LOGGERS}
    try:
        request_log.configure_logging(node)
        fab = logging.getLogger("flask_appbuilder.security.sqla.manager")
        assert not fab.isEnabledFor(logging.INFO), "« Updated user Prénom NOM » stays out"
        assert fab.isEnabledFor(logging.WARNING)
        assert not logging.getLogger("werkzeug").isEnabledFor(logging.INFO)
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)


def test_writing_the_line_runs_no_sql_statement(app, users, count_queries):
    """A request that committed has its user's attributes expired: the line names him from the
    identity map key, without reloading his row (a booking POST paid one SELECT for it)."""
    from flask import g
    from flask_appbuilder.security.sqla.models import User

    from app.extensions import db

    with app.test_request_context("/"):
        user = db.session.get(User, users.secretariat.id)
        db.session.expire(user)
        g._login_user = user
        with count_queries() as counter:
            assert request_log._user_id() == users.secretariat.id
        assert counter.count == 0
        db.session.remove()
