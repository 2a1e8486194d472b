"""The tenant-isolation sweep (SPEC A4), reused by every issue that adds screens or resources.

``build_world`` creates collectivities A and B with rows in every tenant-scoped table; every text
of B's rows carries ``SECRET_B`` and every text of A's agent that the secondary account does not
manage carries ``HIDDEN_A``. ``sweep`` then walks every URL rule of the application (not a
hand-written list) as a given employer user and tries to read, change and delete the rows that
user must not reach. A leak is any response that shows a marker or any attempt that does not
answer 403/404 (or an empty result).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from app import roles
from app.accounts.models import PortalMembership
from app.core.views import AppModelRestApi
from app.extensions import metadata
from app.referential.models import (
    Civility,
    Contact,
    ContactFunction,
    Convention,
    HealthTeamMember,
    HealthTeamRole,
    Mission,
)
from app.tenancy import Scope, ScopeKind, criteria_for, system_scope, tenant_models
from app.workforce.models import Agent, AgentAssignment
from tests import factories

SECRET_B = "SECRETB"
HIDDEN_A = "CACHEA"
# What no employer account reads, even of its own collectivity: medical notes, a confidential
# visit, a visit sheet not yet released (SPEC E5, E7, J3).
MEDICAL_NOTE = "NOTEMEDICALE"
CONFIDENTIAL_A = "CONFIDENTIELA"
UNRELEASED_A = "NONPUBLIEEA"
EMPLOYER_MARKERS = (MEDICAL_NOTE, CONFIDENTIAL_A, UNRELEASED_A)

# Tables whose rows legitimately point at a collectivity or an agent without being scoped:
# offices are CDG reference data (served collectivities are filtered when loaded).
UNSCOPED_REFERENCES = {"office.host_collectivity_id", "office_collectivity.collectivity_id"}
# Tables whose content changes by design during a sweep (log-in bookkeeping, audit of refusals).
VOLATILE_TABLES = {"ab_user", "audit_log", "account_security", "alembic_version"}


@dataclass
class World:
    a: Any
    b: Any
    primary_a: Any
    secondary_a: Any
    primary_b: Any
    staff: Any
    ids: dict[str, list[int]] = field(default_factory=dict)


# Domain packages register functions that add their rows to the world (A and B, markers set).
WORLD_BUILDERS: list[Callable[[Session, World], None]] = []


def world_builder(function: Callable[[Session, World], None]) -> Callable[[Session, World], None]:
    WORLD_BUILDERS.append(function)
    return function


def make_agent(session: Session, collectivity: Any, marker: str = "", **overrides: Any) -> Agent:
    n = factories._next()
    values: dict[str, Any] = {
        "collectivity_id": collectivity.id,
        "civility": Civility.madame,
        "first_name": f"Prénom{marker}",
        "birth_name": f"NOM{marker}{n}",
        "birth_date": dt.date(1980, 1, 1) + dt.timedelta(days=n),
        "service": f"Service{marker}",
    }
    values.update(overrides)
    agent = Agent(**values)
    session.add(agent)
    session.flush()
    return agent


@world_builder
def _referential_rows(session: Session, world: World) -> None:
    mission = session.scalar(select(Mission).where(Mission.code == "medprev"))
    for collectivity, marker in ((world.a, "A"), (world.b, SECRET_B)):
        session.add(
            Contact(
                collectivity_id=collectivity.id,
                function=ContactFunction.convocation,
                last_name=f"CONTACT{marker}",
                email=f"contact{marker.lower()}@example.fr",
            )
        )
        professional = factories.make_professional(session, last_name=f"PRO{marker}")
        session.add(
            HealthTeamMember(
                collectivity_id=collectivity.id,
                professional_id=professional.id,
                role=HealthTeamRole.medecin_referent,
            )
        )
        session.add(
            Convention(
                collectivity_id=collectivity.id,
                mission_id=mission.id,
                number=f"CONV-{marker}-{factories._next()}",
                start_date=dt.date(2025, 1, 1),
                end_date=dt.date(2027, 12, 31),
                notes=f"Notes {marker}",
            )
        )


@world_builder
def _agents(session: Session, world: World) -> None:
    assigned = make_agent(session, world.a, "VISIBLEA")
    hidden = make_agent(session, world.a, HIDDEN_A)
    other = make_agent(session, world.b, SECRET_B)
    session.add(
        AgentAssignment(
            agent_id=assigned.id, user_id=world.secondary_a.id, collectivity_id=world.a.id
        )
    )
    # B has a secondary account too (with an assignment A must never see).
    secondary_b = factories.make_user(
        session,
        roles.EMPLOYER_SECONDARY,
        collectivity=world.b,
        primary=world.primary_b,
        username=f"sec{SECRET_B.lower()}",
    )
    session.add(
        AgentAssignment(agent_id=other.id, user_id=secondary_b.id, collectivity_id=world.b.id)
    )
    world.ids["agents"] = [assigned.id, hidden.id, other.id]


@world_builder
def _careers(session: Session, world: World) -> None:
    from app.referential.models import ContractType, Risk
    from app.workforce.models import (
        ChangeStatus,
        Contract,
        Headcount,
        PositionRisk,
        StagedAgentChange,
        WorkPosition,
    )

    autre = session.scalar(select(Risk).where(Risk.code == "autre"))
    contract_type = session.scalar(select(ContractType).where(ContractType.code == "titulaire"))
    agents = {agent_id: session.get(Agent, agent_id) for agent_id in world.ids["agents"]}
    marker_of = {
        world.ids["agents"][0]: "VISIBLEA",
        world.ids["agents"][1]: HIDDEN_A,
        world.ids["agents"][2]: SECRET_B,
    }
    for agent_id, agent in agents.items():
        marker = marker_of[agent_id]
        # Positions belong to the collectivity (a secondary account sees all of A's).
        place = SECRET_B if agent.collectivity_id == world.b.id else f"A{agent_id}"
        position = WorkPosition(collectivity_id=agent.collectivity_id, pcs_code="372d")
        position.set_label(f"Poste {place}")
        position.risk_links = [
            PositionRisk(
                risk=autre, description=f"Risque {place}", collectivity_id=agent.collectivity_id
            )
        ]
        session.add(position)
        session.flush()
        session.add(
            Contract(
                agent_id=agent.id,
                collectivity_id=agent.collectivity_id,
                work_position_id=position.id,
                contract_type_id=contract_type.id,
                start_date=dt.date(2020, 1, 1),
            )
        )
        session.add(
            StagedAgentChange(
                agent_id=agent.id,
                collectivity_id=agent.collectivity_id,
                field="first_name",
                old_value="Ancien",
                new_value=f"Nouveau{marker}",
                status=ChangeStatus.en_attente,
            )
        )
    for collectivity, marker in ((world.a, "A"), (world.b, SECRET_B)):
        session.add(
            Headcount(
                collectivity_id=collectivity.id, year=2025, headcount=111, note=f"Effectif {marker}"
            )
        )


@world_builder
def _declarations(session: Session, world: World) -> None:
    """Annual declarations (SPEC F1): B's validated and reopened (marker in the reason), A's;
    a March reminder recorded for each (REST ``declaration``, « Déclarations », « Effectifs »)."""
    from app.workforce.models import DeclarationReminder, Headcount

    for collectivity, marker in ((world.a, "A"), (world.b, SECRET_B)):
        session.add(
            Headcount(
                collectivity_id=collectivity.id,
                year=2024,
                headcount=222,
                permanent_headcount=200,
                payroll=987654,
                declared_on=dt.date(2024, 3, 1),
                validated_at=dt.datetime(2024, 3, 1, 9, tzinfo=dt.UTC),
                reopened_at=dt.datetime(2024, 4, 1, 9, tzinfo=dt.UTC),
                reopened_reason=f"Motif {marker}",
            )
        )
        session.add(
            DeclarationReminder(
                collectivity_id=collectivity.id,
                year=2024,
                sent_at=dt.datetime(2024, 3, 1, 6, tzinfo=dt.UTC),
            )
        )
    session.flush()


@world_builder
def _planning(session: Session, world: World) -> None:
    from app.planning.models import (
        Appointment,
        AppointmentStatus,
        Plage,
        PlageNature,
        PlageRefusal,
        PlageState,
    )
    from app.referential.models import VisitType

    shared = factories.make_office(session, served=[world.a, world.b], name="Cabinet partagé")
    only_b = factories.make_office(
        session, served=[world.b], name="Cabinet de l'autre collectivité"
    )
    professional = factories.make_professional(session)
    visit = session.scalar(select(VisitType).where(VisitType.code == "periodique"))
    start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=30), dt.time(9, 0))
    plages = {}
    for hour, key, office, state, reserved in (
        (0, "a_reserved", shared, PlageState.reservee, world.a),
        (1, "b_reserved", shared, PlageState.reservee, world.b),
        (2, "common", shared, PlageState.commune, None),
        (3, "b_only_common", only_b, PlageState.commune, None),
        (4, "b_convocation", shared, PlageState.convocation, world.b),
        (5, "b_cancelled", shared, PlageState.annulee, world.b),
    ):
        plage = Plage(
            office_id=office.id,
            professional_id=professional.id,
            starts_at=start + dt.timedelta(hours=hour * 2),
            ends_at=start + dt.timedelta(hours=hour * 2 + 1),
            appointment_minutes=20,
            nature=PlageNature.medecin,
            state=state,
            reserved_for_id=reserved.id if reserved else None,
        )
        session.add(plage)
        plages[key] = plage
    session.flush()
    visible, hidden, other = world.ids["agents"]
    for index, (agent_id, collectivity, marker) in enumerate(
        ((visible, world.a, "A"), (hidden, world.a, HIDDEN_A), (other, world.b, SECRET_B))
    ):
        plage = plages["common"]
        session.add(
            Appointment(
                plage_id=plage.id,
                slot_index=index,
                agent_id=agent_id,
                collectivity_id=collectivity.id,
                starts_at=plage.starts_at + dt.timedelta(minutes=20 * index),
                visit_type_id=visit.id,
                comment=f"Commentaire {marker}",
                status=AppointmentStatus.reservee,
            )
        )
    session.add(
        Appointment(
            plage_id=plages["b_convocation"].id,
            slot_index=0,
            agent_id=other,
            collectivity_id=world.b.id,
            starts_at=plages["b_convocation"].starts_at,
            visit_type_id=visit.id,
            comment=f"Convocation {SECRET_B}",
            status=AppointmentStatus.convoquee,
        )
    )
    # A confidential visit of A's own (assigned) agent (SPEC E7): no A account reads it.
    session.add(
        Appointment(
            plage_id=plages["a_reserved"].id,
            slot_index=0,
            agent_id=visible,
            collectivity_id=world.a.id,
            starts_at=plages["a_reserved"].starts_at,
            visit_type_id=visit.id,
            comment=f"Confidentielle {CONFIDENTIAL_A}",
            status=AppointmentStatus.reservee,
            is_confidential=True,
        )
    )
    session.add(
        PlageRefusal(
            plage_id=plages["b_only_common"].id,
            collectivity_id=world.b.id,
            reason=f"Motif {SECRET_B}",
        )
    )


@world_builder
def _visit_requests(session: Session, world: World) -> None:
    from app.referential.models import VisitType
    from app.visits.models import VisitRequest, VisitRequestState

    visit = session.scalar(select(VisitType).where(VisitType.code == "reprise"))
    visible, hidden, other = world.ids["agents"]
    for agent_id, collectivity, marker, state in (
        (visible, world.a, "A", VisitRequestState.en_attente),
        (hidden, world.a, HIDDEN_A, VisitRequestState.en_attente),
        (other, world.b, SECRET_B, VisitRequestState.en_attente),
        (other, world.b, SECRET_B, VisitRequestState.refusee),
        # Asked by A's own agent himself (SPEC E7): no A account reads it.
        (visible, world.a, CONFIDENTIAL_A, VisitRequestState.en_attente),
    ):
        session.add(
            VisitRequest(
                is_confidential=marker == CONFIDENTIAL_A,
                agent_id=agent_id,
                collectivity_id=collectivity.id,
                visit_type_id=visit.id,
                state=state,
                created_on=dt.date.today(),
                situations=["autre_exposition"],
                other_exposure=f"Exposition {marker}",
                details={"stoppage_nature": "maladie", "therapeutic_part_time": False},
                information=f"Information {marker}",
                refusal_reason=f"Refus {marker}" if state is VisitRequestState.refusee else None,
            )
        )


@world_builder
def _visit_request_attachments(session: Session, world: World) -> None:
    """A PDF attached to each request, its marker in its name and in its bytes (SPEC E1)."""
    from app.core import files
    from app.referential.models import DocumentNature, DocumentUsage
    from app.visits.models import VisitRequest, VisitRequestAttachment

    nature = session.scalar(
        select(DocumentNature).where(
            DocumentNature.usage == DocumentUsage.demande,
            DocumentNature.code == "avis_medical",
        )
    )
    for item in session.scalars(select(VisitRequest).order_by(VisitRequest.id)):
        marker = (item.information or "").removeprefix("Information ")
        data = b"%PDF-1.4\n%" + marker.encode() + b"\n%%EOF\n"
        stored = files.store(data, "demandes-de-visite", f"piece-{marker}.pdf")
        session.add(
            VisitRequestAttachment(
                visit_request_id=item.id,
                collectivity_id=item.collectivity_id,
                nature_id=nature.id,
                filename=stored.filename,
                stored_path=stored.path,
                size=stored.size,
            )
        )


@world_builder
def _consultations(session: Session, world: World) -> None:
    from app.referential.models import VisitType
    from app.visits.consultation_models import Consultation, MedicalAccess, MedicalNote, Outcome

    visit = session.scalar(select(VisitType).where(VisitType.code == "periodique"))
    professional = factories.make_professional(session, last_name="PROVISITE")
    visible, hidden, other = world.ids["agents"]
    today = dt.date.today()
    past = today - dt.timedelta(days=40)
    rows = (
        # (agent, collectivity, marker, confidential, sheet released)
        (visible, world.a, "A", False, True),
        (visible, world.a, CONFIDENTIAL_A, True, True),
        (visible, world.a, UNRELEASED_A, False, False),
        (hidden, world.a, HIDDEN_A, False, True),
        (other, world.b, SECRET_B, False, True),
    )
    consultations = []
    for agent_id, collectivity, marker, confidential, released in rows:
        consultation = Consultation(
            agent_id=agent_id,
            collectivity_id=collectivity.id,
            visit_date=past if released else today,
            visit_type_id=visit.id,
            professional_id=professional.id,
            outcome=Outcome.apte_restrictions,
            restrictions=f"Restriction {marker}",
            is_confidential=confidential,
            sheet_available_on=past + dt.timedelta(days=12 if released else 52),
        )
        session.add(consultation)
        consultations.append(consultation)
    session.flush()
    for consultation in consultations:
        session.add(
            MedicalNote(consultation_id=consultation.id, text=f"Note {MEDICAL_NOTE} confidentielle")
        )
        session.add(
            MedicalAccess(
                username="sante-sweep",
                agent_id=consultation.agent_id,
                agent_label=f"Agent {MEDICAL_NOTE}",
                consultation_id=consultation.id,
                what=f"Notes {MEDICAL_NOTE}",
            )
        )
    world.ids["consultations"] = [c.id for c in consultations]


@world_builder
def _due_dates(session: Session, world: World) -> None:
    """Due rows (SPEC E3): computed for the world's agents, plus one row of an agent without
    contract in B and in A (not assigned to the secondary), its marker in the explanation (a
    recompute never touches them: they have no contract, nothing triggers it)."""
    from app.visits import due
    from app.visits.due_models import DueDate, DueKind

    due.flush_pending(session)
    for collectivity, marker in ((world.b, SECRET_B), (world.a, HIDDEN_A)):
        agent = make_agent(session, collectivity, marker)
        session.add(
            DueDate(
                agent_id=agent.id,
                collectivity_id=collectivity.id,
                kind=DueKind.periodique,
                due_on=dt.date.today(),
                legal_reference=f"Référence {marker}",
                explanation=f"Dernière visite {marker}",
                computed_on=dt.date.today(),
            )
        )


@world_builder
def _statutory_requests(session: Session, world: World) -> None:
    """Statutory-medicine requests of A's two agents and B's, each with a medical report that no
    employer account reads, not even of its own collectivity (issue 13)."""
    from app.referential.models import StatutoryAct
    from app.statutory.models import StatutoryReport, StatutoryRequest, StatutoryStatus

    act = session.scalar(select(StatutoryAct).where(StatutoryAct.number == 7))
    visible, hidden, other = world.ids["agents"]
    today = dt.date.today()
    for agent_id, collectivity, marker in (
        (visible, world.a, "A"),
        (hidden, world.a, HIDDEN_A),
        (other, world.b, SECRET_B),
    ):
        item = StatutoryRequest(
            agent_id=agent_id,
            collectivity_id=collectivity.id,
            act_id=act.id,
            kind=act.kind,
            mandatory=act.mandatory,
            coefficient=act.coefficient,
            information=f"Information statutaire {marker}",
            requested_on=today,
            deadline_on=today + dt.timedelta(days=21),
            consumed_on=today,
            status=StatutoryStatus.en_attente,
            cancel_reason=f"Motif {marker}",
        )
        session.add(item)
        session.flush()
        session.add(StatutoryReport(request_id=item.id, text=f"Rapport {MEDICAL_NOTE} {marker}"))
    # Inspection years and days of A and B (SPEC I2).
    from decimal import Decimal

    from app.statutory.models import AcfiDay, AcfiPlan

    for collectivity, marker in ((world.a, "A"), (world.b, SECRET_B)):
        plan = AcfiPlan(
            collectivity_id=collectivity.id,
            year=today.year,
            volume_days=Decimal(3),
            headcount=120,
            affiliated=True,
            amendment_reference=f"AV-{marker}",
            note=f"Note ACFI {marker}",
        )
        session.add(plan)
        session.flush()
        session.add(
            AcfiDay(
                plan_id=plan.id,
                collectivity_id=collectivity.id,
                day_on=today,
                days=Decimal(1),
                inspector=f"Inspecteur {marker}",
                note=f"Observation {marker}",
            )
        )


@world_builder
def _documents_and_prevention(session: Session, world: World) -> None:
    """Deposits, published documents, prevention actions and registrations of A's two agents
    and B's (issue 15); each marker in a name and in the PDF bytes. A's document of the
    collectivity as a whole is its primary account's only."""
    from app.core import files
    from app.documents.models import (
        DocumentFolder,
        EmployerDocument,
        PreventionAction,
        PreventionKind,
        PreventionModule,
        PreventionRegistration,
        PreventionSession,
        PublishedDocument,
    )
    from app.referential.models import DocumentNature, DocumentUsage

    nature = session.scalar(
        select(DocumentNature).where(
            DocumentNature.usage == DocumentUsage.employeur, DocumentNature.code == "fiche_poste"
        )
    )
    now = dt.datetime.now().replace(microsecond=0)
    module = PreventionModule(
        title=f"Module sweep {factories._next()}",
        content="Gestes et postures",
        audience="Agents techniques",
        duration_minutes=120,
    )
    session.add(module)
    session.flush()
    seminar = PreventionSession(
        module_id=module.id,
        starts_at=now + dt.timedelta(days=30),
        place="Salle du CDG",
        capacity=10,
        registration_deadline=(now + dt.timedelta(days=20)).date(),
    )
    session.add(seminar)
    session.flush()
    visible, hidden, other = world.ids["agents"]
    for seat, (agent_id, collectivity, marker) in enumerate(
        ((visible, world.a, "A"), (hidden, world.a, HIDDEN_A), (other, world.b, SECRET_B))
    ):
        data = b"%PDF-1.4\n%" + marker.encode() + b"\n%%EOF\n"
        stored = files.store(data, "documents-employeur", f"depot-{marker}.pdf")
        session.add(
            EmployerDocument(
                collectivity_id=collectivity.id,
                agent_id=agent_id,
                nature_id=nature.id,
                filename=stored.filename,
                stored_path=stored.path,
                size=stored.size,
                uploaded_at=now,
                no_medical_data_at=now,
            )
        )
        stored = files.store(data, "documents-publies", f"publie-{marker}.pdf")
        session.add(
            PublishedDocument(
                collectivity_id=collectivity.id,
                agent_id=agent_id,
                folder=DocumentFolder.autres,
                title=f"Document {marker}",
                filename=stored.filename,
                stored_path=stored.path,
                size=stored.size,
                published_on=now.date(),
            )
        )
        session.add(
            PreventionRegistration(
                collectivity_id=collectivity.id,
                agent_id=agent_id,
                session_id=seminar.id,
                seat_index=seat,
                registered_at=now,
            )
        )
    for collectivity, marker in ((world.a, "A"), (world.b, SECRET_B)):
        data = b"%PDF-1.4\n%" + marker.encode() + b"\n%%EOF\n"
        # A's report is not about an agent: its secondary account never reads it.
        whole = HIDDEN_A if collectivity is world.a else SECRET_B
        report = b"%PDF-1.4\n%" + whole.encode() + b"\n%%EOF\n"
        stored = files.store(report, "documents-publies", f"rapport-{whole}.pdf")
        session.add(
            PublishedDocument(
                collectivity_id=collectivity.id,
                folder=DocumentFolder.rapports_acfi,
                title=f"Rapport ACFI {whole}",
                filename=stored.filename,
                stored_path=stored.path,
                size=stored.size,
                published_on=now.date(),
            )
        )
        stored = files.store(data, "prevention", f"compte-rendu-{marker}.pdf")
        session.add(
            PreventionAction(
                collectivity_id=collectivity.id,
                kind=PreventionKind.f3sct,
                action_on=now.date(),
                participants=f"Participants {marker}",
                duration_minutes=90,
                summary=f"Résumé {marker}",
                report_filename=stored.filename,
                report_path=stored.path,
            )
        )


