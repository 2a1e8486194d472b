"""Every role clicks every menu entry in the browser: a page in French, never an error, and a
menu bar on one line at 1366 px (issue 10)."""

from __future__ import annotations

import pytest

from app import roles
from tests import factories, isolation
from tests.integration.test_every_link import ENGLISH
from tests.web.conftest import assert_only_local_requests

ERROR_TITLES = ("Page ou enregistrement introuvable", "Vous n'avez pas accès", "Erreur interne")


@pytest.fixture
def accounts(db_ctx):
    with db_ctx() as session:
        world = isolation.build_world(session)
        users = {
            role: factories.make_user(session, role)
            for role in (
                roles.ADMIN,
                roles.SECRETARIAT,
                roles.SANTE,
                roles.COMPTABILITE,
                roles.DIRECTION,
            )
        }
        users[roles.EMPLOYER_PRIMARY] = world.primary_a
        users[roles.EMPLOYER_SECONDARY] = world.secondary_a
        return {role: user.username for role, user in users.items()}


def _sign_in(page, username: str) -> None:
    page.goto("/login/")
    page.fill("#username", username)
    page.fill("#password", factories.PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit], button[type=submit]")
    assert "/login" not in page.url


def _navbar_lines(page) -> int:
    """How many rows the top-level entries of the menu bar (left and right) take."""
    return page.evaluate(
        """() => new Set(
            [...document.querySelectorAll('.navbar-collapse > .navbar-nav > li')]
              .filter(li => li.offsetParent !== null)
              .map(li => Math.round(li.getBoundingClientRect().top))
        ).size"""
    )


def _english_on_screen(page) -> list[str]:
    return sorted(set(ENGLISH.findall(" ".join(page.inner_text("body").split()))))


@pytest.mark.parametrize("role", roles.ALL_ROLES)
def test_each_menu_entry_opens_a_french_page_for_the_role(page, live_server, accounts, role):
    page.set_viewport_size({"width": 1366, "height": 768})
    _sign_in(page, accounts[role])
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.locator("link[rel=icon]").count() == 1
    assert _navbar_lines(page) == 1, "the menu bar wraps at 1366 px"

    toggles = page.locator(".navbar-collapse > .navbar-nav:not(.navbar-right) > li.dropdown")
    entries = []
    for index in range(toggles.count()):
        toggle = toggles.nth(index)
        category = toggle.locator("> a.dropdown-toggle").inner_text().strip()
        for link in toggle.locator("ul.dropdown-menu a[href]").all():
            entries.append((index, category, link.inner_text().strip()))
    assert entries, "the role sees menu entries"

    problems = []
    for index, category, label in entries:
        page.goto("/")
        toggle = page.locator(
            ".navbar-collapse > .navbar-nav:not(.navbar-right) > li.dropdown"
        ).nth(index)
        toggle.locator("> a.dropdown-toggle").click()
        entry = toggle.locator("ul.dropdown-menu a[href]", has_text=label).first
        assert entry.is_visible(), f"{category} › {label} hidden after opening the menu"
        with page.expect_navigation() as navigation:
            entry.click()
        status = navigation.value.status if navigation.value else 0
        heading = (
            page.locator("h1, h2").first.inner_text() if page.locator("h1, h2").count() else ""
        )
        if status != 200 or any(title in heading for title in ERROR_TITLES):
            problems.append(f"{category} › {label}: {status} {heading}")
        english = _english_on_screen(page)
        if english:
            problems.append(f"{category} › {label}: English {english}")
        if _navbar_lines(page) != 1:
            problems.append(f"{category} › {label}: the menu bar wraps")
    assert problems == [], "\n".join(problems)
    assert_only_local_requests(page, live_server)
