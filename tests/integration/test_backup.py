"""``flask backup`` (issue 19): a dump restored into an empty database is served by the app.

Both passes run both: the pg_dump / pg_restore drill runs on the suite's PostgreSQL database, or
on the SQLite pass on a database created for it on the CI's PostgreSQL (required under CI=true,
skipped with the reason elsewhere); the SQLite copy runs on the suite's SQLite database, or on
the PostgreSQL pass on a temporary SQLite file of its own.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core.backup import libpq_url
from config import TestConfig
from tests import factories
from tests.conftest import WebClient
from tests.util import scratch_postgres_database

pytestmark = pytest.mark.committing

NAME = "Commune de Sauvegarde-sur-Loire"


def _backend(app) -> str:
    return make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()


@pytest.fixture(autouse=True)
def _uploaded_file(app):
    """One file in UPLOAD_DIR (the archive must hold it), removed after the test."""
    upload_dir = Path(app.config["UPLOAD_DIR"])
    upload_dir.mkdir(parents=True, exist_ok=True)
    path = upload_dir / "piece-jointe.txt"
    path.write_text("Compte rendu", encoding="utf-8")
    yield
    path.unlink(missing_ok=True)


def _world(app, db_ctx):
    with db_ctx() as session:
        users = factories.make_users(session)
        factories.make_collectivity(session, name=NAME)
    return users


@contextmanager
def _committed(application) -> Iterator[Any]:
    """``db_ctx`` for another application than the suite's: a session committed at exit."""
    from app.extensions import db

    with application.app_context():
        db.session().expire_on_commit = False
        try:
            yield db.session
            db.session.commit()
        finally:
            db.session.remove()


@contextmanager
def _other_database(app, url: str) -> Iterator[Any]:
    """An application over another, empty database: migrated and seeded as the suite's is; the
    suite's UPLOAD_DIR (its archive must hold the test's file)."""
    import flask_migrate

    from app import create_app
    from app.cli import seed_roles
    from app.extensions import db
    from app.referential.reference_data import seed_reference_data

    other = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url,
        OUTBOX_DIR=app.config["OUTBOX_DIR"],
        UPLOAD_DIR=app.config["UPLOAD_DIR"],
    )
    other.test_client_class = WebClient
    try:
        with other.app_context():
            flask_migrate.upgrade()
            seed_roles()
            seed_reference_data(db.session)
            db.session.commit()
            db.session.remove()
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def postgres_source(app, db_ctx):
    """The PostgreSQL database to back up: the suite's on the PostgreSQL pass; on the SQLite
    pass one created for the test on the CI's PostgreSQL (tests/util.py: required under CI)."""
    if _backend(app) == "postgresql":
        yield app, db_ctx
        return
    suite_url = app.config["SQLALCHEMY_DATABASE_URI"]
    with (
        scratch_postgres_database(suite_url, "backup") as url,
        _other_database(app, url) as source,
    ):
        yield source, lambda: _committed(source)


@pytest.fixture
def sqlite_source(app, db_ctx, tmp_path):
    """The SQLite database to copy: the suite's on the SQLite pass; on the PostgreSQL pass a
    temporary SQLite file of the test's own."""
    if _backend(app) == "sqlite":
        yield app, db_ctx
        return
    with _other_database(app, f"sqlite:///{tmp_path / 'source.db'}") as source:
        yield source, lambda: _committed(source)


def _run_backup(app, target: Path):
    result = app.test_cli_runner().invoke(args=["backup", "--target", str(target)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    database = Path(lines[0].split(" : ", 1)[1])
    uploads = Path(lines[1].split(" : ", 1)[1])
    assert lines[0].startswith("Base de données sauvegardée : ")
    assert lines[1].startswith("Pièces jointes archivées : ")
    assert database.parent == target and database.name.startswith("medecineprev-")
    with tarfile.open(uploads) as archive:
        member = archive.extractfile("uploads/piece-jointe.txt")
        assert member is not None and member.read() == b"Compte rendu"
    return database


def test_a_dump_restored_into_an_empty_database_is_served(app, postgres_source, tmp_path):
    from app import create_app
    from app.extensions import db

    source_app, source_ctx = postgres_source
    assert _backend(source_app) == "postgresql"
    users = _world(source_app, source_ctx)
    dump = _run_backup(source_app, tmp_path)
    assert dump.suffix == ".dump" and dump.stat().st_size > 0

    source = make_url(source_app.config["SQLALCHEMY_DATABASE_URI"])
    restore_name = f"{source.database}_restore"
    restore_url = source.set(database=restore_name).render_as_string(hide_password=False)
    admin = create_engine(source, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{restore_name}"'))
        connection.execute(text(f'CREATE DATABASE "{restore_name}"'))
    restored = None
    try:
        dsn, password = libpq_url(restore_url)
        env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
        completed = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", dsn, str(dump)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr

        restored = create_app(
            TestConfig,
            SQLALCHEMY_DATABASE_URI=restore_url,
            OUTBOX_DIR=app.config["OUTBOX_DIR"],
        )
        restored.test_client_class = WebClient
        web = restored.test_client()
        response = web.login(users.secretariat.username)
        assert response.status_code == 302
        assert "/login" not in response.headers.get("Location", "")
        page = web.get("/collectivityview/list/?psize_CollectivityView=100")
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert NAME in body
        assert users.collectivity_a.name in body
    finally:
        if restored is not None:
            with restored.app_context():
                db.session.remove()
                db.engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{restore_name}" WITH (FORCE)'))
        admin.dispose()


def test_on_sqlite_the_copy_opens_and_holds_the_rows(sqlite_source, tmp_path):
    source_app, source_ctx = sqlite_source
    assert _backend(source_app) == "sqlite"
    _world(source_app, source_ctx)
    copy = _run_backup(source_app, tmp_path / "copie")
    assert copy.suffix == ".sqlite3"
    connection = sqlite3.connect(copy)
    try:
        names = {row[0] for row in connection.execute("SELECT name FROM collectivity")}
        version = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        connection.close()
    assert NAME in names
    assert len(version) == 1


def test_a_target_that_is_not_writable_is_refused_in_french(app, tmp_path):
    blocker = tmp_path / "un-fichier"
    blocker.write_text("pas un dossier")
    result = app.test_cli_runner().invoke(args=["backup", "--target", str(blocker / "sous")])
    assert result.exit_code == 1
    assert "Sauvegarde impossible" in result.output
    assert "Impossible de créer le dossier" in result.output


def test_a_missing_pg_dump_is_reported_in_french(app, tmp_path, monkeypatch):
    from app.core import backup

    monkeypatch.setattr(backup.shutil, "which", lambda _name: None)
    postgres = "postgresql+psycopg://user:secret@db.example/medecineprev"
    monkeypatch.setitem(app.config, "SQLALCHEMY_DATABASE_URI", postgres)
    result = app.test_cli_runner().invoke(args=["backup", "--target", str(tmp_path)])
    assert result.exit_code == 1
    assert "pg_dump est introuvable" in result.output
    assert list(tmp_path.iterdir()) == []


def test_the_libpq_url_drops_the_driver_and_the_password():
    dsn, password = libpq_url("postgresql+psycopg://medprev:s3cret@db:5432/medecineprev")
    assert dsn == "postgresql://medprev@db:5432/medecineprev"
    assert password == "s3cret"
