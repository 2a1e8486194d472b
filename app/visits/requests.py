"""Visit requests (SPEC E1, E2): create one for an agent with a current position, list and
filter them, cancel a pending one, refuse it with a reason, or schedule it into a plage through
the planning's booking (its lock and no-double-booking guarantee). Each change e-mails the
requester; messages leave at the commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from flask import render_template
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import defaultload, lazyload, selectinload

from app.core import clock
from app.core.mail import send_mail
from app.core.types import utcnow
from app.extensions import db
from app.planning import services as planning
from app.planning.models import Appointment, Plage, PlageState
from app.referential.models import Office, VisitType, office_collectivity
from app.rules import visit_requests as rules
from app.rules.errors import DomainError, FieldError
from app.tenancy import TenantViolation, current_scope, system_scope
from app.visits import attachments
from app.visits.models import VisitRequest, VisitRequestState
from app.workforce.models import Agent, Contract, PositionRisk, RadiationCategory

CONFIDENTIAL_STAFF_ONLY = (
    "Seul le CDG enregistre une visite confidentielle (demandée par l'agent lui-même)."
)
NO_POSITION = (
    "Cet agent n'a pas de poste actuel : rattachez-le d'abord à un poste de travail "
    "(aucune demande de visite possible)."
)


class InvalidRequest(DomainError):
    """The request's fields are refused: ``problems`` lists (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(" ".join(message for _field, message in problems))
        self.problems = problems


class NotPending(DomainError):
    """The request is no longer pending (answered 409 by the API)."""

    def __init__(self, state: VisitRequestState) -> None:
        super().__init__(
            f"Cette demande est « {state.label.lower()} » : seule une demande en attente peut "
            "être annulée, refusée ou planifiée."
        )


def agent_has_position(agent_id: int, on: dt.date | None = None) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Contract.agent_id == agent_id, Contract.running_on(on or clock.today())
                )
            )
        )
    )


def get_agent(agent_id: Any) -> Agent:
    """The agent, if the caller's scope reaches him (else a 404)."""
    if not str(agent_id).isdigit() or not 0 < int(agent_id) < 2**63:
        raise TenantViolation()
    agent = db.session.get(Agent, int(agent_id))
    if agent is None:
        raise TenantViolation()
    return agent


def get_request(request_id: Any) -> VisitRequest:
    if not str(request_id).isdigit() or not 0 < int(request_id) < 2**63:
        raise TenantViolation()
    item = db.session.get(VisitRequest, int(request_id))
    if item is None:
        raise TenantViolation()
    return item


# ----------------------------------------------------------------------------------------------
# Risk precisions asked at request time (DOMAIN.md §4)
# ----------------------------------------------------------------------------------------------

PRECISION_LABELS = {
    "categorie_radiation": "Catégorie d'exposition aux rayonnements ionisants",
    "categories_caces": "Catégories de véhicules (CACES)",
    "description": "Description de l'autre risque",
}


def precision_field(link: PositionRisk) -> str:
    return f"precision_{link.risk.code}"


def missing_precisions(agent: Agent) -> list[PositionRisk]:
    """The risks of the agent's current position that lack the precision the rule now asks
    for (risks declared before 01/10/2025, or imported « à compléter »): the request form asks
    for them and completes the position."""
    contract = agent.current_contract(clock.today())
    if contract is None:
        return []
    links = [link for link in contract.work_position.risk_links if link.precision_missing]
    return sorted(links, key=lambda link: link.risk.sort_order)


def _check_precisions(
    links: list[PositionRisk], typed: dict[str, str], problems: rules.Problems
) -> list[tuple[PositionRisk, str]]:
    from app.workforce.positions import PRECISION_MESSAGES

    values = []
    for link in links:
        name = precision_field(link)
        value = " ".join((typed.get(name) or "").split())
        kind = link.risk.precision.name
        if not value:
            problems.add(name, PRECISION_MESSAGES[kind])
        elif kind == "categorie_radiation" and value not in RadiationCategory.__members__:
            problems.add(name, "Catégorie de rayonnements inconnue (A, B ou INB).")
        elif len(value) > (200 if kind == "categories_caces" else rules.TEXT_MAX):
            problems.add(
                name, f"{200 if kind == 'categories_caces' else rules.TEXT_MAX} caractères au plus."
            )
        else:
            values.append((link, value))
    return values


def _complete_precisions(values: list[tuple[PositionRisk, str]]) -> dict[str, str]:
    """Write the precisions on the position's risks; returns them as (risk label -> text)."""
    shown: dict[str, str] = {}
    for link, value in values:
        kind = link.risk.precision.name
        if kind == "categorie_radiation":
            link.radiation_category = RadiationCategory[value]
            shown[link.risk.short_label] = RadiationCategory[value].label
        elif kind == "categories_caces":
            link.caces_categories = value
            shown[link.risk.short_label] = value
        else:
            link.description = value
            shown[link.risk.short_label] = value
    return shown


