"""`flask jobs list`, `flask jobs run NAME [--date YYYY-MM-DD] [--dry-run]` and `flask scheduler`
(CONTRACT.md §1, SPEC G1)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.core.formatting import format_datetime

jobs_cli = AppGroup("jobs", help="Tâches planifiées : liste et lancement manuel.")


@jobs_cli.command("list")
def jobs_list() -> None:
    """Liste les tâches, leur planification, leur dernière et leur prochaine exécution."""
    from app.scheduling.services import job_rows

    for row in job_rows():
        last = row.last_run
        last_text = (
            f"{last.day:%d/%m/%Y} (lancée le {format_datetime(last.started_at)}, "
            f"{last.status.label.lower()})"
            if last is not None
            else "jamais"
        )
        click.echo(
            f"{row.job.name:12} {row.job.label} — {row.schedule} — "
            f"dernière : {last_text} — prochaine : {format_datetime(row.next_run)}"
        )


def _parse_day(text: str | None) -> dt.date:
    """--date AAAA-MM-JJ, strictly: a wrong format or a day that does not exist exits with 2."""
    from app.core import clock

    if text is None:
        return clock.today()
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip()):
        try:
            return dt.date.fromisoformat(text.strip())
        except ValueError:
            _usage_error(f"date impossible « {text} » : ce jour n'existe pas au calendrier.")
    _usage_error(f"date invalide « {text} » : format attendu AAAA-MM-JJ (par exemple 2026-03-01).")
    raise AssertionError  # not reached


def _usage_error(message: str) -> None:
    click.echo(f"Erreur : {message}", err=True)
    sys.exit(2)


@jobs_cli.command("run")
@click.argument("name")
@click.option("--date", "date_text", default=None, help="Exécuter comme ce jour-là (AAAA-MM-JJ)")
@click.option("--dry-run", is_flag=True, help="Simuler : ne rien enregistrer, ne rien envoyer")
def jobs_run(name: str, date_text: str | None, dry_run: bool) -> None:
    """Lance une tâche maintenant, comme si l'on était le jour --date (par défaut aujourd'hui).

    Le créneau d'une exécution est ce jour : une tâche déjà exécutée ce jour-là (par le
    planificateur ou à la main) ne refait rien et le dit. Une exécution échouée peut être
    relancée : elle reprend ce qui n'a pas été fait.
    """
    from app.jobs import JOBS
    from app.scheduling.models import RunStatus, RunTrigger
    from app.scheduling.services import claim_and_run

    if name not in JOBS:
        _usage_error(f"tâche inconnue « {name} ». Tâches possibles : {', '.join(sorted(JOBS))}.")
    day = _parse_day(date_text)
    outcome = claim_and_run(name, today=day, dry_run=dry_run, trigger=RunTrigger.ligne_de_commande)
    if outcome.status is RunStatus.echoue or (dry_run and outcome.error):
        click.echo(
            outcome.message if not dry_run else f"Simulation impossible : {outcome.error}", err=True
        )
        sys.exit(1)
    click.echo(outcome.message)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Lance le planificateur (APScheduler, Europe/Paris) dans ce processus, jusqu'à Ctrl+C."""
    from app.jobs import JOBS
    from app.scheduling.scheduler import blocking_scheduler, describe_cron

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    scheduler = blocking_scheduler(app)
    for job in JOBS.values():
        click.echo(f"Planificateur : {job.name} ({job.label}) {describe_cron(job.cron)}")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
