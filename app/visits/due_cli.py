"""``flask due-list --collectivity SIRET [--on YYYY-MM-DD] [--format csv|json]`` (CONTRACT.md §1).

Without ``--on`` (or with today's date) the stored rows are printed; with another date the rows
are computed as of that date with the rules in force then (so history is explainable) and not
stored.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from app.core import clock
from app.core.spreadsheet import iter_csv
from app.extensions import db

FIELDS = ("agent_id", "due_on", "kind", "legal_reference", "explanation")


def _parse_day(value: str | None) -> dt.date:
    if not value:
        return clock.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"« {value} » n'est pas une date AAAA-MM-JJ valide.", param_hint="--on"
        ) from None


@click.command("due-list")
@click.option("--collectivity", "siret", required=True, help="SIRET de la collectivité")
@click.option(
    "--on", "on", default=None, help="Date d'évaluation AAAA-MM-JJ (défaut : aujourd'hui)"
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@with_appcontext
def due_list_command(siret: str, on: str | None, fmt: str) -> None:
    """Les visites à planifier d'une collectivité, chaque date expliquée (SPEC E3)."""
    from app.referential.models import Collectivity
    from app.rules.errors import DomainError
    from app.rules.identifiers import normalize_siret
    from app.visits import due

    day = _parse_day(on)
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
    if day == clock.today():
        rows = due.stored_rows(collectivity_id)
    else:
        rows = due.compute_rows(collectivity_id, day)
    records = [
        {
            "agent_id": row.agent_id,
            "due_on": row.due_on.isoformat(),
            "kind": row.kind,
            "legal_reference": row.legal_reference,
            "explanation": row.explanation,
        }
        for row in rows
    ]
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    # The app's one CSV writer (cells neutralised), without the BOM: programs read this output.
    rows = ([record[name] for name in FIELDS] for record in records)
    for chunk in iter_csv(FIELDS, rows, bom=False):
        click.echo(chunk, nl=False)