@world_builder
def _dashboard_absences(session: Session, world: World) -> None:
    """A past unjustified absence of B (the dashboards' absenteeism by collectivity names B:
    its name must never reach A's restricted dashboard)."""
    from app.planning.models import Appointment, AppointmentStatus, Plage, PlageNature, PlageState
    from app.referential.models import Office, VisitType

    office = session.scalar(select(Office).where(Office.name == "Cabinet partagé"))
    visit = session.scalar(select(VisitType).where(VisitType.code == "periodique"))
    start = dt.datetime.combine(dt.date.today() - dt.timedelta(days=10), dt.time(9, 0))
    plage = Plage(
        office_id=office.id,
        professional_id=factories.make_professional(session, last_name="PROTDB").id,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        appointment_minutes=20,
        nature=PlageNature.medecin,
        state=PlageState.convocation,
        reserved_for_id=world.b.id,
    )
    session.add(plage)
    session.flush()
    session.add(
        Appointment(
            plage_id=plage.id,
            slot_index=0,
            agent_id=world.ids["agents"][2],
            collectivity_id=world.b.id,
            starts_at=start,
            visit_type_id=visit.id,
            comment=f"Absence {SECRET_B}",
            status=AppointmentStatus.absence_injustifiee,
        )
    )


@world_builder
def _invoices(session: Session, world: World) -> None:
    """Invoices of A and B with a payment and a credit note (issue 14). B's carry SECRET_B in
    their label and line sources; A's carry HIDDEN_A: a secondary account sees no invoice."""
    from decimal import Decimal

    from app.billing.invoices import LineInput, credit_note, issue_invoice, record_payment

    today = dt.date.today()
    for collectivity, marker in ((world.a, HIDDEN_A), (world.b, SECRET_B)):
        line = LineInput(
            label=f"Cotisation {marker}",
            quantity=Decimal(12),
            unit_price=Decimal("87.00"),
            amount=Decimal("1044.00"),
            source=f"12 agents déclarés {marker}",
        )
        invoice = issue_invoice(
            collectivity_id=collectivity.id,
            label=f"Cotisations {marker}",
            lines=[line],
            run_key=f"contributions:{today.year}:{collectivity.id}",
            issue_date=today,
        )
        record_payment(invoice.id, Decimal("44.00"), today, f"VIR-{marker}")
        credit_note(invoice.id, amount=Decimal("100.00"), reason=f"Motif {marker}")
        world.ids.setdefault("invoices", []).append(invoice.id)


