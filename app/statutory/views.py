"""Statutory-medicine screens (SPEC I1, F5): the employer's « Médecine statutaire » (requests,
deadlines, quota of the year) and the secretariat's queue (mandatory first, then by deadline:
plan, done, opinion / report follow-up), with the medical report for health roles only."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app import roles
from app.core import clock
from app.core.decisions import decide
from app.core.views import READ, WRITE, page_of, run_service
from app.extensions import db
from app.referential.models import StatutoryAct
from app.rules.errors import FieldError
from app.security import HEALTH_ONLY, register_resources
from app.statutory import services
from app.statutory.forms import (
    CancelForm,
    DoneForm,
    FilterForm,
    PlanForm,
    ReportForm,
    RestitutionForm,
    StatutoryRequestForm,
)
from app.statutory.models import StatutoryRequest, StatutoryStatus
from app.tenancy import TenantViolation, current_scope
from app.workforce.models import Agent, Contract

STATUTORY_REQUEST = "StatutoryRequest"  # REST resource ``statutory_request``
STATUTORY_FOLLOW_UP = "StatutoryFollowUp"  # the employer's « Médecine statutaire »
STATUTORY_QUEUE = "StatutoryQueue"  # the secretariat's queue
# The medical report is medical content: the health roles' resource (Admin excluded, SPEC J3).
MEDICAL_REPORT = HEALTH_ONLY[0]
RW = (READ, WRITE)
register_resources(
    {
        STATUTORY_REQUEST: {
            roles.SECRETARIAT: RW,
            roles.SANTE: RW,
            roles.COMPTABILITE: (READ,),
            roles.DIRECTION: (READ,),
            roles.EMPLOYER_PRIMARY: RW,
            roles.EMPLOYER_SECONDARY: RW,
        },
        STATUTORY_FOLLOW_UP: {roles.EMPLOYER_PRIMARY: RW, roles.EMPLOYER_SECONDARY: RW},
        STATUTORY_QUEUE: {roles.SECRETARIAT: RW, roles.SANTE: RW, roles.DIRECTION: (READ,)},
    }
)

PAGE_SIZE = 50
AGENT_CHOICES_MAX = 3000


def _filters(default: str = "") -> tuple[FilterForm, str]:
    form = FilterForm(request.args)
    if "etat" not in request.args:
        form.etat.data = default
    state = form.etat.data or ""
    if state != "ouvertes" and state not in StatutoryStatus.__members__:
        state = ""
    return form, state


def _act_choices() -> list[tuple[str, str]]:
    acts = db.session.scalars(select(StatutoryAct).order_by(StatutoryAct.number))
    return [
        (
            str(act.number),
            f"{act.number}. {act.label} – {act.kind.label.lower()} "
            f"{'obligatoire' if act.mandatory else 'facultatif'}, coefficient "
            f"{str(act.total_coefficient.normalize()).replace('.', ',')}, "
            f"délai {act.deadline_working_days} jours ouvrés",
        )
        for act in acts
    ]


def _agent_choices() -> list[tuple[str, str]]:
    """The agents of the caller's scope with a current position (a secondary account: its own)."""
    today = clock.today()
    rows = db.session.execute(
        select(Agent.id, Agent.birth_name, Agent.usage_name, Agent.first_name)
        .where(Agent.id.in_(select(Contract.agent_id).where(Contract.running_on(today))))
        .order_by(Agent.search_name, Agent.id)
        .limit(AGENT_CHOICES_MAX)
    ).all()
    return [(str(r.id), f"{(r.usage_name or r.birth_name).upper()} {r.first_name}") for r in rows]


def _states(rows: list[StatutoryRequest]) -> dict[int, Any]:
    today = clock.today()
    return {item.id: services.deadline_of(item, today) for item in rows}


def _get(request_id: Any) -> StatutoryRequest:
    try:
        return services.get_request(request_id)
    except TenantViolation:
        abort(404)


def _render_list(
    view: BaseView,
    title: str,
    form: FilterForm,
    listing: dict[str, Any],
    *,
    staff: bool,
    show_endpoint: str,
    eligibility: Any = None,
    quota: Any = None,
) -> Any:
    """A page of statutory requests with their deadlines: the employer's (its eligibility and
    quota) or, ``staff``, the secretariat's queue."""
    return view.render_template(
        "statutory/request_list.html",
        title=title,
        eligibility=eligibility,
        quota=quota,
        form=form,
        states=_states(listing["rows"]),
        staff=staff,
        show_endpoint=show_endpoint,
        **listing,
    )


def _render_detail(
    view: BaseView, item: StatutoryRequest, *, staff: bool, back: str, **forms: Any
) -> Any:
    """A request's page (deadline, restitution); the secretariat's (``staff``) has its action
    ``forms`` too (plan, done, restitution)."""
    return view.render_template(
        "statutory/request_detail.html",
        title="Demande de médecine statutaire",
        item=item,
        state=services.deadline_of(item),
        restitution=services.restitution_of(item),
        staff=staff,
        cancel_form=CancelForm(),
        back=back,
        **forms,
    )


