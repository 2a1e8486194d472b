"""Command line (CONTRACT.md §1): seed-roles, seed-reference, users create, demo-data, roles matrix."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app import roles
from app.extensions import db


def register_commands(app: Flask) -> None:
    app.cli.add_command(seed_roles_command)
    app.cli.add_command(seed_reference_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(roles_cli)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(import_command)
    from app.scheduling.cli import jobs_cli, scheduler_command

    app.cli.add_command(jobs_cli)
    app.cli.add_command(scheduler_command)
    from app.retention.cli import export_cli

    app.cli.add_command(export_cli)
    from app.visits.due_cli import due_list_command

    app.cli.add_command(due_list_command)
    from app.billing.cli import billing_cli

    app.cli.add_command(billing_cli)
    from app.core.backup import backup_command

    app.cli.add_command(backup_command)


def seed_roles() -> list[str]:
    """Create the roles and sync permission rows; idempotent. Returns the roles created."""
    sm = current_app.appbuilder.sm
    created = []
    for name in (*roles.ALL_ROLES, roles.PUBLIC):
        if sm.find_role(name) is None:
            sm.add_role(name)
            created.append(name)
    # Permission and view-menu rows, so the Security screens list them; access itself is
    # decided in memory from app.security.MATRIX (built-in roles).
    current_app.appbuilder.add_permissions(update_perms=True)
    db.session.commit()
    return created


@click.command("seed-roles")
@with_appcontext
def seed_roles_command() -> None:
    """Crée ou met à jour les rôles et leurs permissions (idempotent)."""
    created = seed_roles()
    click.echo(f"Rôles créés : {', '.join(created) if created else 'aucun (déjà présents)'}.")


@click.command("seed-reference")
@with_appcontext
def seed_reference_command() -> None:
    """Charge les données de référence manquantes (risques, tarifs, actes...) ; idempotent."""
    from app.referential.reference_data import seed_reference_data

    added = seed_reference_data(db.session)
    db.session.commit()
    for name, count in added.items():
        click.echo(f"{name} : {count} ajouté(s)")


users_cli = AppGroup("users", help="Gestion des comptes utilisateurs.")


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", "role_name", required=True, type=click.Choice(list(roles.ALL_ROLES)))
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@click.option("--collectivity", "siret", default=None, help="SIRET de la collectivité (employeurs)")
@click.option(
    "--primary", "primary_username", default=None, help="Compte principal (compte secondaire)"
)
def users_create(
    username: str,
    email: str,
    password: str,
    role_name: str,
    first_name: str,
    last_name: str,
    siret: str | None,
    primary_username: str | None,
) -> None:
    """Crée un utilisateur ; un employeur est rattaché à sa collectivité."""
    from app.accounts.services import create_user
    from app.rules.errors import DomainError

    try:
        user = create_user(
            username=username,
            email=email,
            password=password,
            role_name=role_name,
            first_name=first_name or username,
            last_name=last_name or username,
            siret=siret,
            primary_username=primary_username,
        )
    except DomainError as error:  # an AccountError, or an address refused at the flush
        db.session.rollback()
        click.echo(f"Erreur : {error.message}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Utilisateur « {user.username} » créé avec le rôle {role_name}.")


roles_cli = AppGroup("roles", help="Rôles et permissions.")


@roles_cli.command("matrix")
def roles_matrix() -> None:
    """Affiche la matrice des permissions (docs/permissions.md)."""
    from app.security import matrix_markdown

    click.echo(matrix_markdown(), nl=False)


@click.command("demo-data")
@click.option("--scale", default=300, show_default=True, help="Nombre d'agents")
@click.option("--seed", default=1, show_default=True, help="Graine (jeu déterministe)")
@with_appcontext
def demo_data_command(scale: int, seed: int) -> None:
    """Remplit une base de démonstration réaliste (déterministe pour une graine donnée)."""
    from app.demo import DemoAlreadyLoaded, demo_job_runs, load_demo

    try:
        summary = load_demo(db.session, scale=scale, seed=seed)
    except DemoAlreadyLoaded as error:
        db.session.rollback()
        click.echo(str(error))
        return
    db.session.commit()
    from app.core import clock

    summary.update(demo_job_runs(clock.today()))
    for name, count in summary.items():
        click.echo(f"{name} : {count}")


@click.command("import")
@click.argument("kind", type=click.Choice(["positions", "agents", "exits", "consultations"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--collectivity", "siret", default=None, help="SIRET de la collectivité")
@with_appcontext
def import_command(kind: str, path: str, siret: str | None) -> None:
    """Importe des postes, des agents, des fins de contrats (--collectivity obligatoire) ou
    l'historique des consultations (mêmes contrôles que la page web)."""
    if kind == "consultations":
        from app.visits.history_import import import_from_cli

        sys.exit(import_from_cli(path))
    if not siret:
        click.echo("Erreur : indiquez la collectivité (--collectivity SIRET).", err=True)
        sys.exit(1)
    from pathlib import Path

    from sqlalchemy import select

    from app.referential.models import Collectivity
    from app.rules.errors import DomainError
    from app.rules.identifiers import normalize_siret
    from app.workforce.importing import ImportKind, ImportRejected
    from app.workforce.imports import run_import

    try:
        collectivity_id = db.session.scalar(
            select(Collectivity.id).where(Collectivity.siret == normalize_siret(siret))
        )
    except DomainError as error:
        click.echo(f"Erreur : {error.message}", err=True)
        sys.exit(1)
    if collectivity_id is None:
        click.echo(f"Erreur : aucune collectivité n'a le SIRET {siret}.", err=True)
        sys.exit(1)
    file = Path(path)
    try:
        result = run_import(ImportKind(kind), file.read_bytes(), file.name, collectivity_id)
    except ImportRejected as rejected:
        db.session.rollback()
        click.echo(rejected.message, err=True)
        for issue in rejected.issues:
            click.echo(f"  {issue}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(result.message)
