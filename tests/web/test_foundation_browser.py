"""A secretary signs in, opens the collectivities and creates one through the form."""

from __future__ import annotations

from sqlalchemy import select

from app import roles
from app.models import Collectivity
from tests import factories
from tests.web.conftest import assert_only_local_requests, fill_select


def test_secretary_creates_a_collectivity_in_the_browser(page, live_server, db_ctx):
    with db_ctx() as session:
        user = factories.make_user(session, roles.SECRETARIAT, username="claire.secretariat")

    page.goto("/login/")
    page.fill("#username", user.username)
    page.fill("#password", factories.PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit], button[type=submit]")
    assert "/login" not in page.url

    page.goto("/collectivityview/list/")
    assert "Collectivités adhérentes" in page.content()

    page.goto("/collectivityview/add")
    page.fill("#name", "Commune de Navigateur")
    fill_select(page, "#kind", "commune")
    page.fill("#siret", "216 901 231 00011")
    fill_select(page, "#category", "affiliee")
    fill_select(page, "#regime", "public")
    fill_select(page, "#secretariat_mode", "cdg")
    page.fill("#membership_start", "01/01/2025")
    page.fill("#main_city", "Lyon")
    with page.expect_navigation():
        page.click("form button[type=submit], form input[type=submit]")

    assert "Enregistrement ajouté" in page.content()
    with db_ctx() as session:
        created = session.scalar(
            select(Collectivity).where(Collectivity.name == "Commune de Navigateur")
        )
        assert created is not None and created.siret == "21690123100011"
    assert_only_local_requests(page, live_server)
