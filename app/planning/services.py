"""Plages and bookings (SPEC D1-D8): creation and recurrence, booking without double booking,
refusal, convocation with e-mail, cancellation by the 48-hour rule, attendance, reminders."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flask import render_template
from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defaultload, lazyload, selectinload

from app.core import clock
from app.core.mail import send_mail
from app.core.types import utcnow
from app.extensions import db
from app.planning.models import (
    ACTIVE_STATUSES,
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
    VisitType,
)
from app.rules import planning as rules
from app.rules.errors import DomainError, FieldError
from app.rules.working_days import is_working_day
from app.tenancy import (
    TenantViolation,
    collectivity_of,
    collectivity_scope,
    criteria_for,
    current_scope,
    system_scope,
)
from app.workforce.models import Agent, Contract

SECRETARIAT_ADDRESS_KEY = "SECRETARIAT_EMAIL"


class SlotFull(DomainError):
    """No capacity left in the plage (answered 409 by the API)."""

    def __init__(self) -> None:
        super().__init__(
            "Plus aucune place n'est disponible sur cette plage : choisissez une autre plage."
        )


# ----------------------------------------------------------------------------------------------
# Creating plages (secretariat)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlageInput:
    office_id: int
    professional_id: int
    day: dt.date
    start: dt.time
    end: dt.time
    appointment_minutes: int
    nature: PlageNature
    reserved_for_id: int | None = None
    note: str | None = None


def _check_input(data: PlageInput) -> tuple[Office, Professional]:
    office = db.session.get(Office, data.office_id)
    professional = db.session.get(Professional, data.professional_id)
    if office is None:
        raise FieldError("Cabinet médical inconnu.", "office_id")
    if professional is None:
        raise FieldError("Professionnel inconnu.", "professional_id")
    if data.reserved_for_id is not None and data.reserved_for_id not in {
        c.id for c in office.served_collectivities
    }:
        raise FieldError("Ce cabinet ne dessert pas la collectivité choisie.", "reserved_for_id")
    starts_at = dt.datetime.combine(data.day, data.start)
    ends_at = dt.datetime.combine(data.day, data.end)
    rules.capacity(starts_at, ends_at, data.appointment_minutes)
    if starts_at < clock.now_local():
        raise FieldError("Une plage ne peut pas être créée dans le passé.", "day")
    return office, professional


def _overlapping(
    professional_id: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    exclude_id: int | None = None,
) -> Plage | None:
    return db.session.scalar(
        select(Plage).where(
            Plage.professional_id == professional_id,
            Plage.state != PlageState.annulee,
            Plage.starts_at < ends_at,
            Plage.ends_at > starts_at,
            Plage.id != (exclude_id or 0),
        )
    )


def _new_plage(data: PlageInput, day: dt.date) -> Plage:
    starts_at = dt.datetime.combine(day, data.start)
    ends_at = dt.datetime.combine(day, data.end)
    clash = _overlapping(data.professional_id, starts_at, ends_at)
    if clash is not None:
        raise FieldError(
            f"Le professionnel a déjà une plage le {clash.starts_at:%d/%m/%Y} de {clash.starts_at:%H:%M} "
            f"à {clash.ends_at:%H:%M} : les plages d'un professionnel ne se chevauchent pas.",
            "start",
        )
    plage = Plage(
        office_id=data.office_id,
        professional_id=data.professional_id,
        starts_at=starts_at,
        ends_at=ends_at,
        appointment_minutes=data.appointment_minutes,
        nature=data.nature,
        state=PlageState.reservee if data.reserved_for_id else PlageState.commune,
        reserved_for_id=data.reserved_for_id,
        note=data.note,
    )
    db.session.add(plage)
    db.session.flush()
    return plage


def create_plage(data: PlageInput) -> Plage:
    _check_input(data)
    return _new_plage(data, data.day)


def create_recurrence(data: PlageInput, last_day: dt.date, weekdays: list[int]) -> list[Plage]:
    """The same plage every chosen weekday until ``last_day``, public holidays of the office's
    territory skipped; one overlap and nothing is created."""
    office, _ = _check_input(data)
    days = rules.weekly_dates(
        data.day, last_day, weekdays, lambda d: is_working_day(d, office.holiday_subdivision)
    )
    if not days:
        raise FieldError("Aucun jour ouvré ne correspond à cette récurrence.", "last_day")
    return [_new_plage(data, day) for day in days]


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


def taken_counts(plage_ids: list[int]) -> dict[int, int]:
    """Units taken in each plage, whoever holds them (a count reveals no one)."""
    if not plage_ids:
        return {}
    with system_scope():
        rows = db.session.execute(
            select(Appointment.plage_id, func.count(Appointment.id))
            .where(Appointment.plage_id.in_(plage_ids), Appointment.status.in_(ACTIVE_STATUSES))
            .group_by(Appointment.plage_id)
        ).all()
    return dict(rows)


def free_capacity(plage: Plage) -> int:
    if plage.state is PlageState.annulee:
        return 0
    return plage.capacity - taken_counts([plage.id]).get(plage.id, 0)


def plage_of(appointment: Appointment) -> Plage:
    """The plage of an appointment the caller reads. Its office, professional and times belong
    to the appointment's page even when the plage is no longer offered to the collectivity (a
    cancelled appointment on a plage since reserved for another one)."""
    if appointment.plage is not None:
        return appointment.plage
    with system_scope():
        plage = db.session.get(Plage, appointment.plage_id)
    if plage is None:
        raise TenantViolation()
    return plage


def plages_query(first_day: dt.date, last_day: dt.date, **filters: Any) -> Any:
    """The plages of a period (for employers: only those their scope shows), by date."""
    if last_day < first_day:
        raise DomainError("La date de fin précède la date de début.")
    if (last_day - first_day).days > 190:
        raise DomainError("Choisissez une période de six mois au plus.")
    query = select(Plage).where(
        Plage.starts_at >= dt.datetime.combine(first_day, dt.time.min),
        Plage.starts_at <= dt.datetime.combine(last_day, dt.time.max),
    )
    for name, value in filters.items():
        if value:
            query = query.where(getattr(Plage, name) == value)
    return query.order_by(Plage.starts_at, Plage.id)


def plages_between(first_day: dt.date, last_day: dt.date, **filters: Any) -> list[Plage]:
    query = plages_query(first_day, last_day, **filters).options(selectinload(Plage.appointments))
    return list(db.session.scalars(query))


# ----------------------------------------------------------------------------------------------
# Booking (SPEC D2, D5)
# ----------------------------------------------------------------------------------------------


def lock_plage(plage_id: int) -> None:
    """Serialise the bookings of one plage: the UPDATE takes PostgreSQL's row lock (held until
    commit) and SQLite's database write lock; the criteria of the caller's scope apply, so an
    invisible plage is not found."""
    result = db.session.execute(
        update(Plage).where(Plage.id == plage_id).values(lock_version=Plage.lock_version + 1),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        raise TenantViolation()


CONFIDENTIAL_STAFF_ONLY = (
    "Seul le service de médecine préventive enregistre une visite confidentielle "
    "(demandée par l'agent lui-même)."
)


def book(
    plage_id: int,
    agent_id: int,
    visit_type_code: str,
    comment: str | None,
    *,
    confidential: bool = False,
) -> Appointment:
    """Book an agent into the first free unit of a plage. The caller commits (or rolls back).

    A confidential appointment (SPEC E7: asked by the agent himself) is booked by the staff
    only; the employer never reads it and receives no e-mail about it: its unit is held like
    any unit the employer does not hold."""
    scope = current_scope()
    if confidential and not scope.unrestricted:
        raise FieldError(CONFIDENTIAL_STAFF_ONLY, "confidential")
    lock_plage(plage_id)
    # Each row once: the plage (its office, not whom the office serves), then the agent with
    # whether a contract runs on the plage's day (an EXISTS, not his contracts).
    plage = db.session.get(
        Plage,
        plage_id,
        populate_existing=True,
        options=[defaultload(Plage.office).lazyload(Office.served_collectivities)],
    )
    if plage is None:
        raise TenantViolation()
    now = clock.now_local()
    if not rules.bookable(plage.state.rule):
        raise DomainError(
            "Cette plage est une convocation validée par le secrétariat : elle n'est plus modifiable."
            if plage.state is PlageState.convocation
            else "Cette plage est annulée."
        )
    if plage.starts_at <= now:
        raise DomainError("Cette plage est passée : elle ne peut plus être réservée.")
    row = (
        db.session.execute(
            select(
                Agent,
                exists()
                .where(Contract.agent_id == Agent.id, Contract.running_on(plage.day))
                .label("has_position"),
            )
            .where(Agent.id == int(agent_id))
            .options(lazyload(Agent.assignments))
        ).first()
        if str(agent_id).isdigit() and 0 < int(agent_id) < 2**63
        else None
    )
    if row is None:
        raise TenantViolation()
    agent, has_position = row
    if scope.is_employer and agent.collectivity_id != scope.collectivity_id:
        raise TenantViolation()
    if plage.state is PlageState.reservee and plage.reserved_for_id != agent.collectivity_id:
        raise FieldError("Cette plage est réservée à une autre collectivité.", "agent_id")
    if not has_position:
        raise FieldError(
            "Cet agent n'a pas de poste à la date de la plage : rattachez-le d'abord à un poste de travail.",
            "agent_id",
        )
    visit_type = db.session.scalar(
        select(VisitType).where(VisitType.code == visit_type_code, VisitType.is_active.is_(True))
    )
    if visit_type is None:
        raise FieldError("Choisissez la nature de la visite.", "visit_type")
    with system_scope():
        taken = dict(
            db.session.execute(
                select(Appointment.slot_index, Appointment.agent_id).where(
                    Appointment.plage_id == plage.id, Appointment.status.in_(ACTIVE_STATUSES)
                )
            ).all()
        )
    if agent.id in taken.values():
        raise FieldError("Cet agent a déjà un rendez-vous sur cette plage.", "agent_id")
    for index in range(plage.capacity):
        if index in taken:
            continue
        appointment = Appointment(
            plage_id=plage.id,
            slot_index=index,
            agent_id=agent.id,
            collectivity_id=agent.collectivity_id,
            starts_at=rules.slot_start(plage.starts_at, plage.appointment_minutes, index),
            visit_type_id=visit_type.id,
            comment=(comment or "").strip() or None,
            status=AppointmentStatus.convoquee
            if plage.state is PlageState.convocation
            else AppointmentStatus.reservee,
            booked_by_id=scope.user_id,
            is_confidential=bool(confidential),
        )
        try:
            with db.session.begin_nested():
                db.session.add(appointment)
        except IntegrityError:
            continue  # the unique index refused this unit: someone took it meanwhile
        if scope.is_employer:
            _notify_employer_action("booking", appointment, plage, agent)
        return appointment
    raise SlotFull()


# The e-mails of an employer's booking or cancellation (SPEC A6): (subject, template).
_EMPLOYER_ACTION_MAILS = {
    "booking": ("Rendez-vous réservé", "planning/mail_booking.txt"),
    "cancellation": ("Rendez-vous annulé", "planning/mail_appointment_cancelled.txt"),
}


def _notify_employer_action(
    action: str, appointment: Appointment, plage: Plage, agent: Agent
) -> None:
    """Tell the collectivity's convocation contact and the secretariat what the employer did
    (SPEC A6). The messages leave at the commit: a refused or rolled-back action sends none.
    A confidential appointment is never announced (SPEC E7)."""
    if appointment.is_confidential:
        return
    subject, template = _EMPLOYER_ACTION_MAILS[action]
    with system_scope():
        collectivity = db.session.get(Collectivity, appointment.collectivity_id)
        visit_type = db.session.get(VisitType, appointment.visit_type_id)
        body_args = {
            "appointment": appointment,
            "plage": plage,
            "agent": agent,
            "collectivity": collectivity,
            "visit_type": visit_type,
        }
        full_subject = f"{subject} – {collectivity.name} – {appointment.starts_at:%d/%m/%Y %H:%M}"
        recipients = [collectivity.convocation_email, _secretariat_address()]
        for recipient in dict.fromkeys(r for r in recipients if r):
            send_mail(
                recipient,
                full_subject,
                render_template(
                    template, to_secretariat=recipient == _secretariat_address(), **body_args
                ),
            )


# ----------------------------------------------------------------------------------------------
# Employer actions: refuse a plage, cancel an appointment (SPEC D3, D6)
# ----------------------------------------------------------------------------------------------


def refuse_plage(plage_id: int, reason: str) -> Plage:
    """An employer refuses a reserved or common plage with a reason sent to the secretariat;
    a reserved plage becomes common for the other collectivities."""
    scope = current_scope()
    plage = db.session.get(Plage, plage_id)
    if plage is None:
        raise TenantViolation()
    reason = (reason or "").strip()
    if not reason:
        raise FieldError(
            "Le motif du refus est obligatoire : il est transmis au secrétariat.", "reason"
        )
    new_state = rules.transition(plage.state.rule, rules.PlageEvent.REFUSE)
    # The collectivity refuses, not the account: a secondary account counts its primary's
    # appointments too (they would be left on a plage offered to every collectivity).
    with collectivity_scope():
        held = db.session.scalar(
            select(func.count(Appointment.id)).where(
                Appointment.plage_id == plage.id, Appointment.status.in_(ACTIVE_STATUSES)
            )
        )
    if held:
        raise DomainError(
            "Votre collectivité a des rendez-vous sur cette plage : annulez-les d'abord."
        )
    was_reserved = plage.state is PlageState.reservee
    db.session.add(
        PlageRefusal(
            plage_id=plage.id,
            collectivity_id=scope.collectivity_id,
            reason=reason,
            refused_by_id=scope.user_id,
            was_reserved=was_reserved,
        )
    )
    db.session.flush()
    with system_scope():
        plage = db.session.get(Plage, plage_id)
        plage.state = PlageState[new_state.value]
        if was_reserved:
            plage.reserved_for_id = None
        collectivity = db.session.get(Collectivity, scope.collectivity_id)
        send_mail(
            _secretariat_address(),
            f"Refus de plage – {collectivity.name} – {plage.starts_at:%d/%m/%Y %H:%M}",
            render_template(
                "planning/mail_refusal.txt",
                plage=plage,
                collectivity=collectivity,
                reason=reason,
                was_reserved=was_reserved,
            ),
        )
        db.session.flush()
    return plage


def cancel_appointment(appointment_id: int, reason: str | None = None) -> Appointment:
    """The employer cancels: 48 hours or more before, a justified absence; later, an
    unjustified one (DOMAIN.md §2). The unit is freed. The secretariat's cancellation is
    « annulé »."""
    scope = current_scope()
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise TenantViolation()
    if appointment.status not in (AppointmentStatus.reservee, AppointmentStatus.convoquee):
        raise DomainError(
            f"Ce rendez-vous ne peut plus être annulé (état : {appointment.status.label})."
        )
    now = clock.now_local()
    if appointment.starts_at <= now:
        raise DomainError("Ce rendez-vous est passé : signalez l'absence au secrétariat.")
    if scope.is_employer:
        outcome = rules.cancellation_outcome(appointment.starts_at, now)
        appointment.status = AppointmentStatus[outcome.value]
    else:
        appointment.status = AppointmentStatus.annulee
    appointment.cancelled_at = now
    appointment.cancellation_reason = (reason or "").strip() or None
    db.session.flush()
    if scope.is_employer:
        with system_scope():
            plage = db.session.get(Plage, appointment.plage_id)
        _notify_employer_action("cancellation", appointment, plage, appointment.agent)
    return appointment


# ----------------------------------------------------------------------------------------------
# Secretariat: convocations, attendance, cancellation, reminders (SPEC D4, D6, D7)
# ----------------------------------------------------------------------------------------------


def convoke(plage_id: int) -> int:
    """Validate a plage's bookings: the plage becomes a convocation, locked for employers, and
    each collectivity's convocation contact receives the list of its convoked agents (never a
    confidential one, whom the secretariat convokes itself). Returns the agents convoked."""
    plage = db.session.get(Plage, plage_id)
    if plage is None:
        raise TenantViolation()
    new_state = rules.transition(plage.state.rule, rules.PlageEvent.CONVOKE)
    plage.state = PlageState[new_state.value]
    by_collectivity: dict[int, list[Appointment]] = defaultdict(list)
    confidential = 0  # convoked by the secretariat itself: the employer never hears of it (E7)
    for appointment in plage.appointments:
        if appointment.status is AppointmentStatus.reservee:
            appointment.status = AppointmentStatus.convoquee
        if (
            appointment.status is AppointmentStatus.convoquee
            and appointment.convocation_sent_at is None
        ):
            if appointment.is_confidential:
                confidential += 1
            else:
                by_collectivity[appointment.collectivity_id].append(appointment)
    for collectivity_id, appointments in by_collectivity.items():
        collectivity = db.session.get(Collectivity, collectivity_id)
        recipient = collectivity.convocation_email
        if recipient and not send_mail(
            recipient,
            f"Convocation – médecine préventive – {plage.starts_at:%d/%m/%Y}",
            render_template(
                "planning/mail_convocation.txt",
                plage=plage,
                collectivity=collectivity,
                appointments=appointments,
            ),
        ):
            continue  # a refused address is reported by send_mail; the others are convoked
        for appointment in appointments:
            appointment.convocation_sent_at = utcnow()
    db.session.flush()
    return sum(len(a) for a in by_collectivity.values()) + confidential


def cancel_plage(plage_id: int, reason: str) -> int:
    """The secretariat cancels a plage: its appointments are cancelled (« annulé ») and the
    convocation contact of each collectivity concerned (holding an appointment, or the one the
    plage was reserved for) is told which of its agents are no longer expected. The employers
    still read the cancelled plage and their appointments on it."""
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("Indiquez le motif de l'annulation.", "reason")
    plage = db.session.get(Plage, plage_id)
    if plage is None:
        raise TenantViolation()
    plage.state = PlageState[rules.transition(plage.state.rule, rules.PlageEvent.CANCEL).value]
    plage.cancel_reason = reason
    by_collectivity: dict[int, list[Appointment]] = defaultdict(list)
    if plage.reserved_for_id:
        by_collectivity[plage.reserved_for_id] = []
    for appointment in plage.appointments:
        if appointment.status in (AppointmentStatus.reservee, AppointmentStatus.convoquee):
            appointment.status = AppointmentStatus.annulee
            appointment.cancelled_at = clock.now_local()
            appointment.cancellation_reason = reason
            if not appointment.is_confidential:  # the employer never hears of it (SPEC E7)
                by_collectivity[appointment.collectivity_id].append(appointment)
    for collectivity_id, appointments in by_collectivity.items():
        collectivity = db.session.get(Collectivity, collectivity_id)
        recipient = collectivity.convocation_email if collectivity else None
        if recipient:
            send_mail(
                recipient,
                f"Annulation de plage – médecine préventive – {plage.starts_at:%d/%m/%Y}",
                render_template(
                    "planning/mail_cancellation.txt",
                    plage=plage,
                    collectivity=collectivity,
                    appointments=appointments,
                    reason=reason,
                ),
            )
    db.session.flush()
    return sum(len(a) for a in by_collectivity.values())


class PlageHeld(FieldError):
    """A staff change would take a plage away from collectivities holding appointments on it."""


def _holders(plage_id: int) -> set[int]:
    """The collectivities holding an active appointment on the plage (staff or system scope)."""
    return set(
        db.session.scalars(
            select(Appointment.collectivity_id).where(
                Appointment.plage_id == plage_id, Appointment.status.in_(ACTIVE_STATUSES)
            )
        )
    )


def stranded_collectivities(plage_ids: list[int]) -> dict[int, list[str]]:
    """For each plage, the collectivities holding an active appointment on it that could no
    longer read it (their appointment pages, planning and free capacity depend on it)."""
    if not plage_ids:
        return {}
    db.session.flush()
    # A confidential appointment needs no plage its employer reads (SPEC E7).
    rows = db.session.execute(
        select(Appointment.plage_id, Appointment.collectivity_id)
        .where(
            Appointment.plage_id.in_(plage_ids),
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.is_confidential.is_(False),
        )
        .distinct()
    ).all()
    stranded: dict[int, list[str]] = defaultdict(list)
    for plage_id, collectivity_id in rows:
        visible = db.session.scalar(
            select(Plage.id).where(
                Plage.id == plage_id, criteria_for(Plage, collectivity_of(collectivity_id))
            )
        )
        if visible is None:
            stranded[plage_id].append(db.session.get(Collectivity, collectivity_id).name)
    return {plage_id: sorted(names) for plage_id, names in stranded.items()}


def _check_not_stranded(plage: Plage) -> None:
    names = stranded_collectivities([plage.id]).get(plage.id)
    if names:
        raise PlageHeld(
            f"{', '.join(names)} a des rendez-vous sur cette plage et ne la verrait plus : "
            "annulez d'abord ces rendez-vous.",
            "reserved_for_id",
        )


def set_reservation(plage_id: int, collectivity_id: int | None) -> None:
    """The secretariat reserves a common plage for a collectivity, or makes it common."""
    plage = db.session.get(Plage, plage_id)
    if plage is None:
        raise TenantViolation()
    if collectivity_id:
        if collectivity_id not in {c.id for c in plage.office.served_collectivities}:
            raise FieldError(
                "Ce cabinet ne dessert pas la collectivité choisie.", "reserved_for_id"
            )
        plage.state = PlageState[rules.transition(plage.state.rule, rules.PlageEvent.RESERVE).value]
        others = _holders(plage.id) - {collectivity_id}
        if others:
            raise PlageHeld(
                "D'autres collectivités ont des rendez-vous sur cette plage : elle ne peut pas "
                "être réservée à une seule collectivité. Annulez d'abord leurs rendez-vous.",
                "reserved_for_id",
            )
        plage.reserved_for_id = collectivity_id
    else:
        plage.state = PlageState[rules.transition(plage.state.rule, rules.PlageEvent.RELEASE).value]
        plage.reserved_for_id = None
    _check_not_stranded(plage)


def check_office_change(office: Office) -> None:
    """A served collectivity is taken off an office only when no plage to come at that office
    holds its appointments (it would no longer see them)."""
    plage_ids = list(
        db.session.scalars(
            select(Plage.id).where(
                Plage.office_id == office.id,
                Plage.state != PlageState.annulee,
                Plage.starts_at > clock.now_local(),
            )
        )
    )
    stranded = stranded_collectivities(plage_ids)
    names = sorted({name for group in stranded.values() for name in group})
    if names:
        raise FieldError(
            f"{', '.join(names)} a des rendez-vous à venir dans ce cabinet : elle reste "
            "desservie tant que ces rendez-vous ne sont pas annulés.",
            "served_collectivities",
        )


def record_attendance(appointment_id: int, status: AppointmentStatus) -> None:
    """After the date: honoured, absent justified or absent unjustified (SPEC D6)."""
    if status not in (
        AppointmentStatus.honoree,
        AppointmentStatus.absence_justifiee,
        AppointmentStatus.absence_injustifiee,
    ):
        raise FieldError("Choisissez : honoré, absence justifiée ou absence injustifiée.", "status")
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise TenantViolation()
    if appointment.starts_at.date() > clock.today():
        raise DomainError("La présence se saisit le jour du rendez-vous ou après.")
    if appointment.status is AppointmentStatus.annulee:
        raise DomainError("Ce rendez-vous a été annulé.")
    appointment.status = status
    appointment.attendance_recorded_at = utcnow()


def record_plage_attendance(plage_id: int, statuses: dict[int, AppointmentStatus]) -> int:
    """The attendance of a whole plage at once (SPEC D6): each chosen status is recorded, an
    appointment left on « Choisissez… » is left as it is. Returns how many were recorded."""
    plage = db.session.get(Plage, plage_id)
    if plage is None:
        raise TenantViolation()
    if not statuses:
        raise DomainError("Choisissez la présence d'au moins un rendez-vous.")
    own = {appointment.id for appointment in plage.appointments}
    if not set(statuses) <= own:
        raise TenantViolation()
    for appointment_id, status in statuses.items():
        record_attendance(appointment_id, status)
    return len(statuses)


def send_unfilled_reminders(today: dt.date | None = None) -> int:
    """15 calendar days before a reserved plage that still has free capacity, remind the
    collectivity's convocation contact (SPEC D7); once per plage. Returns the reminders sent."""
    today = today or clock.today()
    horizon = dt.datetime.combine(today + dt.timedelta(days=15), dt.time.max)
    candidates = list(
        db.session.scalars(
            select(Plage).where(
                Plage.state == PlageState.reservee,
                Plage.reminder_sent_at.is_(None),
                Plage.starts_at > dt.datetime.combine(today, dt.time.max),
                Plage.starts_at <= horizon,
            )
        )
    )
    taken = taken_counts([p.id for p in candidates])
    sent = 0
    for plage in candidates:
        free = plage.capacity - taken.get(plage.id, 0)
        if free <= 0 or not rules.reminder_due(plage.day, today) or plage.reserved_for is None:
            continue
        collectivity = plage.reserved_for
        recipient = collectivity.convocation_email
        if recipient and not send_mail(
            recipient,
            f"Plage du {plage.starts_at:%d/%m/%Y} : {free} place(s) encore libre(s)",
            render_template(
                "planning/mail_reminder.txt", plage=plage, collectivity=collectivity, free=free
            ),
        ):
            continue  # a refused address is reported by send_mail; retried at the next run
        plage.reminder_sent_at = utcnow()
        sent += 1
    db.session.flush()
    return sent


def _secretariat_address() -> str:
    from flask import current_app

    return str(current_app.config.get(SECRETARIAT_ADDRESS_KEY) or "secretariat@medecineprev.local")
