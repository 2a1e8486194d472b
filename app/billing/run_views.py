"""*Comptabilité › Facturation* (SPEC F8, G3): choose a run and a period, read its dry run (per
collectivity: inputs, lines, amounts, blocked ones with the reason), then « Émettre » (with a
confirmation), which runs the real run through the jobs framework (app/scheduling: one claim per
slot, recorded in the run history); the run's result page lists what it issued.

Staff only (role Comptabilité; Admin as everywhere): an employer account gets 403 from
FAB's permission check. Nothing is stored for a dry run: it is computed again on each display
(app/billing/runs.compute, a constant number of queries)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import roles
from app.billing import runs
from app.core.views import READ, WRITE
from app.extensions import db
from app.rules.billing import ZERO
from app.rules.errors import DomainError
from app.security import register_resources

BILLING_RUNS = "BillingRuns"
register_resources({BILLING_RUNS: {roles.COMPTABILITE: (READ, WRITE)}})


def _kind(value: str | None) -> str:
    return value if value in runs.KINDS else "contributions"


def _free_day(kind: str, period: runs.Period) -> dt.date:
    """The day the screen's run is made as of: the first day of the period's run days whose
    slot is free (or failed, which a run from the screen takes over). A late declaration is
    thus billed by a second run of the same period; the run keys skip what was invoiced."""
    from app.scheduling.models import JobRun, RunStatus
    from app.scheduling.services import day_of

    rows = db.session.execute(
        select(JobRun.scheduled_for, JobRun.status).where(JobRun.job == runs.JOB_NAMES[kind])
    ).all()
    taken = {day_of(slot) for slot, status in rows if status is not RunStatus.echoue}
    day = runs.run_day(kind, period)
    while day in taken and runs.period_for(kind, day + dt.timedelta(days=1)) == period:
        day += dt.timedelta(days=1)
    return day


class BillingRunsView(BaseView):
    route_base = "/facturation"
    default_view = "index"
    class_permission_name = BILLING_RUNS
    method_permission_name = {"index": READ, "result": READ, "issue": WRITE}

    @expose("/")
    @has_access
    def index(self) -> Any:
        kind = _kind(request.args.get("run"))
        raw = request.args.get("periode")
        plan = error = None
        if raw is not None:
            try:
                plan = runs.compute(kind, runs.parse_period(kind, raw))
            except DomainError as refused:
                error = refused.message
        return self.render_template(
            "billing/run_index.html",
            title="Facturation",
            kinds=[(k, runs.KIND_LABELS[k]) for k in runs.KINDS],
            kind=kind,
            period_text=raw or "",
            plan=plan,
            error=error,
            statuses=runs.STATUS_LABELS,
        )

    @expose("/emettre", methods=["POST"])
    @has_access
    def issue(self) -> Any:
        from app.scheduling.models import RunTrigger
        from app.scheduling.services import claim_and_run

        kind = _kind(request.form.get("run"))
        raw = request.form.get("periode", "")
        back = redirect(url_for("BillingRunsView.index", run=kind, periode=raw))
        if request.form.get("confirmation") != "oui":
            flash("Cochez la confirmation pour émettre les factures.", "danger")
            return back
        try:
            period = runs.parse_period(kind, raw)
        except DomainError as refused:
            flash(refused.message, "danger")
            return back
        outcome = claim_and_run(
            runs.JOB_NAMES[kind],
            today=_free_day(kind, period),
            trigger=RunTrigger.ecran,
            started_by=current_user.id,
        )
        if outcome.error:
            flash(outcome.message, "danger")
        else:
            flash(outcome.message, "success" if outcome.ran else "warning")
        run_id = outcome.run_id or (outcome.existing.id if outcome.existing else None)
        if run_id is None:
            return back
        return redirect(url_for("BillingRunsView.result", execution=run_id))

    @expose("/resultat")
    @has_access
    def result(self) -> Any:
        from app.scheduling.models import JobRun
        from app.scheduling.services import day_of

        raw = request.args.get("execution", "")
        run = db.session.get(JobRun, int(raw)) if raw.isdigit() and 0 < int(raw) < 2**63 else None
        kinds = {name: kind for kind, name in runs.JOB_NAMES.items()}
        if run is None or run.job not in kinds:
            abort(404)
        kind = kinds[run.job]
        period = runs.period_for(kind, day_of(run.scheduled_for))
        invoices: list[Any] = []
        model = runs._invoice_model()
        if model is not None:
            invoices = list(
                db.session.scalars(
                    select(model)
                    .where(model.run_key.like(f"{kind}:{period.code}:%"))
                    .options(joinedload(model.collectivity))
                    .order_by(model.number)
                )
            )
        return self.render_template(
            "billing/run_result.html",
            title="Résultat de la facturation",
            run=run,
            kind=kind,
            kind_label=runs.KIND_LABELS[kind],
            period=period,
            invoices=invoices,
            total=sum((i.total for i in invoices), ZERO),
        )
