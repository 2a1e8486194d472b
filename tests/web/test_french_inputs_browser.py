"""A secretary's typing in the browser (issue 10): the date picker never rewrites a typed date,
the server reads it strictly; cancelling an appointment asks for confirmation first."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from app.planning.models import Appointment, AppointmentStatus
from app.referential.models import VisitType
from tests.web.conftest import assert_only_local_requests
from tests.web.test_planning_browser import _log_in, _world


def _type_date(page: Any, selector: str, typed: str) -> None:
    """Type key by key, as a secretary does, then leave the field (the picker closes)."""
    field = page.locator(selector)
    field.click()
    field.fill("")
    field.press_sequentially(typed)
    assert field.input_value() == typed
    field.press("Tab")
    page.locator("h2").first.click()  # click away: the picker hides
    assert field.input_value() == typed, f"the picker rewrote {typed!r}"


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("12031988", None),
        ("1988-03-12", None),
        ("31/02/1988", "Date impossible : « 31/02/1988 » n'existe pas au calendrier."),
    ],
)
def test_a_typed_date_is_never_rewritten_and_read_strictly(page, live_server, db_ctx, typed, error):
    _world(db_ctx)
    _log_in(page, "rh.planning")
    page.goto("/portail/consultations/")
    _type_date(page, "#du", typed)
    _type_date(page, "#au", "31/12/1988")
    with page.expect_navigation():
        page.click("form.medprev-period button[type=submit]")
    # The answer keeps the text as typed and reads it strictly.
    assert page.locator("#du").input_value() == typed
    alerts = page.locator("form.medprev-period .alert-danger")
    if error is None:
        assert alerts.count() == 0, alerts.all_inner_texts()
    else:
        assert error in alerts.first.inner_text()
    assert_only_local_requests(page, live_server)


def test_a_day_clicked_in_the_calendar_fills_the_field(page, live_server, db_ctx):
    _world(db_ctx)
    _log_in(page, "rh.planning")
    page.goto("/portail/consultations/")
    field = page.locator("#du")
    field.fill("")
    field.click()
    page.locator(".datepicker-days td.day:not(.old):not(.new)", has_text="15").first.click()
    assert field.input_value().startswith("15/")


def test_cancelling_an_appointment_asks_for_confirmation(page, live_server, db_ctx):
    world = _world(db_ctx)
    plage = world["reserved"]
    with db_ctx() as session:
        visit_type = session.scalars(select(VisitType)).first()
        appointment = Appointment(
            plage_id=plage.id,
            agent_id=world["agent"].id,
            collectivity_id=world["mine"].id,
            slot_index=0,
            starts_at=plage.starts_at,
            visit_type_id=visit_type.id,
            status=AppointmentStatus.reservee,
        )
        session.add(appointment)
        session.flush()
        appointment_id = appointment.id
    _log_in(page, "rh.planning")
    page.goto(f"/portail/consultations/rendez-vous/{appointment_id}")
    messages: list[str] = []

    def dismiss(dialog: Any) -> None:
        messages.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("#cancel-appointment")
    page.wait_for_timeout(300)
    assert messages == ["Annuler ce rendez-vous ? L'annulation est définitive."]
    with db_ctx() as session:
        assert session.get(Appointment, appointment_id).status is AppointmentStatus.reservee

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#cancel-appointment")
    assert "Rendez-vous annulé." in page.content()
    with db_ctx() as session:
        assert (
            session.get(Appointment, appointment_id).status is AppointmentStatus.absence_justifiee
        )
    assert dt.date.today() < plage.starts_at.date()