def build_world(session: Session) -> World:
    a = factories.make_collectivity(session, name="Commune Alpha")
    b = factories.make_collectivity(
        session, name=f"Commune {SECRET_B}", main_city=f"Ville{SECRET_B}"
    )
    primary_a = factories.make_user(
        session, roles.EMPLOYER_PRIMARY, collectivity=a, username="primaire-a"
    )
    world = World(
        a=a,
        b=b,
        primary_a=primary_a,
        secondary_a=factories.make_user(
            session,
            roles.EMPLOYER_SECONDARY,
            collectivity=a,
            primary=primary_a,
            username="secondaire-a",
        ),
        primary_b=factories.make_user(
            session, roles.EMPLOYER_PRIMARY, collectivity=b, username=f"primaire{SECRET_B.lower()}"
        ),
        staff=factories.make_user(session, roles.SECRETARIAT, username="secretaire-sweep"),
    )
    for builder in WORLD_BUILDERS:
        builder(session, world)
        session.flush()
    return world


# ----------------------------------------------------------------------------------------------
# What a user must not reach
# ----------------------------------------------------------------------------------------------


def scope_of(session: Session, user: Any) -> Scope:
    membership = session.scalar(select(PortalMembership).where(PortalMembership.user_id == user.id))
    return Scope(
        ScopeKind.EMPLOYER,
        user_id=user.id,
        collectivity_id=membership.collectivity_id,
        secondary_user_id=user.id if membership.primary_user_id else None,
    )


