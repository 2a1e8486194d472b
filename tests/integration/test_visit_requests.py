"""Visit requests (SPEC E1, E2; CONTRACT.md §2 ``visit_request`` and its ``cancel`` action)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.core.mail import outbox_entries
from app.planning.models import Appointment, Plage, PlageNature, PlageState
from app.visits.models import VisitRequest, VisitRequestState
from app.workforce.models import AgentAssignment
from tests import factories
from tests.integration.test_workforce import _contract, _position
from tests.isolation import make_agent
from tests.util import text

NOW = dt.datetime(2026, 3, 2, 8, 0)  # a Monday
TODAY = NOW.date()
API = "/api/v1/visit_request/"


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "now_local", lambda: NOW)
    monkeypatch.setattr(clock, "today", lambda: TODAY)


@pytest.fixture
def setup(db_ctx, users):
    """Agents of A with a position (one managed by A's secondary account), one without, an
    agent of B, and plages next week in an office serving A."""
    with db_ctx() as session:
        office = factories.make_office(session, served=[users.collectivity_a], name="Cabinet Nord")
        doctor = factories.make_professional(session, last_name="MOREAU")
        position = _position(session, users.collectivity_a, "JARDINIER", "631a")
        agent = make_agent(session, users.collectivity_a, birth_name="DURAND", first_name="Léa")
        _contract(session, agent, position)
        managed = make_agent(session, users.collectivity_a, birth_name="GERE", first_name="Paul")
        _contract(session, managed, position)
        session.add(
            AgentAssignment(
                agent_id=managed.id,
                user_id=users.secondary_a.id,
                collectivity_id=users.collectivity_a.id,
            )
        )
        no_position = make_agent(session, users.collectivity_a, birth_name="SANSPOSTE")
        position_b = _position(session, users.collectivity_b, "JARDINIER", "631a")
        foreign = make_agent(session, users.collectivity_b, birth_name="ETRANGER")
        _contract(session, foreign, position_b)
        starts = dt.datetime.combine(TODAY + dt.timedelta(days=7), dt.time(9, 0))
        plage = Plage(
            office_id=office.id,
            professional_id=doctor.id,
            starts_at=starts,
            ends_at=starts + dt.timedelta(minutes=40),
            appointment_minutes=20,
            nature=PlageNature.medecin,
            state=PlageState.commune,
        )
        session.add(plage)
        session.flush()
        return {
            "agent": agent,
            "managed": managed,
            "no_position": no_position,
            "foreign": foreign,
            "plage": plage,
        }


@pytest.fixture
def mails(app):
    def _mails():
        with app.app_context():
            return outbox_entries()

    return _mails


def _post(api, agent, visit_type, **fields):
    return api.post(API, json={"agent_id": agent.id, "visit_type": visit_type, **fields})


def _count(db_ctx, model, *where):
    with db_ctx() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


# -- E1: the fields of each type ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("visit_type", "fields", "message"),
    [
        (
            "embauche",
            {"details": {"dispense": True}},
            "Une demande de dispense nécessite la dernière attestation de suivi",
        ),
        ("reprise", {"details": {}}, "Précisez la nature de l'arrêt de travail."),
        (
            "fin_carriere",
            {"details": {"exposed_risk": "Amiante"}},
            "Indiquez la date de départ en retraite.",
        ),
        (
            "fin_carriere",
            {"details": {"retirement_on": "2026-09-01"}},
            "Précisez le risque auquel le salarié a été exposé.",
        ),
        ("occasionnelle", {"details": {}}, "Indiquez qui demande la visite occasionnelle."),
        (
            "occasionnelle",
            {"details": {"requester": "employeur", "comment": "Arrêts fréquents"}},
            "Motivez la demande : cochez l'une des 3 cases.",
        ),
        (
            "occasionnelle",
            {"details": {"requester": "employeur", "employer_reason": "changement_poste"}},
            "Commentez la situation qui motive la demande.",
        ),
        (
            "occasionnelle",
            {"details": {"requester": "medecin", "deadline_on": "2026-03-01"}},
            "La date butoir est passée.",
        ),
        ("periodique", {"situations": ["autre_exposition"]}, "Précisez l'autre exposition."),
        ("periodique", {"interpreter": True}, "Précisez la langue de l'interprète."),
        ("periodique", {"situations": ["astronaute"]}, "Valeur inconnue pour « situations »"),
    ],
)
def test_each_type_requires_its_fields(
    api_login, users, db_ctx, setup, visit_type, fields, message
):
    response = _post(api_login(users.primary_a), setup["agent"], visit_type, **fields)
    assert response.status_code == 400
    assert message in response.get_json()["message"]
    assert _count(db_ctx, VisitRequest) == 0


@pytest.mark.parametrize(
    ("visit_type", "details", "stored"),
    [
        (
            "Embauche",
            {"dispense": False, "attestation_on": "2025-06-30"},
            {"dispense": False, "attestation_on": None},
        ),
        (
            "reprise",
            {"stoppage_nature": "Maladie professionnelle", "therapeutic_part_time": True},
            {"stoppage_nature": "maladie_professionnelle", "therapeutic_part_time": True},
        ),
        (
            "Fin de carrière",
            {"retirement_on": "2026-09-01", "exposed_risk": "Amiante"},
            {"retirement_on": "2026-09-01", "exposed_risk": "Amiante"},
        ),
        (
            "occasionnelle",
            {"requester": "employeur", "employer_reason": "absences_repetees", "comment": "Vu"},
            {"requester": "employeur", "employer_reason": "absences_repetees", "comment": "Vu"},
        ),
        (
            "occasionnelle",
            {"requester": "À la demande du médecin du travail", "deadline_on": "2026-04-15"},
            {"requester": "medecin", "deadline_on": "2026-04-15"},
        ),
        ("occasionnelle", {"requester": "agent"}, {"requester": "agent"}),
        ("mi_carriere", {}, {}),
    ],
)
def test_a_valid_request_of_each_type_is_stored_with_its_details_as_codes(
    api_login, users, setup, visit_type, details, stored
):
    api = api_login(users.primary_a)
    response = _post(
        api,
        setup["agent"],
        visit_type,
        situations=["Femme enceinte", "autre_exposition"],
        other_exposure="Bruit",
        details=details,
        interpreter=True,
        language="Portugais",
    )
    assert response.status_code == 201, response.get_json()
    body = api.get(f"{API}{response.get_json()['id']}").get_json()["result"]
    assert body["state"] == "en_attente" and body["created_on"] == "2026-03-02"
    assert body["details"] == stored and body["appointment_id"] is None
    assert body["agent_id"] == setup["agent"].id
    if visit_type == "occasionnelle":
        assert body["situations"] == []  # no situation boxes on an occasional visit
    else:
        assert body["situations"] == ["femme_enceinte", "autre_exposition"]
        assert body["other_exposure"] == "Bruit"
    assert body["language"] == "Portugais"


def test_the_form_shows_each_refusal_next_to_its_field_and_stores_a_valid_request(
    mails, login, users, db_ctx, setup
):
    web = login(users.primary_a)
    url = f"/portail/demandes-de-visite/agent/{setup['agent'].id}/nouvelle"
    page = web.get(url)
    assert page.status_code == 200
    assert "Demande de dispense d'embauche" in text(page) and "Type de rendez-vous" in text(page)
    refused = web.post_form(url, {"visit_type": "embauche", "dispense": "y"})
    assert refused.status_code == 200
    assert "nécessite la dernière attestation de suivi" in text(refused)
    assert _count(db_ctx, VisitRequest) == 0
    created = web.post_form(
        url,
        {
            "visit_type": "reprise",
            "stoppage_nature": "accident_travail",
            "therapeutic_part_time": "y",
            "information": "Pas le mercredi",
        },
    )
    assert created.status_code == 302
    shown = web.get(created.headers["Location"])
    assert "Accident du travail ou de service" in text(shown)
    assert "Reprise à temps partiel thérapeutique" in text(shown)
    assert "Pas le mercredi" in text(shown)
    mail = next(m for m in mails() if m.to == users.primary_a.email)
    assert mail.subject.startswith("Demande de visite enregistrée")


def test_an_agent_without_a_current_position_cannot_get_a_request(
    login, api_login, users, db_ctx, setup
):
    web = login(users.primary_a)
    url = f"/portail/demandes-de-visite/agent/{setup['no_position'].id}/nouvelle"
    assert "n'a pas de poste actuel" in text(web.get(url))
    web.post_form(url, {"visit_type": "periodique"}, form_url="/compte/moi/")
    response = _post(api_login(users.primary_a), setup["no_position"], "periodique")
    assert response.status_code == 400
    assert "n'a pas de poste actuel" in response.get_json()["message"]
    assert _count(db_ctx, VisitRequest) == 0


def test_a_request_for_another_collectivitys_agent_is_not_found(
    login, api_login, users, db_ctx, setup
):
    web = login(users.primary_a)
    assert (
        web.get(f"/portail/demandes-de-visite/agent/{setup['foreign'].id}/nouvelle").status_code
        == 404
    )
    assert _post(api_login(users.primary_a), setup["foreign"], "periodique").status_code == 404


# -- E2: follow-up, cancellation, the secretariat's queue ------------------------------------


def _rows(response):
    """The rows of a request list, as their HTML."""
    page = response.get_data(as_text=True)
    return [row.split("</tr>")[0] for row in page.split('data-request="')[1:]]


def _create(api, agent, visit_type="periodique", **fields):
    response = _post(api, agent, visit_type, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_the_employer_cancels_a_pending_request_but_not_a_scheduled_one(
    mails, login, api_login, users, db_ctx, setup
):
    api = api_login(users.primary_a)
    pending = _create(api, setup["agent"])
    web = login(users.primary_a)
    listing = web.get("/portail/demandes-de-visite/")
    assert "DURAND" in text(listing) and "En attente" in text(listing)
    assert 'data-confirm="Annuler cette demande de rendez-vous ?"' in listing.get_data(as_text=True)
    web.post_form(f"/portail/demandes-de-visite/{pending}/annuler", {}, form_url="/compte/moi/")
    with db_ctx() as session:
        assert session.get(VisitRequest, pending).state is VisitRequestState.annulee
    assert any(m.subject.startswith("Demande de visite annulée") for m in mails())
    assert api.post(f"{API}{pending}/cancel").status_code == 409

    scheduled = _create(api, setup["agent"])
    staff = login(users.secretariat)
    staff.post_form(
        f"/demandes-de-visite/{scheduled}/planifier",
        {"plage_id": setup["plage"].id},
        form_url=f"/demandes-de-visite/{scheduled}",
    )
    refused = api.post(f"{API}{scheduled}/cancel")
    assert refused.status_code == 409
    assert "seule une demande en attente peut être annulée" in refused.get_json()["message"]


def test_the_secretariat_schedules_a_request_into_a_plage_once(
    mails, login, api_login, users, db_ctx, setup
):
    request_id = _create(
        api_login(users.primary_a),
        setup["agent"],
        "reprise",
        details={"stoppage_nature": "maladie"},
    )
    staff = login(users.secretariat)
    page = staff.get(f"/demandes-de-visite/{request_id}")
    assert "Cabinet Nord" in text(page) and "2 place(s) libre(s)" in text(page)
    url = f"/demandes-de-visite/{request_id}/planifier"
    data = {"plage_id": setup["plage"].id}
    first = staff.post_form(url, data, form_url=f"/demandes-de-visite/{request_id}")
    assert first.status_code == 302
    again = staff.post_form(url, data, form_url="/compte/moi/", follow_redirects=True)
    assert "seule une demande en attente peut être annulée, refusée ou planifiée" in text(again)
    assert _count(db_ctx, Appointment) == 1
    with db_ctx() as session:
        item = session.get(VisitRequest, request_id)
        appointment = session.scalar(select(Appointment))
        assert item.state is VisitRequestState.traitee and item.appointment_id == appointment.id
        assert appointment.plage_id == setup["plage"].id
        assert appointment.agent_id == setup["agent"].id
        assert appointment.visit_type.code == "reprise"
    mail = next(m for m in mails() if m.subject.startswith("Demande de visite planifiée"))
    assert mail.to == users.primary_a.email and "09/03/2026 à 09:00" in mail.body
    assert (
        api_login(users.primary_a).get(f"{API}{request_id}").get_json()["result"]["appointment_id"]
        == appointment.id
    )


def test_the_secretariat_refuses_a_request_only_with_a_reason(
    mails, login, api_login, users, db_ctx, setup
):
    request_id = _create(api_login(users.primary_a), setup["agent"])
    staff = login(users.secretariat)
    url = f"/demandes-de-visite/{request_id}/refuser"
    form_url = f"/demandes-de-visite/{request_id}"
    staff.post_form(url, {"reason": "  "}, form_url=form_url)
    with db_ctx() as session:
        assert session.get(VisitRequest, request_id).state is VisitRequestState.en_attente
    staff.post_form(url, {"reason": "Visite faite le mois dernier"}, form_url=form_url)
    with db_ctx() as session:
        item = session.get(VisitRequest, request_id)
        assert item.state is VisitRequestState.refusee
        assert item.refusal_reason == "Visite faite le mois dernier"
    mail = next(m for m in mails() if m.subject.startswith("Demande de visite refusée"))
    assert mail.to == users.primary_a.email and "Motif : Visite faite le mois dernier" in mail.body
    shown = login(users.primary_a).get(f"/portail/demandes-de-visite/{request_id}")
    assert "Refusée" in text(shown) and "Visite faite le mois dernier" in text(shown)


def test_the_queue_puts_a_doctors_deadline_then_a_resumption_before_older_requests(
    login, api_login, users, setup
):
    api = api_login(users.primary_a)
    _create(api, setup["agent"], "periodique", information="PREMIERE")
    _create(
        api,
        setup["agent"],
        "reprise",
        details={"stoppage_nature": "maternite"},
        information="DEUXIEME",
    )
    _create(
        api,
        setup["agent"],
        "occasionnelle",
        details={"requester": "medecin", "deadline_on": "2026-05-01"},
        information="TROISIEME",
    )
    page = login(users.secretariat).get("/demandes-de-visite/").get_data(as_text=True)
    rows = page.split('data-request="')[1:]
    kinds = [row.split("</tr>")[0] for row in rows]
    assert ["Occasionnelle" in kinds[0], "Reprise" in kinds[1], "Périodique" in kinds[2]] == [
        True,
        True,
        True,
    ]
    assert "avant le 01/05/2026" in kinds[0]


def test_lists_filter_by_type_and_state(login, api_login, users, setup):
    api = api_login(users.primary_a)
    first = _create(api, setup["agent"], "periodique")
    _create(api, setup["agent"], "mi_carriere")
    api.post(f"{API}{first}/cancel")
    web = login(users.primary_a)
    [cancelled] = _rows(web.get("/portail/demandes-de-visite/?etat=annulee"))
    assert "Périodique" in cancelled and "Annulée" in cancelled
    [by_type] = _rows(web.get("/portail/demandes-de-visite/?type=mi_carriere"))
    assert "Mi-carrière" in by_type and "En attente" in by_type
    assert len(_rows(web.get("/portail/demandes-de-visite/"))) == 2


def test_a_secondary_account_sees_and_requests_only_for_its_agents(login, api_login, users, setup):
    primary = api_login(users.primary_a)
    hidden = _create(primary, setup["agent"], information="NONGERE")
    secondary = api_login(users.secondary_a)
    mine = _create(secondary, setup["managed"], information="GEREE")
    listing = secondary.get(API).get_json()["result"]
    assert [row["id"] for row in listing] == [mine]
    assert secondary.get(f"{API}{hidden}").status_code == 404
    assert secondary.post(f"{API}{hidden}/cancel").status_code == 404
    assert _post(secondary, setup["agent"], "periodique").status_code == 404
    page = text(login(users.secondary_a).get("/portail/demandes-de-visite/"))
    assert "GERE" in page and "DURAND" not in page
    assert {row["id"] for row in primary.get(API).get_json()["result"]} == {hidden, mine}


def test_the_api_speaks_the_contract(api_login, users, setup):
    api = api_login(users.primary_a)
    info = api.get(f"{API}_info?q=(keys:!(add_columns))")
    assert info.status_code == 200
    request_id = _create(api, setup["agent"], "Périodique", situations=["Apprenti"])
    row = api.get(API).get_json()["result"][0]
    assert {
        "id",
        "agent_id",
        "visit_type",
        "state",
        "created_on",
        "situations",
        "details",
        "appointment_id",
    } <= set(row)
    assert row["visit_type"] == "periodique" and row["situations"] == ["apprenti"]
    labels = api.get(f"{API}{request_id}").get_json()["label_columns"]
    assert labels["state"] == "État" and labels["created_on"] == "Demandée le"
    assert api.put(f"{API}{request_id}", json={"state": "traitee"}).status_code in (404, 405)
    assert api.delete(f"{API}{request_id}").status_code in (404, 405)
    assert api.post(f"{API}999999/cancel").status_code == 404
    assert api.post(API, json=[1]).status_code == 400
    assert _post(api, setup["agent"], "periodique", details="x").status_code == 400
    assert _post(api, setup["agent"], "inconnu").status_code == 400


def test_the_agents_list_and_page_offer_the_request_only_for_agents_with_a_position(
    login, users, setup
):
    web = login(users.primary_a)
    page = web.get("/effectif/?onglet=tous").get_data(as_text=True)
    assert f"/portail/demandes-de-visite/agent/{setup['agent'].id}/nouvelle" in page
    assert f"/portail/demandes-de-visite/agent/{setup['no_position'].id}/nouvelle" not in page
    staff = login(users.secretariat).get(f"/effectif/{setup['agent'].id}").get_data(as_text=True)
    assert f"/demandes-de-visite/agent/{setup['agent'].id}/nouvelle" in staff


# -- C4: an agent's exit cancels his pending requests ------------------------------------------


def test_the_exit_screen_warns_and_an_exit_cancels_the_pending_requests(
    mails, login, api_login, users, db_ctx, setup
):
    api = api_login(users.primary_a)
    pending = _create(api, setup["agent"])
    scheduled = _create(api, setup["agent"], "mi_carriere")
    staff = login(users.secretariat)
    staff.post_form(
        f"/demandes-de-visite/{scheduled}/planifier",
        {"plage_id": setup["plage"].id},
        form_url=f"/demandes-de-visite/{scheduled}",
    )
    web = login(users.primary_a)
    url = f"/effectif/{setup['agent'].id}/sortie"
    page = text(web.get(url))
    assert "Le salarié a une demande de visite en attente (Périodique, demandée le 02/03/2026)" in (
        page
    )
    assert "elle sera annulée à sa sortie de l'effectif" in page
    done = web.post_form(url, {"exit_date": "02/03/2026"}, follow_redirects=True)
    assert "1 demande(s) de visite en attente annulée(s)" in text(done)
    with db_ctx() as session:
        assert session.get(VisitRequest, pending).state is VisitRequestState.annulee
        assert session.get(VisitRequest, pending).refusal_reason == (
            "Sortie de l'effectif le 02/03/2026."
        )
        assert session.get(VisitRequest, scheduled).state is VisitRequestState.traitee
    mail = next(m for m in mails() if m.subject.startswith("Demande de visite annulée"))
    assert mail.to == users.primary_a.email
    shown = text(web.get(f"/portail/demandes-de-visite/{pending}"))
    assert "Motif de l'annulation" in shown and "Sortie de l'effectif le 02/03/2026." in shown
    # Cancelling a request already scheduled stays refused.
    assert api.post(f"{API}{scheduled}/cancel").status_code == 409


def test_an_exit_dated_later_is_cancelled_by_the_sync_once_the_date_has_passed(
    app, mails, login, api_login, users, db_ctx, setup
):
    from app.scheduling import services as jobs

    pending = _create(api_login(users.primary_a), setup["agent"])
    web = login(users.primary_a)
    url = f"/effectif/{setup['agent'].id}/sortie"
    web.post_form(url, {"exit_date": "31/03/2026"})
    with db_ctx() as session:
        assert session.get(VisitRequest, pending).state is VisitRequestState.en_attente
    with app.app_context():
        jobs.claim_and_run("sync", today=dt.date(2026, 3, 31))
    with db_ctx() as session:
        assert session.get(VisitRequest, pending).state is VisitRequestState.en_attente
    with app.app_context():
        run = jobs.claim_and_run("sync", today=dt.date(2026, 4, 1))
    with db_ctx() as session:
        item = session.get(VisitRequest, pending)
        assert item.state is VisitRequestState.annulee
        assert item.refusal_reason == "Sortie de l'effectif le 31/03/2026."
    assert "demandes de visite annulées (sortie)" in str(getattr(run, "counts", run))
    assert any(
        m.subject.startswith("Demande de visite annulée") and "Sortie de l'effectif" in m.body
        for m in mails()
    )


# -- DOMAIN.md §4: a risk that now needs a precision is asked at request time -------------------


def test_a_missing_risk_precision_is_asked_in_the_request_form_and_completes_the_position(
    login, users, db_ctx, setup
):
    from app.workforce.models import PositionRisk

    with db_ctx() as session:
        position = _position(session, users.collectivity_a, "CARISTE", "652a", risks=["caces"])
        agent = make_agent(session, users.collectivity_a, birth_name="CONDUCTEUR")
        _contract(session, agent, position)
        agent_id, position_id = agent.id, position.id
    web = login(users.primary_a)
    url = f"/portail/demandes-de-visite/agent/{agent_id}/nouvelle"
    page = text(web.get(url))
    assert "Risques du poste à préciser" in page and "Catégories de véhicules (CACES)" in page
    refused = web.post_form(url, {"visit_type": "periodique", "information": "Le matin"})
    assert refused.status_code == 200
    assert "Sélectionnez un ou plusieurs véhicules (catégories CACES)." in text(refused)
    assert "Le matin" in text(refused)
    assert _count(db_ctx, VisitRequest) == 0
    created = web.post_form(url, {"visit_type": "periodique", "precision_caces": "R489 cat. 3"})
    assert created.status_code == 302, text(created)
    assert "Précision du risque « CACES »" in text(web.get(created.headers["Location"]))
    with db_ctx() as session:
        link = session.scalar(
            select(PositionRisk).where(PositionRisk.work_position_id == position_id)
        )
        assert link.caces_categories == "R489 cat. 3"
    assert "Risques du poste à préciser" not in text(web.get(url))
