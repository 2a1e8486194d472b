"""Accessibility (issue 17): the main page of each role passes axe-core with no serious or
critical violation, offline.

axe-core comes from the installed ``axe-playwright-python`` wheel (``axe.min.js`` is inside the
package, nothing is fetched); it is injected through Playwright's ``page.evaluate``, which the
page's Content-Security-Policy does not restrict, so the app's policy stays as strict as it is.
Every request the browser makes is recorded: none leaves 127.0.0.1, and axe itself makes none.
The dashboards are given figures (the isolation world, A's appointments honoured and B's
unjustified absences) so that every chart is drawn with its data and its table alternative.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import axe_playwright_python
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import update

from app import roles
from app.planning.models import Appointment, AppointmentStatus
from app.workforce.models import Headcount
from tests import factories, isolation
from tests.web.conftest import assert_only_local_requests

AXE_JS = Path(axe_playwright_python.__file__).parent / "axe.min.js"
BLOCKING = ("serious", "critical")
# The isolation world's appointments are 30 days ahead, its absence 10 days back.
PERIOD = (
    f"?du={dt.date.today() - dt.timedelta(days=200):%d/%m/%Y}"
    f"&au={dt.date.today() + dt.timedelta(days=60):%d/%m/%Y}"
)
# The employer's planning shows six months at most.
NEXT_WEEKS = f"?du={dt.date.today():%d/%m/%Y}&au={dt.date.today() + dt.timedelta(days=60):%d/%m/%Y}"
STAFF_CHARTS = ("visites", "remplissage", "absenteisme", "statutaire", "effectifs")
EMPLOYER_CHARTS = ("visites", "absenteisme", "statutaire", "effectifs")


def _world(db_ctx: Any) -> isolation.World:
    with db_ctx() as session:
        world = isolation.build_world(session)
        session.execute(
            update(Appointment)
            .where(Appointment.collectivity_id == world.a.id)
            .values(status=AppointmentStatus.honoree)
        )
        session.execute(
            update(Appointment)
            .where(Appointment.collectivity_id == world.b.id)
            .values(status=AppointmentStatus.absence_injustifiee)
        )
        # One of A's absences too: A's own absenteeism bar is not zero.
        session.execute(
            update(Appointment)
            .where(Appointment.agent_id == world.ids["agents"][1])
            .values(status=AppointmentStatus.absence_injustifiee)
        )
        # The world's headcounts are of past years: this year's, for the headcount chart.
        for collectivity, headcount in ((world.a, 40), (world.b, 25)):
            session.add(
                Headcount(
                    collectivity_id=collectivity.id,
                    year=dt.date.today().year,
                    headcount=headcount,
                    permanent_headcount=headcount - 5,
                )
            )
        factories.make_user(session, roles.DIRECTION, username="direction.a11y")
        factories.make_user(session, roles.COMPTABILITE, username="comptable.a11y")
        factories.make_user(session, roles.SANTE, username="sante.a11y")
        return world


def _format(page_name: str, violation: dict[str, Any]) -> str:
    """« [page] rule (impact): help », then each node's target and what axe found there."""
    lines = [f"[{page_name}] {violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in violation["nodes"][:6]:
        checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
        found = checks[0]["message"] if checks else ""
        lines.append(f"    {', '.join(node['target'])} – {found}")
    if len(violation["nodes"]) > 6:
        lines.append(f"    … and {len(violation['nodes']) - 6} more")
    return "\n".join(lines)


class Auditor:
    """Signs in (one browser context per user), runs axe on pages and keeps the serious and
    critical violations; records every request of every context."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.axe = Axe.from_file(AXE_JS)
        self.found: list[str] = []
        self.audited: list[str] = []
        self.requested: list[str] = []
        self.during_axe: list[str] = []
        self._running_axe = False
        self.tab: Any = None

    def sign_in(self, username: str | None) -> Any:
        if self.tab is not None:
            self.tab.context.close()
        context = self.browser.new_context(locale="fr-FR", base_url=self.base_url)
        context.on("request", self._record)
        self.tab = context.new_page()
        self.tab.set_default_timeout(15000)
        self.tab.requested_urls = self.requested  # read by assert_only_local_requests
        if username is not None:
            self.tab.goto("/login/")
            self.tab.fill("#username", username)
            self.tab.fill("#password", factories.PASSWORD)
            with self.tab.expect_navigation():
                self.tab.click("input[type=submit], button[type=submit]")
            assert "/login" not in self.tab.url, username
        return self.tab

    def _record(self, request: Any) -> None:
        self.requested.append(request.url)
        # The browser asks for the favicon on its own once a page has loaded.
        if self._running_axe and not request.url.endswith("/favicon.svg"):
            self.during_axe.append(request.url)

    def audit(self, name: str, url: str | None = None) -> Any:
        """Run axe on ``url`` (or on the page the tab is on, e.g. the home page a log-in
        lands on)."""
        if url is not None:
            response = self.tab.goto(url)
            assert response is not None and response.status == 200, (name, url, response.status)
        self.tab.wait_for_load_state("load")
        self._running_axe = True
        try:
            results = self.axe.run(self.tab)
        finally:
            self._running_axe = False
        self.audited.append(name)
        for violation in results.response["violations"]:
            if violation["impact"] in BLOCKING:
                self.found.append(_format(name, violation))
        return self.tab

    def close(self) -> None:
        if self.tab is not None:
            self.tab.context.close()


# What each chart of a dashboard shows, read in the page in one go: its marks with a value
# (bars with a height, points) and the rows of its table alternative.
CHARTS = """() => Array.from(document.querySelectorAll("section[data-figure]")).map((figure) => {
    const svg = figure.querySelector("svg.medprev-chart");
    const bars = svg ? Array.from(svg.querySelectorAll("rect > title")).map((t) => t.parentNode) : [];
    const table = figure.querySelector("table.medprev-figure-table");
    const rows = table ? Array.from(table.querySelectorAll("tbody tr")) : [];
    return {
        key: figure.dataset.figure,
        svgs: figure.querySelectorAll("svg").length,
        role: svg && svg.getAttribute("role"),
        label: svg && svg.getAttribute("aria-label"),
        bars: bars.filter((bar) => parseFloat(bar.getAttribute("height")) > 0).length,
        points: svg ? svg.querySelectorAll("circle").length : 0,
        headers: table ? table.querySelectorAll("thead th").length : 0,
        rows: rows.filter((row) => !row.textContent.includes("Aucune donnée")).length,
    };
})"""


def _assert_charts_have_data(tab: Any, expected: tuple[str, ...]) -> None:
    """Every chart of the page (the expected ones at least) is drawn with figures and has its
    table of the same figures."""
    charts = tab.evaluate(CHARTS)
    keys = [chart["key"] for chart in charts]
    assert set(expected) <= set(keys), keys
    for chart in charts:
        key = chart["key"]
        assert chart["svgs"] == 1 and chart["role"] == "img" and chart["label"], chart
        assert chart["bars"] + chart["points"] > 0, f"chart {key} has no bar or point: {chart}"
        assert chart["headers"] >= 2 and chart["rows"] >= 1, f"table of {key} is empty: {chart}"


def test_pages_of_every_role_pass_axe_without_serious_violation(browser, live_server, db_ctx):
    world = _world(db_ctx)
    auditor = Auditor(browser, live_server)
    try:
        auditor.sign_in(None)
        auditor.audit("Connexion", "/login/")

        # Direction lands on the dashboard: every chart drawn with figures, and its table.
        tab = auditor.sign_in("direction.a11y")
        assert tab.url.split("?")[0].endswith("/tableau-de-bord/"), tab.url
        auditor.audit("Direction – tableau de bord", "/tableau-de-bord/" + PERIOD)
        _assert_charts_have_data(tab, STAFF_CHARTS)
        assert "Seuil 5" in tab.locator("section[data-figure='absenteisme'] svg").inner_html()

        auditor.sign_in(world.staff.username)
        auditor.audit("Secrétariat – accueil")
        assert auditor.tab.locator("#home-secretariat").count() == 1
        auditor.audit("Secrétariat – plannings des cabinets", "/plages/")

        auditor.sign_in("sante.a11y")
        auditor.audit("Santé – accueil")
        assert auditor.tab.locator("#home-health").count() == 1

        auditor.sign_in("comptable.a11y")
        auditor.audit("Comptabilité – accueil")
        assert auditor.tab.locator("#home-accounting").count() == 1
        auditor.audit("Comptabilité – factures", "/comptabilite/factures/")
        assert auditor.tab.locator("select[name=statut]").count() == 1

        auditor.sign_in(world.primary_a.username)
        auditor.audit("Employeur – accueil")
        assert auditor.tab.locator("#home-employer").count() == 1
        tab = auditor.audit("Employeur – tableau de bord", "/portail/tableau-de-bord/" + PERIOD)
        _assert_charts_have_data(tab, EMPLOYER_CHARTS)
        auditor.audit("Employeur – effectif", "/effectif/")
        assert auditor.tab.locator("table.medprev-agents tbody tr").count() >= 2
        auditor.audit("Employeur – ajout d'un agent", "/effectif/nouveau")
        auditor.audit("Employeur – consultations", "/portail/consultations/" + NEXT_WEEKS)
        assert auditor.tab.locator("tr[data-plage]").count() >= 2
        auditor.audit("Employeur – demandes de visite", "/portail/demandes-de-visite/")
        assert auditor.tab.locator("tr[data-request] .btn-danger").count() >= 1
        auditor.audit("Employeur – factures", "/portail/factures/")
        assert auditor.tab.locator("table.medprev-invoices tbody tr").count() >= 1
    finally:
        auditor.close()
    assert auditor.found == [], "axe-core, serious or critical:\n" + "\n".join(auditor.found)
    assert len(auditor.audited) == 14
    assert auditor.during_axe == [], f"axe made requests: {auditor.during_axe}"
    assert_only_local_requests(auditor.tab, live_server)