def forbidden_ids(session: Session, scope: Scope) -> dict[type, list[Any]]:
    """For each tenant model, the primary keys the scope must never read, change or delete."""
    result = {}
    with system_scope():
        for model in tenant_models():
            pk = inspect(model).primary_key[0]
            allowed = criteria_for(model, scope)
            rows = session.execute(select(pk).where(~allowed).order_by(pk)).scalars().all()
            result[model] = list(rows)
    return result


def visible_ids(session: Session, scope: Scope) -> dict[type, list[Any]]:
    result = {}
    with system_scope():
        for model in tenant_models():
            pk = inspect(model).primary_key[0]
            rows = (
                session.execute(select(pk).where(criteria_for(model, scope)).order_by(pk))
                .scalars()
                .all()
            )
            result[model] = list(rows)
    return result


def unscoped_references() -> list[str]:
    """Columns pointing at a collectivity or an agent from a table that is not tenant-scoped."""
    scoped_tables = {model.__table__.name for model in tenant_models()}
    problems = []
    for table in metadata.sorted_tables:
        if table.name in scoped_tables:
            continue
        for column in table.columns:
            for fk in column.foreign_keys:
                if fk.column.table.name in ("collectivity", "agent"):
                    name = f"{table.name}.{column.name}"
                    if name not in UNSCOPED_REFERENCES:
                        problems.append(name)
    return problems


def fingerprint(session: Session) -> dict[str, Any]:
    """Row counts and a content digest of every table but the volatile ones."""
    result = {}
    dialect = session.get_bind().dialect.name
    for table in metadata.sorted_tables:
        if table.name in VOLATILE_TABLES:
            continue
        count = session.execute(select(func.count()).select_from(table)).scalar()
        if dialect == "postgresql":
            digest = session.execute(
                text(
                    f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM \"{table.name}\" t"
                )
            ).scalar()
        else:
            rows = session.execute(select(table)).all()
            digest = hash(tuple(sorted(repr(tuple(r)) for r in rows)))
        result[table.name] = (count, digest)
    return result


# ----------------------------------------------------------------------------------------------
# The sweep
# ----------------------------------------------------------------------------------------------


@dataclass
class SweepReport:
    leaks: list[str] = field(default_factory=list)
    cases: int = 0
    unknown_routes: list[str] = field(default_factory=list)

    def leak(self, message: str) -> None:
        self.leaks.append(message)


def _markers_in(body: str, markers: tuple[str, ...]) -> list[str]:
    return [m for m in markers if m in body]


def response_text(response: Any) -> str:
    """The text of a response; an XLSX download (a ZIP archive) is read from its XML parts."""
    import io
    import zipfile

    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "".join(
                archive.read(name).decode("utf-8", "replace")
                for name in archive.namelist()
                if name.endswith(".xml")
            )
    return data.decode("utf-8", "replace")


# How to forge the arguments of custom routes: an argument names the model whose forbidden ids
# are tried; "user_id" takes the users the caller must not manage; an enumerated argument
# ("kind") is tried with each value and its pages checked for markers. A route with any other
# argument is reported as unknown, so a new route cannot escape the sweep.
ARGUMENT_MODELS = {
    "plage_id": "Plage",
    "appointment_id": "Appointment",
    "agent_id": "Agent",
    "position_id": "WorkPosition",
    "contract_id": "Contract",
    "consultation_id": "Consultation",
    "request_id": "VisitRequest",
    "attachment_id": "VisitRequestAttachment",
    "statutory_request_id": "StatutoryRequest",
    "acfi_plan_id": "AcfiPlan",
    "acfi_day_id": "AcfiDay",
    "declaration_id": "Headcount",
    "employer_document_id": "EmployerDocument",
    "published_document_id": "PublishedDocument",
    "prevention_action_id": "PreventionAction",
    "prevention_registration_id": "PreventionRegistration",
    "invoice_id": "Invoice",
    "archiving_id": "ArchivingIntervention",
}
ENUMERATED_ARGUMENTS = {"kind": ["positions", "agents", "exits"], "fmt": ["csv", "xlsx"]}
# Staff screens no employer account opens at all (403 to every method, exports included).
STAFF_ONLY_PREFIXES = ("/consultations/historique/", "/facturation/", "/comptabilite/factures/")
# Factur-X and Chorus Pro deposits (issue 18): staff screens and downloads.
STAFF_ONLY_PREFIXES += ("/comptabilite/factures-x/", "/comptabilite/chorus/")
# Chorus Pro batches are staff records (no collectivity owns one): refused to every employer.
ENUMERATED_ARGUMENTS["batch_id"] = ["1", "2"]

