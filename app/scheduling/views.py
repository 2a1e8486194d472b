"""Administration › Tâches planifiées (SPEC G1): the jobs, « Lancer maintenant », the run history."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import func, select

from app.core.views import READ, WRITE
from app.extensions import db
from app.jobs import JOBS
from app.scheduling.models import JobRun, RunStatus, RunTrigger
from app.security import register_resources

JOB_RUN = "JobRun"
# Administrators only (they have every resource); nobody else, employers least of all.
register_resources({JOB_RUN: {}})

PAGE_SIZE = 50
LABELS = {
    "id": "Identifiant",
    "job": "Tâche",
    "scheduled_for": "Créneau",
    "started_at": "Début",
    "ended_at": "Fin",
    "status": "Statut",
    "counts": "Compteurs",
    "error": "Erreur",
    "trigger": "Lancée par",
    "started_by_id": "Utilisateur (id)",
    "started_by": "Utilisateur",
    "done": "Déjà fait (reprise)",
    "attempts": "Tentatives",
}


class ScheduledJobsView(BaseView):
    route_base = "/taches-planifiees"
    default_view = "index"
    class_permission_name = JOB_RUN
    method_permission_name = {"index": READ, "run": WRITE}

    @expose("/")
    @has_access
    def index(self) -> Any:
        from app.scheduling.services import job_rows, runs_query

        job = request.args.get("job", "")
        job = job if job in JOBS else ""
        status = RunStatus.__members__.get(request.args.get("status", ""))
        raw_page = request.args.get("page", "1")
        page = max(int(raw_page), 1) if raw_page.isdigit() and len(raw_page) < 7 else 1
        query = runs_query(job or None, status)
        total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        page = min(page, pages)
        runs = list(
            db.session.scalars(
                query.order_by(JobRun.started_at.desc(), JobRun.id.desc())
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            ).unique()
        )
        return self.render_template(
            "scheduling/jobs.html",
            title="Tâches planifiées",
            rows=job_rows(),
            runs=runs,
            jobs=JOBS,
            statuses=list(RunStatus),
            selected_job=job,
            selected_status=status.name if status else "",
            page=page,
            pages=pages,
            total=total,
        )

    @expose("/<name>/lancer", methods=["POST"])
    @has_access
    def run(self, name: str) -> Any:
        from app.scheduling.services import claim_and_run

        if name not in JOBS:
            abort(404)
        from app.core import clock

        outcome = claim_and_run(
            name, today=clock.today(), trigger=RunTrigger.ecran, started_by=g.user.id
        )
        if outcome.status is RunStatus.reussi:
            flash(outcome.message, "success")
        elif outcome.status is RunStatus.echoue:
            flash(outcome.message, "danger")
        else:
            flash(outcome.message, "warning")
        return redirect(url_for("ScheduledJobsView.index"))