def _cancel(statutory_request_id: int, show_endpoint: str) -> Any:
    """Cancel a request the caller reaches (with the form's reason), then show it again."""
    form = CancelForm()
    return decide(
        _get(statutory_request_id),
        lambda: services.cancel_request(statutory_request_id, form.reason.data),
        "La demande est annulée.",
        url_for(show_endpoint, statutory_request_id=statutory_request_id),
    )


def _new(view: BaseView, agent_id: int | None, endpoint: str, back: str) -> Any:
    form = StatutoryRequestForm()
    form.act_number.choices = _act_choices()
    agent = None
    if agent_id is not None:
        try:
            agent = services.get_agent(agent_id)
        except (TenantViolation, FieldError):
            abort(404)
        form.agent_id.choices = [(str(agent.id), agent.full_name)]
        form.agent_id.data = str(agent.id)
    else:
        form.agent_id.choices = _agent_choices()
    if request.method == "GET" and not form.requested_on.data:
        form.requested_on.data = clock.today()
    scope = current_scope()
    eligibility = None
    collectivity_id = agent.collectivity_id if agent is not None else scope.collectivity_id
    if collectivity_id is not None:
        eligibility = services.eligibility(collectivity_id)
    if request.method == "POST" and form.validate_on_submit():
        ran = run_service(
            lambda: services.create_request(
                form.agent_id.data,
                form.act_number.data,
                written_report=bool(form.written_report.data),
                requested_on=form.requested_on.data,
                information=form.information.data,
            ),
            form,
        )
        if ran:
            flash("La demande de médecine statutaire est enregistrée.", "success")
            return redirect(url_for(endpoint, statutory_request_id=ran.result.id))
    return view.render_template(
        "statutory/request_form.html",
        title="Demande de médecine statutaire",
        form=form,
        agent=agent,
        eligibility=eligibility,
        back=back,
    )


class StatutoryRequestsView(BaseView):
    """« Médecine statutaire » of an employer (primary, or secondary for its agents)."""

    route_base = "/portail/medecine-statutaire"
    needs_collectivity = True
    default_view = "index"
    class_permission_name = STATUTORY_FOLLOW_UP
    method_permission_name = {
        "index": READ,
        "show": READ,
        "new": WRITE,
        "new_for_agent": WRITE,
        "cancel": WRITE,
    }

    @expose("/")
    @has_access
    def index(self) -> Any:
        scope = current_scope()
        if scope.collectivity_id is None:
            abort(404)
        eligibility = services.eligibility(scope.collectivity_id)
        form, state = _filters()
        listing = page_of(services.list_query(status=state), PAGE_SIZE)
        quota = None
        if eligibility.allowed or listing["total"]:
            quota = services.year_quota(
                scope.collectivity_id,
                clock.today().year,
                with_consumption=True,
                known=eligibility.facts,
            )
        return _render_list(
            self,
            "Médecine statutaire",
            form,
            listing,
            staff=False,
            show_endpoint="StatutoryRequestsView.show",
            eligibility=eligibility,
            quota=quota,
        )

    @expose("/nouvelle", methods=["GET", "POST"])
    @has_access
    def new(self) -> Any:
        return _new(self, None, "StatutoryRequestsView.show", "StatutoryRequestsView.index")

    @expose("/agent/<int:agent_id>/nouvelle", methods=["GET", "POST"])
    @has_access
    def new_for_agent(self, agent_id: int) -> Any:
        return _new(self, agent_id, "StatutoryRequestsView.show", "StatutoryRequestsView.index")

    @expose("/<int:statutory_request_id>")
    @has_access
    def show(self, statutory_request_id: int) -> Any:
        return _render_detail(
            self, _get(statutory_request_id), staff=False, back="StatutoryRequestsView.index"
        )

    @expose("/<int:statutory_request_id>/annuler", methods=["POST"])
    @has_access
    def cancel(self, statutory_request_id: int) -> Any:
        return _cancel(statutory_request_id, "StatutoryRequestsView.show")


