"""``flask backup --target DIR`` (issue 19): a consistent copy of the database and the uploads.

- PostgreSQL: ``pg_dump --format=custom`` of the configured database into
  ``DIR/medecineprev-YYYYMMDD-HHMMSS.dump`` (restore with ``pg_restore --no-owner -d``), plus
  ``DIR/medecineprev-YYYYMMDD-HHMMSS-uploads.tar.gz``, the archive of ``UPLOAD_DIR``;
- SQLite: the database file copied with sqlite3's online backup API (consistent even while the
  application writes) into ``DIR/medecineprev-YYYYMMDD-HHMMSS.sqlite3``, plus the same archive.

The password of the database URL is handed to pg_dump through ``PGPASSWORD``, never on its
command line (visible to every user of the machine in the process list).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import URL, make_url

from app.core.types import utcnow


class BackupError(Exception):
    """A backup that could not be made; the message is French, for the operator."""


@dataclass(frozen=True)
class BackupResult:
    database: Path
    uploads: Path


def libpq_url(url: str) -> tuple[str, str | None]:
    """(the URL pg_dump understands, without its password; the password or None)."""
    parsed = make_url(url)
    password = parsed.password
    # URL.set() ignores None: a new URL without the password.
    parsed = URL.create(
        parsed.drivername.split("+", 1)[0],
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return parsed.render_as_string(hide_password=False), password


def _writable_target(target: Path) -> Path:
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(
            f"Impossible de créer le dossier « {target} » : {error.strerror}."
        ) from error
    if not target.is_dir() or not os.access(target, os.W_OK | os.X_OK):
        raise BackupError(f"Le dossier « {target} » n'est pas accessible en écriture.")
    return target


def _dump_postgres(url: str, destination: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(
            "La commande pg_dump est introuvable : installez le client PostgreSQL "
            "(paquet postgresql-client) de la même version majeure que le serveur."
        )
    dsn, password = libpq_url(url)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = password
    completed = subprocess.run(
        [pg_dump, "--format=custom", "--file", str(destination), "--dbname", dsn],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        destination.unlink(missing_ok=True)
        detail = completed.stderr.strip().splitlines()[-1:] or ["erreur inconnue"]
        raise BackupError(f"pg_dump a échoué : {detail[0]}")


def _copy_sqlite(url: str, destination: Path) -> None:
    database = make_url(url).database
    if not database or database == ":memory:" or not Path(database).is_file():
        raise BackupError(f"Le fichier de base de données SQLite « {database} » est introuvable.")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(destination)
        try:
            source.backup(copy)
        finally:
            copy.close()
    except sqlite3.Error as error:
        destination.unlink(missing_ok=True)
        raise BackupError(f"La copie de la base SQLite a échoué : {error}.") from error
    finally:
        source.close()


def _archive_uploads(upload_dir: Path, destination: Path) -> None:
    try:
        with tarfile.open(destination, "w:gz") as archive:
            if upload_dir.is_dir():
                archive.add(upload_dir, arcname="uploads")
    except OSError as error:
        destination.unlink(missing_ok=True)
        raise BackupError(f"L'archive des pièces jointes a échoué : {error}.") from error


def make_backup(target: Path, now_stamp: str | None = None) -> BackupResult:
    """The database and the uploads copied into ``target``; raises BackupError."""
    target = _writable_target(target)
    stamp = now_stamp or f"{utcnow():%Y%m%d-%H%M%S}"
    base = f"medecineprev-{stamp}"
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        database = target / f"{base}.dump"
        _dump_postgres(url, database)
    elif backend == "sqlite":
        database = target / f"{base}.sqlite3"
        _copy_sqlite(url, database)
    else:
        raise BackupError(f"Base de données « {backend} » non prise en charge par la sauvegarde.")
    uploads = target / f"{base}-uploads.tar.gz"
    _archive_uploads(Path(current_app.config["UPLOAD_DIR"]), uploads)
    return BackupResult(database, uploads)


@click.command("backup")
@click.option(
    "--target",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Dossier où écrire la sauvegarde (créé s'il n'existe pas).",
)
@with_appcontext
def backup_command(target: Path) -> None:
    """Sauvegarde la base de données et les pièces jointes dans un dossier."""
    try:
        result = make_backup(target)
    except BackupError as error:
        click.echo(f"Sauvegarde impossible : {error}", err=True)
        sys.exit(1)
    click.echo(f"Base de données sauvegardée : {result.database}")
    click.echo(f"Pièces jointes archivées : {result.uploads}")
