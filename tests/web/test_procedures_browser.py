"""Procedures in the browser (issue 16): an employer asks for the management of another member
(membership number + SIRET), that member's administrator accepts it in « Démarches à valider »,
the requester sees it « Accepté » in « Mes démarches » and now works for that collectivity; then
the CDG processes a merger from its « Démarches »."""

from __future__ import annotations

from app import roles
from tests import factories
from tests.isolation import make_agent
from tests.web.test_visit_cycle_browser import _log_in


def _submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _switch(page, name: str) -> None:
    """The collectivity switch of the top bar (its tooltip may cover the menu: dispatched)."""
    page.click(".medprev-tenant .dropdown-toggle")
    with page.expect_navigation():
        page.locator("form.medprev-switch button", has_text=name).dispatch_event("click")


def test_management_request_then_a_merger(page, live_server, db_ctx):
    with db_ctx() as session:
        home = factories.make_collectivity(session, name="Commune de Départ")
        wanted = factories.make_collectivity(session, name="Syndicat Convoité")
        absorbed = factories.make_collectivity(session, name="Commune Absorbée")
        factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=home, username="rh.web")
        factories.make_user(
            session, roles.EMPLOYER_PRIMARY, collectivity=wanted, username="admin.convoite"
        )
        factories.make_user(
            session, roles.EMPLOYER_PRIMARY, collectivity=absorbed, username="admin.absorbee"
        )
        factories.make_user(session, roles.SECRETARIAT, username="secretariat.demarches")
        make_agent(session, wanted, "CONVOITE")
        make_agent(session, absorbed, "ABSORBE")
        number, siret = wanted.membership_number, wanted.siret
        absorbed_siret = absorbed.siret

    # the requester asks; a wrong SIRET first, the typed number is kept
    _log_in(page, "rh.web")
    page.goto("/demarches/nouvelle?type=gestion")
    page.fill("#membership_number", number)
    page.fill("#siret", "1234567890123A")
    _submit(page, "form.medprev-procedure-form button[type=submit]")
    assert "Le numéro SIRET doit comporter 14 chiffres." in page.content()
    assert page.input_value("#membership_number") == number
    page.check("input[name=type][value=gestion]")
    page.fill("#siret", siret)
    _submit(page, "form.medprev-procedure-form button[type=submit]")
    assert "envoyée à l'administrateur" in page.content()
    assert "En cours" in page.locator("table.medprev-procedures").inner_text()

    # the administrator of that member accepts it
    _log_in(page, "admin.convoite")
    page.goto("/demarches/")
    assert "nécessite votre intervention" in page.content()
    page.goto("/demarches/a-valider/")
    row = page.locator("table.medprev-procedure-queue tr", has_text="rh.web@example.fr")
    with page.expect_navigation():
        row.locator("button[value=accepter]").click()
    assert "Démarche acceptée" in page.content()

    # the requester sees it accepted and now reaches that collectivity
    _log_in(page, "rh.web")
    page.goto("/demarches/")
    assert "Accepté" in page.locator("table.medprev-procedures").inner_text()
    _switch(page, "Syndicat Convoité")
    assert "Vous travaillez maintenant pour cette collectivité." in page.content()
    # a secondary account of it (exactly what was asked): its screens, no agent assigned yet
    response = page.goto("/effectif/?onglet=tous")
    assert response is not None and response.status == 200
    assert "Syndicat Convoité" in page.locator(".medprev-tenant").inner_text()
    assert "NOMCONVOITE" not in page.content()

    # back in his own collectivity, he asks for the absorption of another member
    _switch(page, "Commune de Départ")
    page.goto("/demarches/nouvelle?type=fusion")
    page.fill("#message", "Fusion au 1er janvier ; tél. 04 78 00 00 00")
    page.fill("#siret", absorbed_siret)
    _submit(page, "form.medprev-procedure-form button[type=submit]")
    assert "transmise au service adhérent" in page.content()
    page.goto("/effectif/?onglet=tous")
    assert "NOMABSORBE" not in page.content()

    # the CDG processes it
    _log_in(page, "secretariat.demarches")
    page.goto("/demarches/cdg/")
    row = page.locator("table.medprev-procedure-queue tr", has_text="Absorbe « Commune Absorbée »")
    row.locator("textarea[name=reason]").fill("Fusion validée par délibération")
    with page.expect_navigation():
        row.locator("button[value=accepter]").click()
    assert "Démarche acceptée" in page.content()

    # the absorbing collectivity now has the agent; the absorbed one's administrator has nothing
    _log_in(page, "rh.web")
    page.goto("/effectif/?onglet=tous")
    assert "NOMABSORBE" in page.content()
    _log_in(page, "admin.absorbee")
    response = page.goto("/effectif/?onglet=tous")
    assert "NOMABSORBE" not in page.content()
    assert response is not None
