"""Statutory medicine (SPEC I1, F5; CONTRACT.md §2 ``statutory_request``; DOMAIN.md §3, §8
example 4): requests of the 17 acts, deadlines in working days on the office's calendar, the
quota consumed in date order, the secretariat's queue, the medical report for health roles."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.planning.models import Appointment, AppointmentStatus, Plage, PlageNature, PlageState
from app.referential.models import Convention, Mission, VisitType
from app.statutory.models import StatutoryReport, StatutoryRequest
from app.visits.consultation_models import MedicalAccess
from app.workforce.models import AgentAssignment, Headcount
from tests import factories
from tests.integration.test_workforce import _contract, _position
from tests.isolation import make_agent
from tests.util import text

TODAY = dt.date(2025, 6, 2)  # a Monday
NOW = dt.datetime.combine(TODAY, dt.time(8, 0))
API = "/api/v1/statutory_request/"
PORTAL = "/portail/medecine-statutaire/"
QUEUE = "/medecine-statutaire/"


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "now_local", lambda: NOW)
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def _msc(session, collectivity, *, headcount=160, permanent=150, year=2025):
    mission = session.scalar(select(Mission).where(Mission.code == "msc"))
    session.add(
        Convention(
            collectivity_id=collectivity.id,
            mission_id=mission.id,
            number=f"MSC-{collectivity.id}-{factories._next()}",
            start_date=dt.date(2025, 1, 1),
            end_date=dt.date(2027, 12, 31),
        )
    )
    session.add(
        Headcount(
            collectivity_id=collectivity.id,
            year=year,
            headcount=headcount,
            permanent_headcount=permanent,
        )
    )
    session.flush()


@pytest.fixture
def setup(db_ctx, users):
    """A (150 permanent agents, MSC convention, an office in Moselle), B (40 agents), agents
    with a position, one of A's managed by A's secondary account."""
    with db_ctx() as session:
        a, b = users.collectivity_a, users.collectivity_b
        a.has_own_cst = True
        _msc(session, a)
        _msc(session, b, headcount=40, permanent=35)
        office = factories.make_office(session, served=[a], name="Cabinet Metz")
        office.holiday_subdivision = "57"
        position = _position(session, a, "POLICIER MUNICIPAL", "533a")
        agent = make_agent(session, a, birth_name="DURAND", first_name="Léa")
        _contract(session, agent, position)
        managed = make_agent(session, a, birth_name="GERE", first_name="Paul")
        _contract(session, managed, position)
        session.add(
            AgentAssignment(agent_id=managed.id, user_id=users.secondary_a.id, collectivity_id=a.id)
        )
        position_b = _position(session, b, "AGENT", "684a")
        foreign = make_agent(session, b, birth_name="ETRANGER")
        _contract(session, foreign, position_b)
        session.flush()
        return {"agent": agent, "managed": managed, "foreign": foreign, "office": office}


def _count(db_ctx, model=StatutoryRequest):
    with db_ctx() as session:
        return session.scalar(select(func.count()).select_from(model))


def _file(api, agent, act, on, **extra):
    response = api.post(
        API, json={"agent_id": agent.id, "act_number": act, "requested_on": on.isoformat(), **extra}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["result"]


EXAMPLE_4 = [7, 8, 11, 17, 7, 9, 1, 6, 12]


def test_domain_example_4_holds_through_recorded_requests(setup, users, api_login, login, db_ctx):
    """DOMAIN.md §8 example 4: 150 permanent agents -> 12 points; five expertises (10 points),
    an ATI expertise beyond (250 €), a control (11), an age-limit aptitude (11,5), a control
    beyond (100 €): 350,00 € per act."""
    api = api_login(users.primary_a)
    for n, act in enumerate(EXAMPLE_4):
        _file(api, setup["agent"], act, dt.date(2025, 1, 6) + dt.timedelta(days=n))
    rows = api.get(API + "?q=(order_column:requested_on,order_direction:asc,page_size:20)")
    result = rows.get_json()["result"]
    assert [r["act_number"] for r in result] == EXAMPLE_4
    assert [r["within_quota"] for r in result] == [True] * 5 + [False, True, True, False]
    assert [r["price"] for r in result if not r["within_quota"]] == ["250.00", "100.00"]
    assert sum(Decimal(r["points"]) for r in result) == Decimal("11.5")
    assert sum(Decimal(r["price"]) for r in result) == Decimal("350.00")
    assert result[5]["coefficient"] == "2.50"

    page = re.sub(r"<[^>]+>", "", text(login(users.primary_a).get(PORTAL)))
    assert "Quota : 12 point(s)" in page
    assert "restants : 0,5 point(s)" in page
    assert "2 acte(s) facturé(s) à l'acte, 350,00" in page
    assert "hors quota" in page and "dans le quota" in page


def test_a_done_visit_consumes_on_its_date_and_a_cancellation_frees_its_points(
    setup, users, api_login, db_ctx
):
    """Consumption follows the dates of the visits: a request done later moves after others."""
    employer, staff = api_login(users.primary_a), api_login(users.secretariat)
    first = _file(employer, setup["agent"], 7, dt.date(2025, 1, 6))
    for n in range(5):
        _file(employer, setup["agent"], 8, dt.date(2025, 1, 7) + dt.timedelta(days=n))
    # 12 points used by the six expertises; the first one is done in May: it now comes last.
    done = staff.put(f"{API}{first['id']}", json={"status": "realisee", "done_on": "2025-05-05"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["result"]["within_quota"] is True  # 12 <= 12
    late = _file(employer, setup["agent"], 1, dt.date(2025, 2, 3))
    assert late["within_quota"] is True
    again = employer.get(f"{API}{first['id']}").get_json()["result"]
    assert again["within_quota"] is False and again["price"] == "200.00"
    # Cancelling the February control gives its point back to the May expertise.
    assert employer.put(f"{API}{late['id']}", json={"status": "annulee"}).status_code == 200
    assert employer.get(f"{API}{first['id']}").get_json()["result"]["within_quota"] is True


def test_an_unjustified_absence_consumes_one_point(setup, users, api_login):
    employer, staff = api_login(users.primary_a), api_login(users.secretariat)
    expertise = _file(employer, setup["agent"], 7, dt.date(2025, 5, 5))
    absent = staff.put(
        f"{API}{expertise['id']}", json={"status": "absence_injustifiee", "done_on": "2025-05-12"}
    )
    assert absent.status_code == 200, absent.get_json()
    result = absent.get_json()["result"]
    assert result["status"] == "absence_injustifiee" and result["points"] == "1.00"


def test_a_written_report_adds_a_point_outside_an_expertise(setup, users, api_login):
    employer = api_login(users.primary_a)
    control = _file(employer, setup["agent"], 16, dt.date(2025, 5, 5), written_report=True)
    assert control["coefficient"] == "2.00" and control["written_report"] is True
    expertise = _file(employer, setup["agent"], 17, dt.date(2025, 5, 5), written_report=True)
    assert expertise["coefficient"] == "2.00" and expertise["written_report"] is False


def test_deadlines_count_working_days_on_the_office_calendar(setup, users, api_login, db_ctx):
    """Act 12: 5 working days. Thursday 17/04/2025 in Moselle: Good Friday and Easter Monday are
    not worked -> 28/04; on the national calendar it would be 25/04."""
    employer = api_login(users.primary_a)
    control = _file(employer, setup["agent"], 12, dt.date(2025, 4, 17))
    assert control["deadline"] == "2025-04-28"
    with db_ctx() as session:
        session.get(type(setup["office"]), setup["office"].id).holiday_subdivision = None
    national = _file(employer, setup["agent"], 12, dt.date(2025, 4, 17))
    assert national["deadline"] == "2025-04-25"
    expertise = _file(employer, setup["agent"], 7, dt.date(2025, 5, 26))
    assert expertise["deadline"] == "2025-06-18"  # 15 working days, Ascension and Whit Monday off


def test_the_queue_puts_mandatory_first_then_deadlines_and_shows_lateness(
    setup, users, api_login, login
):
    employer = api_login(users.primary_a)
    optional = _file(employer, setup["agent"], 12, dt.date(2025, 5, 30))  # due 06/06
    late = _file(employer, setup["agent"], 2, dt.date(2025, 5, 2))  # due 19/05: late
    soon = _file(employer, setup["agent"], 1, dt.date(2025, 5, 30))  # due 06/06
    page = text(login(users.secretariat).get(QUEUE))
    order = [page.index(f'data-request="{r["id"]}"') for r in (late, soon, optional)]
    assert order == sorted(order), "mandatory requests first, then by deadline"
    assert "en retard" in page and "dans les délais" in page
    assert "4 jours ouvrés restants" in page


def test_the_secretariat_plans_on_an_appointment_then_records_the_visit(
    setup, users, api_login, login, db_ctx
):
    employer = api_login(users.primary_a)
    item = _file(employer, setup["agent"], 7, dt.date(2025, 5, 26))
    with db_ctx() as session:
        doctor = factories.make_professional(session, last_name="AGREE")
        starts = dt.datetime(2025, 5, 28, 9, 0)
        plage = Plage(
            office_id=setup["office"].id,
            professional_id=doctor.id,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
            appointment_minutes=60,
            nature=PlageNature.agree,
            state=PlageState.reservee,
            reserved_for_id=users.collectivity_a.id,
        )
        session.add(plage)
        session.flush()
        visit = session.scalar(select(VisitType).where(VisitType.code == "occasionnelle"))
        appointment = Appointment(
            plage_id=plage.id,
            slot_index=0,
            agent_id=setup["agent"].id,
            collectivity_id=users.collectivity_a.id,
            starts_at=starts,
            visit_type_id=visit.id,
            status=AppointmentStatus.honoree,
        )
        session.add(appointment)
        session.flush()
        appointment_id = appointment.id
    web = login(users.secretariat)
    url = f"{QUEUE}{item['id']}"
    page = text(web.get(url))
    assert "médecin agréé" in page
    token = web.csrf_token(url)
    web.post(f"{url}/planifier", data={"appointment_id": appointment_id, "csrf_token": token})
    result = employer.get(f"{API}{item['id']}").get_json()["result"]
    assert result["status"] == "planifiee" and result["planned_on"] == "2025-05-28"
    assert result["appointment_id"] == appointment_id
    # A done date before the request is refused, nothing written; the page comes back with
    # the date as typed, the refusal shown with the form.
    response = web.post(
        f"{url}/realisee",
        data={"outcome": "realisee", "done_on": "20/05/2025", "csrf_token": token},
        follow_redirects=True,
    )
    assert response.status_code == 400
    done_form = text(response).split('class="medprev-statutory-done"', 1)[1].split("</form>")[0]
    assert 'value="20/05/2025"' in done_form
    assert "ne peut pas précéder la demande" in text(response)
    assert employer.get(f"{API}{item['id']}").get_json()["result"]["status"] == "planifiee"
    # A date that does not exist: the message under the field, the date kept as typed.
    response = web.post(
        f"{url}/realisee",
        data={"outcome": "realisee", "done_on": "31/04/2025", "csrf_token": token},
    )
    assert response.status_code == 400 and 'value="31/04/2025"' in text(response)
    assert "medprev-field-error" in text(response) and "« 31/04/2025 »" in text(response)
    web.post(
        f"{url}/realisee",
        data={"outcome": "realisee", "done_on": "28/05/2025", "csrf_token": token},
    )
    result = employer.get(f"{API}{item['id']}").get_json()["result"]
    # Expertise report: 20 working days after 28/05 in Moselle (29/05 Ascension, 09/06 Whit Monday).
    assert result["status"] == "realisee" and result["restitution_due_on"] == "2025-06-27"
    assert "Rapport d'expertise" in text(web.get(url))
    response = web.post(f"{url}/transmis", data={"sent_on": "3O/06/2025", "csrf_token": token})
    assert response.status_code == 400 and 'value="3O/06/2025"' in text(response)
    assert "Date invalide : « 3O/06/2025 »" in text(response)


# -- bad input ----------------------------------------------------------------------------------


def test_a_collectivity_below_50_agents_is_told_and_nothing_is_written(
    setup, users, api_login, login, db_ctx
):
    page = text(login(users.primary_b).get(PORTAL))
    assert "réservée aux employeurs d'au moins 50 agents" in page and "40 agents" in page
    before = _count(db_ctx)
    response = api_login(users.primary_b).post(
        API, json={"agent_id": setup["foreign"].id, "act_number": 1}
    )
    assert response.status_code == 400
    assert "au moins 50 agents" in response.get_json()["message"]
    assert _count(db_ctx) == before


def test_a_collectivity_without_msc_convention_is_told(setup, users, login, db_ctx):
    with db_ctx() as session:
        c = factories.make_collectivity(session, name="Commune Sans MSC")
        user = factories.make_user(session, "Employeur principal", collectivity=c)
        session.add(
            Headcount(collectivity_id=c.id, year=2025, headcount=300, permanent_headcount=280)
        )
    page = text(login(user).get(PORTAL))
    assert "pas de convention de médecine statutaire" in page


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"act_number": 18}, "Acte inconnu (n° 18)"),
        ({"act_number": "abc"}, "Acte inconnu"),
        ({"act_number": 1, "requested_on": "2025-06-03"}, "ne peut pas être dans le futur"),
        ({"act_number": 1, "requested_on": "03/06/2025"}, "date invalide"),
        ({"act_number": 1, "written_report": "oui"}, "true ou false"),
    ],
)
def test_bad_requests_are_refused_in_french_and_write_nothing(
    setup, users, api_login, db_ctx, payload, message
):
    before = _count(db_ctx)
    response = api_login(users.primary_a).post(API, json={"agent_id": setup["agent"].id, **payload})
    assert response.status_code == 400
    assert message in response.get_json()["message"]
    assert _count(db_ctx) == before


def test_the_employer_form_refuses_a_future_date(setup, users, login, db_ctx):
    web = login(users.primary_a)
    response = web.post_form(
        f"{PORTAL}nouvelle",
        {"agent_id": setup["agent"].id, "act_number": "1", "requested_on": "10/06/2025"},
    )
    assert response.status_code == 200
    assert "ne peut pas être dans le futur" in text(response)
    assert _count(db_ctx) == 0
    response = web.post_form(
        f"{PORTAL}nouvelle",
        {"agent_id": setup["agent"].id, "act_number": "1", "requested_on": "02/06/2025"},
    )
    assert response.status_code == 302
    assert _count(db_ctx) == 1


def test_done_in_the_future_or_before_the_request_is_refused(setup, users, api_login, db_ctx):
    employer, staff = api_login(users.primary_a), api_login(users.secretariat)
    item = _file(employer, setup["agent"], 1, dt.date(2025, 5, 26))
    for done_on, message in (("2025-06-03", "futur"), ("2025-05-25", "précéder la demande")):
        response = staff.put(f"{API}{item['id']}", json={"status": "realisee", "done_on": done_on})
        assert response.status_code == 400 and message in response.get_json()["message"]
    assert employer.get(f"{API}{item['id']}").get_json()["result"]["status"] == "en_attente"
    # An employer may only cancel.
    response = employer.put(
        f"{API}{item['id']}", json={"status": "realisee", "done_on": "2025-05-27"}
    )
    assert response.status_code == 400


# -- scope and medical content ----------------------------------------------------------------


def test_a_secondary_account_sees_only_its_agents_requests(setup, users, api_login, login):
    primary = api_login(users.primary_a)
    _file(primary, setup["agent"], 1, dt.date(2025, 5, 26))
    managed = _file(primary, setup["managed"], 12, dt.date(2025, 5, 26))
    secondary = api_login(users.secondary_a)
    listing = secondary.get(API).get_json()["result"]
    assert [row["id"] for row in listing] == [managed["id"]]
    page = text(login(users.secondary_a).get(PORTAL))
    assert "GERE" in page and "DURAND" not in page
    # B never reads A's request.
    assert api_login(users.primary_b).get(f"{API}{managed['id']}").status_code == 404
    # The secondary files for its agent (the quota counts the whole collectivity), never for
    # an agent it does not manage.
    own = _file(secondary, setup["managed"], 7, dt.date(2025, 5, 27))
    assert own["within_quota"] is True
    refused = secondary.post(API, json={"agent_id": setup["agent"].id, "act_number": 1})
    assert refused.status_code == 404
    assert secondary.put(f"{API}{own['id']}", json={"status": "annulee"}).status_code == 200


def test_a_medical_report_too_long_comes_back_with_its_text(setup, users, api_login, login, db_ctx):
    item = _file(api_login(users.primary_a), setup["agent"], 7, dt.date(2025, 5, 26))
    url = f"{QUEUE}rapport/{item['id']}"
    doctor = login(users.sante)
    typed = "Séquelles TEXTEGARDE " + "x" * 20000  # over the 20 000 characters
    response = doctor.post(url, data={"text": typed, "csrf_token": doctor.csrf_token(url)})
    assert response.status_code == 400
    page = text(response)
    assert "20 000 caractères au plus." in page and typed in page  # nothing typed is lost
    with db_ctx() as session:
        assert session.scalar(select(func.count()).select_from(StatutoryReport)) == 0
    # corrected, it is saved
    saved = doctor.post(url, data={"text": typed[:300], "csrf_token": doctor.csrf_token(url)})
    assert saved.status_code == 302
    assert "Séquelles TEXTEGARDE" in text(doctor.get(url))


def test_the_medical_report_reaches_health_roles_only_and_each_read_is_logged(
    setup, users, api_login, login, db_ctx
):
    item = _file(api_login(users.primary_a), setup["agent"], 7, dt.date(2025, 5, 26))
    url = f"{QUEUE}rapport/{item['id']}"
    doctor = login(users.sante)
    token = doctor.csrf_token(url)
    doctor.post(url, data={"text": "Consolidation acquise RAPPORTSECRET", "csrf_token": token})
    assert "RAPPORTSECRET" in text(doctor.get(url))
    with db_ctx() as session:
        assert session.scalar(select(func.count()).select_from(StatutoryReport)) == 1
        reads = session.scalar(
            select(func.count())
            .select_from(MedicalAccess)
            .where(MedicalAccess.agent_id == setup["agent"].id)
        )
        assert reads >= 2
    for user in (users.admin, users.secretariat, users.primary_a):
        response = login(user).get(url)
        assert response.status_code in (403, 404) or "RAPPORTSECRET" not in text(response)
    employer = login(users.primary_a)
    assert "RAPPORTSECRET" not in text(employer.get(f"{PORTAL}{item['id']}"))
    assert "RAPPORTSECRET" not in api_login(users.primary_a).get(f"{API}{item['id']}").get_data(
        as_text=True
    )


def test_the_queue_runs_a_constant_number_of_statements(
    setup, users, api_login, login, count_queries, db_ctx
):
    employer = api_login(users.primary_a)
    web = login(users.secretariat)
    portal = login(users.primary_a)
    counts = {}
    for total in (5, 30):
        while _count(db_ctx) < total:
            _file(employer, setup["agent"], 1 + _count(db_ctx) % 17, dt.date(2025, 5, 26))
        for name, client, url in (("queue", web, QUEUE), ("portal", portal, PORTAL)):
            client.get(url)
            with count_queries() as counter:
                assert client.get(url).status_code == 200
            counts.setdefault(name, []).append(counter.count)
    print(f"\nstatutory pages, statements with 5 and 30 requests: {counts}")
    assert counts["queue"][0] == counts["queue"][1]
    assert counts["portal"][0] == counts["portal"][1]
    assert max(counts["queue"] + counts["portal"]) <= 12


# -- inspection (ACFI) ------------------------------------------------------------------------


def _acfi(session, collectivity, headcount, *, start=dt.date(2025, 1, 1)):
    mission = session.scalar(select(Mission).where(Mission.code == "acfi"))
    session.add(
        Convention(
            collectivity_id=collectivity.id,
            mission_id=mission.id,
            number=f"ACFI-{collectivity.id}-{factories._next()}",
            start_date=start,
            end_date=dt.date(2027, 12, 31),
        )
    )
    session.add(Headcount(collectivity_id=collectivity.id, year=2025, headcount=headcount))
    session.flush()


def _add_day(web, collectivity_id, day, days="1"):
    token = web.csrf_token("/inspection/")
    return web.post(
        "/inspection/jour",
        data={
            "collectivity_id": collectivity_id,
            "day_on": day,
            "days": days,
            "nature": "visite",
            "inspector": "M. LEROY",
            "csrf_token": token,
        },
        follow_redirects=True,
    )


def test_acfi_day_typed_wrong_is_shown_on_the_form_and_nothing_typed_is_lost(users, login, db_ctx):
    from app.statutory.models import AcfiDay

    with db_ctx() as session:
        collectivity = factories.make_collectivity(session, name="Commune Saisie")
        _acfi(session, collectivity, 120)
        cid = collectivity.id
    web = login(users.secretariat)
    response = _add_day(web, cid, "32/05/2025")
    page = text(response)
    assert response.status_code == 400
    form = page.split("Planifier une intervention", 1)[1]
    assert "Date impossible : « 32/05/2025 »" in form and 'value="M. LEROY"' in form
    with db_ctx() as session:
        assert session.scalars(select(AcfiDay)).all() == []


def test_acfi_volume_extra_days_and_the_amendment_beyond_20_percent(users, login, db_ctx):
    """120 agents, affiliated: 1 + 1 + 1 = 3 days in 2025; extra days at 460 € up to +20 % (3,6
    days); beyond, an amendment is required."""
    from app.statutory.models import AcfiDay, AcfiPlan

    with db_ctx() as session:
        collectivity = factories.make_collectivity(session, name="Commune Inspectée")
        _acfi(session, collectivity, 120)
        cid = collectivity.id
    web = login(users.secretariat)
    for day in ("05/05/2025", "06/05/2025", "07/05/2025"):
        assert "L'intervention est planifiée" in text(_add_day(web, cid, day))
    assert "L'intervention est planifiée" in text(_add_day(web, cid, "12/05/2025", "0.5"))
    refused = text(_add_day(web, cid, "13/05/2025"))
    assert "un avenant à la convention ACFI est nécessaire" in refused
    with db_ctx() as session:
        plan = session.scalar(select(AcfiPlan).where(AcfiPlan.collectivity_id == cid))
        assert plan.volume_days == Decimal(3)
        assert session.scalar(select(func.count()).select_from(AcfiDay)) == 4
        days = list(session.scalars(select(AcfiDay).where(AcfiDay.plan_id == plan.id)))
        plan_id = plan.id
    page = text(web.get("/inspection/?annee=2025"))
    assert "avenant nécessaire" in page
    for day in days:
        token = web.csrf_token(f"/inspection/{plan_id}")
        web.post(f"/inspection/jour/{day.id}/etat", data={"status": "realise", "csrf_token": token})
    detail = text(web.get(f"/inspection/{plan_id}"))
    assert "0,5 – 230,00" in detail  # 3,5 days done: 0,5 extra day at 460 €
    # With an amendment the fifth day is accepted.
    token = web.csrf_token(f"/inspection/{plan_id}")
    web.post(
        f"/inspection/{plan_id}/modifier",
        data={"volume_days": "3", "amendment": "AV-2025-01", "csrf_token": token},
    )
    assert "L'intervention est planifiée" in text(_add_day(web, cid, "13/05/2025"))


def test_small_collectivities_are_inspected_on_their_cycle_and_non_affiliated_pay_each_day(
    users, login, db_ctx
):
    from app.referential.models import TariffCategory
    from app.statutory import acfi
    from app.statutory.models import AcfiPlan

    with db_ctx() as session:
        small = factories.make_collectivity(session, name="Petite Commune")
        _acfi(session, small, 5, start=dt.date(2024, 1, 1))  # every 3 years from 2024
        other = factories.make_collectivity(
            session, name="Syndicat Non Affilié", category=TariffCategory.non_affiliee_moins_800
        )
        _acfi(session, other, 400)
        small_id, other_id = small.id, other.id
    web = login(users.secretariat)
    refused = text(_add_day(web, small_id, "05/05/2025"))
    assert "avenant" in refused  # 2025 is an off year: no day planned
    assert "L'intervention est planifiée" in text(_add_day(web, other_id, "05/05/2025"))
    with db_ctx() as session:
        plan = session.scalar(select(AcfiPlan).where(AcfiPlan.collectivity_id == other_id))
        for day in plan.days:
            day.status = day.status.__class__.realise
        session.flush()
        [summary] = acfi.summaries([plan])
        assert summary.amount == Decimal("530.00") and not plan.affiliated


def test_an_employer_reads_only_its_own_inspection_years(users, login, db_ctx):
    from app.statutory.models import AcfiPlan

    with db_ctx() as session:
        for collectivity, marker in (
            (users.collectivity_a, "ALPHA"),
            (users.collectivity_b, "BETA"),
        ):
            session.add(
                AcfiPlan(
                    collectivity_id=collectivity.id,
                    year=2025,
                    volume_days=Decimal(3),
                    amendment_reference=f"AV-{marker}",
                )
            )
    page = text(login(users.primary_a).get("/portail/inspection/"))
    assert "AV-ALPHA" in page and "AV-BETA" not in page
    assert login(users.primary_a).get("/inspection/").status_code == 403


def test_every_statutory_screen_opens_in_french(setup, users, api_login, login):
    item = _file(api_login(users.primary_a), setup["agent"], 12, dt.date(2025, 5, 30))
    employer = login(users.primary_a)
    for url in (
        PORTAL,
        f"{PORTAL}nouvelle",
        f"{PORTAL}agent/{setup['agent'].id}/nouvelle",
        f"{PORTAL}{item['id']}",
        "/portail/inspection/",
    ):
        response = employer.get(url)
        assert response.status_code == 200, url
        assert "Médecine statutaire" in text(response) or "Inspection" in text(response)
    staff = login(users.secretariat)
    for url in (QUEUE, f"{QUEUE}{item['id']}", f"{QUEUE}agent/{setup['agent'].id}/nouvelle"):
        assert staff.get(url).status_code == 200, url
    assert "Planifier" in text(staff.get(f"{QUEUE}{item['id']}"))
    assert "Rapport médical" in text(login(users.sante).get(f"{QUEUE}rapport/{item['id']}"))
    assert "Inspection (ACFI)" in text(staff.get("/inspection/"))


def test_the_inspection_page_runs_a_constant_number_of_statements(
    users, login, db_ctx, count_queries
):
    from app.statutory import acfi

    web = login(users.secretariat)
    counts = []
    for total in (3, 15):
        with db_ctx() as session:
            while len(list(session.scalars(acfi.plans_query(2025)))) < total:
                collectivity = factories.make_collectivity(session)
                _acfi(session, collectivity, 120)
                acfi.add_day(collectivity.id, dt.date(2025, 5, 5), "1")
        web.get("/inspection/?annee=2025")
        with count_queries() as counter:
            assert web.get("/inspection/?annee=2025").status_code == 200
        counts.append(counter.count)
    print(f"\ninspection page, statements with 3 and 15 collectivities: {counts}")
    assert counts[0] == counts[1] <= 8


def test_the_agents_list_links_each_agent_to_a_statutory_request(setup, users, login):
    """SPEC I1: from an agent's line, the employer and the secretariat open the request form."""
    agent_id = setup["agent"].id
    employer = text(login(users.primary_a).get("/effectif/"))
    assert f"/portail/medecine-statutaire/agent/{agent_id}/nouvelle" in employer
    staff = text(login(users.secretariat).get("/effectif/"))
    assert f"/medecine-statutaire/agent/{agent_id}/nouvelle" in staff
    form = login(users.secretariat).get(f"/medecine-statutaire/agent/{agent_id}/nouvelle")
    assert form.status_code == 200
