"""Demo data of documents and prevention (issue 15): the prevention catalogue with upcoming
sessions and a few registrations, the health team's actions outside visits, employer deposits
(some received) and an ACFI report published in « Mes documents »."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from app.documents.models import (
    DocumentFolder,
    EmployerDocument,
    PreventionAction,
    PreventionKind,
    PreventionModule,
    PreventionRegistration,
    PreventionSession,
)
from app.referential.models import DocumentNature, DocumentUsage

MODULES = [
    (
        "Gestes et postures",
        "Prévenir les troubles musculo-squelettiques : manutention, postures de travail, "
        "échauffement.",
        "Agents des services techniques et d'entretien",
        180,
    ),
    (
        "Prévention des risques psychosociaux",
        "Repérer les signes d'alerte, les ressources internes et externes, le rôle du manager.",
        "Encadrants et assistants de prévention",
        360,
    ),
    (
        "Risque routier",
        "Conduite préventive, fatigue, téléphone au volant, vérifications du véhicule.",
        "Agents conduisant un véhicule de service",
        120,
    ),
]


def _pdf(title: str, lines: list[str]) -> bytes:
    from fpdf import FPDF

    from app.visits.sheets import latin1

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    for line in lines:
        pdf.multi_cell(0, 7, latin1(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def demo_documents(context: Any) -> None:
    from app.core import files
    from app.documents.services import DEPOSIT_AREA, publish

    session, rng, today = context.session, context.rng, context.today
    now = dt.datetime.combine(today, dt.time(9, 0))
    sessions = []
    for index, (title, content, audience, minutes) in enumerate(MODULES):
        module = PreventionModule(
            title=title, content=content, audience=audience, duration_minutes=minutes
        )
        session.add(module)
        session.flush()
        for week in (3 + index, 8 + index):
            start = now + dt.timedelta(weeks=week)
            item = PreventionSession(
                module_id=module.id,
                starts_at=start,
                place="Centre de gestion, salle de formation",
                capacity=12,
                registration_deadline=start.date() - dt.timedelta(days=7),
            )
            session.add(item)
            sessions.append(item)
    session.flush()
    collectivities = context.collectivities[: max(3, min(10, len(context.collectivities)))]
    by_collectivity: dict[int, list[Any]] = {}
    for agent in context.agents:
        by_collectivity.setdefault(agent.collectivity_id, []).append(agent)
    seats: dict[int, int] = {}
    registrations = actions = deposits = 0
    kinds = list(PreventionKind)
    natures = list(
        session.scalars(
            select(DocumentNature).where(DocumentNature.usage == DocumentUsage.employeur)
        )
    )
    for collectivity in collectivities:
        agents = by_collectivity.get(collectivity.id, [])
        for agent in agents[:2]:
            item = sessions[rng.randrange(len(sessions))]
            seat = seats.get(item.id, 0)
            if seat >= item.capacity:
                continue
            seats[item.id] = seat + 1
            session.add(
                PreventionRegistration(
                    collectivity_id=collectivity.id,
                    agent_id=agent.id,
                    session_id=item.id,
                    seat_index=seat,
                    registered_at=now,
                )
            )
            registrations += 1
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(kinds)
            session.add(
                PreventionAction(
                    collectivity_id=collectivity.id,
                    kind=kind,
                    action_on=today - dt.timedelta(days=rng.randint(5, 300)),
                    participants="Médecin de prévention, DRH, assistant de prévention",
                    duration_minutes=rng.choice([60, 90, 120, 180]),
                    summary=f"{kind.label} : points relevés et suites proposées.",
                )
            )
            actions += 1
        if natures and agents:
            nature = rng.choice(natures)
            data = _pdf(nature.label, [collectivity.name, agents[0].full_name])
            stored = files.store(data, DEPOSIT_AREA, f"{nature.code}.pdf")
            received = rng.random() < 0.5
            session.add(
                EmployerDocument(
                    collectivity_id=collectivity.id,
                    agent_id=agents[0].id,
                    nature_id=nature.id,
                    filename=stored.filename,
                    stored_path=stored.path,
                    size=stored.size,
                    uploaded_at=now - dt.timedelta(days=10),
                    no_medical_data_at=now - dt.timedelta(days=10),
                    received_at=now - dt.timedelta(days=8) if received else None,
                )
            )
            deposits += 1
        publish(
            collectivity.id,
            DocumentFolder.rapports_acfi,
            f"Rapport d'inspection {today.year - 1}",
            _pdf(
                "Rapport d'inspection (ACFI)",
                [collectivity.name, "Observations et préconisations de l'inspecteur."],
            ),
            filename=f"rapport-acfi-{today.year - 1}.pdf",
            published_on=today - dt.timedelta(days=40),
        )
    session.flush()
    context.summary["inscriptions de prévention"] = registrations
    context.summary["actions de prévention"] = actions
    context.summary["documents déposés"] = deposits
