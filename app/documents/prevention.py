"""Prevention (SPEC E8): the health team's actions outside visits, read by the employer in
« Mes actions de prévention », and the prevention catalogue: modules, dated sessions with their
seats, registrations of agents by their employer (« Programme et inscriptions »).

A session's seats are guarded as a plage's units are (app/planning/services.py): registrations
of one session are serialised by an UPDATE of its row (PostgreSQL's row lock, SQLite's write
lock) and each registration holds one seat index, unique among the active registrations by a
partial unique index; the same agent twice is refused by a second one. So the capacity is never
exceeded, whatever the concurrency.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defaultload, lazyload

from app.core import clock, files
from app.core.mail import send_mail
from app.documents.models import (
    PreventionAction,
    PreventionKind,
    PreventionModule,
    PreventionRegistration,
    PreventionSession,
    RegistrationStatus,
)
from app.documents.services import PAGE_SIZE, _user_id, valid_id
from app.extensions import db
from app.referential.models import Collectivity, Contact, ContactFunction
from app.rules.errors import DomainError, FieldError
from app.tenancy import TenantViolation, current_scope, system_scope
from app.workforce.models import Agent, Contract

REPORT_AREA = "prevention"
REPORT_MAX_BYTES = files.PDF_MAX_BYTES
FORM_MAX_BYTES = REPORT_MAX_BYTES + files.FORM_MARGIN_BYTES
MAX_DURATION_MINUTES = 24 * 60

FULL = "Cette session est complète : aucune inscription n'a été enregistrée."
SEATS_LEFT = (
    "Il ne reste que {left} place(s) dans cette session pour {asked} agent(s) : aucune "
    "inscription n'a été enregistrée. Choisissez moins d'agents ou une autre session."
)


# ----------------------------------------------------------------------------------------------
# Actions outside visits
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionInput:
    collectivity_id: Any
    kind: str
    action_on: dt.date | None
    participants: str
    duration_minutes: Any
    summary: str | None = None


def record_action(data: ActionInput, report: Any = None) -> PreventionAction:
    """The health team records an action (the report PDF optional); the caller commits."""
    collectivity_id = data.collectivity_id
    if (
        not str(collectivity_id or "").isdigit()
        or db.session.get(Collectivity, int(collectivity_id)) is None
    ):
        raise FieldError("Choisissez la collectivité.", "collectivity_id")
    kind = PreventionKind.__members__.get(data.kind or "")
    if kind is None:
        raise FieldError("Choisissez le type d'action.", "kind")
    if data.action_on is None:
        raise FieldError("Indiquez la date de l'action (JJ/MM/AAAA).", "action_on")
    if data.action_on > clock.today() + dt.timedelta(days=366):
        raise FieldError("La date de l'action est trop lointaine.", "action_on")
    participants = " ".join((data.participants or "").split())
    if not participants:
        raise FieldError("Indiquez les participants.", "participants")
    raw = str(data.duration_minutes or "").strip()
    if not raw.isdigit() or not 0 < int(raw) <= MAX_DURATION_MINUTES:
        raise FieldError("Indiquez la durée en minutes (de 1 à 1 440).", "duration_minutes")
    row = PreventionAction(
        collectivity_id=int(collectivity_id),
        kind=kind,
        action_on=data.action_on,
        participants=participants[:500],
        duration_minutes=int(raw),
        summary=(data.summary or "").strip() or None,
        recorded_by_id=_user_id(),
    )
    if report is not None and getattr(report, "filename", ""):
        pdf = files.read_pdf(report, REPORT_MAX_BYTES, "report")
        stored = files.store(pdf, REPORT_AREA, report.filename)
        row.report_path, row.report_filename = stored.path, stored.filename[:120]
    db.session.add(row)
    db.session.flush()
    return row


def actions(collectivity_id: int | None = None, limit: int = PAGE_SIZE) -> list[PreventionAction]:
    """Actions newest first (the employer's scope keeps its collectivity's)."""
    query = select(PreventionAction)
    if collectivity_id:
        query = query.where(PreventionAction.collectivity_id == collectivity_id)
    query = query.order_by(PreventionAction.action_on.desc(), PreventionAction.id.desc())
    return list(db.session.scalars(query.limit(limit)).unique())


def get_action(action_id: Any) -> PreventionAction:
    row = db.session.get(PreventionAction, valid_id(action_id))
    if row is None:
        raise TenantViolation()
    return row


# ----------------------------------------------------------------------------------------------
# Catalogue
# ----------------------------------------------------------------------------------------------


def add_module(title: str, content: str, audience: str, duration_minutes: Any) -> PreventionModule:
    title = " ".join((title or "").split())
    if not title:
        raise FieldError("Indiquez l'intitulé du module.", "title")
    if db.session.scalar(select(PreventionModule.id).where(PreventionModule.title == title)):
        raise FieldError("Un module porte déjà cet intitulé.", "title")
    if not (content or "").strip():
        raise FieldError("Décrivez le contenu du module.", "content")
    if not (audience or "").strip():
        raise FieldError("Indiquez le public visé.", "audience")
    raw = str(duration_minutes or "").strip()
    if not raw.isdigit() or not 0 < int(raw) <= 5 * MAX_DURATION_MINUTES:
        raise FieldError("Indiquez la durée en minutes.", "duration_minutes")
    module = PreventionModule(
        title=title[:200],
        content=content.strip(),
        audience=audience.strip()[:300],
        duration_minutes=int(raw),
    )
    db.session.add(module)
    db.session.flush()
    return module


def add_session(
    module_id: Any,
    starts_at: dt.datetime | None,
    place: str,
    capacity: Any,
    deadline: dt.date | None,
) -> PreventionSession:
    module = db.session.get(PreventionModule, valid_id(module_id))
    if module is None:
        raise TenantViolation()
    if starts_at is None:
        raise FieldError("Indiquez la date et l'heure de la session.", "starts_at")
    if starts_at <= clock.now_local():
        raise FieldError("La session doit être à venir.", "starts_at")
    if not (place or "").strip():
        raise FieldError("Indiquez le lieu de la session.", "place")
    raw = str(capacity or "").strip()
    if not raw.isdigit() or not 0 < int(raw) <= 500:
        raise FieldError("Indiquez le nombre de places (de 1 à 500).", "capacity")
    if deadline is None:
        raise FieldError("Indiquez la date limite d'inscription (JJ/MM/AAAA).", "deadline")
    if deadline > starts_at.date():
        raise FieldError("La date limite d'inscription doit précéder la session.", "deadline")
    session = PreventionSession(
        module_id=module.id,
        starts_at=starts_at,
        place=place.strip()[:300],
        capacity=int(raw),
        registration_deadline=deadline,
    )
    db.session.add(session)
    db.session.flush()
    return session


def get_session(session_id: Any) -> PreventionSession:
    row = db.session.get(PreventionSession, valid_id(session_id))
    if row is None:
        raise TenantViolation()
    return row


def upcoming_sessions(limit: int = 200) -> list[PreventionSession]:
    """Sessions not yet past, by date, with their module (one query)."""
    start = dt.datetime.combine(clock.today(), dt.time.min)
    return list(
        db.session.scalars(
            select(PreventionSession)
            .join(PreventionSession.module)
            .where(PreventionSession.starts_at >= start, PreventionModule.is_active.is_(True))
            .order_by(PreventionSession.starts_at, PreventionSession.id)
            .limit(limit)
        ).unique()
    )


def all_sessions(limit: int = 200) -> list[PreventionSession]:
    return list(
        db.session.scalars(
            select(PreventionSession)
            .order_by(PreventionSession.starts_at.desc(), PreventionSession.id.desc())
            .limit(limit)
        ).unique()
    )


def taken_counts(session_ids: list[int]) -> dict[int, int]:
    """Seats taken per session, every collectivity counted (one aggregate)."""
    if not session_ids:
        return {}
    with system_scope():
        rows = db.session.execute(
            select(PreventionRegistration.session_id, func.count(PreventionRegistration.id))
            .where(
                PreventionRegistration.session_id.in_(session_ids),
                PreventionRegistration.status == RegistrationStatus.inscrit,
            )
            .group_by(PreventionRegistration.session_id)
        ).all()
    return {session_id: count for session_id, count in rows}


def modules(active_only: bool = True) -> list[PreventionModule]:
    query = select(PreventionModule).order_by(PreventionModule.title)
    if active_only:
        query = query.where(PreventionModule.is_active.is_(True))
    return list(db.session.scalars(query))


def _lock_session(session_id: int) -> None:
    """Serialise the registrations of one session (as ``lock_plage`` does for a plage)."""
    result = db.session.execute(
        update(PreventionSession)
        .where(PreventionSession.id == session_id)
        .values(lock_version=PreventionSession.lock_version + 1),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        raise TenantViolation()


def registrable_agents(limit: int = 1000) -> list[Agent]:
    """The scope's active agents (a contract running today), by name: the dropdown."""
    today = clock.today()
    return list(
        db.session.scalars(
            select(Agent)
            .where(
                Agent.anonymised_on.is_(None),
                exists().where(Contract.agent_id == Agent.id, Contract.running_on(today)),
            )
            .order_by(Agent.search_name, Agent.id)
            .limit(limit)
            .options(lazyload(Agent.assignments))
        )
    )


