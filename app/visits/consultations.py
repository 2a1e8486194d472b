"""Consultation services: the day's appointments, recording a visit, releasing its sheet, the
employer's visit sheets and the medical notes whose every read is logged (SPEC E4, E5, E7, J3).
Domain errors only; the caller commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import g
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, defaultload

from app.core import clock
from app.extensions import db
from app.planning import services as planning
from app.planning.models import ACTIVE_STATUSES, Appointment, AppointmentStatus, Plage
from app.referential.models import Office, Professional, VisitType
from app.rules import consultations as rules
from app.rules.errors import DomainError, FieldError
from app.tenancy import TenantViolation
from app.visits.consultation_models import Consultation, MedicalAccess, MedicalNote, Outcome
from app.workforce.models import Agent

ABSENCES = (AppointmentStatus.absence_justifiee, AppointmentStatus.absence_injustifiee)


@dataclass(frozen=True)
class VisitInput:
    outcome: Outcome
    restrictions: str | None = None
    next_visit_on: dt.date | None = None
    is_smp: bool = False
    is_confidential: bool = False
    notes: str | None = None
    release_now: bool = False


# ----------------------------------------------------------------------------------------------
# Reads
# ----------------------------------------------------------------------------------------------


def day_appointments(day: dt.date, professional_id: int | None = None) -> list[Appointment]:
    """The appointments of a day (active or with their attendance recorded), by professional
    and hour, in one query."""
    start = dt.datetime.combine(day, dt.time.min)
    query = (
        select(Appointment)
        .join(Appointment.plage)
        .where(
            Appointment.starts_at >= start,
            Appointment.starts_at < start + dt.timedelta(days=1),
            Appointment.status.in_([*ACTIVE_STATUSES, *ABSENCES]),
        )
        .options(contains_eager(Appointment.plage))
        .order_by(Plage.professional_id, Appointment.starts_at)
    )
    if professional_id is not None:
        query = query.where(Plage.professional_id == professional_id)
    return list(db.session.scalars(query).unique())


def consultations_by_appointment(appointment_ids: list[int]) -> dict[int, int]:
    """appointment id -> consultation id, in one query."""
    if not appointment_ids:
        return {}
    rows = db.session.execute(
        select(Consultation.appointment_id, Consultation.id).where(
            Consultation.appointment_id.in_(appointment_ids)
        )
    )
    return {appointment_id: consultation_id for appointment_id, consultation_id in rows}


def employer_sheets(name: str | None = None, limit: int = 500) -> list[Consultation]:
    """The visit sheets an employer may read (its scope's criteria keep only released,
    non-confidential ones), newest first, filtered by agent name (SPEC E5)."""
    query = select(Consultation).join(Consultation.agent)
    if name:
        from app.workforce import agents as agent_services

        query = query.where(agent_services.name_clause(name))
    query = query.order_by(Consultation.visit_date.desc(), Consultation.id.desc()).limit(limit)
    # The agent's secondary-account assignments are not shown: no selectin load for them.
    query = query.options(defaultload(Consultation.agent).lazyload(Agent.assignments))
    return list(db.session.scalars(query).unique())


def get_consultation(consultation_id: int) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise TenantViolation()
    return consultation


def read_notes(consultation: Consultation) -> list[MedicalNote]:
    """The medical notes of a consultation; the read is logged (SPEC J3)."""
    notes = list(
        db.session.scalars(
            select(MedicalNote)
            .where(MedicalNote.consultation_id == consultation.id)
            .order_by(MedicalNote.created_at, MedicalNote.id)
        )
    )
    log_medical_access(consultation, "Notes médicales de la consultation")
    return notes


def log_medical_access(consultation: Consultation, what: str) -> MedicalAccess:
    user = g.get("user")
    entry = MedicalAccess(
        user_id=getattr(user, "id", None),
        username=str(getattr(user, "username", None) or "système")[:100],
        agent_id=consultation.agent_id,
        agent_label=f"{consultation.agent.full_name} (n° {consultation.agent_id})"[:250],
        consultation_id=consultation.id,
        what=f"{what} du {consultation.visit_date:%d/%m/%Y}"[:200],
    )
    db.session.add(entry)
    db.session.flush()
    return entry


# ----------------------------------------------------------------------------------------------
# Writes
# ----------------------------------------------------------------------------------------------


def _subdivision(office: Office | None) -> str | None:
    return office.holiday_subdivision if office is not None else None


def refresh_availability(consultation: Consultation) -> None:
    consultation.sheet_available_on = rules.sheet_available_on(
        consultation.visit_date,
        consultation.sheet_released_on,
        _subdivision(consultation.office),
    )


def _check_input(data: VisitInput, visit_date: dt.date) -> None:
    if data.outcome is Outcome.apte_restrictions and not (data.restrictions or "").strip():
        raise FieldError(
            "Indiquez les restrictions ou aménagements, tels que l'employeur les lira.",
            "restrictions",
        )
    if data.next_visit_on is not None and data.next_visit_on <= visit_date:
        raise FieldError(
            "La prochaine visite doit être postérieure à la date de la visite.", "next_visit_on"
        )


def _add_notes(consultation: Consultation, notes: str | None) -> None:
    text = (notes or "").strip()
    if text:
        user = g.get("user")
        db.session.add(
            MedicalNote(consultation=consultation, text=text, author_id=getattr(user, "id", None))
        )


def record_visit(appointment_id: int, data: VisitInput) -> Consultation:
    """Record the visit of an appointment of today or before: the appointment becomes honoured
    and the consultation holds the outcome and the sheet's release date (SPEC E4, E5)."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise TenantViolation()
    visit_date = appointment.starts_at.date()
    if visit_date > clock.today():
        raise DomainError(
            "Ce rendez-vous est à venir : la visite s'enregistre le jour du rendez-vous ou après."
        )
    if consultations_by_appointment([appointment.id]):
        raise DomainError("La visite de ce rendez-vous est déjà enregistrée.")
    _check_input(data, visit_date)
    planning.record_attendance(appointment.id, AppointmentStatus.honoree)
    plage = appointment.plage
    consultation = Consultation(
        agent_id=appointment.agent_id,
        collectivity_id=appointment.collectivity_id,
        appointment_id=appointment.id,
        visit_date=visit_date,
        visit_type_id=appointment.visit_type_id,
        professional_id=plage.professional_id,
        office_id=plage.office_id,
        office=plage.office,
    )
    _apply(consultation, data)
    # The visit of a confidential appointment is confidential (SPEC E7).
    consultation.is_confidential = data.is_confidential or appointment.is_confidential
    db.session.add(consultation)
    _add_notes(consultation, data.notes)
    db.session.flush()
    return consultation


