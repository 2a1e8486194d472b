"""Two web nodes over one database (issue 19): nothing a request relies on lives in one process.

Node A is the suite's application, node B a second ``create_app`` over the same database with
the same SECRET_KEY (as two gunicorn hosts behind a load balancer). Sessions are Flask's signed
cookies holding the user id and his security stamp, checked against the database; the lock-out
and the revocation are rows (``AccountSecurity``); rate limits go to Redis when REDIS_URL is set.
The job claims (one run per slot) and the « e-mail sent once » marks are rows too: see
tests/integration/test_jobs.py (three schedulers) and tests/integration/test_reminders*.
"""

from __future__ import annotations

import socket
import uuid

import pytest

from app.accounts.models import AccountSecurity
from config import TestConfig
from tests import factories
from tests.conftest import WebClient
from tests.util import require_redis_or_skip

pytestmark = pytest.mark.committing


def _node(app, **overrides):
    from app import create_app

    node = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        OUTBOX_DIR=app.config["OUTBOX_DIR"],
        **overrides,
    )
    node.test_client_class = WebClient
    return node


def _dispose(node) -> None:
    from app.extensions import db

    with node.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def node_b(app):
    node = _node(app)
    yield node
    _dispose(node)


@pytest.fixture
def secretary(db_ctx):
    from app import roles

    with db_ctx() as session:
        user = factories.make_user(session, roles.SECRETARIAT)
        factories.make_collectivity(session, name="Commune Partagée")
    return user


def _web(node) -> WebClient:
    node.test_client_class = WebClient
    return node.test_client()  # type: ignore[return-value]


def _api_login(node, username: str, password: str = factories.PASSWORD):
    return node.test_client().post(
        "/api/v1/security/login",
        json={"username": username, "password": password, "provider": "db"},
    )


def _session_cookie(web: WebClient) -> str:
    cookie = web.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_a_user_signed_in_on_node_a_is_served_on_node_b(app, node_b, secretary):
    a = _web(app)
    assert a.login(secretary.username).status_code == 302
    b = _web(node_b)
    b.set_cookie("session", _session_cookie(a))
    page = b.get("/effectif/")
    assert page.status_code == 200, "node B reads node A's session"
    assert "Effectif" in page.get_data(as_text=True)


def test_five_failed_logins_spread_over_both_nodes_lock_the_account(app, node_b, secretary):
    from app.extensions import db

    nodes = [app, node_b]
    for attempt in range(app.config["LOGIN_MAX_FAILURES"]):
        node = nodes[attempt % 2]
        if attempt % 2:
            assert _api_login(node, secretary.username, "Mauvais-Pass1").status_code == 401
        else:
            refused = _web(node).login(secretary.username, "Mauvais-Pass1")
            assert "/login" in refused.headers.get("Location", "/login")
    # The right password is now refused on both nodes, by the web and by the API.
    for node in nodes:
        assert _api_login(node, secretary.username).status_code == 401
        web = _web(node)
        web.login(secretary.username)
        assert web.get("/effectif/").status_code in (302, 403)
        assert "la connexion est suspendue" in web.get("/login/").get_data(as_text=True)
    with node_b.app_context():
        assert db.session.get(AccountSecurity, secretary.id).locked_until is not None
        db.session.remove()


def test_a_token_and_a_session_revoked_on_node_a_are_refused_on_node_b(app, node_b, secretary):
    token = _api_login(app, secretary.username).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    a = _web(app)
    a.login(secretary.username)
    b = _web(node_b)
    b.set_cookie("session", _session_cookie(a))
    assert node_b.test_client().get("/api/v1/collectivity/", headers=headers).status_code == 200
    assert b.get("/effectif/").status_code == 200

    a.get("/logout/")  # the logout on A rotates the account's security stamp

    refused = node_b.test_client().get("/api/v1/collectivity/", headers=headers)
    assert refused.status_code == 401
    assert "reconnectez-vous" in refused.get_json()["message"]
    assert b.get("/effectif/").status_code in (302, 403), "the copied session is dead on B too"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_the_login_rate_limit_is_shared_through_redis(app, secretary):
    if not _redis_up():
        require_redis_or_skip()
    prefix = f"medprev-test-{uuid.uuid4().hex[:8]}"
    settings = {
        "RATELIMIT_ENABLED": True,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": prefix,
    }
    nodes = [_node(app, **settings), _node(app, **settings)]
    assert nodes[0].config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    limit = int(app.config["AUTH_RATE_LIMIT"].split()[0])  # "10 per 20 second"
    statuses = [
        _api_login(nodes[attempt % 2], secretary.username, "Mauvais-Pass1").status_code
        for attempt in range(limit + 1)
    ]
    assert statuses[:limit] == [401] * limit
    assert statuses[limit] == 429, "the eleventh attempt is refused, whichever node takes it"
    assert _api_login(nodes[0], secretary.username).status_code == 429
    for node in nodes:
        _dispose(node)


def test_behind_a_trusted_proxy_the_throttling_counts_per_client_not_per_proxy(app, secretary):
    node = _node(app, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", TRUSTED_PROXIES=1)
    limit = int(app.config["AUTH_RATE_LIMIT"].split()[0])

    def attempt(client_address: str) -> int:
        response = node.test_client().post(
            "/api/v1/security/login",
            json={"username": secretary.username, "password": "Mauvais-Pass1", "provider": "db"},
            headers={"X-Forwarded-For": client_address},
        )
        return response.status_code

    assert [attempt("203.0.113.7") for _ in range(limit)] == [401] * limit
    assert attempt("203.0.113.7") == 429
    assert attempt("198.51.100.20") == 401, "another client behind the same proxy still gets in"
    _dispose(node)
