"""The scheduler (SPEC G1): APScheduler 3.x, Europe/Paris, one CronTrigger per job of app.jobs.

``flask scheduler`` runs a BlockingScheduler in its own process (production: a systemd unit
beside ``gunicorn -w 4``; ``scripts/run.sh`` starts one beside the development server). The web
workers never start one unless SCHEDULER_ENABLED is true; then each worker starts a
BackgroundScheduler at its first request (after gunicorn's fork, so ``--preload`` cannot kill
its thread). However many schedulers fire, the claim (scheduling.services) lets one run through.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from app.core.clock import PARIS
from app.jobs import JOBS, Job

log = logging.getLogger(__name__)

# A fire missed by less than this (the process was restarting) still runs; missed fires of one
# job are run once (coalesce), never two at a time (max_instances).
JOB_DEFAULTS = {"misfire_grace_time": 3600, "coalesce": True, "max_instances": 1}
DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
DAY_CODES = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def trigger_of(job: Job) -> CronTrigger:
    return CronTrigger(timezone=PARIS, **job.cron)


def next_fire_time(job: Job, now: dt.datetime) -> dt.datetime | None:
    fire: dt.datetime | None = trigger_of(job).get_next_fire_time(None, now.astimezone(PARIS))
    return fire


def fire_time(trigger: CronTrigger, now: dt.datetime) -> dt.datetime:
    """The scheduled time of the fire running now (APScheduler 3 does not pass it to the job):
    the first fire time of the last hour, at most now."""
    fire = trigger.get_next_fire_time(None, now - dt.timedelta(hours=1))
    return fire if fire is not None and fire <= now else now


def describe_cron(cron: dict[str, Any]) -> str:
    """« tous les jours à 02:00 », « le 1er mars à 06:00 »... (Europe/Paris)."""
    keys = set(cron) - {"hour", "minute", "second"}
    hour, minute = cron.get("hour", 0), cron.get("minute", 0)
    if not (isinstance(hour, int) and isinstance(minute, int)):
        return "planification : " + ", ".join(f"{k}={v}" for k, v in cron.items())
    at = f"à {hour:02d}:{minute:02d}"
    if not keys:
        return f"tous les jours {at}"
    if keys == {"day_of_week"}:
        codes = str(cron["day_of_week"]).split(",")
        if all(code in DAY_CODES for code in codes):
            return f"chaque {', '.join(DAYS[DAY_CODES[c]] for c in codes)} {at}"
    if keys == {"day"} and isinstance(cron["day"], int):
        return f"le {cron['day']} de chaque mois {at}"
    if keys == {"day", "month"}:
        return f"le {cron['day']}/{cron['month']} de chaque année {at}"
    return "planification : " + ", ".join(f"{k}={v}" for k, v in cron.items())


def fire(app: Flask, job_name: str, trigger: CronTrigger) -> None:
    """One fire of one job: claim its slot (the fire's day) and run it, or say it already ran."""
    from app.extensions import db
    from app.scheduling.models import RunTrigger
    from app.scheduling.services import claim_and_run

    with app.app_context():
        try:
            slot = fire_time(trigger, dt.datetime.now(PARIS))
            outcome = claim_and_run(job_name, slot=slot, trigger=RunTrigger.planificateur)
            log.info("%s", outcome.message)
        except Exception:  # a database outage must not stop the scheduler
            log.exception("Planificateur : la tâche %s n'a pas pu être lancée", job_name)
        finally:
            db.session.remove()


def add_jobs(scheduler: BaseScheduler, app: Flask) -> None:
    for job in JOBS.values():
        trigger = trigger_of(job)
        scheduler.add_job(
            fire,
            trigger,
            args=(app, job.name, trigger),
            id=job.name,
            name=job.label,
            replace_existing=True,
        )


def blocking_scheduler(app: Flask) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=PARIS, job_defaults=JOB_DEFAULTS)
    add_jobs(scheduler, app)
    return scheduler


_web_lock = threading.Lock()
_web_started: dict[int, BackgroundScheduler] = {}


def install_web_scheduler(app: Flask) -> None:
    """SCHEDULER_ENABLED: each web worker process starts a BackgroundScheduler at its first
    request (never at import or under gunicorn's master process)."""

    @app.before_request
    def _start_scheduler() -> None:
        pid = os.getpid()
        if pid in _web_started:
            return
        with _web_lock:
            if pid in _web_started:
                return
            scheduler = BackgroundScheduler(timezone=PARIS, job_defaults=JOB_DEFAULTS)
            add_jobs(scheduler, app)
            scheduler.start()
            _web_started[pid] = scheduler
            log.info("Planificateur démarré dans le processus web %s", pid)
