"""Inspection (ACFI) screens (SPEC I2): the staff's « Inspection (ACFI) » (volume, days planned
and done, extra days and amounts per collectivity and year, amendments) and the employer's
read-only « Inspection » page."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select
from sqlalchemy.orm import lazyload

from app import roles
from app.core import clock
from app.core.views import READ, WRITE, run_service, submit_dated, year_arg
from app.extensions import db
from app.security import register_resources
from app.statutory import acfi
from app.statutory.forms import AcfiDayForm, AcfiPlanForm, AcfiStatusForm
from app.statutory.models import AcfiPlan
from app.tenancy import TenantViolation, current_scope

INSPECTION = "Inspection"  # the staff's screen
MY_INSPECTION = "MyInspection"  # the employer's page
register_resources(
    {
        INSPECTION: {
            roles.SECRETARIAT: (READ, WRITE),
            roles.COMPTABILITE: (READ,),
            roles.DIRECTION: (READ,),
        },
        MY_INSPECTION: {roles.EMPLOYER_PRIMARY: (READ,), roles.EMPLOYER_SECONDARY: (READ,)},
    }
)


class AcfiView(BaseView):
    route_base = "/inspection"
    default_view = "index"
    class_permission_name = INSPECTION
    method_permission_name = {
        "index": READ,
        "show": READ,
        "add_day": WRITE,
        "update_plan": WRITE,
        "day_status": WRITE,
    }

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._render(year_arg(), AcfiDayForm())

    def _render(self, year: int, form: AcfiDayForm) -> Any:
        plans = list(db.session.scalars(acfi.plans_query(year)).unique())
        form.collectivity_id.choices = [
            (str(i), name) for i, name in acfi.acfi_collectivities(year)
        ]
        return self.render_template(
            "statutory/acfi_list.html",
            title="Inspection (ACFI)",
            year=year,
            summaries=acfi.summaries(plans),
            form=form,
            staff=True,
        )

    @expose("/jour", methods=["POST"])
    @has_access
    def add_day(self) -> Any:
        form = AcfiDayForm()
        done, year = submit_dated(
            form,
            lambda: acfi.add_day(
                form.collectivity_id.data,
                form.day_on.data,
                form.days.data,
                nature=form.nature.data,
                inspector=form.inspector.data,
                note=form.note.data,
            ),
        )
        if not done:
            return self._render(year, form), 400
        flash("L'intervention est planifiée.", "success")
        return redirect(url_for("AcfiView.index", annee=year))

    @expose("/<int:acfi_plan_id>")
    @has_access
    def show(self, acfi_plan_id: int) -> Any:
        try:
            plan = acfi.get_plan(acfi_plan_id)
        except TenantViolation:
            abort(404)
        form = AcfiPlanForm()
        if not form.volume_days.data:
            form.volume_days.data = str(plan.volume_days.normalize()).replace(".", ",")
            form.amendment.data = plan.amendment_reference or ""
        return self.render_template(
            "statutory/acfi_detail.html",
            title=str(plan),
            plan=plan,
            summary=acfi.summaries([plan])[0],
            form=form,
            status_form=AcfiStatusForm(),
            staff=True,
        )

    @expose("/<int:acfi_plan_id>/modifier", methods=["POST"])
    @has_access
    def update_plan(self, acfi_plan_id: int) -> Any:
        form = AcfiPlanForm()
        if run_service(
            lambda: acfi.update_plan(
                acfi_plan_id, volume_days=form.volume_days.data, amendment=form.amendment.data
            )
        ):
            flash("L'année d'inspection est modifiée.", "success")
        return redirect(url_for("AcfiView.show", acfi_plan_id=acfi_plan_id))

    @expose("/jour/<int:acfi_day_id>/etat", methods=["POST"])
    @has_access
    def day_status(self, acfi_day_id: int) -> Any:
        form = AcfiStatusForm()
        try:
            day = acfi.get_day(acfi_day_id)
        except TenantViolation:
            abort(404)
        plan_id = day.plan_id
        if run_service(lambda: acfi.set_day_status(acfi_day_id, form.status.data or "")):
            flash("L'intervention est mise à jour.", "success")
        return redirect(url_for("AcfiView.show", acfi_plan_id=plan_id))


class MyAcfiView(BaseView):
    """The employer's inspection years: volume, days planned and done, extra days."""

    route_base = "/portail/inspection"
    needs_collectivity = True
    default_view = "index"
    class_permission_name = MY_INSPECTION
    method_permission_name = {"index": READ}

    @expose("/")
    @has_access
    def index(self) -> Any:
        if current_scope().collectivity_id is None:
            abort(404)
        plans = list(
            db.session.scalars(
                select(AcfiPlan)
                .options(lazyload(AcfiPlan.collectivity))
                .order_by(AcfiPlan.year.desc())
                .limit(10)
            ).unique()
        )
        return self.render_template(
            "statutory/acfi_list.html",
            title="Inspection en santé et sécurité au travail",
            year=None,
            summaries=acfi.summaries(plans, clock.today()),
            form=None,
            staff=False,
        )
