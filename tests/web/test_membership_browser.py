"""« Votre adhésion » in the browser: a refused SIRET, the 5 steps with « Précédent » keeping
what was typed, then the CDG validates from « Adhésions à valider »."""

from __future__ import annotations

from app import roles
from tests import factories
from tests.web.conftest import fill_select
from tests.web.test_visit_cycle_browser import _log_in

SIRET = "73282932000074"


def _next(page) -> None:
    with page.expect_navigation():
        page.click("form.medprev-wizard button.btn-primary")


def test_an_applicant_fills_the_wizard_and_the_cdg_validates(page, live_server, db_ctx):
    with db_ctx() as session:
        factories.make_user(session, roles.EMPLOYER_PRIMARY, username="candidat.web")
        factories.make_user(session, roles.SECRETARIAT, username="secretariat.web")

    _log_in(page, "candidat.web")
    page.goto("/adhesion/")
    page.fill("#siret", "12345678901234")
    page.fill("#naf_code", "8411Z")
    page.fill("#city", "Lyon")
    _next(page)
    assert "n'est pas valide" in page.content()
    assert page.input_value("#naf_code") == "8411Z"
    page.fill("#siret", SIRET)
    _next(page)
    assert "2. ENTREPRISE" in page.content()
    page.fill("#name", "Commune du Navigateur")
    fill_select(page, "#kind", "commune")
    page.fill("#email", "mairie@navigateur.fr")
    page.fill("#main_line1", "1 place de la Mairie")
    page.fill("#main_postcode", "69001")
    page.fill("#main_city", "Lyon")
    _next(page)
    with page.expect_navigation():
        page.click("button[name=precedent]")
    assert page.input_value("#name") == "Commune du Navigateur"
    _next(page)
    page.locator("input[name=poste-label]").first.fill("Jardinier")
    page.locator("input[name=poste-risks]").first.fill("Bruit")
    _next(page)
    page.locator("input[name=agent-last_name]").first.fill("MARTIN")
    page.locator("input[name=agent-position]").first.fill("Jardinier")
    _next(page)
    page.check("input[name=accept]")
    _next(page)
    assert "transmise au CDG" in page.content()

    _log_in(page, "secretariat.web")
    page.goto("/adhesions/")
    with page.expect_navigation():
        page.click("text=Voir")
    assert "Jardinier" in page.content()
    with page.expect_navigation():
        page.click("form.medprev-membership-validate button")
    assert "Adhésion validée" in page.content()
