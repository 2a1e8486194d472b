"""« Votre adhésion » in the browser: a refused SIRET, the 5 steps with « Précédent » keeping
what was typed, step 3's live SI/SIA/SIR badge, step 4's agents, then the CDG validates from
« Adhésions à valider » and the new primary account finds its positions and agents."""

from __future__ import annotations

from playwright.sync_api import expect

from app import roles
from tests import factories
from tests.web.conftest import fill_select
from tests.web.test_visit_cycle_browser import _log_in

SIRET = "73282932000074"


def _next(page) -> None:
    with page.expect_navigation():
        page.click("form.medprev-wizard button.btn-primary")


def _click(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


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
    page.fill("#siret", "732 829 320 00074")  # spaces are accepted
    _next(page)
    assert "2. ENTREPRISE" in page.content()
    page.fill("#name", "Commune du Navigateur")
    fill_select(page, "#kind", "commune")
    page.fill("#email", "mairie@navigateur.fr")
    page.fill("#main_line1", "1 place de la Mairie")
    page.fill("#main_postcode", "69001")
    page.fill("#main_city", "Lyon")
    page.locator("input[name=contact-last_name]").first.fill("Durand")
    page.locator("input[name=contact-email]").first.fill("rh@navigateur.fr")
    _next(page)
    with page.expect_navigation():
        page.click("button[name=precedent]")
    assert page.input_value("#name") == "Commune du Navigateur"
    _next(page)

    # step 3: the badge follows the ticked risks live, without reloading the page
    assert "3. POSTES" in page.content()
    badge = page.locator("#badge .medprev-badge")
    assert badge.inner_text() == "SI"
    page.fill("#label", "Jardinier")
    page.fill("#pcs_code", "631a")
    page.check(".risk-box[value=nuit]")
    expect(badge).to_have_text("SIA")
    page.check(".risk-box[value=amiante]")
    expect(badge).to_have_text("SIR")
    page.uncheck(".risk-box[value=amiante]")
    expect(badge).to_have_text("SIA")
    _click(page, "button[name=ajouter]")
    listed = page.locator("table.medprev-wizard-positions")
    assert "Jardinier" in listed.inner_text() and "SIA" in listed.inner_text()
    _next(page)

    # step 4: an impossible date is refused, what was typed stays
    assert "4. SALARIÉS" in page.content()
    fill_select(page, "#civility", "Monsieur")
    page.fill("#first_name", "Paul")
    page.fill("#birth_name", "Martin")
    page.fill("#birth_date", "32/13/1985")
    page.fill("#entry_date", "01/09/2020")
    fill_select(page, "#position", "631a|Jardinier")
    fill_select(page, "#contract_type", "Titulaire")
    _click(page, "button[name=ajouter]")
    assert "Date impossible" in page.content()
    assert page.input_value("#birth_name") == "Martin"
    page.fill("#birth_date", "12/04/1985")
    _click(page, "button[name=ajouter]")
    assert "MARTIN" in page.locator("table.medprev-wizard-agents").inner_text()
    _next(page)
    page.check("input[name=accept]")
    _next(page)
    assert "transmise au CDG" in page.content()

    _log_in(page, "secretariat.web")
    page.goto("/adhesions/")
    _click(page, "text=Voir")
    assert "Jardinier" in page.content() and "MARTIN" in page.content()
    _click(page, "form.medprev-membership-validate button")
    assert "Adhésion validée" in page.content()

    # the applicant is now the collectivity's primary account: his positions and agents
    _log_in(page, "candidat.web")
    page.goto("/postes/")
    assert "Jardinier" in page.content()
    page.goto("/effectif/")
    assert "MARTIN" in page.content()