# Dashboard figures and annual reports (issue 17): a figure key, a format, a year.
DASHBOARD_ARGUMENTS = {
    "key": ["visites", "remplissage", "absenteisme", "statutaire", "effectifs", "factures"],
    "fmt": ["csv", "xlsx", "pdf"],
    "year": [str(dt.date.today().year - 1), str(dt.date.today().year)],
}


def _sweep_dashboard_rule(
    report: SweepReport, web: Any, rule: Any, methods: set[str], markers: tuple[str, ...]
) -> None:
    """Every combination of the dashboard arguments: no marker in what answers, and the staff
    dashboard refused outright."""
    import itertools

    names = sorted(rule.arguments)
    for values in itertools.product(*(DASHBOARD_ARGUMENTS[name] for name in names)):
        url = rule.rule
        for name, value in zip(names, values, strict=True):
            url = re.sub(rf"<(?:\w+:)?{name}>", value, url)
        response = web.get(url)
        report.cases += 1
        found = _markers_in(response_text(response), markers)
        if response.status_code < 400 and found:
            report.leak(f"GET {url} shows {found}")
        if url.startswith("/tableau-de-bord/"):
            _try(report, web, url, methods)


def _forged_arguments(
    rule: Any,
    forbidden: dict[type, list[Any]],
    visible: dict[type, list[Any]],
    context: dict[str, Any],
) -> list[dict[str, Any]] | None:
    """Argument sets to try: every argument forbidden, then each one forbidden with the others
    taken from the caller's own rows. None when an argument is unknown."""
    names = sorted(rule.arguments)
    by_name = {model.__name__: model for model in forbidden}
    choices: dict[str, tuple[list[Any], list[Any]]] = {}
    for name in names:
        if name == "user_id":
            choices[name] = (context["foreign_user_ids"], [])
        elif name in ARGUMENT_MODELS:
            model = by_name[ARGUMENT_MODELS[name]]
            choices[name] = (forbidden[model][:2], visible.get(model, [])[:1])
        else:
            return None
    combos = [{name: choices[name][0][0] for name in names if choices[name][0]}]
    for forged in names:
        if (
            len(names) > 1
            and all(choices[n][1] for n in names if n != forged)
            and choices[forged][0]
        ):
            combos.append(
                {n: (choices[n][0][0] if n == forged else choices[n][1][0]) for n in names}
            )
    for name in names:
        for extra in choices[name][0][1:]:
            combos.append({**combos[0], name: extra})
    return [c for c in combos if len(c) == len(names)]


# Routes with arguments that expose no tenant data (static files, language, API version...).
HARMLESS_ROUTES = {
    "static",
    "appbuilder.static",
    "LocaleView.index",
    "OpenApi.get",
    "SwaggerView.show",
    "OutboxView.show",
    "SetPasswordView.form",
}


def sweep(
    app: Flask,
    web: Any,
    api: Any,
    forbidden: dict[type, list[Any]],
    markers: tuple[str, ...],
    context: dict[str, Any],
) -> SweepReport:
    """Try every route as the signed-in user ``web`` (and ``api`` for the REST API)."""
    report = SweepReport()
    views = {type(v).__name__: v for v in app.appbuilder.baseviews}
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    # Reads first, then writes, deletions last: a successful forbidden deletion would hide
    # every later leak of the same row.
    for phase in (("GET",), ("POST", "PUT"), ("DELETE", "remove")):
        for rule in rules:
            _sweep_rule(report, app, views, rule, phase, web, api, forbidden, markers, context)
    return report


def _phase_methods(rule: Any, phase: tuple[str, ...]) -> set[str]:
    methods = rule.methods - {"HEAD", "OPTIONS"}
    destructive = "delete" in rule.endpoint.lower() or "remove" in rule.endpoint.lower()
    if phase[0] == "DELETE":
        return methods - {"GET"} if destructive else methods & {"DELETE"}
    if destructive:
        return set()
    return methods & set(phase)


def _sweep_rule(
    report: SweepReport,
    app: Flask,
    views: dict[str, Any],
    rule: Any,
    phase: tuple[str, ...],
    web: Any,
    api: Any,
    forbidden: dict[type, list[Any]],
    markers: tuple[str, ...],
    context: dict[str, Any],
) -> None:
    endpoint = rule.endpoint
    view_name, _, method_name = endpoint.partition(".")
    view = views.get(view_name)
    methods = _phase_methods(rule, phase)
    if not methods:
        return
    if endpoint in HARMLESS_ROUTES or endpoint.endswith(".static") or "logout" in rule.rule:
        return
    if isinstance(view, AppModelRestApi):
        _sweep_api_rule(report, api, rule, view, forbidden, markers, methods, context)
        return
    if not rule.arguments:
        if "GET" in methods:
            response = web.get(rule.rule)
            report.cases += 1
            found = _markers_in(response.get_data(as_text=True), markers)
            if response.status_code < 400 and found:
                report.leak(f"GET {rule.rule} shows {found}")
        if rule.rule.startswith(STAFF_ONLY_PREFIXES):
            _try(report, web, rule.rule, methods)
        if (
            "POST" in methods
            and view is not None
            and hasattr(view, "datamodel")
            and method_name == "add"
        ):
            _post_foreign_references(report, web, rule.rule, view, forbidden)
        return
    model = getattr(getattr(view, "datamodel", None), "obj", None)
    if model is not None and "pk" in rule.arguments:
        if model not in forbidden:
            return  # records of a model no employer owns (reference data): permissions decide
        for pk in forbidden[model][:3]:
            url = re.sub(r"<(?:\w+:)?pk>", str(pk), rule.rule)
            url = re.sub(r"<[^>]+>", "muldelete", url)
            _try(report, web, url, methods)
        return
    if "filename" in rule.arguments:
        return  # FAB's download route: no role is granted its permission (403 by default)
    if rule.rule in DECISION_POSTS and phase[0] == "POST":
        _press_decisions(report, web, rule.rule, context.get("procedure_ids", []))
    enumerated = [name for name in rule.arguments if name in ENUMERATED_ARGUMENTS]
    if enumerated and len(rule.arguments) == 1:
        for value in ENUMERATED_ARGUMENTS[enumerated[0]]:
            url = re.sub(rf"<(?:\w+:)?{enumerated[0]}>", value, rule.rule)
            if "GET" in methods:
                response = web.get(url)
                report.cases += 1
                found = _markers_in(response_text(response), markers)
                if response.status_code < 400 and found:
                    report.leak(f"GET {url} shows {found}")
            if url.startswith(STAFF_ONLY_PREFIXES):
                _try(report, web, url, methods)
        return
    if rule.arguments and set(rule.arguments) <= set(DASHBOARD_ARGUMENTS):
        _sweep_dashboard_rule(report, web, rule, methods, markers)
        return
    combos = _forged_arguments(rule, forbidden, context["visible"], context)
    if combos is None:
        if phase[0] == "GET":
            report.unknown_routes.append(f"{endpoint} {rule.rule}")
        return
    for args in combos:
        url = rule.rule
        for key, value in args.items():
            url = re.sub(rf"<(?:\w+:)?{key}>", str(value), url)
        _try(report, web, url, methods)


