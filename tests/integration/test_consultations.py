"""Consultations (SPEC E4, E5, E7, J3; CONTRACT.md §2 consultation and its sheet): recording a
visit, the visit sheet and its release, confidential visits, medical notes and their log."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.planning.models import Appointment, AppointmentStatus, Plage, PlageNature, PlageState
from app.referential.models import VisitType
from app.tenancy import system_scope
from app.visits import sheets
from app.visits.consultation_models import Consultation, MedicalAccess, MedicalNote
from tests import factories
from tests.integration.test_workforce import _contract, _position
from tests.isolation import make_agent
from tests.util import text

VISIT_DAY = dt.date(2026, 4, 24)  # a Friday; 1 May 2026 (a Friday) is a public holiday
RELEASE_DAY = dt.date(2026, 5, 7)  # 8 working days later
NOTE = "Tension 15/9, antécédents familiaux"
RESTRICTIONS = "Pas de port de charges de plus de 10 kg"


class Clock:
    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.set(dt.datetime.combine(VISIT_DAY, dt.time(17, 0)))

    def set(self, now: dt.datetime) -> None:
        self.monkeypatch.setattr(clock, "now_local", lambda: now)
        self.monkeypatch.setattr(clock, "today", lambda: now.date())

    def day(self, day: dt.date) -> None:
        self.set(dt.datetime.combine(day, dt.time(9, 0)))


@pytest.fixture
def frozen(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def setup(db_ctx, users, frozen):
    """A doctor (with his Santé account), an office, A's agents (one assigned to A's secondary
    account) with a position, and appointments: today at 9:00 and 10:00, next week."""
    with db_ctx() as session:
        office = factories.make_office(
            session, served=[users.collectivity_a, users.collectivity_b], name="Cabinet de Bron"
        )
        doctor = factories.make_professional(
            session, last_name="MOREAU", first_name="Claire", user_id=users.sante.id
        )
        position = _position(session, users.collectivity_a, "JARDINIER", "631a")
        assigned = make_agent(session, users.collectivity_a, birth_name="DURAND", first_name="Léa")
        other = make_agent(session, users.collectivity_a, birth_name="PETIT", first_name="Marc")
        for agent in (assigned, other):
            _contract(session, agent, position)
        from app.workforce.models import AgentAssignment

        session.add(
            AgentAssignment(
                agent_id=assigned.id,
                user_id=users.secondary_a.id,
                collectivity_id=users.collectivity_a.id,
            )
        )
        visit = session.scalar(select(VisitType).where(VisitType.code == "periodique"))

        def plage(day: dt.date) -> Plage:
            item = Plage(
                office_id=office.id,
                professional_id=doctor.id,
                starts_at=dt.datetime.combine(day, dt.time(9, 0)),
                ends_at=dt.datetime.combine(day, dt.time(12, 0)),
                appointment_minutes=60,
                nature=PlageNature.medecin,
                state=PlageState.commune,
            )
            session.add(item)
            session.flush()
            return item

        def appointment(item: Plage, slot: int, agent) -> int:
            row = Appointment(
                plage_id=item.id,
                slot_index=slot,
                agent_id=agent.id,
                collectivity_id=agent.collectivity_id,
                starts_at=item.starts_at + dt.timedelta(hours=slot),
                visit_type_id=visit.id,
                status=AppointmentStatus.convoquee,
            )
            session.add(row)
            session.flush()
            return row.id

        today = plage(VISIT_DAY)
        later = plage(VISIT_DAY + dt.timedelta(days=7))
        return {
            "doctor": doctor.id,
            "office": office.id,
            "visit_type": visit.id,
            "assigned": assigned.id,
            "other": other.id,
            "today": appointment(today, 0, assigned),
            "today_other": appointment(today, 1, other),
            "future": appointment(later, 0, assigned),
        }


def _record(web, appointment_id, **overrides):
    data = {
        "presence": "honoree",
        "outcome": "apte_restrictions",
        "restrictions": RESTRICTIONS,
        "next_visit_on": "24/04/2028",
        "notes": NOTE,
    }
    data.update(overrides)
    url = f"/consultations/rendez-vous/{appointment_id}/visite"
    return web.post_form(url, data, form_url=url, follow_redirects=True)


def _consultation(db_ctx, appointment_id) -> Consultation:
    with db_ctx() as session:
        return session.scalar(
            select(Consultation).where(Consultation.appointment_id == appointment_id)
        )


def _pdf_text(data: bytes) -> str:
    """The text of a PDF as a reader extracts it (the embedded DejaVu font, app/core/pdf.py)."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_doctor_records_a_visit_and_the_employer_reads_the_sheet_from_the_release_day(
    setup, users, login, api_login, db_ctx, frozen
):
    doctor = login(users.sante)
    page = doctor.get("/consultations/?jour=2026-04-24").get_data(as_text=True)
    assert "DURAND Léa" in page and "Enregistrer la visite" in page
    page = text(_record(doctor, setup["today"]))
    assert "Visite enregistrée" in page and NOTE in page
    consultation = _consultation(db_ctx, setup["today"])
    assert consultation.sheet_available_on == RELEASE_DAY
    with db_ctx() as session:
        assert session.get(Appointment, setup["today"]).status is AppointmentStatus.honoree

    for employer in (users.primary_a, users.secondary_a):
        web, api = login(employer), api_login(employer)
        for day, visible in ((RELEASE_DAY - dt.timedelta(days=1), False), (RELEASE_DAY, True)):
            frozen.day(day)
            listing = web.get("/portail/fiches-de-visite/").get_data(as_text=True)
            assert ("DURAND Léa" in listing) is visible
            download = web.get(f"/portail/fiches-de-visite/{consultation.id}/pdf")
            sheet = api.get(f"/api/v1/consultation/{consultation.id}/sheet")
            show = api.get(f"/api/v1/consultation/{consultation.id}")
            if visible:
                assert "Apte avec restrictions / aménagements" in listing
                assert download.status_code == 200 and download.data.startswith(b"%PDF")
                assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
                assert show.get_json()["result"]["sheet_available_on"] == "2026-05-07"
                assert "notes" not in str(show.get_json()).lower()
            else:
                assert (download.status_code, sheet.status_code, show.status_code) == (404,) * 3
        frozen.day(VISIT_DAY)


