"""``flask billing ...`` (CONTRACT.md §1). The group is shared by the billing commands;
``declare`` records and validates an annual declaration (SPEC F1) as the employer screen does."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.extensions import db

billing_cli = AppGroup("billing", help="Facturation : déclarations annuelles, tarifs, factures.")


@billing_cli.command("declare")
@click.option("--collectivity", "siret", required=True, help="SIRET de la collectivité")
@click.option("--year", required=True, help="Année déclarée (N)")
@click.option("--headcount", required=True, help="Effectif au 1er janvier N")
@click.option("--permanent", required=True, help="Effectif permanent au 31 décembre N-1")
@click.option("--payroll", required=True, help="Masse salariale (ex. « 3 000 000,00 »)")
def declare_command(siret: str, year: str, headcount: str, permanent: str, payroll: str) -> None:
    """Enregistre et valide la déclaration annuelle d'une collectivité (comme l'écran employeur)."""
    from sqlalchemy import select

    from app.billing import declarations
    from app.referential.models import Collectivity
    from app.rules.errors import DomainError
    from app.rules.formatting import format_money
    from app.rules.identifiers import normalize_siret

    try:
        collectivity_id = db.session.scalar(
            select(Collectivity.id).where(Collectivity.siret == normalize_siret(siret))
        )
        if collectivity_id is None:
            raise DomainError(f"Aucune collectivité n'a le SIRET {siret}.")
        data = declarations.parse_input(year, headcount, permanent, payroll)
        result = declarations.declare(data, collectivity_id)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        click.echo(f"Erreur : {error.message}", err=True)
        sys.exit(1)
    row = result.row
    click.echo(
        f"Déclaration {row.year} validée le {row.declared_on:%d/%m/%Y} : effectif "
        f"{row.headcount}, effectif permanent {row.permanent_headcount}, masse salariale "
        f"{format_money(data.payroll)}."
    )
    for warning in result.warnings:
        click.echo(f"Attention : {warning}")
