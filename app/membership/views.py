"""« Votre adhésion » (the applicant's 5-step wizard, SPEC I3) and « Adhésions à valider »
(the CDG's queue: detail, « Valider », « Refuser » with a reason)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app import roles
from app.core.clock import today as local_today
from app.core.views import READ, WRITE
from app.extensions import db
from app.membership import services
from app.membership.models import DRAFT, SUBMITTED, MembershipApplication
from app.referential.models import CollectivityKind
from app.security import register_resources

MY_MEMBERSHIP = "MyMembershipApplication"
MEMBERSHIP_QUEUE = "MembershipApplicationQueue"
register_resources(
    {
        MY_MEMBERSHIP: {roles.EMPLOYER_PRIMARY: (READ, WRITE), roles.ADMIN: (READ, WRITE)},
        MEMBERSHIP_QUEUE: {roles.SECRETARIAT: (READ, WRITE), roles.ADMIN: (READ, WRITE)},
    }
)

FIELDS: dict[int, list[str]] = {
    1: ["siret", "naf_code", "city"],
    2: [
        "name",
        "kind",
        "phone",
        "email",
        "main_line1",
        "main_postcode",
        "main_city",
        "billing_name",
        "billing_line1",
        "billing_postcode",
        "billing_city",
        "convocation_name",
        "convocation_line1",
        "contact_name",
        "contact_email",
    ],
    5: ["accept"],
}


def _rows(prefix: str, keys: list[str]) -> list[dict[str, str]]:
    """Repeated rows of a step (positions, agents): ``prefix-key`` lists, empty rows dropped."""
    columns = {key: request.form.getlist(f"{prefix}-{key}") for key in keys}
    count = max((len(v) for v in columns.values()), default=0)
    rows = []
    for index in range(count):
        row = {
            key: (columns[key][index] if index < len(columns[key]) else "").strip()[:200]
            for key in keys
        }
        if any(row.values()):
            rows.append(row)
    return rows


def _form_data(number: int) -> dict[str, Any]:
    if number == 3:
        return {"positions": _rows("poste", ["label", "risks"])}
    if number == 4:
        return {"agents": _rows("agent", ["last_name", "first_name", "position"])}
    return {key: (request.form.get(key) or "").strip()[:200] for key in FIELDS.get(number, [])}


class MembershipWizardView(BaseView):
    """The applicant's wizard: one page per step, « Précédent » / « Suivant », resumable."""

    route_base = "/adhesion"
    default_view = "index"
    class_permission_name = MY_MEMBERSHIP
    # In the menu of an account with no collectivity only (staff and members do not apply).
    applicants_only = True
    method_permission_name = {"index": READ, "step": WRITE, "submit": WRITE}

    @expose("/")
    @has_access
    def index(self) -> Any:
        application = services.application_for(g.user.id)
        if application is None or application.status == DRAFT:
            number = application.current_step if application else 1
            data = application.step(number) if application is not None else {}
            return self._render(number, data, [])
        return self.render_template(
            "membership/status.html", title="Votre adhésion", application=application
        )

    @expose("/etape/<int:number>", methods=["GET", "POST"])
    @has_access
    def step(self, number: int) -> Any:
        if number not in services.STEPS:
            abort(404)
        application = services.application_for(g.user.id)
        if application is not None and application.status not in (DRAFT, services.REFUSED):
            return redirect(url_for("MembershipWizardView.index"))
        errors: list[str] = []
        data: dict[str, Any]
        if request.method == "POST":
            application = services.start(g.user.id)
            data = _form_data(number)
            if request.form.get("precedent"):
                application.payload = {**(application.payload or {}), str(number): data}
                db.session.commit()
                return redirect(url_for("MembershipWizardView.step", number=max(number - 1, 1)))
            errors = services.save_step(application, number, data)
            db.session.commit()
            if not errors:
                if number == 5:
                    return self._submit()
                return redirect(url_for("MembershipWizardView.step", number=number + 1))
        else:
            if application is not None and number > application.current_step:
                return redirect(
                    url_for("MembershipWizardView.step", number=application.current_step)
                )
            data = application.step(number) if application is not None else {}
        return self._render(number, data, errors)

    def _render(self, number: int, data: dict[str, Any], errors: list[str]) -> Any:
        return self.render_template(
            "membership/wizard.html",
            title="Votre adhésion",
            number=number,
            steps=services.STEPS,
            data=data,
            errors=errors,
            kinds=list(CollectivityKind),
            known_siret=services.KNOWN_SIRET in errors,
            management_url=services.MANAGEMENT_REQUEST_URL,
            conditions_version=services.CONDITIONS_VERSION,
        )

    @expose("/transmettre", methods=["POST"])
    @has_access
    def submit(self) -> Any:
        return self._submit()

    def _submit(self) -> Any:
        application = services.application_for(g.user.id)
        if application is None or application.status != DRAFT:
            abort(404)
        try:
            services.submit(application)
        except services.MembershipError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("MembershipWizardView.step", number=5))
        db.session.commit()
        flash("Votre demande d'adhésion a été transmise au CDG.", "success")
        return redirect(url_for("MembershipWizardView.index"))


