"""Employer « Déclarations » (SPEC F1, SSTRN-EXTRANET « La Déclaration annuelle obligatoire »):
choose the year, the figures pre-filled from the agents, « Déclarer »; the list of the
declarations with their validation date, editable 7 days, then locked (the date is shown).

The collectivity's primary account only (see app/billing/declarations.py for why)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired

from app import roles
from app.billing import declarations as services
from app.core import clock
from app.core.views import READ, WRITE, ChoiceWidget, run_service
from app.rules import declarations as rules
from app.rules.formatting import format_money
from app.security import register_resources
from app.tenancy import ScopeKind, TenantViolation, current_scope

DECLARATION = "Declaration"  # REST resource ``declaration`` (staff read, primary account writes)
MY_DECLARATIONS = "MyDeclarations"  # the employer's « Déclarations »
RW = (READ, WRITE)
register_resources(
    {
        DECLARATION: {
            roles.SECRETARIAT: RW,
            roles.COMPTABILITE: (READ,),
            roles.DIRECTION: (READ,),
            roles.EMPLOYER_PRIMARY: RW,
        },
        MY_DECLARATIONS: {roles.EMPLOYER_PRIMARY: RW},
    }
)

REQUIRED = "Ce champ est obligatoire."


class DeclarationForm(FlaskForm):
    year = SelectField(
        "Année",
        validators=[InputRequired("Choisissez l'année à déclarer.")],
        validate_choice=False,
        widget=ChoiceWidget(),
    )
    headcount = StringField(
        "Effectif au 1er janvier", validators=[InputRequired(REQUIRED)], render_kw={"size": 8}
    )
    permanent_headcount = StringField(
        "Effectif permanent au 31 décembre de l'année précédente",
        validators=[InputRequired(REQUIRED)],
        description="Agents sur emploi permanent (titulaires, stagiaires...).",
    )
    payroll = StringField(
        "Masse salariale (€)",
        validators=[InputRequired(REQUIRED)],
        description="Masse salariale brute de l'année précédente, ex. 3 000 000,00.",
    )


def _description(row: Any) -> str:
    payroll = format_money(row.payroll) if row.payroll is not None else "non déclarée"
    return (
        f"Effectif au 01/01/{row.year} : {row.headcount} — effectif permanent au "
        f"31/12/{row.year - 1} : {row.permanent_headcount if row.permanent_headcount is not None else '–'}"
        f" — masse salariale : {payroll}"
    )


class MyDeclarationsView(BaseView):
    route_base = "/portail/declarations"
    default_view = "index"
    needs_collectivity = True
    class_permission_name = MY_DECLARATIONS
    method_permission_name = {"index": READ, "declare": WRITE, "edit": WRITE}

    def _collectivity_id(self) -> int:
        scope = current_scope()
        if scope.kind is ScopeKind.STAFF:  # staff (Admin sees every menu): the declared headcounts
            abort(redirect(url_for("HeadcountView.list")))
        if not scope.is_employer:  # an account of no collectivity (a former member's user)
            abort(404)
        if scope.is_secondary or not scope.collectivity_id:
            abort(404)
        return int(scope.collectivity_id)

    def _page(self, form: DeclarationForm, collectivity_id: int, **extra: Any) -> Any:
        today = clock.today()
        existing = services.declared_years(collectivity_id)
        rows = sorted(existing.values(), key=lambda row: row.year, reverse=True)
        from app.extensions import db
        from app.referential.models import Collectivity

        collectivity = db.session.get(Collectivity, collectivity_id)
        first_year = (
            collectivity.membership_start.year
            if collectivity is not None and collectivity.membership_start
            else today.year - 5
        )
        years = rules.years_to_declare(today, set(existing), first_year)
        form.year.choices = [(str(y), str(y)) for y in years]
        return self.render_template(
            "billing/declaration_list.html",
            title="Déclarations",
            form=form,
            years=years,
            rows=[
                {
                    "row": row,
                    "description": _description(row),
                    "editable": services.is_editable(row, today),
                    "editable_until": rules.editable_until(row.declared_on)
                    if row.declared_on
                    else None,
                    "locked_since": services.locked_since(row),
                }
                for row in rows
            ],
            pending=today.year not in existing,
            due_on=rules.due_on(today.year),
            late=rules.is_late(today.year, today),
            current_year=today.year,
            **extra,
        )

    def _prefill(self, form: DeclarationForm, collectivity_id: int, year: int) -> Any:
        count = services.counted(collectivity_id, year)
        if not form.headcount.data:
            form.headcount.data = str(count.headcount)
        if not form.permanent_headcount.data:
            form.permanent_headcount.data = str(count.permanent_headcount)
        return count

    @expose("/")
    @has_access
    def index(self) -> Any:
        collectivity_id = self._collectivity_id()
        form = DeclarationForm(formdata=None)
        today = clock.today()
        existing = services.declared_years(collectivity_id)
        wanted = request.args.get("annee", "")
        year = int(wanted) if wanted.isdigit() and len(wanted) == 4 else None
        if year is None:
            pending = rules.years_to_declare(today, set(existing), today.year - 5)
            year = pending[0] if pending else today.year
        form.year.data = str(year)
        count = self._prefill(form, collectivity_id, year)
        return self._page(form, collectivity_id, counted=count, chosen_year=year)

    @expose("/", methods=["POST"])
    @has_access
    def declare(self) -> Any:
        collectivity_id = self._collectivity_id()
        form = DeclarationForm()
        if form.validate():

            def action() -> Any:
                data = services.parse_input(
                    form.year.data,
                    form.headcount.data,
                    form.permanent_headcount.data,
                    form.payroll.data,
                )
                return services.declare(data, collectivity_id)

            ran = run_service(action, form)
            if ran:
                row = ran.result.row
                flash(
                    f"Déclaration {row.year} validée le {row.declared_on:%d/%m/%Y}. Vous pouvez "
                    f"la modifier jusqu'au {rules.editable_until(row.declared_on):%d/%m/%Y}.",
                    "success",
                )
                for warning in ran.result.warnings:
                    flash(warning, "warning")
                return redirect(url_for("MyDeclarationsView.index"))
        year_text = form.year.data or ""
        year = int(year_text) if year_text.isdigit() and len(year_text) == 4 else clock.today().year
        count = services.counted(collectivity_id, year)
        return self._page(form, collectivity_id, counted=count, chosen_year=year)

    @expose("/<int:declaration_id>/modifier", methods=["GET", "POST"])
    @has_access
    def edit(self, declaration_id: int) -> Any:
        pk = declaration_id
        collectivity_id = self._collectivity_id()
        try:
            row = services.get_declaration(pk)
        except TenantViolation:
            abort(404)
        if row.collectivity_id != collectivity_id:
            abort(404)
        today = clock.today()
        form = DeclarationForm() if request.method == "POST" else DeclarationForm(formdata=None)
        form.year.choices = [(str(row.year), str(row.year))]
        form.year.data = str(row.year)
        editable = services.is_editable(row, today)
        if request.method == "POST" and form.validate():

            def action() -> Any:
                data = services.parse_input(
                    row.year,
                    form.headcount.data,
                    form.permanent_headcount.data,
                    form.payroll.data,
                )
                return services.update(pk, data)

            ran = run_service(action, form)
            if ran:
                flash(f"Déclaration {row.year} modifiée et validée à nouveau.", "success")
                for warning in ran.result.warnings:
                    flash(warning, "warning")
                return redirect(url_for("MyDeclarationsView.index"))
        elif request.method == "GET":
            form.headcount.data = str(row.headcount)
            form.permanent_headcount.data = (
                str(row.permanent_headcount) if row.permanent_headcount is not None else ""
            )
            form.payroll.data = (
                format_money(row.payroll).replace("\u00a0€", "") if row.payroll is not None else ""
            )
        if not editable and request.method == "GET":
            flash(
                f"La déclaration {row.year} n'est plus modifiable depuis le "
                f"{services.locked_since(row):%d/%m/%Y}.",
                "warning",
            )
            return redirect(url_for("MyDeclarationsView.index"))
        return self.render_template(
            "billing/declaration_form.html",
            title=f"Modifier la déclaration {row.year}",
            form=form,
            row=row,
            counted=services.counted(collectivity_id, row.year),
            editable_until=rules.editable_until(row.declared_on) if row.declared_on else None,
        )