def test_the_sheet_is_a_pdf_with_the_employer_part_and_no_medical_note(
    setup, users, login, db_ctx, app, monkeypatch
):
    _record(login(users.sante), setup["today"])
    consultation_id = _consultation(db_ctx, setup["today"]).id
    with app.test_request_context(), system_scope(), db_ctx() as session:
        data = sheets.render_sheet(session.get(Consultation, consultation_id))
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    content = _pdf_text(data)
    for expected in ("DURAND", "JARDINIER", "24/04/2026", RESTRICTIONS, "24/04/2028", "MOREAU"):
        assert expected in content
    assert "Tension" not in content and "antécédents" not in content


def test_the_unicode_sheet_renders_typographic_characters(setup, users, login, db_ctx, app):
    _record(login(users.sante), setup["today"], restrictions="Poste « adapté » – coût 10 €")
    consultation_id = _consultation(db_ctx, setup["today"]).id
    with app.test_request_context(), system_scope(), db_ctx() as session:
        data = sheets.render_sheet(session.get(Consultation, consultation_id))
    assert data.startswith(b"%PDF")
    assert sheets.latin1("« adapté » – 10 €") == "« adapté » - 10 EUR"


def test_a_future_appointment_cannot_be_recorded(setup, users, login, db_ctx):
    doctor = login(users.sante)
    url = f"/consultations/rendez-vous/{setup['future']}/visite"
    assert "Ce rendez-vous est à venir" in doctor.get(url).get_data(as_text=True)
    page = text(_record(doctor, setup["future"]))
    assert (
        "Ce rendez-vous est à venir : la visite s'enregistre le jour du rendez-vous ou après."
        in page
    )
    with db_ctx() as session:
        assert session.scalar(select(func.count(Consultation.id))) == 0
        assert session.scalar(select(func.count(MedicalNote.id))) == 0
        assert session.get(Appointment, setup["future"]).status is AppointmentStatus.convoquee


