"""Shared fixtures: one migrated database per run, one rolled-back transaction per test.

The database is SQLite (a temporary file) unless TEST_DATABASE_URL (or a PostgreSQL
DATABASE_URL) is set: then the same suite runs against PostgreSQL. Requests run in their own
application context and session, as in production; test code reaches the database through
``db_ctx()``. Tests marked ``committing`` (browser, concurrency) commit for real and the
business tables are emptied afterwards.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from config import TestConfig, database_url
from tests import factories


def _test_database_url(tmp_root: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url and os.environ.get("DATABASE_URL", "").startswith("postgres"):
        url = os.environ["DATABASE_URL"]
    if url:
        return _worker_database(database_url(url, url))
    return f"sqlite:///{tmp_root / 'test.db'}"


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own (``test_gw0``...),
    created on first use beside the configured one; SQLite files are per worker already."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def pytest_report_header(config: Any) -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or "sqlite"
    return f"database: {'postgresql' if 'postgres' in url else 'sqlite'}"


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    import flask_migrate

    from app import create_app
    from app.cli import seed_roles
    from app.extensions import db
    from app.referential.reference_data import seed_reference_data

    root = tmp_path_factory.mktemp("medprev")
    url = _test_database_url(root)
    if url.startswith("postgresql"):
        _reset_postgres(url)
    application = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url,
        OUTBOX_DIR=str(root / "outbox"),
        UPLOAD_DIR=str(root / "uploads"),
        INSTANCE_PATH_OVERRIDE=str(root / "instance"),
    )
    with application.app_context():
        flask_migrate.upgrade()
        seed_roles()
        seed_reference_data(db.session)
        db.session.commit()
        db.session.remove()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _isolated_database(app: Flask, request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test runs inside a transaction rolled back at the end (savepoints for commits)."""
    from app.extensions import db

    if request.node.get_closest_marker("committing"):
        yield
        with app.app_context():
            db.session.remove()
            purge_business_data()
        _clear_outbox(app)
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        db.session.remove()
        db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield
    finally:
        with app.app_context():
            db.session.remove()
            db.session.configure(bind=None, join_transaction_mode="conditional_savepoint")
            outer.rollback()
            connection.close()
        _clear_outbox(app)


# Reference data and roles survive between tests; everything else is business data.
KEPT_TABLES = {
    "ab_permission",
    "ab_view_menu",
    "ab_permission_view",
    "ab_role",
    "ab_permission_view_role",
    "ab_group",
    "ab_group_role",
    "alembic_version",
    "risk",
    "risk_effect",
    "visit_type",
    "document_nature",
    "contract_type",
    "pcs_code",
    "statutory_act",
    "tariff",
    "periodicity_rule",
    "mission",
}


def purge_business_data() -> None:
    from app.extensions import db, metadata

    with db.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            if table.name in KEPT_TABLES:
                continue
            # A row pointing at a row of its own table (a credit note at its invoice): unlink
            # them first, the delete order of the tables cannot.
            own = [
                fk.parent
                for fk in table.foreign_keys
                if fk.column.table is table and fk.parent.nullable
            ]
            if own:
                connection.execute(table.update().values({column.name: None for column in own}))
            connection.execute(table.delete())


def _clear_outbox(app: Flask) -> None:
    outbox = Path(app.config["OUTBOX_DIR"])
    if outbox.is_dir():
        for path in outbox.glob("*.eml"):
            path.unlink()


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The application served by a threaded werkzeug server (for committing tests only)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def db_ctx(app: Flask) -> Callable[[], Any]:
    """``with db_ctx() as session:`` — an application context whose work is committed at exit
    (inside the test's transaction)."""
    from app.extensions import db

    @contextmanager
    def _ctx() -> Iterator[Session]:
        with app.app_context():
            db.session().expire_on_commit = False
            try:
                yield db.session
                db.session.commit()
            finally:
                db.session.remove()

    return _ctx


# ----------------------------------------------------------------------------------------------
# Clients
# ----------------------------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class WebClient(FlaskClient):
    """A test client that knows how to post forms with their CSRF token."""

    def csrf_token(self, url: str = "/login/") -> str:
        page = self.get(url)
        match = CSRF_RE.search(page.get_data(as_text=True))
        assert match, f"no CSRF token on {url} ({page.status_code})"
        return match.group(1)

    def post_form(
        self, url: str, data: dict[str, Any], form_url: str | None = None, **kw: Any
    ) -> Any:
        token = self.csrf_token(form_url or url)
        return self.post(url, data={**data, "csrf_token": token}, **kw)

    def login(self, username: str, password: str = factories.PASSWORD) -> Any:
        return self.post_form("/login/", {"username": username, "password": password})


@pytest.fixture
def client(app: Flask) -> WebClient:
    app.test_client_class = WebClient
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def login(app: Flask) -> Callable[..., WebClient]:
    """``login(user)`` -> a client signed in as that user."""

    def _login(user: Any, password: str = factories.PASSWORD) -> WebClient:
        app.test_client_class = WebClient
        web: WebClient = app.test_client()  # type: ignore[assignment]
        response = web.login(user.username if hasattr(user, "username") else user, password)
        assert response.status_code == 302, "login failed"
        assert "/login" not in response.headers.get("Location", ""), "login refused"
        return web

    return _login


class ApiClient:
    """JWT client of the REST API (CONTRACT.md §2)."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(url, json=json, headers=self.headers, **kw)

    def put(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(url, json=json, headers=self.headers, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self.headers, **kw)


@pytest.fixture
def api_login(app: Flask) -> Callable[..., ApiClient]:
    def _login(user: Any, password: str = factories.PASSWORD) -> ApiClient:
        raw = app.test_client()
        response = raw.post(
            "/api/v1/security/login",
            json={"username": user.username, "password": password, "provider": "db"},
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return ApiClient(raw, response.get_json()["access_token"])

    return _login


@pytest.fixture
def throttled_app(app: Flask) -> Flask:
    """The same application with throttling on (it is off for the rest of the suite)."""
    from app import create_app

    throttled = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        OUTBOX_DIR=app.config["OUTBOX_DIR"],
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
    )
    throttled.test_client_class = WebClient
    return throttled


@pytest.fixture
def cli(app: Flask) -> Any:
    return app.test_cli_runner()


# ----------------------------------------------------------------------------------------------
# Users by role, and a query counter
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def users(db_ctx: Callable[[], Any]) -> factories.Users:
    """One user per staff role and an employer world: collectivities A and B, primary and
    secondary accounts (see factories.make_users)."""
    with db_ctx() as session:
        return factories.make_users(session)


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """``with count_queries() as counter: ...`` counts the SQL statements run in the block."""
    from app.extensions import db

    @contextmanager
    def _count() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        with app.app_context():
            engine = db.engine

        def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
                counter.statements.append(statement)

        event.listen(engine, "before_cursor_execute", _before)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", _before)

    return _count


@pytest.fixture(autouse=True)
def _dispose_extra_apps(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Applications a test builds beside the session's one (another node, other settings) get
    their connection pools closed at the end of the test: a pooled connection collected later
    would warn (ResourceWarning, an error here) in whichever test runs then."""
    import app as app_package

    built: list[Flask] = []
    original = app_package.create_app

    def _recording(*args: Any, **kwargs: Any) -> Flask:
        application = original(*args, **kwargs)
        built.append(application)
        return application

    monkeypatch.setattr(app_package, "create_app", _recording)
    yield
    from app.extensions import db

    for application in built:
        if application is not app:
            with application.app_context():
                db.engine.dispose()
