"""The whole visit cycle in the browser (issue 12, « Done when »): an employer requests a visit
for an agent from the clock icon of his line (the type's own fields appear), a secretary
schedules it into a plage, the doctor records the visit on the day and releases the sheet, and
the employer downloads the visit sheet PDF."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from app import roles
from app.core import clock
from app.planning.models import Appointment, AppointmentStatus, Plage, PlageNature, PlageState
from app.visits.consultation_models import Consultation
from app.visits.models import VisitRequest, VisitRequestState
from tests import factories
from tests.integration.test_workforce import _contract, _position
from tests.isolation import make_agent
from tests.web.conftest import assert_only_local_requests

# A day to come (the plage is scheduled before it, the visit recorded on it).
DAY = dt.date.today() + dt.timedelta(days=3)
RESTRICTIONS = "Pas de port de charges de plus de 10 kg"


def _world(db_ctx: Any) -> dict[str, Any]:
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session, name="Commune du Cycle")
        factories.make_user(
            session, roles.EMPLOYER_PRIMARY, collectivity=collectivity, username="rh.cycle"
        )
        factories.make_user(session, roles.SECRETARIAT, username="secretaire.cycle")
        doctor_account = factories.make_user(session, roles.SANTE, username="docteur.cycle")
        doctor = factories.make_professional(
            session, last_name="MOREAU", first_name="Claire", user_id=doctor_account.id
        )
        office = factories.make_office(session, served=[collectivity], name="Cabinet de Bron")
        agent = make_agent(session, collectivity, birth_name="DURAND", first_name="Léa")
        _contract(session, agent, _position(session, collectivity, "JARDINIER", "631a"))
        starts_at = dt.datetime.combine(DAY, dt.time(9, 0))
        plage = Plage(
            office_id=office.id,
            professional_id=doctor.id,
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(hours=2),
            appointment_minutes=30,
            nature=PlageNature.medecin,
            state=PlageState.reservee,
            reserved_for_id=collectivity.id,
        )
        session.add(plage)
        session.flush()
        return {"agent": agent.id, "plage": plage.id}


def _log_in(page: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#username", username)
    page.fill("#password", factories.PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit], button[type=submit]")
    assert "/login" not in page.url


def _shown(page: Any, legend: str) -> bool:
    return page.locator("fieldset", has=page.locator("legend", has_text=legend)).is_visible()


def _employer_requests_a_visit(page: Any, world: dict[str, Any]) -> None:
    _log_in(page, "rh.cycle")
    page.goto("/effectif/")
    with page.expect_navigation():
        page.locator(f"tr[data-agent='{world['agent']}'] a.medprev-request-visit").click()
    assert "Demande de rendez-vous" in page.inner_text("h2")
    form = page.locator("form.medprev-visit-request-form")

    # Each type shows its own fields only.
    form.locator("select[name=visit_type]").select_option("embauche")
    assert _shown(page, "Embauche") and not _shown(page, "Reprise après un arrêt de travail")
    form.locator("select[name=visit_type]").select_option("occasionnelle")
    assert _shown(page, "Visite occasionnelle") and not _shown(page, "Embauche")
    page.check("input[name=requester][value=medecin]")
    assert page.locator("[data-requester=medecin]").is_visible()
    assert not page.locator("[data-requester=employeur]").is_visible()
    page.check("input[name=requester][value=employeur]")
    assert page.locator("[data-requester=employeur]").is_visible()
    assert not page.locator("[data-requester=medecin]").is_visible()

    # The request sent: a resumption after a work accident, part-time for therapeutic reasons.
    form.locator("select[name=visit_type]").select_option("reprise")
    assert _shown(page, "Reprise après un arrêt de travail")
    assert not _shown(page, "Visite occasionnelle")
    form.locator("select[name=stoppage_nature]").select_option("accident_travail")
    page.check("input[name=therapeutic_part_time]")
    page.fill("textarea[name=information]", "Disponible le matin uniquement")
    with page.expect_navigation():
        page.click("#request-visit")
    body = page.inner_text("body")
    assert "Reprise" in body and "Accident du travail ou de service" in body
    assert "En attente" in body


def _secretary_schedules_it(page: Any, db_ctx: Any, world: dict[str, Any]) -> None:
    _log_in(page, "secretaire.cycle")
    page.goto("/demandes-de-visite/")
    assert "DURAND Léa" in page.inner_text("body")
    with db_ctx() as session:
        request_id = session.scalar(
            select(VisitRequest.id).where(VisitRequest.agent_id == world["agent"])
        )
    page.goto(f"/demandes-de-visite/{request_id}")
    page.locator("form.medprev-schedule select[name=plage_id]").select_option(str(world["plage"]))
    with page.expect_navigation():
        page.click("#schedule-request")
    with db_ctx() as session:
        item = session.get(VisitRequest, request_id)
        assert item.state is VisitRequestState.traitee and item.appointment_id is not None
        appointment = session.get(Appointment, item.appointment_id)
        assert appointment.plage_id == world["plage"]
        assert appointment.starts_at == dt.datetime.combine(DAY, dt.time(9, 0))


def _doctor_records_and_releases(page: Any, db_ctx: Any) -> int:
    _log_in(page, "docteur.cycle")
    page.goto(f"/consultations/?jour={DAY.isoformat()}")
    row = page.locator("tr", has_text="DURAND Léa")
    with page.expect_navigation():
        row.locator("a", has_text="Enregistrer la visite").click()
    form = page.locator("form.medprev-visit-form")
    form.locator("select[name=presence]").select_option("honoree")
    form.locator("select[name=outcome]").select_option("apte_restrictions")
    form.locator("[name=restrictions]").fill(RESTRICTIONS)
    with page.expect_navigation():
        page.click("#record-visit")
    assert "Visite enregistrée" in page.inner_text("body")
    with db_ctx() as session:
        consultation = session.scalar(select(Consultation))
        assert consultation.sheet_available_on > DAY  # 8 working days, unless released
        appointment = session.get(Appointment, consultation.appointment_id)
        assert appointment.status is AppointmentStatus.honoree
        consultation_id = consultation.id
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.locator("button", has_text="Publier la fiche maintenant").click()
    assert "Fiche publiée" in page.inner_text("body")
    with db_ctx() as session:
        assert session.get(Consultation, consultation_id).sheet_available_on == DAY
    return consultation_id


def _employer_downloads_the_sheet(page: Any, consultation_id: int) -> None:
    _log_in(page, "rh.cycle")
    page.goto("/portail/fiches-de-visite/")
    row = page.locator("tr", has_text="DURAND Léa")
    assert "Apte avec restrictions" in row.inner_text()
    with page.expect_download() as download_info:
        row.locator("a", has_text="Télécharger").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"


def test_request_schedule_record_release_download(page, live_server, db_ctx, monkeypatch):
    world = _world(db_ctx)
    _employer_requests_a_visit(page, world)
    _secretary_schedules_it(page, db_ctx, world)
    # The day of the visit, in the afternoon (the server reads the same clock).
    visit_afternoon = dt.datetime.combine(DAY, dt.time(16, 0))
    monkeypatch.setattr(clock, "now_local", lambda: visit_afternoon)
    monkeypatch.setattr(clock, "today", lambda: DAY)
    consultation_id = _doctor_records_and_releases(page, db_ctx)
    _employer_downloads_the_sheet(page, consultation_id)
    assert_only_local_requests(page, live_server)
