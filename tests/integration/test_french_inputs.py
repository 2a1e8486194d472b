"""Screens as a CDG secretary expects them (issue 10): typed dates read strictly, required
drop-downs that start empty, attendance recorded for a whole plage."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.core import clock
from app.planning.models import Appointment, AppointmentStatus, Plage, PlageNature, PlageState
from app.referential.models import ProfessionalRole, VisitType
from app.workforce.models import Agent
from tests import factories
from tests.integration.test_workforce import _agent_form, _contract, _ids, _position
from tests.isolation import make_agent
from tests.util import text

TODAY = dt.date(2026, 3, 9)


def _first_option(page: str, select_id: str) -> str:
    match = re.search(rf'<select[^>]*id="{select_id}"[^>]*>\s*(<option[^>]*>[^<]*</option>)', page)
    assert match, f"no select #{select_id}"
    return match.group(1)


def test_an_impossible_birth_date_is_an_error_on_its_field_and_the_text_is_kept(
    login, users, db_ctx
):
    position_id, contract_type_id = _ids(db_ctx, users)
    web = login(users.primary_a)
    response = web.post_form(
        "/effectif/nouveau", _agent_form(position_id, contract_type_id, birth_date="31/02/1988")
    )
    page = text(response)
    assert response.status_code == 200
    field = re.search(
        r'<input[^>]*name="birth_date"[^>]*>.*?medprev-field-error">([^<]*)<', page, re.S
    )
    assert field, "the error is shown next to the birth date"
    assert field.group(1) == (
        "Date impossible : « 31/02/1988 » n'existe pas au calendrier. Format attendu JJ/MM/AAAA."
    )
    assert 'value="31/02/1988"' in page
    with db_ctx() as session:
        assert session.scalar(select(Agent).where(Agent.birth_name == "LEFÈVRE")) is None


@pytest.mark.parametrize(
    ("typed", "saved"),
    [("12031988", dt.date(1988, 3, 12)), ("1/3/1988", dt.date(1988, 3, 1))],
)
def test_a_birth_date_typed_compact_or_without_zeros_is_saved_as_typed(
    login, users, db_ctx, typed, saved
):
    position_id, contract_type_id = _ids(db_ctx, users)
    web = login(users.primary_a)
    response = web.post_form(
        "/effectif/nouveau", _agent_form(position_id, contract_type_id, birth_date=typed)
    )
    assert response.status_code == 302, text(response)
    with db_ctx() as session:
        agent = session.scalar(select(Agent).where(Agent.birth_name == "LEFÈVRE"))
        assert agent.birth_date == saved


def test_a_search_period_reads_iso_and_refuses_an_impossible_date(login, users):
    web = login(users.primary_a)
    page = text(web.get("/portail/consultations/?du=1988-03-12&au=31/02/1988"))
    assert "Date impossible : « 31/02/1988 » n'existe pas au calendrier." in page
    assert "Date invalide" not in page  # the ISO date was read


@pytest.fixture
def planning(db_ctx, users):
    with db_ctx() as session:
        office = factories.make_office(session, served=[users.collectivity_a], name="Cabinet Nord")
        doctor = factories.make_professional(session, last_name="MOREAU")
        nurse = factories.make_professional(
            session, last_name="INFIRMIERE", role=ProfessionalRole.infirmier
        )
        psychologist = factories.make_professional(
            session, last_name="PSY", role=ProfessionalRole.psychologue
        )
        secretary = factories.make_professional(
            session, last_name="SECRETAIRE", role=ProfessionalRole.secretaire
        )
        position = _position(session, users.collectivity_a, "JARDINIER", "631a")
        agents = []
        for first_name in ("Léa", "Marc"):
            agent = make_agent(
                session, users.collectivity_a, birth_name="DURAND", first_name=first_name
            )
            _contract(session, agent, position)
            agents.append(agent)
        starts_at = dt.datetime.combine(TODAY, dt.time(8, 0))
        plage = Plage(
            office_id=office.id,
            professional_id=doctor.id,
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(hours=1),
            appointment_minutes=20,
            nature=PlageNature.medecin,
            state=PlageState.convocation,
        )
        session.add(plage)
        session.flush()
        visit_type = session.scalars(select(VisitType)).first()
        appointments = []
        for index, agent in enumerate(agents):
            appointment = Appointment(
                plage_id=plage.id,
                agent_id=agent.id,
                collectivity_id=users.collectivity_a.id,
                slot_index=index,
                starts_at=starts_at + dt.timedelta(minutes=20 * index),
                visit_type_id=visit_type.id,
                status=AppointmentStatus.convoquee,
            )
            session.add(appointment)
            appointments.append(appointment)
        session.flush()
        return {
            "plage": plage,
            "appointments": appointments,
            "doctor": doctor,
            "nurse": nurse,
            "others": [psychologist, secretary],
        }


def test_required_selects_start_empty(login, users, planning):
    staff = login(users.secretariat)
    plage_form = text(staff.get("/plages/nouvelle"))
    for select_id in ("office_id", "professional_id", "nature"):
        assert (
            _first_option(plage_form, select_id) == '<option value="" selected>Choisissez…</option>'
        )
    assert 'data-placeholder="Choisissez…"' in plage_form
    # Flask-AppBuilder's own forms: a required relation starts on its blank.
    contact_form = text(staff.get("/contactview/add"))
    assert _first_option(contact_form, "collectivity") == (
        '<option selected value="__None">Choisissez…</option>'
    )


def test_the_booking_form_preselects_no_agent(login, users, db_ctx):
    with db_ctx() as session:
        office = factories.make_office(session, served=[users.collectivity_a])
        doctor = factories.make_professional(session)
        position = _position(session, users.collectivity_a, "JARDINIER", "631a")
        agent = make_agent(session, users.collectivity_a, birth_name="DURAND", first_name="Léa")
        _contract(session, agent, position)
        starts_at = dt.datetime.combine(clock.today() + dt.timedelta(days=10), dt.time(8, 0))
        plage = Plage(
            office_id=office.id,
            professional_id=doctor.id,
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(hours=1),
            appointment_minutes=20,
            nature=PlageNature.medecin,
            state=PlageState.reservee,
            reserved_for_id=users.collectivity_a.id,
        )
        session.add(plage)
        session.flush()
    page = text(login(users.primary_a).get(f"/portail/consultations/plage/{plage.id}/reserver"))
    assert _first_option(page, "agent_id") == '<option value="" selected>Choisissez…</option>'
    assert _first_option(page, "visit_type") == '<option value="" selected>Choisissez…</option>'
    assert f'<option value="{agent.id}">' in page


def test_a_plage_is_held_by_a_doctor_or_a_nurse_only(login, users, planning):
    page = text(login(users.secretariat).get("/plages/nouvelle"))
    select_html = re.search(r'<select[^>]*id="professional_id".*?</select>', page, re.S).group(0)
    values = set(re.findall(r'<option value="(\d+)"', select_html))
    assert values == {str(planning["doctor"].id), str(planning["nurse"].id)}
    posted = login(users.secretariat).post_form(
        "/plages/nouvelle",
        {
            "office_id": planning["plage"].office_id,
            "professional_id": planning["others"][0].id,
            "nature": "medecin",
            "day": "16/03/2026",
            "start": "09:00",
            "end": "10:00",
            "appointment_minutes": "20",
            "reserved_for_id": "0",
        },
    )
    errors = re.findall(r'medprev-field-error">([^<]*)<', text(posted))
    assert posted.status_code == 200 and errors == ["N'est pas un choix valide."]


def test_attendance_starts_unchosen_and_records_a_whole_plage_in_one_post(
    login, users, db_ctx, planning, monkeypatch
):
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    monkeypatch.setattr(clock, "now_local", lambda: dt.datetime.combine(TODAY, dt.time(12, 0)))
    staff = login(users.secretariat)
    plage_id = planning["plage"].id
    page = text(staff.get(f"/plages/{plage_id}"))
    first, second = (a.id for a in planning["appointments"])
    for appointment_id in (first, second):
        select_html = re.search(
            rf'<select name="status-{appointment_id}".*?</select>', page, re.S
        ).group(0)
        assert "selected" not in select_html
        assert '<option value="">Choisissez…</option>' in select_html
    assert page.count('id="record-attendance"') == 1

    response = staff.post_form(
        f"/plages/{plage_id}/presence",
        {f"status-{first}": "honoree", f"status-{second}": "absence_injustifiee"},
        form_url=f"/plages/{plage_id}",
    )
    assert response.status_code == 302
    assert "Présence enregistrée pour 2 rendez-vous." in text(
        staff.get(response.headers["Location"])
    )
    with db_ctx() as session:
        statuses = [session.get(Appointment, a.id).status for a in planning["appointments"]]
    assert statuses == [AppointmentStatus.honoree, AppointmentStatus.absence_injustifiee]


def test_attendance_with_nothing_chosen_is_refused_in_french(login, users, planning, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    staff = login(users.secretariat)
    plage_id = planning["plage"].id
    response = staff.post_form(
        f"/plages/{plage_id}/presence",
        {f"status-{a.id}": "" for a in planning["appointments"]},
        form_url=f"/plages/{plage_id}",
    )
    page = text(staff.get(response.headers["Location"]))
    assert "Choisissez la présence d'au moins un rendez-vous." in page


def test_irreversible_actions_ask_for_confirmation(login, users, db_ctx, planning, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY - dt.timedelta(days=3))
    with db_ctx() as session:
        plage = session.get(Plage, planning["plage"].id)
        plage.state = PlageState.reservee
        for appointment in plage.appointments:
            appointment.status = AppointmentStatus.reservee
    page = text(login(users.secretariat).get(f"/plages/{planning['plage'].id}"))
    convoke = re.search(r'<form[^>]*convoquer"[^>]*>', page).group(0)
    assert 'data-confirm="Convoquer les agents de cette plage ?' in convoke
    assert re.search(r'<form[^>]*/annuler"[^>]*data-confirm="Annuler la plage ?', page)
    assert page.count('data-confirm="Annuler le rendez-vous de DURAND') == 2
