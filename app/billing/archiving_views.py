"""Archiving screens (SPEC F6): the staff's « Archivage » (the archivist's interventions of a
year: record, mark done or cancelled; Secrétariat writes, Comptabilité and Direction read) and
the employer's read-only « Archivage » page (its own interventions)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app import roles
from app.billing import archiving
from app.billing.archiving import ArchivingStatus
from app.core.views import (
    READ,
    WRITE,
    ChoiceWidget,
    FrenchDateField,
    FrenchDateWidget,
    run_service,
    submit_dated,
    year_arg,
)
from app.extensions import db
from app.security import register_resources
from app.tenancy import TenantViolation, current_scope

ARCHIVING = "Archiving"  # the staff's screen
MY_ARCHIVING = "MyArchiving"  # the employer's page
register_resources(
    {
        ARCHIVING: {
            roles.SECRETARIAT: (READ, WRITE),
            roles.COMPTABILITE: (READ,),
            roles.DIRECTION: (READ,),
        },
        MY_ARCHIVING: {roles.EMPLOYER_PRIMARY: (READ,), roles.EMPLOYER_SECONDARY: (READ,)},
    }
)


class ArchivingForm(FlaskForm):
    collectivity_id = SelectField(
        "Collectivité",
        validators=[InputRequired("Choisissez la collectivité.")],
        validate_choice=False,
        widget=ChoiceWidget(),
    )
    day_on = FrenchDateField(
        "Date de l'intervention",
        format="%d/%m/%Y",
        validators=[InputRequired("Ce champ est obligatoire.")],
        widget=FrenchDateWidget(),
    )
    days = StringField(
        "Durée (jours, par demi-journées : 0,5, 1, 2,5…)",
        default="1",
        validators=[InputRequired("Indiquez la durée.")],
    )
    archivist = StringField(
        "Archiviste (intervenant)",
        validators=[Optional(), Length(max=120, message="120 caractères au plus.")],
    )
    description = TextAreaField(
        "Description", validators=[Optional(), Length(max=4000, message="4000 caractères au plus.")]
    )


class ArchivingStatusForm(FlaskForm):
    status = SelectField(
        "État", choices=ArchivingStatus.choices(), widget=ChoiceWidget(select2=False)
    )


class ArchivingView(BaseView):
    route_base = "/archivage"
    default_view = "index"
    class_permission_name = ARCHIVING
    method_permission_name = {"index": READ, "add": WRITE, "status": WRITE}

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._render(year_arg(), ArchivingForm())

    def _render(self, year: int, form: ArchivingForm) -> Any:
        items = list(db.session.scalars(archiving.interventions_query(year, limit=2000)))
        form.collectivity_id.choices = [
            (str(i), name) for i, name in archiving.archiving_collectivities(year)
        ]
        return self.render_template(
            "billing/archiving_list.html",
            title="Archivage",
            year=year,
            items=items,
            totals=archiving.totals(items),
            statuses=ArchivingStatus,
            form=form,
            status_form=ArchivingStatusForm(),
            staff=True,
        )

    @expose("/intervention", methods=["POST"])
    @has_access
    def add(self) -> Any:
        form = ArchivingForm()
        done, year = submit_dated(
            form,
            lambda: archiving.add_intervention(
                form.collectivity_id.data,
                form.day_on.data,
                form.days.data,
                archivist=form.archivist.data,
                description=form.description.data,
            ),
        )
        if not done:
            return self._render(year, form), 400
        flash("L'intervention d'archivage est planifiée.", "success")
        return redirect(url_for("ArchivingView.index", annee=year))

    @expose("/<int:archiving_id>/etat", methods=["POST"])
    @has_access
    def status(self, archiving_id: int) -> Any:
        form = ArchivingStatusForm()
        try:
            item = archiving.get_intervention(archiving_id)
        except TenantViolation:
            abort(404)
        year = item.day_on.year
        if run_service(lambda: archiving.set_status(archiving_id, form.status.data or "")):
            flash("L'intervention d'archivage est mise à jour.", "success")
        return redirect(url_for("ArchivingView.index", annee=year))


class MyArchivingView(BaseView):
    """The employer's archiving interventions, read only."""

    route_base = "/portail/archivage"
    needs_collectivity = True
    default_view = "index"
    class_permission_name = MY_ARCHIVING
    method_permission_name = {"index": READ}

    @expose("/")
    @has_access
    def index(self) -> Any:
        if current_scope().collectivity_id is None:
            abort(404)
        items = list(db.session.scalars(archiving.interventions_query(limit=200)))
        return self.render_template(
            "billing/archiving_list.html",
            title="Archivage",
            year=None,
            items=items,
            totals=archiving.totals(items),
            statuses=ArchivingStatus,
            form=None,
            status_form=None,
            staff=False,
        )