def test_bad_input_is_refused_in_french_and_nothing_is_written(setup, users, login, db_ctx):
    doctor = login(users.sante)
    assert "Choisissez l'avis rendu." in text(_record(doctor, setup["today"], outcome=""))
    page = text(_record(doctor, setup["today"], restrictions=""))
    assert "Indiquez les restrictions ou aménagements" in page
    page = text(_record(doctor, setup["today"], next_visit_on="01/01/2026"))
    assert "La prochaine visite doit être postérieure à la date de la visite." in page
    page = text(_record(doctor, setup["today"], next_visit_on="31/02/2027"))
    with db_ctx() as session:
        assert session.scalar(select(func.count(Consultation.id))) == 0
        assert session.get(Appointment, setup["today"]).status is AppointmentStatus.convoquee
    assert "Visite enregistrée" in text(_record(doctor, setup["today"]))
    assert "déjà enregistrée" in text(_record(doctor, setup["today"]))


def test_an_absence_is_recorded_without_a_consultation(setup, users, login, db_ctx):
    page = text(_record(login(users.sante), setup["today"], presence="absence_injustifiee"))
    assert "Absence enregistrée." in page
    with db_ctx() as session:
        assert (
            session.get(Appointment, setup["today"]).status is AppointmentStatus.absence_injustifiee
        )
        assert session.scalar(select(func.count(Consultation.id))) == 0


def test_an_early_release_opens_the_sheet_to_the_employer_that_day(
    setup, users, login, db_ctx, frozen
):
    doctor = login(users.sante)
    _record(doctor, setup["today"])
    consultation = _consultation(db_ctx, setup["today"])
    frozen.day(dt.date(2026, 4, 27))
    employer = login(users.primary_a)
    assert "DURAND Léa" not in employer.get("/portail/fiches-de-visite/").get_data(as_text=True)
    page = text(
        doctor.post_form(
            f"/consultations/{consultation.id}/publier",
            {},
            form_url=f"/consultations/dossier/{consultation.id}",
            follow_redirects=True,
        )
    )
    assert "Fiche publiée" in page
    assert _consultation(db_ctx, setup["today"]).sheet_available_on == dt.date(2026, 4, 27)
    assert "DURAND Léa" in employer.get("/portail/fiches-de-visite/").get_data(as_text=True)


def test_released_at_recording_time_with_publier_la_fiche_maintenant(setup, users, login, db_ctx):
    _record(login(users.sante), setup["today"], release_now="y")
    assert _consultation(db_ctx, setup["today"]).sheet_available_on == VISIT_DAY
    page = login(users.primary_a).get("/portail/fiches-de-visite/").get_data(as_text=True)
    assert "DURAND Léa" in page


def test_a_confidential_visit_never_reaches_the_employer(
    setup, users, login, api_login, db_ctx, frozen
):
    _record(login(users.sante), setup["today"], is_confidential="y", release_now="y")
    consultation = _consultation(db_ctx, setup["today"])
    frozen.day(dt.date(2027, 1, 4))
    for employer in (users.primary_a, users.secondary_a):
        web, api = login(employer), api_login(employer)
        assert "DURAND" not in web.get("/portail/fiches-de-visite/").get_data(as_text=True)
        assert web.get(f"/portail/fiches-de-visite/{consultation.id}/pdf").status_code == 404
        listing = api.get("/api/v1/consultation/").get_json()
        assert listing["count"] == 0 and listing["result"] == []
        assert api.get(f"/api/v1/consultation/{consultation.id}").status_code == 404
        assert api.get(f"/api/v1/consultation/{consultation.id}/sheet").status_code == 404


def test_a_secondary_account_sees_only_the_sheets_of_its_agents(
    setup, users, login, api_login, db_ctx
):
    doctor = login(users.sante)
    _record(doctor, setup["today"], release_now="y")
    _record(doctor, setup["today_other"], release_now="y")
    other = _consultation(db_ctx, setup["today_other"])
    secondary = login(users.secondary_a)
    page = secondary.get("/portail/fiches-de-visite/").get_data(as_text=True)
    assert "DURAND Léa" in page and "PETIT" not in page
    assert secondary.get(f"/portail/fiches-de-visite/{other.id}/pdf").status_code == 404
    api = api_login(users.secondary_a)
    assert api.get("/api/v1/consultation/").get_json()["count"] == 1
    assert api.get(f"/api/v1/consultation/{other.id}/sheet").status_code == 404
    primary = login(users.primary_a).get("/portail/fiches-de-visite/").get_data(as_text=True)
    assert "DURAND Léa" in primary and "PETIT Marc" in primary
    other_collectivity = login(users.primary_b)
    assert "DURAND" not in other_collectivity.get("/portail/fiches-de-visite/").get_data(
        as_text=True
    )
    assert other_collectivity.get(f"/portail/fiches-de-visite/{other.id}/pdf").status_code == 404


