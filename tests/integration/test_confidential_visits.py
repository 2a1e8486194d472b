"""Confidential visits (SPEC E7, issue 12): a visit the agent asks for himself is booked by the
secretariat only and never reaches the employer: no line, no request, no sheet, no count, no
e-mail; its unit of the plage shows only as unavailable, like any unit the employer does not
hold."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.core import clock
from app.core.mail import outbox_entries
from app.planning.models import Appointment, Plage, PlageNature, PlageState
from app.referential.models import VisitType
from app.visits.consultation_models import Consultation
from app.visits.models import VisitRequest, VisitRequestState
from app.workforce.models import AgentAssignment
from tests.integration import test_planning as planning_tests
from tests.integration.test_planning import NOW, _book
from tests.integration.test_workforce import _contract
from tests.isolation import make_agent
from tests.util import text

# The planning tests' fixtures: a frozen clock, an office serving A and B, plages next week,
# DURAND Léa of A with a position, A's convocation contact convocations@a.fr.
frozen_clock = planning_tests.frozen_clock
setup = planning_tests.setup

SECRET = "Consultation demandée par l'agent"
SECRETARIAT = "secretariat@medecineprev.local"


def _staff_book(web, plage, agent, collectivity_id, confidential=True, comment=SECRET):
    url = f"/plages/{plage.id}/rendez-vous?collectivite={collectivity_id}"
    data = {"agent_id": agent.id, "visit_type": "periodique", "comment": comment}
    if confidential:
        data["confidential"] = "y"
    return web.post_form(url, data, form_url=url, follow_redirects=True)


def _assign(db_ctx, users, agent) -> None:
    with db_ctx() as session:
        session.add(
            AgentAssignment(
                agent_id=agent.id,
                user_id=users.secondary_a.id,
                collectivity_id=users.collectivity_a.id,
            )
        )


@pytest.fixture
def confidential(setup, users, login, db_ctx, app):
    """DURAND Léa (assigned to A's secondary account) booked as confidential by the secretariat
    into A's reserved plage (3 units)."""
    app.config["SECRETARIAT_EMAIL"] = SECRETARIAT
    _assign(db_ctx, users, setup["agent"])
    page = text(
        _staff_book(
            login(users.secretariat), setup["reserved_a"], setup["agent"], users.collectivity_a.id
        )
    )
    assert "Rendez-vous confidentiel réservé : l'employeur n'en est pas informé." in page
    with db_ctx() as session:
        appointment = session.scalar(select(Appointment))
        assert appointment.is_confidential and appointment.agent_id == setup["agent"].id
        return appointment


def test_the_secretariat_books_a_confidential_visit_and_sees_it_marked(
    confidential, setup, users, login
):
    web = login(users.secretariat)
    detail = text(web.get(f"/plages/{setup['reserved_a'].id}"))
    assert "DURAND Léa" in detail and "Confidentielle" in detail
    assert "2 place(s) libre(s) sur 3" in detail
    # The form offers the collectivities the plage is open to, and the box to tick.
    form = text(web.get(f"/plages/{setup['common'].id}/rendez-vous"))
    assert "Collectivité de l'agent" in form
    form = text(web.get(f"/plages/{setup['reserved_a'].id}/rendez-vous"))
    assert "Visite confidentielle (demandée par l'agent lui-même)" in form


def test_the_employer_planning_shows_the_unit_as_unavailable_and_nothing_else(
    confidential, setup, users, login
):
    for employer in (users.primary_a, users.secondary_a):
        page = login(employer).get("/portail/consultations/?du=02/03/2026&au=31/03/2026")
        body = page.get_data(as_text=True)
        row = body.split(f'data-plage="{setup["reserved_a"].id}"')[1].split("</tr>")[0]
        assert "2 / 3" in row and "(1 indisponible)" in row
        assert "DURAND" not in row and SECRET not in body
        # Its page, its cancellation: as if it did not exist.
        assert (
            login(employer).get(f"/portail/consultations/rendez-vous/{confidential.id}").status_code
            == 404
        )


def test_no_email_reaches_the_employer_booking_convocation_or_cancellation(
    confidential, setup, users, login, api_login, db_ctx, app
):
    with app.app_context():
        assert outbox_entries() == []  # the confidential booking told no one
    with db_ctx() as session:
        other = make_agent(session, users.collectivity_a, birth_name="MARTIN", first_name="Paul")
        _contract(session, other, setup["position"])
    assert _book(api_login(users.primary_a), setup["reserved_a"], other).status_code == 201
    web = login(users.secretariat)
    plage_id = setup["reserved_a"].id
    convoked = web.post_form(
        f"/plages/{plage_id}/convoquer", {}, form_url=f"/plages/{plage_id}", follow_redirects=True
    )
    # Both agents are convoked; only MARTIN's convocation is mailed to the collectivity.
    assert "2 agent(s) convoqué(s)" in text(convoked)
    web.post_form(
        f"/plages/{plage_id}/annuler", {"reason": "Médecin absent"}, form_url=f"/plages/{plage_id}"
    )
    with app.app_context():
        mails = outbox_entries()
    subjects = sorted(mail.subject.split(" – ")[0] for mail in mails)
    assert subjects == [
        "Annulation de plage",
        "Convocation",
        "Rendez-vous réservé",
        "Rendez-vous réservé",
    ]
    for mail in mails:
        assert "DURAND" not in mail.body and SECRET not in mail.body, mail.subject
    convocation = next(m for m in mails if m.subject.startswith("Convocation"))
    assert "MARTIN Paul" in convocation.body


def test_a_plage_holding_only_a_confidential_visit_tells_no_employer_and_shows_no_plage(
    setup, users, login, db_ctx, app
):
    """A convocation reserved for B where the secretariat placed A's agent confidentially: A
    does not see the plage (it would for one of its ordinary appointments), and convoking or
    cancelling it mails nothing to A."""
    with db_ctx() as session:
        convocation_b = Plage(
            office_id=setup["office"].id,
            professional_id=setup["doctor"].id,
            starts_at=dt.datetime.combine(NOW.date() + dt.timedelta(days=8), dt.time(8, 0)),
            ends_at=dt.datetime.combine(NOW.date() + dt.timedelta(days=8), dt.time(9, 0)),
            appointment_minutes=20,
            nature=PlageNature.medecin,
            state=PlageState.commune,
        )
        session.add(convocation_b)
        session.flush()
        plage_id = convocation_b.id
    web = login(users.secretariat)
    _staff_book(web, convocation_b, setup["agent"], users.collectivity_a.id)
    with db_ctx() as session:
        plage = session.get(Plage, plage_id)
        plage.state, plage.reserved_for_id = PlageState.convocation, users.collectivity_b.id
    planning = login(users.primary_a).get("/portail/consultations/?du=02/03/2026&au=31/03/2026")
    assert f'data-plage="{plage_id}"' not in planning.get_data(as_text=True)
    assert (
        login(users.primary_a).get(f"/portail/consultations/plage/{plage_id}/reserver").status_code
        == 404
    )
    web.post_form(
        f"/plages/{plage_id}/annuler", {"reason": "Médecin absent"}, form_url=f"/plages/{plage_id}"
    )
    with app.app_context():
        assert [m.to for m in outbox_entries() if m.to == "convocations@a.fr"] == []


def test_the_api_hides_it_and_refuses_the_flag_to_an_employer(
    confidential, setup, users, api_login
):
    for employer in (users.primary_a, users.secondary_a):
        api = api_login(employer)
        listing = api.get("/api/v1/appointment/").get_json()
        assert listing["count"] == 0 and listing["result"] == []
        assert api.get(f"/api/v1/appointment/{confidential.id}").status_code == 404
        assert api.post(f"/api/v1/appointment/{confidential.id}/cancel").status_code == 404
        plage = api.get(f"/api/v1/plage/{setup['reserved_a'].id}").get_json()["result"]
        assert plage["free_capacity"] == 2
    refused = api_login(users.primary_a).post(
        f"/api/v1/plage/{setup['reserved_a'].id}/book",
        json={"agent_id": setup["agent"].id, "visit_type": "periodique", "confidential": True},
    )
    assert refused.status_code == 400
    assert "Seul le service de médecine préventive" in refused.get_json()["message"]
    staff = api_login(users.secretariat).get(f"/api/v1/appointment/{confidential.id}").get_json()
    assert staff["result"]["confidential"] is True


def _requests(db_ctx, users, agent) -> tuple[int, int]:
    """An ordinary request and a confidential one (asked by the agent himself) for the agent."""
    ids = []
    with db_ctx() as session:
        visit = session.scalar(select(VisitType).where(VisitType.code == "occasionnelle"))
        for confidential in (False, True):
            item = VisitRequest(
                agent_id=agent.id,
                collectivity_id=users.collectivity_a.id,
                visit_type_id=visit.id,
                state=VisitRequestState.en_attente,
                created_on=NOW.date(),
                details={"requested_by": "agent"},
                information=SECRET if confidential else "Demande ordinaire",
                is_confidential=confidential,
            )
            session.add(item)
            session.flush()
            ids.append(item.id)
    return ids[0], ids[1]


def test_a_confidential_request_is_in_no_employer_list_api_or_count(
    setup, users, login, api_login, db_ctx
):
    _assign(db_ctx, users, setup["agent"])
    ordinary, secret = _requests(db_ctx, users, setup["agent"])
    for employer in (users.primary_a, users.secondary_a):
        page = text(login(employer).get("/portail/demandes-de-visite/"))
        assert "Demande ordinaire" in page or "DURAND" in page
        assert SECRET not in page and "1 résultat(s)" in page
        assert login(employer).get(f"/portail/demandes-de-visite/{secret}").status_code == 404
        api = api_login(employer)
        listing = api.get("/api/v1/visit_request/").get_json()
        assert listing["count"] == 1 and [row["id"] for row in listing["result"]] == [ordinary]
        assert api.get(f"/api/v1/visit_request/{secret}").status_code == 404
        assert api.post(f"/api/v1/visit_request/{secret}/cancel").status_code == 404
    # The secretariat's queue holds both.
    queue = text(login(users.secretariat).get("/demandes-de-visite/"))
    assert "2 résultat(s)" in queue


def test_the_visit_of_a_confidential_appointment_is_confidential(
    confidential, setup, users, login, api_login, db_ctx, monkeypatch
):
    with db_ctx() as session:
        plage = session.get(Plage, confidential.plage_id)
        doctor = plage.professional
        doctor.user_id = users.sante.id
    day = setup["reserved_a"].starts_at
    monkeypatch.setattr(clock, "now_local", lambda: day + dt.timedelta(hours=3))
    monkeypatch.setattr(clock, "today", lambda: day.date())
    url = f"/consultations/rendez-vous/{confidential.id}/visite"
    web = login(users.sante)
    response = web.post_form(
        url,
        {"presence": "honoree", "outcome": "apte", "release_now": "y"},
        form_url=url,
        follow_redirects=True,
    )
    assert response.status_code == 200
    with db_ctx() as session:
        consultation = session.scalar(
            select(Consultation).where(Consultation.appointment_id == confidential.id)
        )
        assert consultation is not None and consultation.is_confidential
    for employer in (users.primary_a, users.secondary_a):
        sheets = text(login(employer).get("/portail/fiches-de-visite/"))
        assert "DURAND" not in sheets
        api = api_login(employer)
        assert api.get(f"/api/v1/consultation/{consultation.id}/sheet").status_code == 404
        assert api.get("/api/v1/consultation/").get_json()["count"] == 0


def test_a_bad_staff_booking_is_refused_in_french_and_writes_nothing(setup, users, login, db_ctx):
    web = login(users.secretariat)
    with db_ctx() as session:
        stranger = make_agent(session, users.collectivity_b, birth_name="ETRANGER")
        _contract(session, stranger, setup["position"])
    # An agent of another collectivity than the one chosen, then no agent at all.
    page = text(_staff_book(web, setup["reserved_a"], stranger, users.collectivity_a.id))
    assert "N'est pas un choix valide." in page  # not among the chosen collectivity's agents
    url = f"/plages/{setup['reserved_a'].id}/rendez-vous?collectivite={users.collectivity_a.id}"
    empty = text(web.post_form(url, {"visit_type": "periodique"}, form_url=url))
    assert "Ce champ est obligatoire." in empty
    with db_ctx() as session:
        assert session.scalar(select(Appointment.id)) is None


def test_the_secretariat_files_a_confidential_request_and_schedules_it_unseen(
    setup, users, login, api_login, db_ctx
):
    """The agent asks the CDG himself: the secretary ticks « Visite confidentielle » on the
    request form, schedules it; the appointment is confidential and the employer sees none."""
    staff = login(users.secretariat)
    url = f"/demandes-de-visite/agent/{setup['agent'].id}/nouvelle"
    assert "Visite confidentielle" in text(staff.get(url))
    staff.post_form(
        url,
        {
            "visit_type": "occasionnelle",
            "requester": "agent",
            "information": SECRET,
            "confidential": "y",
        },
        form_url=url,
    )
    with db_ctx() as session:
        item = session.scalar(select(VisitRequest))
        assert item is not None and item.is_confidential
        request_id = item.id
    staff.post_form(
        f"/demandes-de-visite/{request_id}/planifier",
        {"plage_id": setup["reserved_a"].id},
        form_url=f"/demandes-de-visite/{request_id}",
    )
    with db_ctx() as session:
        appointment = session.scalar(select(Appointment))
        assert appointment is not None and appointment.is_confidential
    employer = login(users.primary_a)
    assert SECRET not in text(employer.get("/portail/demandes-de-visite/"))
    assert employer.get(f"/portail/demandes-de-visite/{request_id}").status_code == 404
    assert api_login(users.primary_a).get("/api/v1/appointment/").get_json()["count"] == 0
    # The employer's form has no such box, and the API refuses the flag from him.
    assert "Visite confidentielle" not in text(
        employer.get(f"/portail/demandes-de-visite/agent/{setup['agent'].id}/nouvelle")
    )
    refused = api_login(users.primary_a).post(
        "/api/v1/visit_request/",
        json={
            "agent_id": setup["agent"].id,
            "visit_type": "occasionnelle",
            "details": {"requester": "agent"},
            "confidential": True,
        },
    )
    assert refused.status_code == 400
    assert "Seul le CDG enregistre une visite confidentielle" in refused.get_data(as_text=True)
