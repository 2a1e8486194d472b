"""First connection -> password -> secondary account -> assigned agent, in the browser."""

from __future__ import annotations

import re
from pathlib import Path

from app import roles
from tests import factories
from tests.isolation import make_agent
from tests.web.conftest import assert_only_local_requests, fill_select


def _last_link(app) -> str:
    outbox = sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    body = outbox[-1].read_text(encoding="utf-8", errors="replace")
    return re.search(r"/compte/mot-de-passe/[\w-]+", body.replace("=\n", "")).group(0)


def test_primary_delegates_one_agent_to_a_secondary_account(app, page, live_server, db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session, name="Commune de Navigation")
        factories.make_user(
            session, roles.EMPLOYER_PRIMARY, collectivity=collectivity, username="rh.navigation"
        )
        make_agent(session, collectivity, birth_name="DUPONT", first_name="Alice")
        make_agent(session, collectivity, birth_name="MARTIN", first_name="Bob")

    # First connection: identifier + SIRET -> e-mail link -> password and secret question.
    page.goto("/login/")
    page.click("#first-connection")
    page.fill("#username", "rh.navigation")
    page.fill("#siret", collectivity.siret)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "un e-mail vient d'être envoyé" in page.content()
    page.goto(_last_link(app))
    page.fill("#password", "Premier-Pass1")
    page.fill("#confirmation", "Premier-Pass1")
    fill_select(page, "#question", "animal")
    page.fill("#answer", "Rex")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "Votre mot de passe est enregistré" in page.content()

    # The primary account creates a secondary account managing Alice only.
    page.goto("/portail/comptes-secondaires/nouveau")
    page.fill("#last_name", "LEROY")
    page.fill("#first_name", "Marc")
    page.fill("#email", "marc.leroy@navigation.fr")
    page.locator(".medprev-agent-choices label", has_text="DUPONT").locator("input").check()
    with page.expect_navigation():
        page.click("form.medprev-secondary-form button[type=submit]")
    assert "Compte secondaire créé" in page.content()
    assert "marc.leroy@navigation.fr" in page.content()
    page.goto("/logout/")

    # The secondary account sets his password from the e-mail and sees only Alice.
    page.goto(_last_link(app))
    page.fill("#password", "Second-Pass1")
    page.fill("#confirmation", "Second-Pass1")
    fill_select(page, "#question", "premier_poste")
    page.fill("#answer", "Jardinier")
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.goto("/effectif/?onglet=tous")
    content = page.content()
    assert "DUPONT" in content and "MARTIN" not in content
    assert_only_local_requests(page, live_server)