def _press_decisions(report: SweepReport, web: Any, rule: str, ids: list[int]) -> None:
    """Accept and refuse procedures the swept user does not administer: 404 (403 for a role
    without « Démarches à valider ») each time."""
    for procedure_id in ids:
        url = re.sub(r"<[^>]+>", str(procedure_id), rule)
        for data in DECISION_POSTS[rule]:
            response = web.post(url, data={**data, "csrf_token": web.csrf_token_value})
            report.cases += 1
            if response.status_code not in (403, 404):  # 403: a role without the screen
                report.leak(f"POST {url} {data} answered {response.status_code}")


def _try(report: SweepReport, web: Any, url: str, methods: set[str]) -> None:
    for method in sorted(methods):
        data = {"csrf_token": web.csrf_token_value} if method == "POST" else None
        response = web.open(url, method=method, data=data)
        report.cases += 1
        if response.status_code not in (403, 404, 405):
            report.leak(f"{method} {url} answered {response.status_code}")


def _post_foreign_references(
    report: SweepReport, web: Any, url: str, view: Any, forbidden: dict[type, list[Any]]
) -> None:
    """An add form posted with ids of rows the user cannot reach must create nothing."""
    model = view.datamodel.obj
    relations = [
        (name, prop.mapper.class_)
        for name, prop in inspect(model).relationships.items()
        if prop.mapper.class_ in forbidden
        and forbidden[prop.mapper.class_]
        and prop.direction.name == "MANYTOONE"
    ]
    for name, target in relations:
        response = web.post(
            url, data={name: forbidden[target][0], "csrf_token": web.csrf_token_value}
        )
        report.cases += 1
        if response.status_code == 302:
            report.leak(f"POST {url} accepted {name}={forbidden[target][0]}")


# Lists written through the REST API (CONTRACT.md §2 « Values »): every API write attempt of
# these resources also carries them, with values the caller must not assign.
API_LIST_FIELDS = {
    "agent": ("secondary_account_ids",),
    "office": ("served_collectivity_ids",),
    "work_position": ("risks",),
}
# Lists of ids: changing one of the caller's own rows with them must answer 403 or 404 too.
API_ID_LISTS = {"secondary_account_ids", "served_collectivity_ids"}


def _forbidden_list_values(
    view: Any, forbidden: dict[type, list[Any]], context: dict[str, Any]
) -> dict[str, Any]:
    """The list fields of the resource, each with values the caller must not assign: users who
    are not his own secondary accounts, collectivities he cannot read (risks are reference
    codes: they are tried on rows he cannot reach)."""
    collectivities = next(
        (ids for model, ids in forbidden.items() if model.__name__ == "Collectivity"), []
    )
    candidates = {
        "secondary_account_ids": list(context.get("foreign_user_ids", [])),
        "served_collectivity_ids": list(collectivities[:2]),
        "risks": ["autre"],
    }
    return {
        name: candidates[name]
        for name in API_LIST_FIELDS.get(view.resource_name, ())
        if candidates[name]
    }


def _sweep_api_rule(
    report: SweepReport,
    api: Any,
    rule: Any,
    view: Any,
    forbidden: dict[type, list[Any]],
    markers: tuple[str, ...],
    methods: set[str],
    context: dict[str, Any] | None = None,
) -> None:
    model = view.datamodel.obj
    base = rule.rule
    lists = _forbidden_list_values(view, forbidden, context or {})
    if not rule.arguments:
        if "GET" in methods:
            response = api.get(base)
            report.cases += 1
            body = response.get_data(as_text=True)
            if response.status_code < 400 and _markers_in(body, markers):
                report.leak(f"API GET {base} shows {_markers_in(body, markers)}")
            if base.endswith("/") and response.status_code == 200 and model in forbidden:
                ids = {row.get("id") for row in response.get_json().get("result", [])}
                if ids & set(forbidden[model]):
                    report.leak(f"API GET {base} lists forbidden ids {ids & set(forbidden[model])}")
        if "POST" in methods:
            _api_post_foreign_references(report, api, base, view, forbidden, lists)
        return
    if model not in forbidden:
        return
    if "PUT" in methods and re.search(r"<(?:\w+:)?pk>$", base):
        _api_put_foreign_lists(report, api, base, model, lists, context or {})
    urls = [re.sub(r"<(?:\w+:)?pk>", str(pk), base) for pk in forbidden[model][:3]]
    # Other arguments of an action (``attachment/<attachment_id>``): forbidden ids, also under
    # one of the caller's own records (a forged pair).
    by_name = {m.__name__: m for m in forbidden}
    own = (context or {}).get("visible", {}).get(model, [])[:1]
    for name in sorted(set(rule.arguments) - {"pk"}):
        if name not in ARGUMENT_MODELS:
            continue
        other = forbidden[by_name[ARGUMENT_MODELS[name]]][:2]
        pattern = rf"<(?:\w+:)?{name}>"
        urls = [re.sub(pattern, str(value), url) for url in urls for value in other]
        urls += [
            re.sub(pattern, str(value), re.sub(r"<(?:\w+:)?pk>", str(pk), base))
            for pk in own
            for value in other
        ]
    for url in urls:
        for method in sorted(methods):
            if method == "GET":
                response = api.get(url)
            elif method == "PUT":
                response = api.put(url, json=lists)
            elif method == "DELETE":
                response = api.delete(url)
            else:
                response = api.client.open(url, method=method, headers=api.headers)
            report.cases += 1
            if response.status_code not in (403, 404, 405):
                report.leak(f"API {method} {url} answered {response.status_code}")


def _api_put_foreign_lists(
    report: SweepReport,
    api: Any,
    base: str,
    model: type,
    lists: dict[str, Any],
    context: dict[str, Any],
) -> None:
    """Change one of the user's own rows with a list of ids he must not assign: 403 or 404."""
    own = (context.get("visible") or {}).get(model) or []
    if not own:
        return
    url = re.sub(r"<(?:\w+:)?pk>", str(own[0]), base)
    for name, values in lists.items():
        if name not in API_ID_LISTS:
            continue
        response = api.put(url, json={name: values})
        report.cases += 1
        if response.status_code not in (403, 404):
            report.leak(f"API PUT {url} {name}={values} answered {response.status_code}")


def _api_post_foreign_references(
    report: SweepReport,
    api: Any,
    url: str,
    view: Any,
    forbidden: dict[type, list[Any]],
    lists: dict[str, Any] | None = None,
) -> None:
    """POST a copy of one of the user's own rows with a foreign key to a row he cannot reach,
    or with a list of ids he must not assign."""
    model = view.datamodel.obj
    listing = api.get(url)
    rows = listing.get_json().get("result", []) if listing.status_code == 200 else []
    if not rows:
        return
    own = api.get(f"{url}{rows[0]['id']}").get_json().get("result", {})
    template = {key: value for key, value in own.items() if key in view.add_columns}
    for column in model.__table__.columns:
        for fk in column.foreign_keys:
            target = next((m for m in forbidden if m.__table__ is fk.column.table), None)
            if target is None or not forbidden[target] or column.name not in view.add_columns:
                continue
            response = api.post(url, json={**template, column.name: forbidden[target][0]})
            report.cases += 1
            if response.status_code == 201:
                report.leak(f"API POST {url} accepted {column.name}={forbidden[target][0]}")
    for name, values in (lists or {}).items():
        if name not in API_ID_LISTS:
            continue
        response = api.post(url, json={**template, name: values})
        report.cases += 1
        if response.status_code == 201:
            report.leak(f"API POST {url} accepted {name}={values}")


