"""The employer « Consultations » in the browser (SPEC D2, D3, D6; CDG69-PORTAIL): colours,
booking through the confirmation, refusal with a mandatory reason, cancellation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from app import roles
from app.planning.models import (
    Appointment,
    AppointmentStatus,
    Plage,
    PlageNature,
    PlageRefusal,
    PlageState,
)
from tests import factories
from tests.integration.test_workforce import _contract, _position
from tests.isolation import make_agent
from tests.web.conftest import assert_only_local_requests, fill_select

# Far enough ahead that a cancellation is a justified absence (48-hour rule) whatever the hour.
DAY = dt.date.today() + dt.timedelta(days=8)
EMPTY_REASON = "Le motif du refus est obligatoire : il est transmis au secrétariat."
REFUSED = "Plage refusée : le motif est transmis au secrétariat."


def _world(db_ctx: Any) -> dict[str, Any]:
    """Collectivities A (the user's) and B served by one office, an agent of A with a
    position, and on DAY: A's reserved plage, B's reserved plage, a common plage and A's
    convocation."""
    with db_ctx() as session:
        mine = factories.make_collectivity(session, name="Commune de Planning")
        other = factories.make_collectivity(session, name="Commune Voisine")
        primary = factories.make_user(
            session, roles.EMPLOYER_PRIMARY, collectivity=mine, username="rh.planning"
        )
        primary_other = factories.make_user(
            session, roles.EMPLOYER_PRIMARY, collectivity=other, username="rh.voisine"
        )
        office = factories.make_office(session, served=[mine, other], name="Cabinet de Tassin")
        doctor = factories.make_professional(session, last_name="MOREAU")
        position = _position(session, mine, "JARDINIER", "631a")
        agent = make_agent(session, mine, birth_name="DURAND", first_name="Léa")
        _contract(session, agent, position)

        def plage(hour: int, state: PlageState, reserved: Any = None) -> Plage:
            starts_at = dt.datetime.combine(DAY, dt.time(hour, 0))
            item = Plage(
                office_id=office.id,
                professional_id=doctor.id,
                starts_at=starts_at,
                ends_at=starts_at + dt.timedelta(hours=1),
                appointment_minutes=20,
                nature=PlageNature.medecin,
                state=state,
                reserved_for_id=reserved.id if reserved else None,
            )
            session.add(item)
            session.flush()
            return item

        return {
            "mine": mine,
            "other": other,
            "primary": primary,
            "primary_other": primary_other,
            "agent": agent,
            "reserved": plage(8, PlageState.reservee, mine),
            "reserved_other": plage(10, PlageState.reservee, other),
            "common": plage(13, PlageState.commune),
            "convocation": plage(15, PlageState.convocation, mine),
        }


def _log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#username", username)
    page.fill("#password", factories.PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit], button[type=submit]")
    assert "/login" not in page.url


def _search(page: Any, first: dt.date, last: dt.date) -> None:
    """Type the period in the Du / Au fields (JJ/MM/AAAA) and submit the search."""
    page.goto("/portail/consultations/")
    for selector, day in (("#du", first), ("#au", last)):
        field = page.locator(selector)
        field.fill("")
        # Typed key by key: the date picker reads the value on keyup (a bare fill would be
        # overwritten by its previous date when it closes).
        field.press_sequentially(f"{day:%d/%m/%Y}")
        field.press("Escape")  # close the date picker
        assert field.input_value() == f"{day:%d/%m/%Y}"
    with page.expect_navigation():
        page.click("form.medprev-period button[type=submit]")
    assert f"du={first:%d}%2F{first:%m}%2F{first:%Y}" in page.url


def _row(page: Any, plage: Plage) -> Any:
    return page.locator(f"tr[data-plage='{plage.id}']")


def _background(row: Any) -> str:
    return row.locator("td").first.evaluate("(td) => getComputedStyle(td).backgroundColor")


def _refuse(page: Any, plage: Plage, reason: str) -> None:
    """Expand the refusal row of the plage, type the reason and submit."""
    _row(page, plage).locator("button.medprev-refuse").click()
    form_row = page.locator(f"#refuse-{plage.id}")
    form_row.wait_for(state="visible")
    form_row.locator("input[name=reason]").fill(reason)
    with page.expect_navigation():
        form_row.locator("button[type=submit]").click()


def test_employer_books_refuses_and_cancels_in_the_consultations(page, live_server, db_ctx):
    world = _world(db_ctx)
    _log_in(page, "rh.planning")
    _search(page, DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=2))
    planning_url = page.url

    # Colour codes: reserved (orange), common, convocation (blue); B's reserved plage is absent.
    expected = {
        "reserved": ("plage-reservee", "reservee"),
        "common": ("plage-commune", "commune"),
        "convocation": ("plage-convocation", "convocation"),
    }
    for key, (css, state) in expected.items():
        row = _row(page, world[key])
        assert row.count() == 1, key
        assert row.get_attribute("class") == css and row.get_attribute("data-state") == state
    colours = {key: _background(_row(page, world[key])) for key in expected}
    assert len(set(colours.values())) == 3, colours
    assert "rgba(0, 0, 0, 0)" not in colours.values(), colours
    assert _row(page, world["reserved_other"]).count() == 0
    assert page.locator("tr[data-plage]").count() == 3
    # A convocation is read-only: no pencil, no refusal.
    assert _row(page, world["convocation"]).locator("a.medprev-book, .medprev-refuse").count() == 0

    # The pencil -> agent and visit nature -> « Réserver » -> confirmation.
    with page.expect_navigation():
        _row(page, world["reserved"]).locator("a.medprev-book").click()
    assert "Réserver un rendez-vous" in page.content()
    fill_select(page, "#agent_id", str(world["agent"].id))
    fill_select(page, "#visit_type", "periodique")
    page.fill("#comment", "Horaires décalés")
    with page.expect_navigation():
        page.click("#create-booking")
    confirmation = page.locator(".medprev-confirm")
    assert "Confirmez-vous la réservation d'un rendez-vous pour" in confirmation.inner_text()
    assert "DURAND Léa – JARDINIER" in confirmation.inner_text()
    with db_ctx() as session:
        assert session.scalar(select(Appointment)) is None, "nothing before the confirmation"
    with page.expect_navigation():
        page.click("#confirm-booking")
    assert "/rendez-vous/" in page.url, (
        f"« Confirmer » did not create the appointment, still on {page.url}: "
        + page.locator(".medprev-confirm, .medprev-booking").first.inner_text()
    )
    assert "Édition d'une consultation" in page.locator("h2").inner_text()
    assert "Le rendez-vous est réservé." in page.content()
    details = page.locator(".medprev-appointment").inner_text()
    assert "DURAND Léa" in details and "08:00–08:20" in details
    assert f"{DAY:%d/%m/%Y}" in details and "Cabinet de Tassin" in details
    assert "Périodique" in details and "Horaires décalés" in details
    assert page.locator(".medprev-status").inner_text().strip() == "Réservé"
    appointment_url = page.url.split("?")[0]
    with db_ctx() as session:
        [appointment] = session.scalars(select(Appointment)).all()
        assert appointment.plage_id == world["reserved"].id
        assert appointment.agent_id == world["agent"].id and appointment.slot_index == 0
        assert appointment.starts_at == dt.datetime.combine(DAY, dt.time(8, 0))
        assert appointment.status is AppointmentStatus.reservee

    # Back to the planning: the booking shows in the reserved plage.
    page.goto(planning_url)
    reserved_row = _row(page, world["reserved"]).inner_text()
    assert "08:00 DURAND Léa" in reserved_row and "2 / 3" in reserved_row

    # Refuse the common plage: an empty reason is refused in French, then a real one.
    _refuse(page, world["common"], "   ")
    assert EMPTY_REASON in page.content()
    assert page.url == planning_url
    with db_ctx() as session:
        assert session.scalar(select(PlageRefusal)) is None
    _refuse(page, world["common"], "Agents en formation ce jour-là")
    assert REFUSED in page.content()
    with db_ctx() as session:
        [refusal] = session.scalars(select(PlageRefusal)).all()
        assert refusal.plage_id == world["common"].id
        assert refusal.reason == "Agents en formation ce jour-là"
        assert refusal.collectivity_id == world["mine"].id and refusal.was_reserved is False
        common = session.get(Plage, world["common"].id)
        assert common.state is PlageState.commune and common.reserved_for_id is None
    assert _row(page, world["common"]).get_attribute("class") == "plage-commune"

    # Cancel the appointment from its page: 8 days ahead, a justified absence.
    page.goto(appointment_url)
    assert "absence justifiée" in page.locator(".medprev-cancel").inner_text()
    page.fill(".medprev-cancel input[name=reason]", "Agent en congé")
    confirmations: list[str] = []
    page.once("dialog", lambda dialog: (confirmations.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        page.click("#cancel-appointment")
    assert confirmations == ["Annuler ce rendez-vous ? L'annulation est définitive."]
    assert "Rendez-vous annulé." in page.content()
    assert "Le rendez-vous est enregistré comme « Annulé (absence justifiée) »." in page.content()
    assert page.locator(".medprev-status").inner_text().strip() == "Annulé (absence justifiée)"
    assert page.locator("#cancel-appointment").count() == 0
    with db_ctx() as session:
        cancelled = session.get(Appointment, appointment.id)
        assert cancelled.status is AppointmentStatus.absence_justifiee
        assert cancelled.cancellation_reason == "Agent en congé"
    # The unit is free again.
    page.goto(planning_url)
    assert "3 / 3" in _row(page, world["reserved"]).inner_text()
    assert_only_local_requests(page, live_server)


def test_a_refused_reserved_plage_becomes_common_for_the_other_collectivity(
    page, live_server, db_ctx
):
    world = _world(db_ctx)
    first, last = DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1)

    # B does not see A's reserved plage.
    _log_in(page, "rh.voisine")
    _search(page, first, last)
    assert _row(page, world["reserved"]).count() == 0
    assert _row(page, world["reserved_other"]).get_attribute("class") == "plage-reservee"
    page.goto("/logout/")

    _log_in(page, "rh.planning")
    _search(page, first, last)
    _refuse(page, world["reserved"], "")
    assert EMPTY_REASON in page.content()
    assert _row(page, world["reserved"]).get_attribute("class") == "plage-reservee"
    with db_ctx() as session:
        assert session.get(Plage, world["reserved"].id).state is PlageState.reservee
        assert session.scalar(select(PlageRefusal)) is None
    _refuse(page, world["reserved"], "Aucun agent disponible le matin")
    assert REFUSED in page.content()
    assert _row(page, world["reserved"]).get_attribute("class") == "plage-commune"
    with db_ctx() as session:
        plage = session.get(Plage, world["reserved"].id)
        assert plage.state is PlageState.commune and plage.reserved_for_id is None
        [refusal] = session.scalars(select(PlageRefusal)).all()
        assert refusal.was_reserved is True and refusal.collectivity_id == world["mine"].id
    page.goto("/logout/")

    # Now common: B sees it (and can book it).
    _log_in(page, "rh.voisine")
    _search(page, first, last)
    row = _row(page, world["reserved"])
    assert row.get_attribute("class") == "plage-commune"
    assert row.locator("a.medprev-book").count() == 1
    assert_only_local_requests(page, live_server)
