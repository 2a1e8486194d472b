"""Under the Content-Security-Policy, the main pages run without a violation in the browser and
their widgets (date picker, select2, search filters, delete confirmation, live badge) still work."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app import roles
from app.models import Collectivity
from tests import factories
from tests.web.conftest import assert_only_local_requests

# Recorded in the page before any of its scripts runs (Playwright's init scripts are not
# subject to the page's policy).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
    window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def _watch(page: Any) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"console": [], "errors": []}
    page.on("console", lambda message: seen["console"].append(message.text))
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.add_init_script(RECORD_VIOLATIONS)
    return seen


def _assert_clean(page: Any, seen: dict[str, list[str]]) -> None:
    assert page.evaluate("window.__cspViolations") == [], page.url
    csp = [m for m in seen["console"] if "Content Security Policy" in m]
    assert csp == [], csp
    assert seen["errors"] == [], seen["errors"]


def _sign_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#username", username)
    page.fill("#password", factories.PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit], button[type=submit]")
    assert "/login" not in page.url


def test_staff_pages_run_under_the_policy_with_working_widgets(page, live_server, db_ctx):
    with db_ctx() as session:
        user = factories.make_user(session, roles.ADMIN, username="csp.staff")
        factories.make_collectivity(session, name="Commune à supprimer")
    seen = _watch(page)
    response = page.goto("/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    _assert_clean(page, seen)
    _sign_in(page, user.username)
    _assert_clean(page, seen)

    # Add form: the French date picker and a select2 choice.
    page.goto("/collectivityview/add")
    page.click("#membership_start")
    picker = page.locator(".datepicker-dropdown")
    picker.wait_for(state="visible")
    assert re.search(
        r"janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre",
        picker.inner_text(),
    )
    picker.locator("td.day:not(.old):not(.new)", has_text=re.compile(r"^15$")).first.click()
    assert re.fullmatch(r"15/\d\d/\d{4}", page.input_value("#membership_start"))
    page.click("#kind + .select2-container .select2-selection")
    option = page.locator(".select2-results__option", has_text=re.compile(r"\w")).first
    option.wait_for(state="visible")
    option.click()
    assert page.input_value("#kind") != ""
    _assert_clean(page, seen)

    # List: a search filter built from data-* attributes, then the delete confirmation.
    page.goto("/collectivityview/list/")
    page.click("#accordion1 .accordion-toggle")
    page.click("#filter_form .dropdown-toggle")
    page.click("#filter_form a.filter[name=name]")
    row = page.locator("#filter_form table.filters tr")
    assert row.count() == 1
    assert row.locator(".select2-container").count() >= 1
    row.locator("input.filter_val").fill("Commune à sup")
    with page.expect_navigation():
        page.click("#filter_form button[type=submit]")
    assert "Commune à supprimer" in page.content()
    page.click("[data-medprev-delete-url]")
    page.locator("#modal-confirm").wait_for(state="visible")
    with page.expect_navigation():
        page.click("#modal-confirm-ok")
    with db_ctx() as session:
        assert (
            session.scalar(select(Collectivity).where(Collectivity.name == "Commune à supprimer"))
            is None
        )
    _assert_clean(page, seen)

    # Planning screens of the staff.
    for url in ("/", "/plages/", "/plages/nouvelle"):
        page.goto(url)
        _assert_clean(page, seen)
    assert page.locator(".select2-container").count() >= 1
    assert_only_local_requests(page, live_server)


def test_employer_pages_and_the_live_badge_run_under_the_policy(page, live_server, db_ctx):
    with db_ctx() as session:
        mine = factories.make_collectivity(session, name="Commune Politique")
        user = factories.make_user(
            session, roles.EMPLOYER_PRIMARY, collectivity=mine, username="csp.employeur"
        )
    seen = _watch(page)
    _sign_in(page, user.username)
    for url in ("/", "/portail/coordonnees/", "/portail/consultations/", "/effectif/"):
        page.goto(url)
        _assert_clean(page, seen)

    # The work-position form asks the server for the follow-up badge (static/js/position-form.js).
    page.goto("/postes/nouveau")
    with page.expect_response(lambda r: "/postes/suivi?risques=" in r.url) as answer:
        page.locator(".risk-box").first.check()
    assert answer.value.ok
    page.locator("#badge .medprev-badge").wait_for(state="visible")
    _assert_clean(page, seen)
    assert_only_local_requests(page, live_server)


def test_the_swagger_page_starts_under_the_policy(page, live_server, db_ctx):
    with db_ctx() as session:
        user = factories.make_user(session, roles.ADMIN, username="csp.admin")
    seen = _watch(page)
    _sign_in(page, user.username)
    page.goto("/swagger/v1")
    page.locator("#swagger-ui .info").wait_for(state="visible")
    _assert_clean(page, seen)
    assert_only_local_requests(page, live_server)