def identity_replay_leaks(app: Flask, stolen_web: Any, token: str) -> tuple[int, list[str]]:
    """Every GET route without arguments, tried with the cookie and the API token of an account
    that no longer exists (its id now names another account): anything that answers as a
    signed-in user is a leak. Returns (attempts, leaks)."""
    anonymous = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    attempts, leaks = 0, []
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        url = rule.rule
        attempts += 1
        if url.startswith("/api/"):
            response = anonymous.get(url, headers=headers)
            if response.status_code == 200 and anonymous.get(url).status_code != 200:
                leaks.append(f"API {url}")
            continue
        if stolen_web.get(url).status_code == 200 and anonymous.get(url).status_code != 200:
            leaks.append(url)
    return attempts, leaks


# ----------------------------------------------------------------------------------------------
# Step: a secondary account acts on the collectivity's shared objects (security issue 8)
# ----------------------------------------------------------------------------------------------

# The refusal each collectivity-wide rule answers (a 403 of the matrix is a refusal too).
HELD_PLAGE = "Votre collectivité a des rendez-vous sur cette plage"
FULL_PLAGE = "Plus aucune place n'est disponible sur cette plage"
HELD_POSITION = "agent présent"
DUPLICATE_AGENT = "Cet agent existe déjà"


@dataclass
class SharedObjects:
    """A's objects the whole collectivity shares, each holding a row of the agent A's secondary
    account does not manage (booked or held through the primary account)."""

    reserved_plage: int  # reserved for A, with the primary's appointment on it
    full_plage: int  # A's one-unit plage the primary filled
    primary_appointment: int
    held_position: int  # held by the agent the secondary does not manage
    hidden_agent: int
    visible_agent: int


def build_shared_objects(session: Session, world: World) -> SharedObjects:
    from app.planning.models import Appointment, AppointmentStatus, Plage, PlageNature, PlageState
    from app.referential.models import VisitType
    from app.workforce.models import Contract

    visible, hidden, _ = world.ids["agents"]
    office = factories.make_office(session, served=[world.a], name="Cabinet de A")
    professional = factories.make_professional(session, last_name="PARTAGE")
    visit = session.scalar(select(VisitType).where(VisitType.code == "periodique"))
    start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=40), dt.time(9, 0))
    plages = []
    for hour, minutes in ((0, 60), (2, 20)):
        plage = Plage(
            office_id=office.id,
            professional_id=professional.id,
            starts_at=start + dt.timedelta(hours=hour),
            ends_at=start + dt.timedelta(hours=hour, minutes=minutes),
            appointment_minutes=20,
            nature=PlageNature.medecin,
            state=PlageState.reservee,
            reserved_for_id=world.a.id,
        )
        session.add(plage)
        session.flush()
        plages.append(plage)
    appointments = []
    for plage in plages:
        appointment = Appointment(
            plage_id=plage.id,
            slot_index=0,
            agent_id=hidden,
            collectivity_id=world.a.id,
            starts_at=plage.starts_at,
            visit_type_id=visit.id,
            status=AppointmentStatus.reservee,
            booked_by_id=world.primary_a.id,
        )
        session.add(appointment)
        appointments.append(appointment)
    session.flush()
    held = session.scalar(select(Contract.work_position_id).where(Contract.agent_id == hidden))
    return SharedObjects(
        reserved_plage=plages[0].id,
        full_plage=plages[1].id,
        primary_appointment=appointments[0].id,
        held_position=held,
        hidden_agent=hidden,
        visible_agent=visible,
    )


def secondary_acts_on_shared_objects(
    app: Flask, web: Any, api: Any, shared: SharedObjects, scope: Scope
) -> list[str]:
    """As A's secondary account, try every action on objects the collectivity shares; each
    must be refused by the collectivity-wide rule (with its message) or by the matrix / scope.
    Returns what was accepted or refused without the rule's message."""
    from app.extensions import db
    from app.rules.errors import DomainError
    from app.tenancy import scope_as
    from app.workforce import positions
    from app.workforce.models import WorkPosition

    problems: list[str] = []

    def expect(label: str, response: Any, statuses: tuple[int, ...], message: str = "") -> None:
        body = html.unescape(response.get_data(as_text=True))
        if response.is_json:
            body = str((response.get_json() or {}).get("message", body))
        if response.status_code not in statuses or (message and message not in body):
            problems.append(f"{label}: {response.status_code} {body[:200]!r}")

    def follow(response: Any) -> Any:
        if response.status_code == 302:
            return web.get(response.headers["Location"])
        return response

    token = {"csrf_token": web.csrf_token_value}
    plage, full = shared.reserved_plage, shared.full_plage
    # Refuse a reserved plage holding the primary's appointment.
    expect(
        "API refuse",
        api.post(f"/api/v1/plage/{plage}/refuse", json={"reason": "Indisponible"}),
        (400,),
        HELD_PLAGE,
    )
    expect(
        "web refuse",
        follow(
            web.post(
                f"/portail/consultations/plage/{plage}/refuser",
                data={**token, "reason": "Indisponible"},
            )
        ),
        (200,),
        HELD_PLAGE,
    )
    # Cancel the primary's appointment (an agent the secondary does not manage).
    appointment = shared.primary_appointment
    expect("API cancel", api.post(f"/api/v1/appointment/{appointment}/cancel"), (404,))
    expect(
        "web cancel",
        web.post(f"/portail/consultations/rendez-vous/{appointment}/annuler", data=token),
        (404,),
    )
    # Book into a plage the primary's bookings fill.
    booking = {"agent_id": shared.visible_agent, "visit_type": "periodique", "comment": ""}
    expect("API book", api.post(f"/api/v1/plage/{full}/book", json=booking), (409,), FULL_PLAGE)
    expect(
        "web book",
        web.post(
            f"/portail/consultations/plage/{full}/reserver",
            data={**token, **booking, "confirm": "1"},
        ),
        (200,),
        FULL_PLAGE,
    )
    # Delete, close or edit a position held by an agent the secondary does not manage.
    position = shared.held_position
    for action in ("supprimer", "cloturer"):
        response = follow(web.post(f"/postes/{position}/{action}", data=token))
        expect(f"web position {action}", response, (403, 200), "")
        if response.status_code == 200 and HELD_POSITION not in html.unescape(
            response.get_data(as_text=True)
        ):
            problems.append(f"web position {action}: accepted")
    expect("API position delete", api.delete(f"/api/v1/work_position/{position}"), (403,))
    with app.app_context(), scope_as(scope):
        item = db.session.get(WorkPosition, position)
        for name, service in (
            ("delete_position", positions.delete_position),
            ("close_position", positions.close_position),
        ):
            try:
                service(item)
                db.session.flush()
            except DomainError as error:
                if HELD_POSITION not in error.message:
                    problems.append(f"{name}: {error.message}")
            except Exception as error:  # the database refused what the rule let through
                problems.append(f"{name}: accepted, then {type(error).__name__}")
            else:
                problems.append(f"{name}: accepted under the secondary's scope")
            db.session.rollback()
            item = db.session.get(WorkPosition, position)
    # Create again an agent of the collectivity the secondary does not manage.
    with app.app_context():
        from app.tenancy import system_scope
        from app.workforce.models import Agent

        with system_scope():
            hidden = db.session.get(Agent, shared.hidden_agent)
            duplicate = {
                "civility": hidden.civility.name,
                "first_name": hidden.first_name,
                "birth_name": hidden.birth_name,
                "birth_date": hidden.birth_date.isoformat(),
            }
    expect(
        "API duplicate agent", api.post("/api/v1/agent/", json=duplicate), (400,), DUPLICATE_AGENT
    )
    return problems