class MembershipQueueView(BaseView):
    """« Adhésions à valider »: the submitted applications, oldest first."""

    route_base = "/adhesions"
    default_view = "index"
    class_permission_name = MEMBERSHIP_QUEUE
    method_permission_name = {"index": READ, "show": READ, "validate": WRITE, "refuse": WRITE}

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self.render_template(
            "membership/queue.html",
            title="Adhésions à valider",
            rows=services.submitted_applications(),
        )

    def _get(self, application_id: int) -> MembershipApplication:
        application = db.session.get(MembershipApplication, application_id)
        if application is None or application.status == DRAFT:
            abort(404)
        return application

    @expose("/<int:application_id>")
    @has_access
    def show(self, application_id: int) -> Any:
        return self.render_template(
            "membership/detail.html",
            title="Demande d'adhésion",
            application=self._get(application_id),
            steps=services.STEPS,
            submitted=SUBMITTED,
        )

    @expose("/<int:application_id>/valider", methods=["POST"])
    @has_access
    def validate(self, application_id: int) -> Any:
        self._get(application_id)
        try:
            collectivity = services.validate(application_id, g.user.id, local_today())
        except services.MembershipError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("MembershipQueueView.show", application_id=application_id))
        db.session.commit()
        flash(f"Adhésion validée : « {collectivity.name} » est créée.", "success")
        return redirect(url_for("MembershipQueueView.index"))

    @expose("/<int:application_id>/refuser", methods=["POST"])
    @has_access
    def refuse(self, application_id: int) -> Any:
        self._get(application_id)
        try:
            services.refuse(application_id, g.user.id, request.form.get("reason", ""))
        except services.MembershipError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("MembershipQueueView.show", application_id=application_id))
        db.session.commit()
        flash("Demande d'adhésion refusée ; le demandeur est prévenu.", "success")
        return redirect(url_for("MembershipQueueView.index"))


class RegistrationView(BaseView):
    """« Créer un compte » (public): identity and e-mail; the account is activated by the
    e-mail link where its password is chosen under the password policy. It belongs to no
    collectivity until a validated application (or a procedure) grants one."""

    route_base = "/inscription"
    default_view = "index"

    @expose("/", methods=["GET", "POST"])
    def index(self) -> Any:
        values = {
            key: (request.form.get(key) or "").strip()[:100]
            for key in ("last_name", "first_name", "email", "function")
        }
        errors: list[str] = []
        if request.method == "POST":
            try:
                services.register(**values)
            except services.MembershipError as error:
                db.session.rollback()
                errors.append(str(error))
            else:
                db.session.commit()
                flash(
                    "Votre compte est créé : un e-mail vient de vous être envoyé pour choisir "
                    "votre mot de passe et l'activer.",
                    "success",
                )
                return redirect("/login/")
        return self.render_template(
            "membership/register.html", title="Créer un compte", values=values, errors=errors
        )