def register(session_id: Any, agent_ids: list[Any]) -> list[PreventionRegistration]:
    """Register the caller's agents to a session; all or nothing. The caller commits."""
    scope = current_scope()
    if not scope.is_employer or scope.collectivity_id is None:
        raise DomainError("Seul un compte employeur inscrit ses agents.")
    wanted: list[int] = []
    for value in agent_ids:
        agent_id = valid_id(value)
        if agent_id not in wanted:
            wanted.append(agent_id)
    if not wanted:
        raise FieldError("Choisissez au moins un agent à inscrire.", "agent_ids")
    session_id = valid_id(session_id)
    _lock_session(session_id)
    session = db.session.get(PreventionSession, session_id, populate_existing=True)
    if session is None:
        raise TenantViolation()
    now = clock.now_local()
    if session.closed_at is not None:
        raise DomainError("Les inscriptions à cette session sont closes.")
    if session.starts_at <= now:
        raise DomainError("Cette session est passée.")
    if now.date() > session.registration_deadline:
        raise DomainError(
            "La date limite d'inscription "
            f"({session.registration_deadline:%d/%m/%Y}) est dépassée : aucune inscription n'a "
            "été enregistrée."
        )
    today = now.date()
    agents = {
        agent.id: agent
        for agent in db.session.scalars(
            select(Agent).where(
                Agent.id.in_(wanted),
                Agent.anonymised_on.is_(None),
                exists().where(Contract.agent_id == Agent.id, Contract.running_on(today)),
            )
        )
    }
    for agent_id in wanted:
        agent = agents.get(agent_id)
        if agent is None or agent.collectivity_id != scope.collectivity_id:
            # Another collectivity's, not managed by this account or not active: not offered.
            if db.session.get(Agent, agent_id) is None:
                raise TenantViolation()
            raise FieldError(
                "Seuls les agents en poste de votre collectivité peuvent être inscrits.",
                "agent_ids",
            )
    with system_scope():
        taken = dict(
            db.session.execute(
                select(PreventionRegistration.seat_index, PreventionRegistration.agent_id).where(
                    PreventionRegistration.session_id == session.id,
                    PreventionRegistration.status == RegistrationStatus.inscrit,
                )
            ).all()
        )
    already = [agents[a].full_name for a in wanted if a in taken.values()]
    if already:
        raise FieldError(
            f"Déjà inscrit(e) à cette session : {', '.join(already)}. Aucune inscription n'a "
            "été enregistrée.",
            "agent_ids",
        )
    free = [index for index in range(session.capacity) if index not in taken]
    if not free:
        raise DomainError(FULL)
    if len(free) < len(wanted):
        raise DomainError(SEATS_LEFT.format(left=len(free), asked=len(wanted)))
    rows = []
    for seat, agent_id in zip(free, wanted, strict=False):
        row = PreventionRegistration(
            session_id=session.id,
            agent_id=agent_id,
            collectivity_id=scope.collectivity_id,
            seat_index=seat,
            status=RegistrationStatus.inscrit,
            registered_at=now,
            registered_by_id=scope.user_id,
        )
        db.session.add(row)
        rows.append(row)
    try:
        db.session.flush()
    except IntegrityError:
        raise DomainError(FULL) from None
    return rows