# Membership applications (issue 16): another applicant's draft and submitted application hold
# B's marker; an employer reaches only its own draft (the wizard's step number is enumerated)
# and never the CDG's queue.
ENUMERATED_ARGUMENTS["number"] = ["1", "2", "3", "4", "5"]
ENUMERATED_ARGUMENTS["application_id"] = ["1", "2"]
STAFF_ONLY_PREFIXES += ("/adhesions/",)
# The collectivity an application created once validated: scoped by its applicant, not by it.
UNSCOPED_REFERENCES.add("membership_application.collectivity_id")


@world_builder
def _membership_applications(session: Session, world: World) -> None:
    from app.membership.models import DRAFT, SUBMITTED, MembershipApplication

    other = factories.make_user(session, roles.EMPLOYER_PRIMARY, username="candidat-sweep")
    for status in (DRAFT, SUBMITTED):
        session.add(
            MembershipApplication(
                applicant_user_id=other.id,
                status=status,
                current_step=2,
                name=f"Candidat {SECRET_B}",
                payload={"1": {"siret": "73282932000074", "city": f"Ville{SECRET_B}"}},
            )
        )


# Procedures (issue 16): B's administrator has a gestion request and the CDG a buy-out report,
# both holding B's marker; an employer of A reaches neither (« Démarches à valider » lists the
# requests aimed at its own collectivities; a forged id is a 404) and never the CDG's queue.
ENUMERATED_ARGUMENTS["procedure_id"] = ["1", "2"]
STAFF_ONLY_PREFIXES += ("/demarches/cdg/",)
# The collectivity a procedure is aimed at: scoped by its requester and its administrator.
UNSCOPED_REFERENCES.add("procedure.collectivity_id")
# The absorbed collectivity of a merger request: the CDG's queue only.
UNSCOPED_REFERENCES.add("procedure.absorbed_collectivity_id")
# Decision buttons the sweep presses on the world's procedures (B's gestion request, the CDG's
# buy-out report) as the swept employer: accept and refuse each answer 404, nothing changes.
DECISION_POSTS = {
    "/demarches/a-valider/<int:procedure_id>": (
        {"decision": "accepter"},
        {"decision": "refuser", "reason": "Motif du balayage"},
    ),
}


@world_builder
def _procedures(session: Session, world: World) -> None:
    from app.procedures.models import Procedure

    outsider = factories.make_user(session, roles.EMPLOYER_PRIMARY, username="demandeur-sweep")
    for kind in ("gestion", "rachat"):
        procedure = Procedure(
            kind=kind,
            state="en_cours",
            requester_id=outsider.id,
            collectivity_id=world.b.id if kind == "gestion" else None,
            message=f"Demande {SECRET_B}",
        )
        session.add(procedure)
        session.flush()
        world.ids.setdefault("procedures", []).append(procedure.id)


# SEPA mandates and direct debits (issue 18): « Pilotage › Mandats SEPA » is a staff screen; A and
# B each have a signed mandate and a debited invoice, B's holding its marker (the employer's
# « Factures » shows only its own mandate, IBAN masked).
STAFF_ONLY_PREFIXES += ("/comptabilite/sepa/",)
ENUMERATED_ARGUMENTS["mandate_id"] = ["1", "2"]


@world_builder
def _sepa_mandates(session: Session, world: World) -> None:
    from decimal import Decimal

    from app.payments.models import MandateStatus, SepaDebit, SepaMandate, SequenceType

    invoices = world.ids["invoices"]
    owners = ((world.a, HIDDEN_A, invoices[0]), (world.b, SECRET_B, invoices[1]))
    for collectivity, marker, invoice_id in owners:
        mandate = SepaMandate(
            collectivity_id=collectivity.id,
            umr=f"RUM-{marker}",
            signed_on=dt.date(2025, 1, 2),
            iban="FR7630006000011234567890189",
            bic="AGRIFRPP",
            debtor_name=f"Débiteur {marker}",
            status=MandateStatus.signe,
            first_debit_sent=True,
        )
        session.add(mandate)
        session.flush()
        session.add(
            SepaDebit(
                invoice_id=invoice_id,
                mandate_id=mandate.id,
                collectivity_id=collectivity.id,
                batch_id=f"LOT-{marker}",
                collection_date=dt.date.today(),
                amount=Decimal("900.00"),
                sequence=SequenceType.FRST,
            )
        )


# Payment reconciliation (issue 18): « Pilotage › Rapprochement bancaire » is a staff screen; a
# statement holds a line paying B's invoice (its text carries B's marker) and an unmatched one.
STAFF_ONLY_PREFIXES += ("/comptabilite/rapprochement/",)
ENUMERATED_ARGUMENTS["statement_id"] = ["1", "2"]
ENUMERATED_ARGUMENTS["line_id"] = ["1", "2"]


@world_builder
def _bank_statements(session: Session, world: World) -> None:
    from decimal import Decimal

    from app.payments.models import (
        BankStatement,
        BankStatementLine,
        MatchOutcome,
        StatementFormat,
        StatementLineStatus,
    )

    statement = BankStatement(
        file_name=f"releve-{SECRET_B}.csv",
        sha256="0" * 64,
        format=StatementFormat.csv,
        imported_by="compta",
        line_count=2,
        matched_count=1,
        unmatched_count=1,
        total_amount=Decimal("950.00"),
    )
    session.add(statement)
    session.flush()
    for line_no, invoice_id, status in (
        (2, world.ids["invoices"][1], StatementLineStatus.rapprochee),
        (3, None, StatementLineStatus.non_rapprochee),
    ):
        session.add(
            BankStatementLine(
                statement_id=statement.id,
                line_no=line_no,
                booked_on=dt.date(2026, 1, 31),
                amount=Decimal("475.00"),
                reference=f"VIR {SECRET_B}",
                label=f"Paiement {SECRET_B}",
                debtor=f"Débiteur {SECRET_B}",
                status=status,
                outcome=MatchOutcome.exact if invoice_id else MatchOutcome.unmatched,
                invoice_id=invoice_id,
                note=f"Note {SECRET_B}",
            )
        )
    session.flush()


@world_builder
def _archiving_interventions(session: Session, world: World) -> None:
    """Archiving interventions of A and B (issue 14, SPEC F6): the archivist and description
    carry the markers (A's: read by A's accounts only)."""
    from decimal import Decimal

    from app.billing.archiving import ArchivingIntervention, ArchivingStatus

    for collectivity, marker in ((world.a, "A"), (world.b, SECRET_B)):
        session.add(
            ArchivingIntervention(
                collectivity_id=collectivity.id,
                day_on=dt.date.today(),
                days=Decimal("2.5"),
                archivist=f"Archiviste {marker}",
                description=f"Tri des archives {marker}",
                status=ArchivingStatus.realise,
            )
        )
