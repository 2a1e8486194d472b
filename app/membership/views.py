"""« Votre adhésion » (the applicant's 5-step wizard, SPEC I3) and « Adhésions à valider »
(the CDG's queue: detail, « Valider », « Refuser » with a reason)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app import roles
from app.core.clock import today as local_today
from app.core.views import READ, WRITE
from app.extensions import db
from app.membership import services
from app.membership.models import DRAFT, SUBMITTED, MembershipApplication
from app.referential.models import (
    Civility,
    CollectivityKind,
    ContactFunction,
    ContractType,
    PcsCode,
    Risk,
)
from app.security import register_resources
from app.tenancy import current_scope

MY_MEMBERSHIP = "MyMembershipApplication"
MEMBERSHIP_QUEUE = "MembershipApplicationQueue"
register_resources(
    {
        MY_MEMBERSHIP: {roles.EMPLOYER_PRIMARY: (READ, WRITE), roles.ADMIN: (READ, WRITE)},
        MEMBERSHIP_QUEUE: {roles.SECRETARIAT: (READ, WRITE), roles.ADMIN: (READ, WRITE)},
    }
)

FIELDS: dict[int, list[tuple[str, str]]] = {
    1: [("siret", "Siret"), ("naf_code", "Code NAF"), ("city", "Commune")],
    2: [
        ("name", "Raison sociale"),
        ("kind", "Type de collectivité"),
        ("phone", "Téléphone"),
        ("email", "E-mail"),
        ("main_line1", "Adresse principale"),
        ("main_postcode", "Code postal"),
        ("main_city", "Ville"),
        ("billing_name", "Facturation : nom"),
        ("billing_line1", "Facturation : adresse"),
        ("billing_postcode", "Facturation : code postal"),
        ("billing_city", "Facturation : ville"),
        ("convocation_name", "Convocations : nom"),
        ("convocation_line1", "Convocations : adresse"),
    ],
    5: [("accept", "Acceptation des conditions générales")],
}
CONTACT_LABELS = {
    "function": "Fonction",
    "last_name": "Nom",
    "first_name": "Prénom",
    "email": "E-mail",
    "phone": "Téléphone",
}
CONTACT_ROWS = 2
AGENT_INPUTS = {
    "civility": "Civilité",
    "first_name": "Prénom",
    "birth_name": "Nom de naissance",
    "usage_name": "Nom d'usage",
    "birth_date": "Date de naissance",
    "ins": "INS",
    "entry_date": "Date d'entrée",
    "position": "Poste",
    "contract_type": "Type de contrat",
}


def _value(key: str, label: str, errors: list[str]) -> str:
    """One typed field, kept as typed; longer than the limit is refused (never cut silently)."""
    value = (request.form.get(key) or "").strip()
    if len(value) > services.TEXT_MAX:
        errors.append(
            f"« {label} » : {len(value)} caractères saisis, {services.TEXT_MAX} au maximum."
        )
    return value


def _contacts(errors: list[str]) -> list[dict[str, str]]:
    columns = {key: request.form.getlist(f"contact-{key}") for key in services.CONTACT_KEYS}
    rows = []
    for index in range(max((len(v) for v in columns.values()), default=0)):
        row = {}
        for key in services.CONTACT_KEYS:
            value = (columns[key][index] if index < len(columns[key]) else "").strip()
            if len(value) > services.TEXT_MAX:
                errors.append(
                    f"Contact n° {index + 1}, « {CONTACT_LABELS[key]} » : {len(value)} "
                    f"caractères saisis, {services.TEXT_MAX} au maximum."
                )
            row[key] = value
        if any(v for k, v in row.items() if k != "function"):
            rows.append(row)
    return rows


def _form_data(number: int, errors: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        key: _value(key, label, errors) for key, label in FIELDS.get(number, [])
    }
    if number == 2:
        data["contacts"] = _contacts(errors)
    if number == 5:
        data["missions"] = [code for code in request.form.getlist("missions") if code][:20]
    return data


def _position_input(errors: list[str]) -> dict[str, Any]:
    from app.workforce.views import _risk_inputs

    return {
        "label": _value("label", "Libellé du poste", errors),
        "pcs_code": _value("pcs_code", "Code PCS", errors),
        "risks": [
            {
                "code": risk.code[:40],
                "radiation_category": risk.radiation_category,
                "caces_categories": risk.caces_categories,
                "description": (risk.description or "")[: services.TEXT_MAX] or None,
            }
            for risk in _risk_inputs()[:40]
        ],
    }


def _agent_input(errors: list[str]) -> dict[str, str]:
    return {key: _value(key, label, errors) for key, label in AGENT_INPUTS.items()}


class MembershipWizardView(BaseView):
    """The applicant's wizard: one page per step, « Précédent » / « Suivant », resumable."""

    route_base = "/adhesion"
    default_view = "index"
    class_permission_name = MY_MEMBERSHIP
    # In the menu of an account with no collectivity only (staff and members do not apply).
    applicants_only = True
    method_permission_name = {"index": READ, "step": WRITE, "submit": WRITE}

    def _for_members(self) -> Any:
        """A clear answer to a member or to Admin instead of a wizard (None: an applicant)."""
        scope = current_scope()
        if scope.unrestricted:
            flash(
                "« Votre adhésion » est l'espace des futurs adhérents : les demandes transmises "
                "se traitent dans « Adhésions à valider ».",
                "info",
            )
            return redirect(url_for("MembershipQueueView.index"))
        if scope.collectivity_id is None:
            return None
        application = services.application_for(g.user.id)
        return self.render_template(
            "membership/member.html",
            title="Votre adhésion",
            application=application
            if application is not None and application.status == services.VALIDATED
            else None,
            collectivity=scope.collectivity_id,
            management_url=services.MANAGEMENT_REQUEST_URL,
        )

    @expose("/")
    @has_access
    def index(self) -> Any:
        member = self._for_members()
        if member is not None:
            return member
        application = services.application_for(g.user.id)
        if application is None or application.status == DRAFT:
            number = application.current_step if application else 1
            return redirect(url_for("MembershipWizardView.step", number=number))
        return self.render_template(
            "membership/status.html", title="Votre adhésion", application=application
        )

    @expose("/etape/<int:number>", methods=["GET", "POST"])
    @has_access
    def step(self, number: int) -> Any:
        member = self._for_members()
        if member is not None:
            return member
        application = services.application_for(g.user.id)
        if application is not None and application.status not in (DRAFT, services.REFUSED):
            return redirect(url_for("MembershipWizardView.index"))
        reached = (
            application.current_step
            if application is not None and application.status == DRAFT
            else 1
        )
        if number not in services.STEPS or number > reached:
            flash(
                f"Cette étape n'est pas encore accessible : complétez d'abord l'étape {reached} "
                f"({services.STEPS[reached].upper()}).",
                "warning",
            )
            return redirect(url_for("MembershipWizardView.step", number=reached))
        if request.method == "GET":
            data = application.step(number) if application is not None else {}
            return self._render(number, application, data, [])
        application = services.start(g.user.id)
        if number == 3:
            return self._positions_post(application)
        if number == 4:
            return self._agents_post(application)
        errors: list[str] = []
        data = _form_data(number, errors)
        if request.form.get("precedent"):
            if not errors:
                services.save_step(application, number, data)
                db.session.commit()
            return redirect(url_for("MembershipWizardView.step", number=max(number - 1, 1)))
        if not errors:
            errors = services.save_step(application, number, data)
            db.session.commit()
        if not errors:
            if number == 5:
                return self._submit()
            return redirect(url_for("MembershipWizardView.step", number=number + 1))
        return self._render(number, application, data, errors)

    def _positions_post(self, application: MembershipApplication) -> Any:
        errors: list[str] = []
        typed = _position_input(errors)
        removed = request.form.get("retirer")
        if removed is not None:
            message = (
                services.remove_row(application, 3, int(removed))
                if removed.isdigit()
                else "Cette ligne n'existe plus : la page a été rechargée."
            )
            if message:
                flash(message, "danger")
            else:
                db.session.commit()
                flash("Poste retiré de la liste.", "success")
            return redirect(url_for("MembershipWizardView.step", number=3))
        wants_add = request.form.get("ajouter") or typed["label"] or typed["pcs_code"]
        if wants_add and not errors:
            errors = services.add_position(application, typed)
            if not errors:
                db.session.commit()
                typed = {}
        if errors:
            return self._render(3, application, application.step(3), errors, draft=typed)
        if request.form.get("precedent"):
            return redirect(url_for("MembershipWizardView.step", number=2))
        if request.form.get("ajouter"):
            flash("Poste ajouté à la liste.", "success")
            return redirect(url_for("MembershipWizardView.step", number=3))
        errors = services.save_step(application, 3, {})
        db.session.commit()
        if errors:
            return self._render(3, application, application.step(3), errors)
        return redirect(url_for("MembershipWizardView.step", number=4))

    def _agents_post(self, application: MembershipApplication) -> Any:
        errors: list[str] = []
        removed = request.form.get("retirer")
        if removed is not None:
            message = (
                services.remove_row(application, 4, int(removed))
                if removed.isdigit()
                else "Cette ligne n'existe plus : la page a été rechargée."
            )
            if message:
                flash(message, "danger")
            else:
                db.session.commit()
                flash("Salarié retiré de la liste.", "success")
            return redirect(url_for("MembershipWizardView.step", number=4))
        if request.form.get("importer"):
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                return self._render(
                    4, application, application.step(4), ["Choisissez un fichier à importer."]
                )
            try:
                count = services.import_agents(
                    application, upload.read(), upload.filename, local_today()
                )
            except services.AgentsRefused as refused:
                db.session.rollback()
                return self._render(
                    4,
                    application,
                    application.step(4),
                    [refused.summary],
                    report=refused.lines,
                )
            db.session.commit()
            flash(f"{count} salarié(s) importé(s) dans votre demande.", "success")
            return redirect(url_for("MembershipWizardView.step", number=4))
        typed = _agent_input(errors)
        wants_add = request.form.get("ajouter") or any(
            typed[key] for key in ("first_name", "birth_name", "birth_date")
        )
        if wants_add and not errors:
            errors = services.add_agent(application, typed, local_today())
            if not errors:
                db.session.commit()
                typed = {}
        if errors:
            return self._render(4, application, application.step(4), errors, draft=typed)
        if request.form.get("precedent"):
            return redirect(url_for("MembershipWizardView.step", number=3))
        if request.form.get("ajouter"):
            flash("Salarié ajouté à la liste.", "success")
            return redirect(url_for("MembershipWizardView.step", number=4))
        errors = services.save_step(application, 4, {})
        db.session.commit()
        if errors:
            return self._render(4, application, application.step(4), errors)
        return redirect(url_for("MembershipWizardView.step", number=5))

    def _render(
        self,
        number: int,
        application: MembershipApplication | None,
        data: dict[str, Any],
        errors: list[str],
        *,
        draft: dict[str, Any] | None = None,
        report: list[str] | None = None,
    ) -> Any:
        from app.workforce.forms import CACES_CATEGORIES
        from app.workforce.models import RadiationCategory

        context: dict[str, Any] = {}
        today = local_today()
        if number == 3:
            from app.rules.follow_up import follow_up
            from app.workforce.positions import risk_effects

            positions = data.get("positions") or []
            risks = list(db.session.scalars(select(Risk).order_by(Risk.sort_order)))
            known = {r.code for r in risks}
            ticked = [r.get("code") for r in (draft or {}).get("risks") or []]
            context.update(
                positions=list(
                    zip(positions, services.position_badges(positions, today), strict=True)
                ),
                risks=risks,
                risk_labels={r.code: r.label for r in risks},
                selected={r.get("code"): r for r in (draft or {}).get("risks") or []},
                radiation_categories=list(RadiationCategory),
                caces_categories=CACES_CATEGORIES,
                badge_result=follow_up([c for c in ticked if c in known], risk_effects(), today),
                pcs_codes=list(
                    db.session.execute(select(PcsCode.code, PcsCode.label).order_by(PcsCode.code))
                ),
            )
        if number == 4:
            context.update(
                agents=data.get("agents") or [],
                positions=(application.step(3).get("positions") or []) if application else [],
                contract_types=list(
                    db.session.scalars(select(ContractType).order_by(ContractType.sort_order))
                ),
                civilities=list(Civility),
                report=report or [],
                template_url=url_for("ImportsView.template", kind="agents")
                if "ImportsView.template" in current_app.view_functions
                else None,
            )
        if number == 5:
            context.update(missions=services.missions(), main_mission=services.MAIN_MISSION)
        return self.render_template(
            "membership/wizard.html",
            title="Votre adhésion",
            number=number,
            steps=services.STEPS,
            data=data,
            draft=draft or {},
            errors=errors,
            kinds=list(CollectivityKind),
            contact_functions=list(ContactFunction),
            contact_rows=CONTACT_ROWS,
            known_siret=services.KNOWN_SIRET in errors,
            management_url=services.MANAGEMENT_REQUEST_URL,
            conditions_version=services.CONDITIONS_VERSION,
            **context,
        )

    @expose("/transmettre", methods=["POST"])
    @has_access
    def submit(self) -> Any:
        member = self._for_members()
        if member is not None:
            return member
        return self._submit()

    def _submit(self) -> Any:
        application = services.application_for(g.user.id)
        if application is None or application.status != DRAFT:
            flash("Aucune demande en cours à transmettre : commencez par l'étape 1.", "warning")
            return redirect(url_for("MembershipWizardView.index"))
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