def test_medical_notes_are_read_by_health_roles_only_and_every_read_is_logged(
    setup, users, login, api_login, db_ctx
):
    doctor = login(users.sante)
    _record(doctor, setup["today"], release_now="y")
    consultation = _consultation(db_ctx, setup["today"])
    detail = f"/consultations/dossier/{consultation.id}"
    with db_ctx() as session:
        logged = session.scalar(select(func.count(MedicalAccess.id)))
    assert NOTE in doctor.get(detail).get_data(as_text=True)
    with db_ctx() as session:
        entries = list(session.scalars(select(MedicalAccess).order_by(MedicalAccess.id)))
        assert len(entries) == logged + 1
        assert entries[-1].user_id == users.sante.id
        assert entries[-1].agent_id == setup["assigned"]
        assert "Notes médicales" in entries[-1].what

    for user in (
        users.admin,
        users.secretariat,
        users.direction,
        users.comptabilite,
        users.primary_a,
        users.secondary_a,
    ):
        web = login(user)
        response = web.get(detail)
        assert response.status_code in (302, 403, 404), user.username
        assert NOTE not in response.get_data(as_text=True)
        if user is not users.admin:  # Admin reads the log of accesses, never the notes
            assert web.get("/administration/acces-medicaux/").status_code in (302, 403)
        api = api_login(user)
        for url in ("/api/v1/consultation/", f"/api/v1/consultation/{consultation.id}"):
            assert NOTE not in api.get(url).get_data(as_text=True)
    with db_ctx() as session:
        assert session.scalar(select(func.count(MedicalAccess.id))) == logged + 1

    secretary = (
        login(users.secretariat).get("/consultations/?jour=2026-04-24").get_data(as_text=True)
    )
    assert "DURAND Léa" in secretary and "Enregistrer la visite" not in secretary
    assert NOTE not in secretary

    log = login(users.admin).get("/administration/acces-medicaux/").get_data(as_text=True)
    assert users.sante.username in log and "DURAND Léa" in log


def test_the_rest_resource_is_written_by_health_staff_only(setup, users, api_login, db_ctx):
    payload = {
        "agent_id": setup["other"],
        "date": "2026-04-20",
        "visit_type": "Périodique",
        "professional_id": setup["doctor"],
        "office_id": setup["office"],
        "outcome": "Apte",
        "confidential": False,
    }
    for user in (users.secretariat, users.primary_a, users.secondary_a):
        assert api_login(user).post("/api/v1/consultation/", json=payload).status_code == 403
    api = api_login(users.sante)
    created = api.post("/api/v1/consultation/", json=payload)
    assert created.status_code == 201, created.get_json()
    result = created.get_json()["result"]
    assert result["outcome"] == "apte" and result["sheet_available_on"] == "2026-04-30"
    assert (
        api.post("/api/v1/consultation/", json={**payload, "date": "2026-05-20"}).status_code == 400
    )
    refused = api.post("/api/v1/consultation/", json={**payload, "outcome": "guéri"})
    assert refused.status_code == 400 and "Valeur inconnue" in refused.get_json()["message"]
    changed = api.put(f"/api/v1/consultation/{result['id']}", json={"released": True})
    assert changed.status_code == 200
    assert changed.get_json()["result"]["sheet_available_on"] == "2026-04-24"
    assert api.put(f"/api/v1/consultation/{result['id']}", json={"notes": "x"}).status_code == 400


def test_the_day_list_runs_a_constant_number_of_statements(
    setup, users, login, db_ctx, count_queries
):
    doctor = login(users.sante)
    url = "/consultations/?jour=2026-04-24"
    _record(doctor, setup["today"])

    def measure() -> int:
        doctor.get(url)
        with count_queries() as counter:
            assert doctor.get(url).status_code == 200
        return counter.count

    few = measure()
    with db_ctx() as session:
        visit = session.get(VisitType, setup["visit_type"])
        for n in range(12):
            agent = make_agent(session, users.collectivity_a, f"JOUR{n}")
            plage = Plage(
                office_id=setup["office"],
                professional_id=factories.make_professional(session).id,
                starts_at=dt.datetime.combine(VISIT_DAY, dt.time(14, 0)),
                ends_at=dt.datetime.combine(VISIT_DAY, dt.time(15, 0)),
                appointment_minutes=60,
                nature=PlageNature.medecin,
                state=PlageState.commune,
            )
            session.add(plage)
            session.flush()
            session.add(
                Appointment(
                    plage_id=plage.id,
                    slot_index=0,
                    agent_id=agent.id,
                    collectivity_id=agent.collectivity_id,
                    starts_at=plage.starts_at,
                    visit_type_id=visit.id,
                    status=AppointmentStatus.convoquee,
                )
            )
    assert "JOUR11" in doctor.get(url).get_data(as_text=True)
    assert measure() == few