def record_absence(appointment_id: int, status: AppointmentStatus) -> None:
    if status not in ABSENCES:
        raise FieldError("Choisissez une absence justifiée ou injustifiée.", "presence")
    planning.record_attendance(appointment_id, status)


def create_consultation(
    agent_id: int,
    visit_date: dt.date,
    visit_type_id: int,
    professional_id: int,
    data: VisitInput,
    office_id: int | None = None,
) -> Consultation:
    """A consultation without appointment (REST API, staff): same checks as a recorded visit."""
    agent = db.session.get(Agent, agent_id)
    if agent is None:
        raise FieldError("Agent introuvable.", "agent_id")
    if visit_date > clock.today():
        raise FieldError("Une visite à venir ne s'enregistre pas.", "date")
    if db.session.get(VisitType, visit_type_id) is None:
        raise FieldError("Type de visite inconnu.", "visit_type")
    if db.session.get(Professional, professional_id) is None:
        raise FieldError("Professionnel de santé introuvable.", "professional_id")
    office = db.session.get(Office, office_id) if office_id is not None else None
    if office_id is not None and office is None:
        raise FieldError("Cabinet médical introuvable.", "office_id")
    _check_input(data, visit_date)
    consultation = Consultation(
        agent_id=agent.id,
        collectivity_id=agent.collectivity_id,
        visit_date=visit_date,
        visit_type_id=visit_type_id,
        professional_id=professional_id,
        office_id=office_id,
        office=office,
    )
    _apply(consultation, data)
    db.session.add(consultation)
    _add_notes(consultation, data.notes)
    db.session.flush()
    return consultation


def update_consultation(consultation_id: int, changes: dict[str, Any]) -> Consultation:
    """Staff change the outcome, restrictions, next visit, flags or release the sheet."""
    consultation = get_consultation(consultation_id)
    data = VisitInput(
        outcome=changes.get("outcome", consultation.outcome),
        restrictions=changes.get("restrictions", consultation.restrictions),
        next_visit_on=changes.get("next_visit_on", consultation.next_visit_on),
        is_smp=changes.get("is_smp", consultation.is_smp),
        is_confidential=changes.get("is_confidential", consultation.is_confidential),
    )
    _check_input(data, consultation.visit_date)
    _apply(consultation, data)
    db.session.flush()
    return consultation


def _apply(consultation: Consultation, data: VisitInput) -> None:
    consultation.outcome = data.outcome
    consultation.restrictions = (data.restrictions or "").strip() or None
    consultation.next_visit_on = data.next_visit_on
    consultation.is_smp = data.is_smp
    consultation.is_confidential = data.is_confidential
    user = g.get("user")
    consultation.recorded_by_id = consultation.recorded_by_id or getattr(user, "id", None)
    if data.release_now and consultation.sheet_released_on is None:
        consultation.sheet_released_on = clock.today()
    refresh_availability(consultation)


def release_sheet(consultation_id: int) -> Consultation:
    """« Publier la fiche maintenant »: the employer reads the sheet from today (SPEC E5)."""
    consultation = get_consultation(consultation_id)
    if consultation.sheet_available_on <= clock.today():
        raise DomainError("La fiche est déjà disponible pour l'employeur.")
    consultation.sheet_released_on = clock.today()
    refresh_availability(consultation)
    db.session.flush()
    return consultation
