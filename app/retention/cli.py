"""`flask export agent ID --format json|csv` (CONTRACT.md §1, SPEC J1)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.core.types import utcnow
from app.extensions import db

export_cli = AppGroup("export", help="Exports de données personnelles (portabilité).")


@export_cli.command("agent")
@click.argument("agent_id")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Fichier à écrire (sinon la sortie standard)",
)
def export_agent_command(agent_id: str, fmt: str, output: str | None) -> None:
    """Exporte tout ce qui est détenu sur un agent (JSON ou CSV)."""
    from app.retention.portability import AgentNotFound, export_agent
    from app.tenancy import system_scope

    if not agent_id.isdigit():
        click.echo(f"Erreur : identifiant d'agent invalide : {agent_id}.", err=True)
        sys.exit(2)
    try:
        with system_scope():
            _agent, content = export_agent(int(agent_id), fmt, medical=False, now=utcnow())
    except AgentNotFound as error:
        db.session.rollback()
        click.echo(f"Erreur : {error.message}", err=True)
        sys.exit(2)
    db.session.commit()
    if output:
        with open(output, "wb") as file:
            file.write(content)
        click.echo(f"Export écrit dans {output}.", err=True)
    else:
        click.echo(content, nl=False)  # bytes: written as they are
