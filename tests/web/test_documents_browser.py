"""Documents and prevention in the browser (issue 15): an employer deposits a PDF after ticking
« Ce document ne contient pas de données médicales », the health team confirms receipt and the
deposit is locked; the employer registers two agents to a prevention session by typing their
names, and the seats left go down."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app import roles
from app.documents.models import EmployerDocument, PreventionRegistration
from app.referential.models import HealthTeamMember, HealthTeamRole
from tests import factories
from tests.integration.test_prevention import _agents, _module_and_session
from tests.unit.test_files import make_pdf
from tests.web.conftest import assert_only_local_requests
from tests.web.test_visit_cycle_browser import _log_in


def _world(db_ctx: Any) -> dict[str, Any]:
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session, name="Commune des Dépôts")
        factories.make_user(
            session, roles.EMPLOYER_PRIMARY, collectivity=collectivity, username="rh.depots"
        )
        nurse = factories.make_user(session, roles.SANTE, username="infirmiere.depots")
        professional = factories.make_professional(session, last_name="SOIN", user_id=nurse.id)
        session.add(
            HealthTeamMember(
                collectivity_id=collectivity.id,
                professional_id=professional.id,
                role=HealthTeamRole.infirmier,
            )
        )
        agents = _agents(session, collectivity, 3, "GÉRARD")
        seats = _module_and_session(session, capacity=5)
        return {"agents": agents, "session": seats.id}


def test_a_deposit_is_sent_confirmed_and_locked(page, live_server, db_ctx, tmp_path):
    _world(db_ctx)
    pdf = tmp_path / "fiche-de-poste-jardinier.pdf"
    pdf.write_bytes(make_pdf())

    _log_in(page, "rh.depots")
    page.goto("/portail/documents/")
    page.set_input_files("#document", str(pdf))
    page.select_option("#nature_id", label="Fiche de poste")
    # Without the tick the deposit is refused in French and nothing is kept.
    with page.expect_navigation():
        page.click("#send-document")
    assert "ne contient pas de données médicales" in page.inner_text(".alert")
    with db_ctx() as session:
        assert session.scalar(select(EmployerDocument.id)) is None

    page.set_input_files("#document", str(pdf))
    page.select_option("#nature_id", label="Fiche de poste")
    page.check("#no_medical_data")
    with page.expect_navigation():
        page.click("#send-document")
    row = page.locator("tr", has_text="fiche-de-poste-jardinier.pdf")
    assert row.is_visible() and row.locator("button", has_text="Supprimer").is_visible()

    _log_in(page, "infirmiere.depots")
    page.goto("/documents/depots/")
    row = page.locator("tr", has_text="fiche-de-poste-jardinier.pdf")
    assert "Commune des Dépôts" in row.inner_text()
    with page.expect_navigation():
        row.locator("button", has_text="Confirmer la réception").click()
    assert "Réception confirmée" in page.inner_text(".alert")
    assert page.locator("tr", has_text="fiche-de-poste-jardinier.pdf").count() == 0  # treated

    _log_in(page, "rh.depots")
    page.goto("/portail/documents/")
    row = page.locator("tr", has_text="fiche-de-poste-jardinier.pdf")
    assert "ne peut plus être supprimé" in row.inner_text()
    assert row.locator("button", has_text="Supprimer").count() == 0
    assert_only_local_requests(page, live_server)


def test_an_employer_registers_agents_by_typing_their_names(page, live_server, db_ctx):
    world = _world(db_ctx)
    _log_in(page, "rh.depots")
    page.goto("/portail/programme-et-inscriptions/")
    row = page.locator(f"tr[data-session='{world['session']}']")
    assert row.locator(".medprev-left").inner_text() == "5"

    # The multiple list is a search box: typed without the accent, the names are found.
    for name in ("gerard00", "gerard02"):
        row.locator(".select2-search__field").click()
        page.keyboard.type(name)
        page.locator(".select2-results__option--highlighted").click()
    with page.expect_navigation():
        row.locator("button", has_text="Inscrire").click()

    mine = page.locator("table.medprev-my-registrations").inner_text()
    assert "GÉRARD00" in mine and "GÉRARD02" in mine and "GÉRARD01" not in mine
    assert page.locator(f"tr[data-session='{world['session']}'] .medprev-left").inner_text() == "3"
    with db_ctx() as session:
        registered = session.scalars(select(PreventionRegistration.agent_id)).all()
    assert sorted(registered) == sorted([world["agents"][0], world["agents"][2]])
    assert_only_local_requests(page, live_server)
