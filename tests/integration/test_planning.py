"""Planning and booking (SPEC D1-D8, CONTRACT.md §2 plage / appointment / book / refuse / cancel)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.core.mail import outbox_entries
from app.planning import services
from app.planning.models import (
    Appointment,
    AppointmentStatus,
    Plage,
    PlageNature,
    PlageRefusal,
    PlageState,
)
from app.referential.models import ContactFunction
from tests import factories
from tests.integration.test_workforce import _contract, _position
from tests.isolation import make_agent
from tests.util import text

NOW = dt.datetime(2026, 3, 2, 8, 0)  # a Monday


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "now_local", lambda: NOW)
    monkeypatch.setattr(clock, "today", lambda: NOW.date())


@pytest.fixture
def setup(db_ctx, users):
    """An office serving A and B, a doctor, an agent of A with a position, plages next week."""
    with db_ctx() as session:
        office = factories.make_office(
            session, served=[users.collectivity_a, users.collectivity_b], name="Cabinet de Tassin"
        )
        doctor = factories.make_professional(session, last_name="MOREAU")
        position = _position(session, users.collectivity_a, "JARDINIER", "631a")
        agent = make_agent(session, users.collectivity_a, birth_name="DURAND", first_name="Léa")
        _contract(session, agent, position)
        factories.make_contact(
            session,
            users.collectivity_a,
            function=ContactFunction.convocation,
            email="convocations@a.fr",
        )
        day = NOW.date() + dt.timedelta(days=7)

        def plage(
            hour: int, state: PlageState, reserved=None, minutes=20, length=60, day=day
        ) -> Plage:
            item = Plage(
                office_id=office.id,
                professional_id=doctor.id,
                starts_at=dt.datetime.combine(day, dt.time(hour, 0)),
                ends_at=dt.datetime.combine(day, dt.time(hour, 0)) + dt.timedelta(minutes=length),
                appointment_minutes=minutes,
                nature=PlageNature.medecin,
                state=state,
                reserved_for_id=reserved.id if reserved else None,
            )
            session.add(item)
            session.flush()
            return item

        return {
            "office": office,
            "doctor": doctor,
            "agent": agent,
            "position": position,
            "reserved_a": plage(8, PlageState.reservee, users.collectivity_a),
            "reserved_b": plage(10, PlageState.reservee, users.collectivity_b),
            "common": plage(13, PlageState.commune, length=20),
            "convocation": plage(15, PlageState.convocation, users.collectivity_a),
            "past": plage(8, PlageState.commune, day=NOW.date() - dt.timedelta(days=1)),
        }


def _book(api, plage, agent, visit="periodique"):
    return api.post(
        f"/api/v1/plage/{plage.id}/book",
        json={"agent_id": agent.id, "visit_type": visit, "comment": "Merci"},
    )


def test_booking_gives_a_time_inside_the_plage_and_the_last_unit_is_refused_with_409(
    api_login, users, db_ctx, setup
):
    api = api_login(users.primary_a)
    first = _book(api, setup["common"], setup["agent"])
    assert first.status_code == 201, first.get_json()
    body = first.get_json()["result"]
    assert body["start"] == setup["common"].starts_at.isoformat() and body["status"] == "reservee"
    with db_ctx() as session:
        other = make_agent(session, users.collectivity_a, birth_name="MARTIN")
        _contract(session, other, setup["position"])
    full = _book(api, setup["common"], other)
    assert full.status_code == 409
    assert (
        full.get_json()["message"]
        == "Plus aucune place n'est disponible sur cette plage : choisissez une autre plage."
    )
    listing = api.get("/api/v1/plage/").get_json()["result"]
    common = next(row for row in listing if row["id"] == setup["common"].id)
    assert common["free_capacity"] == 0 and common["state"] == "commune"


def test_bad_bookings_are_refused_in_french_and_write_nothing(api_login, users, db_ctx, setup):
    api = api_login(users.primary_a)
    with db_ctx() as session:
        no_position = make_agent(session, users.collectivity_a, birth_name="SANSPOSTE")
        foreign = make_agent(session, users.collectivity_b, birth_name="ETRANGER")
        _contract(session, foreign, _position(session, users.collectivity_b, "POSTE B", "684a"))
    cases = [
        (setup["past"], setup["agent"], 400, "Cette plage est passée"),
        (setup["convocation"], setup["agent"], 400, "convocation validée par le secrétariat"),
        (setup["reserved_b"], setup["agent"], 404, "Enregistrement introuvable."),
        (setup["reserved_a"], no_position, 400, "n'a pas de poste à la date de la plage"),
        (setup["reserved_a"], foreign, 404, "Enregistrement introuvable."),
    ]
    for plage, agent, status, message in cases:
        response = _book(api, plage, agent)
        assert response.status_code == status, (plage.id, response.get_json())
        assert message in response.get_json()["message"]
    assert _book(api, setup["reserved_a"], setup["agent"], visit="inconnue").status_code == 400
    with db_ctx() as session:
        assert session.scalar(select(func.count(Appointment.id))) == 0


def test_the_same_agent_cannot_take_two_units_of_a_plage(api_login, users, setup):
    api = api_login(users.primary_a)
    assert _book(api, setup["reserved_a"], setup["agent"]).status_code == 201
    again = _book(api, setup["reserved_a"], setup["agent"])
    assert again.status_code == 400 and "déjà un rendez-vous" in again.get_json()["message"]


def test_employers_see_their_reserved_plages_the_common_ones_and_their_convocations(
    login, users, setup
):
    page = (
        login(users.primary_a)
        .get("/portail/consultations/?du=02/03/2026&au=31/03/2026")
        .get_data(as_text=True)
    )
    assert f'data-plage="{setup["reserved_a"].id}" data-state="reservee"' in page
    assert f'data-plage="{setup["common"].id}" data-state="commune"' in page
    assert f'data-plage="{setup["convocation"].id}" data-state="convocation"' in page
    assert f'data-plage="{setup["reserved_b"].id}"' not in page
    assert (
        'class="plage-reservee"' in page
        and 'class="plage-commune"' in page
        and 'class="plage-convocation"' in page
    )
    other = (
        login(users.primary_b)
        .get("/portail/consultations/?du=02/03/2026&au=31/03/2026")
        .get_data(as_text=True)
    )
    assert (
        f'data-plage="{setup["reserved_a"].id}"' not in other
        and f'data-plage="{setup["reserved_b"].id}"' in other
    )


def test_the_period_is_required_and_checked(login, users, setup):
    web = login(users.primary_a)
    bad = text(web.get("/portail/consultations/?du=31/02/2026&au=10/03/2026"))
    assert "Date impossible : « 31/02/2026 » n'existe pas au calendrier." in bad
    reversed_period = text(web.get("/portail/consultations/?du=10/03/2026&au=01/03/2026"))
    assert "La date de fin précède la date de début." in reversed_period


def test_booking_in_the_portal_goes_through_a_confirmation_then_edits_the_consultation(
    login, users, db_ctx, setup
):
    web = login(users.primary_a)
    url = f"/portail/consultations/plage/{setup['reserved_a'].id}/reserver"
    form = text(web.get(url))
    assert "DURAND Léa – JARDINIER" in form
    data = {
        "agent_id": setup["agent"].id,
        "visit_type": "periodique",
        "comment": "Horaires décalés",
    }
    confirmation = web.post_form(url, data)
    assert (
        "Confirmez-vous la réservation d'un rendez-vous pour <strong>DURAND Léa – JARDINIER</strong>"
        in text(confirmation)
    )
    with db_ctx() as session:
        assert session.scalar(select(func.count(Appointment.id))) == 0, (
            "nothing before the confirmation"
        )
    # Post the confirmation form exactly as the browser would (every field it contains).
    panel = confirmation.get_data(as_text=True).split("medprev-confirm")[1].split("</form>")[0]
    fields = re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', panel)
    assert [name for name, _ in fields].count("confirm") == 1
    from werkzeug.datastructures import MultiDict

    done = web.post(url, data=MultiDict([(name, html.unescape(value)) for name, value in fields]))
    assert done.status_code == 302 and "created=1" in done.headers["Location"]
    page = text(web.get(done.headers["Location"]))
    assert "Édition d'une consultation" in page and "Le rendez-vous est réservé." in page
    assert "08:00" in page and "Cabinet de Tassin" in page and "Périodique" in page


def test_refusing_a_reserved_plage_needs_a_reason_makes_it_common_and_tells_the_secretariat(
    app, login, users, db_ctx, setup
):
    web = login(users.primary_a)
    plage_id = setup["reserved_a"].id
    web.post_form(
        f"/portail/consultations/plage/{plage_id}/refuser",
        {"reason": ""},
        form_url="/portail/consultations/",
    )
    with db_ctx() as session:
        assert session.get(Plage, plage_id).state is PlageState.reservee
    web.post_form(
        f"/portail/consultations/plage/{plage_id}/refuser",
        {"reason": "Agents en formation ce jour-là"},
        form_url="/portail/consultations/",
    )
    with db_ctx() as session:
        plage = session.get(Plage, plage_id)
        assert plage.state is PlageState.commune and plage.reserved_for_id is None
        refusal = session.scalar(select(PlageRefusal).where(PlageRefusal.plage_id == plage_id))
        assert (
            refusal.reason == "Agents en formation ce jour-là"
            and refusal.collectivity_id == users.collectivity_a.id
        )
    with app.app_context():
        [mail] = outbox_entries()
    assert "Agents en formation ce jour-là" in mail.body and "devenue commune" in mail.body
    # Now common: collectivity B sees it.
    page = (
        login(users.primary_b)
        .get("/portail/consultations/?du=02/03/2026&au=31/03/2026")
        .get_data(as_text=True)
    )
    assert f'data-plage="{plage_id}" data-state="commune"' in page


def test_a_convocation_cannot_be_refused_and_the_api_needs_a_reason(api_login, users, setup):
    api = api_login(users.primary_a)
    assert api.post(f"/api/v1/plage/{setup['reserved_a'].id}/refuse", json={}).status_code == 400
    locked = api.post(f"/api/v1/plage/{setup['convocation'].id}/refuse", json={"reason": "x"})
    assert locked.status_code == 400 and "ne peut plus être refusée" in locked.get_json()["message"]
    assert (
        api.post(f"/api/v1/plage/{setup['reserved_b'].id}/refuse", json={"reason": "x"}).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (dt.timedelta(hours=72), "absence_justifiee"),
        (dt.timedelta(hours=48), "absence_justifiee"),
        (dt.timedelta(hours=47), "absence_injustifiee"),
    ],
)
def test_cancelling_follows_the_48_hour_rule(
    api_login, users, setup, monkeypatch, before, expected
):
    api = api_login(users.primary_a)
    booked = _book(api, setup["reserved_a"], setup["agent"]).get_json()
    start = dt.datetime.fromisoformat(booked["result"]["start"])
    monkeypatch.setattr(clock, "now_local", lambda: start - before)
    response = api.post(f"/api/v1/appointment/{booked['id']}/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == expected
    # The unit is free again.
    monkeypatch.setattr(clock, "now_local", lambda: NOW)
    listing = api.get("/api/v1/plage/").get_json()["result"]
    assert next(r for r in listing if r["id"] == setup["reserved_a"].id)["free_capacity"] == 3


def test_the_secretariat_convokes_and_the_convocation_contact_gets_the_details(
    app, login, users, db_ctx, setup, api_login
):
    _book(api_login(users.primary_a), setup["reserved_a"], setup["agent"])
    staff = login(users.secretariat)
    staff.post_form(
        f"/plages/{setup['reserved_a'].id}/convoquer",
        {},
        form_url=f"/plages/{setup['reserved_a'].id}",
    )
    with db_ctx() as session:
        plage = session.get(Plage, setup["reserved_a"].id)
        assert plage.state is PlageState.convocation
        assert [a.status for a in plage.appointments] == [AppointmentStatus.convoquee]
    with app.app_context():
        [mail] = [m for m in outbox_entries() if m.subject.startswith("Convocation")]
    assert mail.to == "convocations@a.fr"
    for detail in (
        "09/03/2026",
        "08:00",
        "Cabinet de Tassin",
        "MOREAU",
        "DURAND Léa",
        "visite périodique",
    ):
        assert detail in mail.body, detail
    employer = api_login(users.primary_a)
    listing = employer.get("/api/v1/plage/").get_json()["result"]
    assert next(r for r in listing if r["id"] == plage.id)["state"] == "convocation"
    assert (
        employer.post(f"/api/v1/plage/{plage.id}/refuse", json={"reason": "x"}).status_code == 400
    )


def test_attendance_is_recorded_after_the_date_only(
    login, users, db_ctx, setup, api_login, monkeypatch
):
    booked = _book(api_login(users.primary_a), setup["reserved_a"], setup["agent"]).get_json()
    staff = login(users.secretariat)
    url = f"/plages/{setup['reserved_a'].id}/presence"
    status = f"status-{booked['id']}"
    early = staff.post_form(url, {status: "honoree"}, form_url="/compte/moi/")
    assert "le jour du rendez-vous ou après" in text(staff.get(early.headers["Location"]))
    later = NOW + dt.timedelta(days=8)
    monkeypatch.setattr(clock, "now_local", lambda: later)
    monkeypatch.setattr(clock, "today", lambda: later.date())
    staff.post_form(url, {status: "absence_injustifiee"}, form_url="/compte/moi/")
    with db_ctx() as session:
        assert (
            session.get(Appointment, booked["id"]).status is AppointmentStatus.absence_injustifiee
        )


def test_secretaries_create_plages_one_by_one_or_weekly_skipping_holidays(
    login, users, db_ctx, setup
):
    staff = login(users.secretariat)
    base = {
        "office_id": setup["office"].id,
        "professional_id": setup["doctor"].id,
        "nature": "medecin",
        "start": "09:00",
        "end": "12:00",
        "appointment_minutes": "30",
        "reserved_for_id": users.collectivity_a.id,
        "note": "",
    }
    single = staff.post_form("/plages/nouvelle", {**base, "day": "16/03/2026", "recurrence": ""})
    assert single.status_code == 302
    weekly = staff.post_form(
        "/plages/nouvelle",
        {
            **base,
            "day": "01/05/2026",
            "recurrence": "hebdomadaire",
            "weekdays": ["3"],
            "last_day": "31/05/2026",
            "reserved_for_id": "0",
        },
    )
    assert weekly.status_code == 302
    with db_ctx() as session:
        days = [
            p.starts_at.date()
            for p in session.scalars(
                select(Plage)
                .where(Plage.starts_at >= dt.datetime(2026, 5, 1))
                .order_by(Plage.starts_at)
            )
        ]
        assert days == [dt.date(2026, 5, 7), dt.date(2026, 5, 21), dt.date(2026, 5, 28)], (
            "Ascension (14/05) skipped"
        )
        single_plage = session.scalar(
            select(Plage).where(Plage.starts_at == dt.datetime(2026, 3, 16, 9, 0))
        )
        assert single_plage.state is PlageState.reservee and single_plage.capacity == 6
    overlap = staff.post_form(
        "/plages/nouvelle",
        {**base, "day": "16/03/2026", "start": "11:00", "end": "13:00", "recurrence": ""},
    )
    assert "ne se chevauchent pas" in text(overlap)
    past = staff.post_form("/plages/nouvelle", {**base, "day": "01/03/2026", "recurrence": ""})
    assert "dans le passé" in text(past)
    calendar = text(staff.get("/plages/?jour=2026-05-07"))
    assert "07/05/2026" in calendar and "09:00–12:00" in calendar


def test_a_reminder_goes_15_days_before_a_reserved_plage_with_free_units_once(
    app, db_ctx, users, setup
):
    with db_ctx() as session:
        other = session.get(Plage, setup["reserved_b"].id)
        other.starts_at += dt.timedelta(days=60)
        other.ends_at += dt.timedelta(days=60)
        far = session.get(Plage, setup["reserved_a"].id)
        far.starts_at = dt.datetime.combine(NOW.date() + dt.timedelta(days=15), dt.time(8, 0))
        far.ends_at = far.starts_at + dt.timedelta(hours=1)
    with db_ctx():
        assert services.send_unfilled_reminders(NOW.date() - dt.timedelta(days=1)) == 0
    with db_ctx():
        assert services.send_unfilled_reminders(NOW.date()) == 1
    with db_ctx():
        assert services.send_unfilled_reminders(NOW.date() + dt.timedelta(days=1)) == 0
    with app.app_context():
        [mail] = outbox_entries()
    assert mail.to == "convocations@a.fr" and "3 place(s) libre(s)" in mail.body


def test_the_staff_calendar_and_employer_planning_run_constant_queries(
    login, users, db_ctx, setup, count_queries
):
    employer = login(users.primary_a)
    staff = login(users.secretariat)
    urls = {
        employer: "/portail/consultations/?du=02/03/2026&au=31/05/2026",
        staff: "/plages/?jour=2026-03-09",
    }
    counts: dict[str, list[int]] = {url: [] for url in urls.values()}
    for extra in (0, 45):
        with db_ctx() as session:
            for index in range(extra):
                day = NOW.date() + dt.timedelta(days=7 + index % 5)
                session.add(
                    Plage(
                        office_id=setup["office"].id,
                        professional_id=factories.make_professional(session).id,
                        starts_at=dt.datetime.combine(day, dt.time(9, 0)),
                        ends_at=dt.datetime.combine(day, dt.time(10, 0)),
                        appointment_minutes=20,
                        nature=PlageNature.infirmier,
                        state=PlageState.commune,
                    )
                )
        for client, url in urls.items():
            client.get(url)
            with count_queries() as counter:
                assert client.get(url).status_code == 200
            counts[url].append(counter.count)
    for url, (small, large) in counts.items():
        assert small == large, (url, small, large)


def test_a_secondary_account_books_only_its_agents(api_login, users, db_ctx, setup):
    api = api_login(users.secondary_a)
    assert _book(api, setup["reserved_a"], setup["agent"]).status_code == 404, (
        "not assigned to this account"
    )
    with db_ctx() as session:
        from app.workforce.models import AgentAssignment

        session.add(
            AgentAssignment(
                agent_id=setup["agent"].id,
                user_id=users.secondary_a.id,
                collectivity_id=users.collectivity_a.id,
            )
        )
    assert _book(api, setup["reserved_a"], setup["agent"]).status_code == 201
