"""``flask backup`` (issue 19): a dump restored into an empty database is served by the app."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core.backup import libpq_url
from config import TestConfig
from tests import factories
from tests.conftest import WebClient

pytestmark = pytest.mark.committing

# As tests/conftest.py picks the database: PostgreSQL when TEST_DATABASE_URL (or a PostgreSQL
# DATABASE_URL) is set. The restore drill needs pg_restore; the CI runs the suite on PostgreSQL.
ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgres") or (
    not os.environ.get("TEST_DATABASE_URL")
    and os.environ.get("DATABASE_URL", "").startswith("postgres")
)

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


@pytest.mark.skipif(not ON_POSTGRES, reason="pg_dump / pg_restore drill: PostgreSQL only")
def test_a_dump_restored_into_an_empty_database_is_served(app, db_ctx, tmp_path):
    from app import create_app
    from app.extensions import db

    assert _backend(app) == "postgresql"
    users = _world(app, db_ctx)
    dump = _run_backup(app, tmp_path)
    assert dump.suffix == ".dump" and dump.stat().st_size > 0

    source = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
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


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite copy: the suite runs on SQLite")
def test_on_sqlite_the_copy_opens_and_holds_the_rows(app, db_ctx, tmp_path):
    assert _backend(app) == "sqlite"
    _world(app, db_ctx)
    copy = _run_backup(app, tmp_path)
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
