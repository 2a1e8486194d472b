"""Planning screens: the employer's « Consultations » (search, book, refuse, cancel) and the
secretariat's calendars, plage creation, convocations and attendance (SPEC D1-D8)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import func, select
from sqlalchemy.orm import defaultload, selectinload

from app.core import clock
from app.core.exports import export_links, export_response, requested_format
from app.core.mail import take_refused_mail
from app.core.views import DELETE, READ, WRITE, run_service
from app.extensions import db
from app.planning import services
from app.planning.exports import plages_export, plages_statement
from app.planning.forms import BookingForm, PeriodForm, PlageForm, ReasonForm, StaffBookingForm
from app.planning.models import (
    Appointment,
    AppointmentStatus,
    Plage,
    PlageNature,
    PlageRefusal,
    PlageState,
)
from app.referential.models import (
    Collectivity,
    Office,
    Professional,
    ProfessionalRole,
    VisitType,
)
from app.rules.errors import DomainError
from app.rules.names import name_key
from app.rules.planning import visit_phrase
from app.security import Res
from app.workforce import agents as agent_services
from app.workforce.models import Agent

PAGE_SIZE = 100
PLAGE_ROLES = (ProfessionalRole.medecin, ProfessionalRole.infirmier)
STATE_CLASSES = {
    PlageState.reservee: "plage-reservee",
    PlageState.commune: "plage-commune",
    PlageState.convocation: "plage-convocation",
    PlageState.annulee: "plage-annulee",
}


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else None


def _flash_run(action: Any, success: str) -> None:
    ran = run_service(action)
    if ran:
        flash(success.format(result=ran.result), "success")
        for refused in take_refused_mail():  # a bad address skips its message, never the batch
            flash(refused.message, "warning")


def _period() -> tuple[PeriodForm, dt.date, dt.date, bool]:
    form = PeriodForm(request.args)
    today = clock.today()
    if not request.args:
        form.du.data, form.au.data = today, today + dt.timedelta(days=28)
        return form, today, today + dt.timedelta(days=28), True
    valid = form.validate()
    if valid and form.au.data < form.du.data:
        form.au.errors = ["La date de fin précède la date de début."]
        valid = False
    if valid:
        return form, form.du.data, form.au.data, True
    return form, today, today, False


# ----------------------------------------------------------------------------------------------
# Employer: « Consultations »
# ----------------------------------------------------------------------------------------------


def _bookable_agents(day: dt.date, collectivity_id: int | None = None) -> list[tuple[int, str]]:
    """The collectivity's agents with a position on that day (SPEC D2); for the staff, those
    of the collectivity chosen."""
    query = select(Agent).where(agent_services.active_clause(day))
    if collectivity_id is not None:
        query = query.where(Agent.collectivity_id == collectivity_id)
    agents = db.session.scalars(
        query.options(selectinload(Agent.contracts)).order_by(*agent_services.NAME_ORDER)
    )
    # The drop-down's search box ignores case and accents (select2): the birth name a usage
    # name hides is in the label so that it finds the agent by either name.
    return [
        (a.id, f"{a.search_label} – {a.current_contract(day).work_position.label}") for a in agents
    ]


def _visit_types() -> list[tuple[str, str]]:
    return [
        (v.code, v.label)
        for v in db.session.scalars(
            select(VisitType).where(VisitType.is_active.is_(True)).order_by(VisitType.sort_order)
        )
    ]


def _fresh_transaction() -> None:
    """End the request's reading transaction so that the next statement (the plage's lock)
    opens a new one; what was read (the user, the scope) stays loaded instead of being read
    again after the commit."""
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


class PlanningView(BaseView):
    """« Consultations »: reserved (orange), common (green) plages and convocations (blue)."""

    route_base = "/portail/consultations"
    default_view = "index"
    class_permission_name = Res.BOOKING
    method_permission_name = {
        "index": READ,
        "export": READ,
        "book": WRITE,
        "refuse": WRITE,
        "appointment": READ,
        "cancel": WRITE,
    }

    @expose("/")
    @has_access
    def index(self) -> Any:
        form, first, last, valid = _period()
        plages: list[Plage] = []
        total = 0
        page = max(1, _int_arg("page") or 1)
        if valid:
            try:
                query = services.plages_query(first, last)
            except DomainError as error:
                flash(error.message, "danger")
            else:
                total = (
                    db.session.scalar(
                        select(func.count()).select_from(query.order_by(None).subquery())
                    )
                    or 0
                )
                plages = list(
                    db.session.scalars(
                        query.options(
                            selectinload(Plage.appointments),
                            # The page shows the office's name, not whom it serves.
                            defaultload(Plage.office).lazyload(Office.served_collectivities),
                        )
                        .limit(PAGE_SIZE)
                        .offset((page - 1) * PAGE_SIZE)
                    )
                )
        taken = services.taken_counts([p.id for p in plages])
        now = clock.now_local()
        return self.render_template(
            "planning/employer_planning.html",
            title="Consultations",
            form=form,
            plages=plages,
            taken=taken,
            now=now,
            classes=STATE_CLASSES,
            page=page,
            pages=max(1, math.ceil(total / PAGE_SIZE)),
            total=total,
            refuse_form=ReasonForm(),
            export_links=export_links("PlanningView.export") if valid else [],
        )

    @expose("/export/<fmt>")
    @has_access
    def export(self, fmt: str) -> Any:
        """The plages of the period asked for, as CSV or XLSX (every page)."""
        requested_format(fmt)
        _form, first, last, valid = _period()
        try:
            if not valid:
                raise DomainError("Période invalide : corrigez les dates avant d'exporter.")
            query = services.plages_query(first, last)
        except DomainError as error:
            flash(error.message, "danger")
            return redirect(url_for("PlanningView.index", **request.args.to_dict()))
        return export_response(fmt, plages_export(staff=False), plages_statement(query))

    @expose("/plage/<int:plage_id>/reserver", methods=["GET", "POST"])
    @has_access
    def book(self, plage_id: int) -> Any:
        form = BookingForm()
        confirmed = request.method == "POST" and form.confirm.data == "1"
        if confirmed:
            # The service checks the agent and the visit type under the plage's lock: the
            # drop-downs' lists are only built to show the form again (a refusal).
            form.agent_id.validate_choice = form.visit_type.validate_choice = False
            if form.validate_on_submit():
                _fresh_transaction()
                # The id is taken before the commit (which would expire the appointment).
                booked = run_service(
                    lambda: (
                        services.book(
                            plage_id, form.agent_id.data, form.visit_type.data, form.comment.data
                        ).id
                    ),
                    form,
                )
                if booked:
                    return redirect(
                        url_for("PlanningView.appointment", appointment_id=booked.result, created=1)
                    )
        plage = db.session.get(Plage, plage_id)
        if plage is None:
            abort(404)
        form.agent_id.choices = _bookable_agents(plage.day)
        form.visit_type.choices = _visit_types()
        confirming = request.method == "POST" and not confirmed and form.validate_on_submit()
        agent_label = dict(form.agent_id.choices).get(form.agent_id.data) if confirming else None
        visit_label = (
            visit_phrase(dict(form.visit_type.choices).get(form.visit_type.data) or "")
            if confirming
            else None
        )
        return self.render_template(
            "planning/booking_form.html",
            title="Réserver un rendez-vous",
            form=form,
            plage=plage,
            free=services.free_capacity(plage),
            confirming=confirming,
            agent_label=agent_label,
            visit_label=visit_label,
        )

    @expose("/plage/<int:plage_id>/refuser", methods=["POST"])
    @has_access
    def refuse(self, plage_id: int) -> Any:
        form = ReasonForm()
        _flash_run(
            lambda: services.refuse_plage(plage_id, form.reason.data),
            "Plage refusée : le motif est transmis au secrétariat.",
        )
        return redirect(request.referrer or url_for("PlanningView.index"))

    @expose("/rendez-vous/<int:appointment_id>")
    @has_access
    def appointment(self, appointment_id: int) -> Any:
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is None:
            abort(404)
        plage = services.plage_of(appointment)
        return self.render_template(
            "planning/appointment.html",
            title="Édition d'une consultation",
            appointment=appointment,
            plage=plage,
            ends_at=appointment.starts_at + dt.timedelta(minutes=plage.appointment_minutes),
            created=request.args.get("created") == "1",
            can_cancel=appointment.status
            in (AppointmentStatus.reservee, AppointmentStatus.convoquee)
            and appointment.starts_at > clock.now_local(),
            notice_ok=appointment.starts_at - clock.now_local() >= dt.timedelta(hours=48),
        )

    @expose("/rendez-vous/<int:appointment_id>/annuler", methods=["POST"])
    @has_access
    def cancel(self, appointment_id: int) -> Any:
        form = ReasonForm()
        cancelled = run_service(
            lambda: services.cancel_appointment(appointment_id, form.reason.data)
        )
        if cancelled:
            flash("Rendez-vous annulé.", "success")
            flash(
                f"Le rendez-vous est enregistré comme « {cancelled.result.status_label} ».", "info"
            )
        return redirect(url_for("PlanningView.appointment", appointment_id=appointment_id))


# ----------------------------------------------------------------------------------------------
# Secretariat: calendars and plages
# ----------------------------------------------------------------------------------------------


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


class PlagesView(BaseView):
    """Secretariat: week and day calendars by professional and by office, plage creation
    (single or weekly), convocations, attendance."""

    route_base = "/plages"
    default_view = "calendar"
    class_permission_name = Res.CALENDAR
    method_permission_name = {
        "calendar": READ,
        "export": READ,
        "detail": READ,
        "new": WRITE,
        "book": WRITE,
        "convoke": WRITE,
        "reservation": WRITE,
        "attendance": WRITE,
        "cancel_appointment": WRITE,
        "cancel": DELETE,
    }

    @staticmethod
    def _shown() -> tuple[dt.date, str, dt.date, dt.date, int | None, int | None]:
        """(day, view, first, last, professional, office) the request asks for."""
        try:
            day = (
                dt.date.fromisoformat(request.args.get("jour", ""))
                if request.args.get("jour")
                else clock.today()
            )
        except ValueError:
            day = clock.today()
        view = "jour" if request.args.get("vue") == "jour" else "semaine"
        first = day if view == "jour" else _week_start(day)
        last = first if view == "jour" else first + dt.timedelta(days=6)
        return day, view, first, last, _int_arg("professionnel"), _int_arg("cabinet")

    @expose("/export/<fmt>")
    @has_access
    def export(self, fmt: str) -> Any:
        """The plages the calendar shows (same period, professional and office)."""
        requested_format(fmt)
        _day, _view, first, last, professional_id, office_id = self._shown()
        query = services.plages_query(
            first, last, professional_id=professional_id, office_id=office_id
        )
        return export_response(fmt, plages_export(staff=True), plages_statement(query))

    @expose("/")
    @has_access
    def calendar(self) -> Any:
        day, view, first, last, professional_id, office_id = self._shown()
        plages = services.plages_between(
            first, last, professional_id=professional_id, office_id=office_id
        )
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        by_day: dict[dt.date, list[Plage]] = {d: [] for d in days}
        for plage in plages:
            by_day.setdefault(plage.day, []).append(plage)
        refusals = list(
            db.session.scalars(select(PlageRefusal).order_by(PlageRefusal.id.desc()).limit(10))
        )
        return self.render_template(
            "planning/calendar.html",
            title="Plannings des cabinets",
            view=view,
            day=day,
            days=days,
            by_day=by_day,
            taken=services.taken_counts([p.id for p in plages]),
            classes=STATE_CLASSES,
            previous=first - dt.timedelta(days=1 if view == "jour" else 7),
            following=first + dt.timedelta(days=1 if view == "jour" else 7),
            professionals=list(
                db.session.scalars(
                    select(Professional)
                    .where(Professional.is_active.is_(True))
                    .order_by(Professional.last_name)
                )
            ),
            offices=list(
                db.session.scalars(
                    select(Office).where(Office.is_active.is_(True)).order_by(Office.name)
                )
            ),
            professional_id=professional_id,
            office_id=office_id,
            refusals=refusals,
            export_links=export_links("PlagesView.export"),
        )

    def _plage_form(self) -> PlageForm:
        form = PlageForm()
        form.office_id.choices = [
            (o.id, o.name)
            for o in db.session.scalars(
                select(Office).where(Office.is_active.is_(True)).order_by(Office.name)
            )
        ]
        # Plages are held by the doctors and nurses (SPEC D1), never by the other professionals.
        form.professional_id.choices = [
            (p.id, f"{p} – {p.role.label}")
            for p in db.session.scalars(
                select(Professional)
                .where(
                    Professional.is_active.is_(True),
                    Professional.role.in_(PLAGE_ROLES),
                )
                .order_by(Professional.last_name, Professional.first_name)
            )
        ]
        form.reserved_for_id.choices = [
            (0, "— commune (toutes les collectivités du cabinet) —")
        ] + [
            (c.id, c.name)
            for c in db.session.scalars(select(Collectivity).order_by(Collectivity.name))
        ]
        return form

    @expose("/nouvelle", methods=["GET", "POST"])
    @has_access
    def new(self) -> Any:
        form = self._plage_form()
        created: list[Plage] = []
        if request.method == "POST" and form.validate_on_submit():
            data = services.PlageInput(
                office_id=form.office_id.data,
                professional_id=form.professional_id.data,
                day=form.day.data,
                start=form.start.data,
                end=form.end.data,
                appointment_minutes=form.appointment_minutes.data,
                nature=PlageNature[form.nature.data],
                reserved_for_id=form.reserved_for_id.data or None,
                note=(form.note.data or "").strip() or None,
            )

            def action() -> None:
                if form.recurrence.data == "hebdomadaire":
                    if not form.last_day.data:
                        raise DomainError("Indiquez la date de fin de la récurrence.")
                    created.extend(
                        services.create_recurrence(
                            data,
                            form.last_day.data,
                            form.weekdays.data or [form.day.data.weekday()],
                        )
                    )
                else:
                    created.append(services.create_plage(data))

            if run_service(action, form):
                flash(f"{len(created)} plage(s) créée(s).", "success")
                return redirect(
                    url_for(
                        "PlagesView.calendar",
                        jour=created[0].day.isoformat(),
                        professionnel=created[0].professional_id,
                    )
                )
        return self.render_template("planning/plage_form.html", title="Nouvelle plage", form=form)

    @expose("/<int:plage_id>")
    @has_access
    def detail(self, plage_id: int) -> Any:
        plage = db.session.get(Plage, plage_id)
        if plage is None:
            abort(404)
        return self.render_template(
            "planning/plage_detail.html",
            title="Plage",
            plage=plage,
            free=services.free_capacity(plage),
            classes=STATE_CLASSES,
            today=clock.today(),
            statuses=[
                AppointmentStatus.honoree,
                AppointmentStatus.absence_justifiee,
                AppointmentStatus.absence_injustifiee,
            ],
            collectivities=plage.office.served_collectivities,
        )

    @expose("/<int:plage_id>/rendez-vous", methods=["GET", "POST"])
    @has_access
    def book(self, plage_id: int) -> Any:
        """The secretariat books an agent of a collectivity the plage is open to, confidential
        when the agent asked for the visit himself (SPEC E7: the employer never hears of it)."""
        plage = db.session.get(Plage, plage_id)
        if plage is None:
            abort(404)
        collectivities = (
            [plage.reserved_for]
            if plage.reserved_for is not None
            else sorted(plage.office.served_collectivities, key=lambda c: (name_key(c.name), c.id))
        )
        chosen = _int_arg("collectivite")
        if chosen not in {c.id for c in collectivities}:
            chosen = collectivities[0].id if len(collectivities) == 1 else None
        form = StaffBookingForm()
        form.agent_id.choices = _bookable_agents(plage.day, chosen) if chosen else []
        form.visit_type.choices = _visit_types()
        if chosen and request.method == "POST" and form.validate_on_submit():
            _fresh_transaction()
            booked = run_service(
                lambda: services.book(
                    plage_id,
                    form.agent_id.data,
                    form.visit_type.data,
                    form.comment.data,
                    confidential=bool(form.confidential.data),
                ),
                form,
            )
            if booked:
                flash(
                    "Rendez-vous confidentiel réservé : l'employeur n'en est pas informé."
                    if form.confidential.data
                    else "Rendez-vous réservé.",
                    "success",
                )
                return redirect(url_for("PlagesView.detail", plage_id=plage_id))
            plage = db.session.get(Plage, plage_id)
            if plage is None:
                abort(404)
        return self.render_template(
            "planning/staff_booking_form.html",
            title="Réserver un rendez-vous",
            form=form,
            plage=plage,
            free=services.free_capacity(plage),
            collectivities=collectivities,
            chosen=chosen,
        )

    @expose("/<int:plage_id>/convoquer", methods=["POST"])
    @has_access
    def convoke(self, plage_id: int) -> Any:
        _flash_run(
            lambda: services.convoke(plage_id),
            "Plage validée en convocation : {result} agent(s) convoqué(s), e-mails envoyés.",
        )
        return redirect(url_for("PlagesView.detail", plage_id=plage_id))

    @expose("/<int:plage_id>/annuler", methods=["POST"])
    @has_access
    def cancel(self, plage_id: int) -> Any:
        reason = request.form.get("reason", "")
        _flash_run(
            lambda: services.cancel_plage(plage_id, reason),
            "Plage annulée ({result} rendez-vous annulé(s)).",
        )
        return redirect(url_for("PlagesView.detail", plage_id=plage_id))

    @expose("/<int:plage_id>/reservation", methods=["POST"])
    @has_access
    def reservation(self, plage_id: int) -> Any:
        raw = request.form.get("reserved_for_id", "")
        _flash_run(
            lambda: services.set_reservation(
                plage_id, int(raw) if raw.isdigit() and int(raw) else None
            ),
            "Réservation mise à jour.",
        )
        return redirect(url_for("PlagesView.detail", plage_id=plage_id))

    @expose("/<int:plage_id>/presence", methods=["POST"])
    @has_access
    def attendance(self, plage_id: int) -> Any:
        """The attendance of every appointment of the plage in one form (``status-<id>``)."""
        statuses: dict[int, AppointmentStatus] = {}
        unknown = False
        for key, raw in request.form.items():
            appointment_id = key.removeprefix("status-")
            if key == appointment_id or not appointment_id.isdigit() or not raw:
                continue
            status = AppointmentStatus.__members__.get(raw)
            if status is None:
                unknown = True
            else:
                statuses[int(appointment_id)] = status

        def action() -> int:
            if unknown:
                raise DomainError("Choisissez : honoré, absence justifiée ou absence injustifiée.")
            return services.record_plage_attendance(plage_id, statuses)

        _flash_run(action, "Présence enregistrée pour {result} rendez-vous.")
        return redirect(url_for("PlagesView.detail", plage_id=plage_id))

    @expose("/rendez-vous/<int:appointment_id>/annuler", methods=["POST"])
    @has_access
    def cancel_appointment(self, appointment_id: int) -> Any:
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is None:
            abort(404)
        plage_id = appointment.plage_id
        _flash_run(
            lambda: services.cancel_appointment(appointment_id, request.form.get("reason")),
            "Rendez-vous annulé.",
        )
        return redirect(url_for("PlagesView.detail", plage_id=plage_id))
