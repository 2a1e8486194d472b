"""Demo visit requests (SPEC E1, E2): a few of each state in the first collectivities, made by
their primary account; deterministic (no random draw: the demo's other sections keep theirs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from app.accounts.models import PortalMembership
from app.planning.models import Appointment, AppointmentStatus
from app.referential.models import VisitType
from app.visits.models import VisitRequest, VisitRequestState

# (visit type, details, urgency, state) — the urgency as rules.check_request sets it.
_PLAN: list[tuple[str, dict[str, Any], int, VisitRequestState]] = [
    (
        "reprise",
        {"stoppage_nature": "maladie", "therapeutic_part_time": True},
        1,
        VisitRequestState.en_attente,
    ),
    (
        "occasionnelle",
        {"requester": "medecin", "deadline_on": None},
        0,
        VisitRequestState.en_attente,
    ),
    ("embauche", {"dispense": True, "attestation_on": None}, 2, VisitRequestState.en_attente),
    ("periodique", {}, 2, VisitRequestState.traitee),
    (
        "fin_carriere",
        {"retirement_on": None, "exposed_risk": "Amiante"},
        2,
        VisitRequestState.refusee,
    ),
    (
        "occasionnelle",
        {
            "requester": "employeur",
            "employer_reason": "changement_poste",
            "comment": "Nouveau poste en extérieur.",
        },
        2,
        VisitRequestState.annulee,
    ),
]


def demo_visit_requests(context: Any) -> None:
    session, today = context.session, context.today
    visit_types = {v.code: v for v in session.scalars(select(VisitType))}
    # A scheduled request points at the agent's coming appointment.
    coming = {
        a.agent_id: a
        for a in session.scalars(
            select(Appointment)
            .where(
                Appointment.starts_at > dt.datetime.combine(today, dt.time.max),
                Appointment.status.in_([AppointmentStatus.reservee, AppointmentStatus.convoquee]),
            )
            .order_by(Appointment.id)
        )
    }
    count = 0
    dispenses: list[VisitRequest] = []
    for collectivity in context.collectivities[:6]:
        primary = session.scalar(
            select(PortalMembership.user_id).where(
                PortalMembership.collectivity_id == collectivity.id,
                PortalMembership.primary_user_id.is_(None),
            )
        )
        agents = [
            a
            for a in context.agents
            if a.collectivity_id == collectivity.id
            and a.contracts
            and a.contracts[0].end_date is None
        ]
        for index, (code, details, urgency, state) in enumerate(_PLAN):
            if index >= len(agents):
                break
            agent = agents[index]
            appointment = coming.get(agent.id) if state is VisitRequestState.traitee else None
            if state is VisitRequestState.traitee and appointment is None:
                state = VisitRequestState.en_attente
            details = dict(details)
            deadline = None
            if "deadline_on" in details:
                deadline = today + dt.timedelta(days=20 + index)
                details["deadline_on"] = deadline.isoformat()
            if "attestation_on" in details:
                details["attestation_on"] = (today - dt.timedelta(days=400)).isoformat()
            if "retirement_on" in details:
                details["retirement_on"] = (today + dt.timedelta(days=180)).isoformat()
            item = VisitRequest(
                agent_id=agent.id,
                collectivity_id=collectivity.id,
                visit_type_id=visit_types[code].id,
                state=state,
                created_on=today - dt.timedelta(days=3 * (index + 1)),
                created_by_id=primary,
                situations=["travailleur_handicape"] if index == 0 else [],
                details=details,
                information="Disponible le matin uniquement." if index == 2 else None,
                interpreter=index == 1,
                language="Portugais" if index == 1 else None,
                urgency=urgency,
                deadline_on=deadline,
                appointment_id=appointment.id if appointment else None,
                refusal_reason="Visite déjà réalisée le mois dernier."
                if state is VisitRequestState.refusee
                else None,
            )
            session.add(item)
            if details.get("dispense"):
                dispenses.append(item)
            count += 1
    session.flush()
    _attach_attestations(session, dispenses)
    context.summary["demandes de visite"] = count


def _attach_attestations(session: Any, items: list[VisitRequest]) -> None:
    """A dispense at hiring comes with the last « Attestation de suivi » (SPEC E1): a small
    generated PDF, stored under UPLOAD_DIR like an uploaded one."""
    from fpdf import FPDF

    from app.core import files
    from app.referential.models import DocumentNature, DocumentUsage
    from app.visits.models import VisitRequestAttachment

    nature = session.scalar(
        select(DocumentNature).where(
            DocumentNature.usage == DocumentUsage.demande,
            DocumentNature.code == "attestation_suivi",
        )
    )
    if nature is None or not items:
        return
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.cell(text="Attestation de suivi individuel (document de démonstration)")
    data = bytes(pdf.output())
    for item in items:
        stored = files.store(data, "demandes-de-visite", "attestation-de-suivi.pdf")
        session.add(
            VisitRequestAttachment(
                visit_request_id=item.id,
                collectivity_id=item.collectivity_id,
                nature_id=nature.id,
                filename=stored.filename,
                stored_path=stored.path,
                size=stored.size,
                uploaded_by_id=item.created_by_id,
            )
        )
    session.flush()