class StatutoryQueueView(BaseView):
    """« Médecine statutaire » of the secretariat: open requests, mandatory first."""

    route_base = "/medecine-statutaire"
    default_view = "index"
    class_permission_name = STATUTORY_QUEUE
    method_permission_name = {
        "index": READ,
        "show": READ,
        "new": WRITE,
        "plan": WRITE,
        "done": WRITE,
        "restitution": WRITE,
        "cancel": WRITE,
    }

    @expose("/")
    @has_access
    def index(self) -> Any:
        form, state = _filters("ouvertes")
        return _render_list(
            self,
            "Demandes de médecine statutaire",
            form,
            page_of(services.list_query(status=state, queue=True), PAGE_SIZE),
            staff=True,
            show_endpoint="StatutoryQueueView.show",
        )

    @expose("/agent/<int:agent_id>/nouvelle", methods=["GET", "POST"])
    @has_access
    def new(self, agent_id: int) -> Any:
        return _new(self, agent_id, "StatutoryQueueView.show", "StatutoryQueueView.index")

    @expose("/<int:statutory_request_id>")
    @has_access
    def show(self, statutory_request_id: int) -> Any:
        return self._show(_get(statutory_request_id))

    def _show(
        self,
        item: StatutoryRequest,
        *,
        plan_form: PlanForm | None = None,
        done_form: DoneForm | None = None,
        restitution_form: RestitutionForm | None = None,
        status: int = 200,
    ) -> Any:
        """The request's page; a form posted and refused is shown again as typed, with its
        errors under its fields (``status`` 400), the other forms empty."""
        plan_form = plan_form or PlanForm(formdata=None)
        plan_form.appointment_id.choices = [("", "—")] + [
            (
                str(a.id),
                f"{a.starts_at:%d/%m/%Y %H:%M} – {a.plage.office.name} – {a.plage.professional} "
                f"({a.plage.nature.label.lower()}, {a.status.label.lower()})",
            )
            for a in services.agent_appointments(item)
        ]
        if done_form is None:
            done_form = DoneForm(formdata=None)
            done_form.done_on.data = (
                item.planned_on if item.planned_on and item.planned_on <= clock.today() else None
            )
        page = _render_detail(
            self,
            item,
            staff=True,
            back="StatutoryQueueView.index",
            plan_form=plan_form,
            done_form=done_form,
            restitution_form=restitution_form or RestitutionForm(formdata=None),
        )
        return page, status

    def _back(self, statutory_request_id: int) -> Any:
        return redirect(
            url_for("StatutoryQueueView.show", statutory_request_id=statutory_request_id)
        )

    @expose("/<int:statutory_request_id>/planifier", methods=["POST"])
    @has_access
    def plan(self, statutory_request_id: int) -> Any:
        form = PlanForm()
        item = _get(statutory_request_id)
        form.appointment_id.choices = []  # any of the agent's appointments: the service checks
        form.validate()
        if not form.planned_on.errors and run_service(
            lambda: services.plan_request(
                statutory_request_id,
                planned_on=form.planned_on.data,
                appointment_id=form.appointment_id.data,
            ),
            form,
        ):
            flash("La demande est planifiée.", "success")
            return self._back(statutory_request_id)
        form.appointment_id.errors = []  # its choices are filled for the page, not validated
        return self._show(item, plan_form=form, status=400)

    @expose("/<int:statutory_request_id>/realisee", methods=["POST"])
    @has_access
    def done(self, statutory_request_id: int) -> Any:
        form = DoneForm()
        item = _get(statutory_request_id)
        if form.validate():
            if form.outcome.data == StatutoryStatus.absence_injustifiee.name:
                action = lambda: services.mark_absent(statutory_request_id, form.done_on.data)  # noqa: E731
                message = "L'absence injustifiée est enregistrée (1 point décompté du quota)."
            else:
                action = lambda: services.mark_done(statutory_request_id, form.done_on.data)  # noqa: E731
                message = "La visite est enregistrée comme réalisée."
            if run_service(action, form):
                flash(message, "success")
                return self._back(statutory_request_id)
        return self._show(item, done_form=form, status=400)

    @expose("/<int:statutory_request_id>/transmis", methods=["POST"])
    @has_access
    def restitution(self, statutory_request_id: int) -> Any:
        form = RestitutionForm()
        item = _get(statutory_request_id)
        if form.validate() and run_service(
            lambda: services.record_restitution(statutory_request_id, form.sent_on.data), form
        ):
            flash("La transmission est enregistrée.", "success")
            return self._back(statutory_request_id)
        return self._show(item, restitution_form=form, status=400)

    @expose("/<int:statutory_request_id>/annuler", methods=["POST"])
    @has_access
    def cancel(self, statutory_request_id: int) -> Any:
        return _cancel(statutory_request_id, "StatutoryQueueView.show")


class StatutoryReportView(BaseView):
    """The approved doctor's medical report of a request: health roles only, each read logged."""

    route_base = "/medecine-statutaire/rapport"
    default_view = "show"
    class_permission_name = MEDICAL_REPORT
    method_permission_name = {"show": READ, "save": WRITE}

    @expose("/<int:statutory_request_id>")
    @has_access
    def show(self, statutory_request_id: int) -> Any:
        return self._render(_get(statutory_request_id), ReportForm())

    def _render(self, item: StatutoryRequest, form: ReportForm) -> Any:
        report = services.read_report(item)
        db.session.commit()  # the read is logged
        if report is not None and not form.text.data:
            form.text.data = report.text
        return self.render_template(
            "statutory/report.html",
            title="Rapport médical",
            item=item,
            report=report,
            form=form,
        )

    @expose("/<int:statutory_request_id>", methods=["POST"])
    @has_access
    def save(self, statutory_request_id: int) -> Any:
        form = ReportForm()
        item = _get(statutory_request_id)
        if form.validate() and run_service(
            lambda: services.save_report(statutory_request_id, form.text.data), form
        ):
            flash("Le rapport médical est enregistré.", "success")
            return redirect(
                url_for("StatutoryReportView.show", statutory_request_id=statutory_request_id)
            )
        # Refused (too long, empty, ...): the page again with the text typed, never lost.
        return self._render(item, form), 400