def create_request(
    agent_id: Any,
    data: rules.RequestInput,
    uploads: list[attachments.Upload] | None = None,
    precisions: dict[str, str] | None = None,
) -> VisitRequest:
    """A new pending request for an agent of the caller's scope with a current position, its
    attachments checked and stored, the missing risk precisions completed on his position.
    Every refusal is gathered (``InvalidRequest``) and nothing is written."""
    agent = get_agent(agent_id)
    if not agent_has_position(agent.id):
        raise FieldError(NO_POSITION, "agent_id")
    visit_type = db.session.scalar(
        select(VisitType).where(VisitType.code == data.visit_type, VisitType.is_active.is_(True))
    )
    if visit_type is None:
        raise FieldError("Choisissez le type de rendez-vous.", "visit_type")
    uploads = attachments.with_nature_codes(uploads or [])
    data = replace(data, attachment_natures=tuple(upload.nature for upload in uploads))
    checked = rules.check_request(data, clock.today())
    problems = checked if isinstance(checked, rules.Problems) else rules.Problems()
    checked_files = attachments.check_uploads(uploads, problems)
    completed = _check_precisions(missing_precisions(agent), precisions or {}, problems)
    if data.confidential and current_scope().is_employer:
        problems.add("confidential", CONFIDENTIAL_STAFF_ONLY)
    if problems or isinstance(checked, rules.Problems):
        raise InvalidRequest(problems.items)
    details = dict(checked.details)
    if completed:
        details["precisions"] = _complete_precisions(completed)
    item = VisitRequest(
        agent_id=agent.id,
        collectivity_id=agent.collectivity_id,
        visit_type_id=visit_type.id,
        state=VisitRequestState.en_attente,
        created_on=clock.today(),
        created_by_id=current_scope().user_id,
        situations=checked.situations,
        other_exposure=checked.other_exposure,
        details=details,
        information=checked.information,
        interpreter=checked.interpreter,
        language=checked.language,
        urgency=checked.urgency,
        deadline_on=checked.deadline_on,
        is_confidential=data.confidential,
    )
    item.agent, item.visit_type = agent, visit_type
    db.session.add(item)
    db.session.flush()
    attachments.attach(item, checked_files)
    _notify(item, "created")
    return item


# ----------------------------------------------------------------------------------------------
# Lists
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    visit_type: str = ""
    state: str = ""


def list_query(filters: Filters, *, queue: bool = False) -> Any:
    """The requests the caller's scope shows; the secretariat's queue puts the most urgent and
    oldest first (a doctor's deadline, then a resumption), the employer's list the newest."""
    query = select(VisitRequest).options(
        selectinload(VisitRequest.appointment).options(
            lazyload(Appointment.agent),
            lazyload(Appointment.visit_type),
            lazyload(Appointment.plage),
        ),
        defaultload(VisitRequest.agent).lazyload(Agent.assignments),
    )
    if filters.visit_type:
        query = query.join(VisitType, VisitType.id == VisitRequest.visit_type_id).where(
            VisitType.code == filters.visit_type
        )
    if filters.state:
        query = query.where(VisitRequest.state == VisitRequestState[filters.state])
    if queue:
        return query.order_by(
            VisitRequest.urgency, VisitRequest.deadline_on, VisitRequest.created_at, VisitRequest.id
        )
    return query.order_by(VisitRequest.created_at.desc(), VisitRequest.id.desc())


# ----------------------------------------------------------------------------------------------
# Changes
# ----------------------------------------------------------------------------------------------