def cancel_registration(registration_id: Any) -> PreventionRegistration:
    row = db.session.get(PreventionRegistration, valid_id(registration_id))
    if row is None:
        raise TenantViolation()
    if row.status is not RegistrationStatus.inscrit:
        raise DomainError("Cette inscription est déjà annulée.")
    if row.session.closed_at is not None or clock.today() > row.session.registration_deadline:
        raise DomainError(
            "Les inscriptions sont closes : contactez le centre de gestion pour annuler."
        )
    row.status = RegistrationStatus.annule
    db.session.flush()
    return row


def my_registrations(limit: int = PAGE_SIZE) -> list[PreventionRegistration]:
    """The scope's registrations, newest session first (session, module and agent joined)."""
    return list(
        db.session.scalars(
            select(PreventionRegistration)
            .join(PreventionRegistration.session)
            .order_by(PreventionSession.starts_at.desc(), PreventionRegistration.id)
            .limit(limit)
            .options(defaultload(PreventionRegistration.agent).lazyload(Agent.assignments))
        ).unique()
    )


def session_registrations(session_id: int) -> list[PreventionRegistration]:
    return list(
        db.session.scalars(
            select(PreventionRegistration)
            .where(
                PreventionRegistration.session_id == session_id,
                PreventionRegistration.status == RegistrationStatus.inscrit,
            )
            .order_by(PreventionRegistration.collectivity_id, PreventionRegistration.seat_index)
        ).unique()
    )