def test_the_agents_data_export_holds_his_visits_for_health_staff_only_without_notes(
    setup, users, login
):
    sante = login(users.sante)
    assert _record(sante, setup["today"]).status_code == 200
    url = f"/portabilite/agent/{setup['assigned']}?format=json"
    health = sante.get(url)
    assert health.status_code == 200
    consultations = health.get_json()["sections"]["consultations"]
    assert [row["avis"] for row in consultations] == ["Apte avec restrictions / aménagements"]
    assert RESTRICTIONS in health.get_data(as_text=True)
    assert NOTE not in health.get_data(as_text=True)
    for user in (users.secretariat, users.primary_a):
        exported = login(user).get(url)
        assert exported.status_code == 200, user.username
        assert "consultations" not in exported.get_json()["sections"]
        assert RESTRICTIONS not in exported.get_data(as_text=True)


# -- E5: an uploaded visit sheet ---------------------------------------------------------------


def test_health_staff_upload_the_sheet_and_the_employer_downloads_it_from_the_release_day(
    setup, users, login, api_login, db_ctx, frozen, app
):
    from tests.integration.test_attachments import EXE, multipart
    from tests.unit.test_files import make_pdf

    doctor = login(users.sante)
    _record(doctor, setup["today"])
    consultation = _consultation(db_ctx, setup["today"])
    detail = f"/consultations/dossier/{consultation.id}"
    url = f"/consultations/{consultation.id}/fiche"
    assert "Déposer la fiche signée à la place de la fiche générée" in text(doctor.get(detail))

    for content, name, message in (
        (EXE, "fiche.pdf", "n'est pas un PDF valide"),
        (b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10), "lourde.pdf", "dépasse 1 Mo"),
    ):
        refused = multipart(
            doctor,
            url,
            {"csrf_token": doctor.csrf_token(detail), "sheet": (io.BytesIO(content), name)},
        )
        assert message in text(doctor.get(refused.headers["Location"]))
        assert _consultation(db_ctx, setup["today"]).sheet_path is None

    signed = make_pdf("Fiche signee MOREAU")
    done = multipart(
        doctor,
        url,
        {"csrf_token": doctor.csrf_token(detail), "sheet": (io.BytesIO(signed), "f.pdf")},
    )
    page = text(doctor.get(done.headers["Location"]))
    assert "Fiche de visite déposée" in page and "Fiche de visite déposée" in page
    stored = _consultation(db_ctx, setup["today"]).sheet_path
    assert stored and stored.startswith("fiches-de-visite/") and "f.pdf" not in stored
    # The secretariat reads the day but does not upload (Santé only).
    secretary = login(users.secretariat)
    assert secretary.post_form(url, {}, form_url="/compte/moi/").status_code == 403

    employer, api = login(users.primary_a), api_login(users.primary_a)
    download = f"/portail/fiches-de-visite/{consultation.id}/pdf"
    frozen.day(RELEASE_DAY - dt.timedelta(days=1))
    assert employer.get(download).status_code == 404
    frozen.day(RELEASE_DAY)
    response = employer.get(download)
    assert response.status_code == 200 and response.data == signed
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers["Cache-Control"]
    assert api.get(f"/api/v1/consultation/{consultation.id}/sheet").data == signed
    assert login(users.primary_b).get(download).status_code == 404

    # Back to the generated sheet: the uploaded file is removed.
    frozen.day(VISIT_DAY)
    doctor.post_form(f"/consultations/{consultation.id}/fiche-generee", {}, form_url=detail)
    assert _consultation(db_ctx, setup["today"]).sheet_path is None
    assert not (Path(app.config["UPLOAD_DIR"]) / stored).exists()