def _claim(item: VisitRequest, state: VisitRequestState) -> None:
    """Move a pending request to ``state``: one UPDATE guarded on the pending state, which takes
    the row's lock, so two concurrent actions (a double submit) never both succeed."""
    result = db.session.execute(
        update(VisitRequest)
        .where(VisitRequest.id == item.id, VisitRequest.state == VisitRequestState.en_attente)
        .values(state=state, processed_at=utcnow(), processed_by_id=current_scope().user_id),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        db.session.refresh(item)
        raise NotPending(item.state)
    db.session.refresh(item)


def cancel_request(request_id: Any) -> VisitRequest:
    """The requester (or the staff) cancels a pending request."""
    item = get_request(request_id)
    if not item.is_pending:
        raise NotPending(item.state)
    _claim(item, VisitRequestState.annulee)
    _notify(item, "cancelled")
    return item


def pending_requests(agent_id: int) -> list[VisitRequest]:
    """The agent's pending requests (the exit screen warns about them)."""
    return list(
        db.session.scalars(
            select(VisitRequest)
            .where(
                VisitRequest.agent_id == agent_id,
                VisitRequest.state == VisitRequestState.en_attente,
            )
            .order_by(VisitRequest.created_at, VisitRequest.id)
        )
    )


def exit_warning(pending: list[VisitRequest]) -> str | None:
    """« Le salarié a une demande de visite en attente... » (SPEC C4)."""
    if not pending:
        return None
    if len(pending) == 1:
        item = pending[0]
        return (
            f"Le salarié a une demande de visite en attente ({item.visit_type.label}, demandée "
            f"le {item.created_on:%d/%m/%Y}) : elle sera annulée à sa sortie de l'effectif et "
            "le demandeur en sera prévenu par courriel."
        )
    return (
        f"Le salarié a {len(pending)} demandes de visite en attente : elles seront annulées à "
        "sa sortie de l'effectif et les demandeurs en seront prévenus par courriel."
    )


EXIT_REASON = "Sortie de l'effectif le {day:%d/%m/%Y}."


def cancel_for_exit(agent_id: int, exit_date: dt.date) -> int:
    """Cancel the pending requests of an agent who left (SPEC C4); each requester is e-mailed.
    Returns how many were cancelled."""
    count = 0
    for item in pending_requests(agent_id):
        try:
            _claim(item, VisitRequestState.annulee)
        except NotPending:
            continue  # scheduled or cancelled meanwhile
        item.refusal_reason = EXIT_REASON.format(day=exit_date)
        db.session.flush()
        _notify(item, "cancelled")
        count += 1
    return count


def departed_with_pending(today: dt.date) -> list[int]:
    """Agents with a pending request and no contract open any more (all ended before today):
    the sync cancels their requests (exits typed with a future date, the exits import)."""
    still_open = exists().where(Contract.agent_id == VisitRequest.agent_id, Contract.open_on(today))
    return list(
        db.session.scalars(
            select(VisitRequest.agent_id)
            .where(VisitRequest.state == VisitRequestState.en_attente, ~still_open)
            .distinct()
            .order_by(VisitRequest.agent_id)
        )
    )


def last_exit_date(agent_id: int) -> dt.date | None:
    return db.session.scalar(
        select(func.max(Contract.end_date)).where(Contract.agent_id == agent_id)
    )


def refuse_request(request_id: Any, reason: str | None) -> VisitRequest:
    """The secretariat refuses a pending request with a reason sent to the requester."""
    reason = (reason or "").strip()
    item = get_request(request_id)
    if not reason:
        raise FieldError("Indiquez le motif du refus.", "reason")
    if len(reason) > rules.LONG_TEXT_MAX:
        raise FieldError(f"{rules.LONG_TEXT_MAX} caractères au plus.", "reason")
    _claim(item, VisitRequestState.refusee)
    item.refusal_reason = reason
    db.session.flush()
    _notify(item, "refused")
    return item


def schedule_request(request_id: Any, plage_id: Any) -> VisitRequest:
    """The secretariat places a pending request into a plage: the appointment is booked by the
    planning (the plage's lock, its rules, no double booking) and the request is « traitée »."""
    item = get_request(request_id)
    if not str(plage_id).isdigit() or not 0 < int(plage_id) < 2**63:
        raise FieldError("Choisissez une plage.", "plage_id")
    _claim(item, VisitRequestState.traitee)
    comment = item.information
    appointment = planning.book(
        int(plage_id),
        item.agent_id,
        item.visit_type.code,
        comment,
        confidential=item.is_confidential,
    )
    item.appointment_id = appointment.id
    db.session.flush()
    _notify(item, "scheduled", appointment=appointment)
    return item


def schedulable_plages(item: VisitRequest, days: int = 90) -> list[tuple[Plage, int]]:
    """The coming plages the request's agent can be booked into (his collectivity's reserved
    plages, the common plages of the offices serving it), with their free capacity."""
    now = clock.now_local()
    served = select(office_collectivity.c.office_id).where(
        office_collectivity.c.collectivity_id == item.collectivity_id
    )
    plages = list(
        db.session.scalars(
            select(Plage)
            .where(
                Plage.starts_at > now,
                Plage.starts_at <= now + dt.timedelta(days=days),
                (
                    (Plage.state == PlageState.reservee)
                    & (Plage.reserved_for_id == item.collectivity_id)
                )
                | ((Plage.state == PlageState.commune) & Plage.office_id.in_(served)),
            )
            .options(
                lazyload(Plage.reserved_for),
                lazyload(Plage.office).lazyload(Office.served_collectivities),
            )
            .order_by(Plage.starts_at, Plage.id)
            .limit(200)
        )
    )
    taken = planning.taken_counts([p.id for p in plages])
    return [(p, p.capacity - taken.get(p.id, 0)) for p in plages if p.capacity > taken.get(p.id, 0)]


# ----------------------------------------------------------------------------------------------
# E-mails
# ----------------------------------------------------------------------------------------------

_SUBJECTS = {
    "created": "Demande de visite enregistrée",
    "cancelled": "Demande de visite annulée",
    "refused": "Demande de visite refusée",
    "scheduled": "Demande de visite planifiée",
}


def _notify(item: VisitRequest, event: str, appointment: Appointment | None = None) -> None:
    """E-mail the requester what happened to his request."""
    if item.created_by_id is None:
        return
    with system_scope():
        requester = db.session.get(User, item.created_by_id)
        if requester is None or not requester.email:
            return
        agent = item.agent
        subject = f"{_SUBJECTS[event]} – {agent.full_name} – {item.visit_type.label}"
        send_mail(
            requester.email,
            subject,
            render_template(
                "visits/mail_request.txt",
                event=event,
                item=item,
                agent=agent,
                appointment=appointment,
                plage=appointment.plage if appointment is not None else None,
            ),
        )