def close_session(session_id: Any) -> int:
    """The CDG closes the registrations and sends each collectivity's convocation contact the
    list of its registered agents; returns the number of e-mails queued."""
    session = get_session(session_id)
    if session.closed_at is not None:
        raise DomainError("Cette session est déjà close.")
    session.closed_at = clock.now_local()
    by_collectivity: dict[int, list[str]] = {}
    for row in session_registrations(session.id):
        by_collectivity.setdefault(row.collectivity_id, []).append(row.agent.full_name)
    sent = 0
    if by_collectivity:
        contacts = db.session.scalars(
            select(Contact).where(
                Contact.collectivity_id.in_(list(by_collectivity)),
                Contact.function == ContactFunction.convocation,
                Contact.email.is_not(None),
            )
        )
        for contact in contacts:
            names = "\n".join(
                f"- {name}" for name in sorted(by_collectivity[contact.collectivity_id])
            )
            body = (
                "Bonjour,\n\n"
                f"Vos agents sont convoqués à la session « {session.module.title} » le "
                f"{session.starts_at:%d/%m/%Y à %H:%M}, lieu : {session.place}.\n\n"
                f"Agents inscrits :\n{names}\n\n"
                "Le service de médecine préventive du centre de gestion"
            )
            if send_mail(
                contact.email or "",
                f"Convocation – {session.module.title} – {session.starts_at:%d/%m/%Y}",
                body,
            ):
                sent += 1
    db.session.flush()
    return sent


def record_attendance(session_id: Any, present_ids: set[int]) -> int:
    session = get_session(session_id)
    if session.closed_at is None:
        raise DomainError("Clôturez d'abord les inscriptions de la session.")
    rows = session_registrations(session.id)
    for row in rows:
        row.attended = row.id in present_ids
    db.session.flush()
    return sum(1 for row in rows if row.attended)
