"""Tenant isolation, proven by sweeping every registered route (SPEC A4, issue "isolation").

As the primary account of collectivity A, and as A's secondary account, every screen and REST
endpoint is tried against B's rows (and, for the secondary, A's agents it does not manage):
every attempt answers 403/404 or an empty result, no page shows B's data, and the database is
unchanged afterwards.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app.accounts.models import PortalMembership
from app.tenancy import system_scope, tenant_models
from app.workforce.models import Agent
from tests import factories, isolation


@pytest.fixture
def world(app, db_ctx):
    # Annual reports are files named by collectivity id. An earlier test of this worker may
    # have left one for an id the new world reuses (test databases restart their ids;
    # production never does): start from an empty report folder.
    shutil.rmtree(Path(app.config["UPLOAD_DIR"]) / "rapports-annuels", ignore_errors=True)
    with db_ctx() as session:
        return isolation.build_world(session)


def _context(session, world, user):
    """Users whose secondary-account pages the user must not open (B's, and A's primary)."""
    with system_scope():
        own_secondaries = set()
        if user.id == world.primary_a.id:
            own_secondaries = set(
                session.scalars(
                    select(PortalMembership.user_id).where(
                        PortalMembership.collectivity_id == world.a.id,
                        PortalMembership.primary_user_id == world.primary_a.id,
                    )
                )
            )
        everyone = set(session.scalars(select(PortalMembership.user_id)))
    # The procedures whose « Accepter » / « Refuser » the sweep presses (none is the user's).
    return {
        "foreign_user_ids": sorted(everyone - own_secondaries),
        "procedure_ids": list(world.ids["procedures"]),
    }


@pytest.mark.parametrize("who", ["primary_a", "secondary_a"])
def test_an_employer_never_reaches_another_collectivity(app, who, world, db_ctx, login, api_login):
    user = getattr(world, who)
    markers = (
        (isolation.SECRET_B,) if who == "primary_a" else (isolation.SECRET_B, isolation.HIDDEN_A)
    ) + isolation.EMPLOYER_MARKERS
    with db_ctx() as session:
        scope = isolation.scope_of(session, user)
        forbidden = isolation.forbidden_ids(session, scope)
        context = _context(session, world, user)
        context["visible"] = isolation.visible_ids(session, scope)
        before = isolation.fingerprint(session)
    # Every tenant model has rows the user must not reach, or the sweep would prove nothing.
    empty = [model.__name__ for model in tenant_models() if not forbidden[model]]
    assert empty == [], f"the isolation world has no forbidden rows for {empty}"

    web = login(user)
    web.csrf_token_value = web.csrf_token("/compte/moi/")
    report = isolation.sweep(app, web, api_login(user), forbidden, markers, context)

    with db_ctx() as session:
        after = isolation.fingerprint(session)
    assert report.unknown_routes == [], "routes the sweep cannot forge arguments for"
    assert report.leaks == []
    assert after == before, "the database changed during the sweep"
    assert report.cases > 100
    print(f"isolation sweep as {who}: {report.cases} attempts on {len(app.url_map._rules)} routes")


def test_a_secondary_account_sees_only_its_agents(world, login, api_login):
    web = login(world.secondary_a)
    page = web.get("/effectif/?onglet=tous").get_data(as_text=True)
    assert "VISIBLEA" in page
    assert isolation.HIDDEN_A not in page and isolation.SECRET_B not in page
    api = api_login(world.secondary_a)
    listing = api.get("/api/v1/agent/").get_json()
    assert [row["id"] for row in listing["result"]] == [world_ids(world)[0]]
    assert listing["result"][0]["secondary_account_ids"] == [world.secondary_a.id]


def world_ids(world):
    return world.ids["agents"]


def test_every_table_pointing_at_a_collectivity_or_an_agent_is_scoped():
    assert isolation.unscoped_references() == []


class LeakyView(BaseView):
    """A screen that forgets the scoping (it reads agents as the system would)."""

    route_base = "/fuite"
    default_view = "index"
    class_permission_name = "Agent"
    method_permission_name = {"index": "read"}

    @expose("/")
    @has_access
    def index(self):
        from app.extensions import db

        with system_scope():
            names = [a.birth_name for a in db.session.scalars(select(Agent))]
        return "<br>".join(names)


class RouteWithUnknownArgument(BaseView):
    route_base = "/nouvelle-route"
    default_view = "show"
    class_permission_name = "Agent"
    method_permission_name = {"show": "read", "agent": "read"}

    @expose("/<int:dossier_id>")
    @has_access
    def show(self, dossier_id):
        return "ok"

    @expose("/agent/<int:agent_id>")
    @has_access
    def agent(self, agent_id):
        """Answers for any id, without looking the agent up in the caller's scope."""
        return "ok"


def test_the_sweep_flags_a_view_added_without_scoping(app, world, db_ctx, login, api_login):
    """Scoping removed from one view must make the sweep fail (shown here on purpose)."""
    from app import create_app
    from config import TestConfig

    leaky_app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        OUTBOX_DIR=app.config["OUTBOX_DIR"],
    )
    with leaky_app.app_context():
        leaky_app.appbuilder.add_view_no_menu(LeakyView)
        leaky_app.appbuilder.add_view_no_menu(RouteWithUnknownArgument)
        leaky_app.appbuilder.sm.install_roles()
    with db_ctx() as session:
        scope = isolation.scope_of(session, world.primary_a)
        forbidden = isolation.forbidden_ids(session, scope)
        context = _context(session, world, world.primary_a)
        context["visible"] = isolation.visible_ids(session, scope)
    from tests.conftest import WebClient

    leaky_app.test_client_class = WebClient
    web = leaky_app.test_client()
    assert web.login(world.primary_a.username).status_code == 302
    web.csrf_token_value = web.csrf_token("/compte/moi/")
    raw = leaky_app.test_client()
    token = raw.post(
        "/api/v1/security/login",
        json={
            "username": world.primary_a.username,
            "password": factories.PASSWORD,
            "provider": "db",
        },
    ).get_json()["access_token"]
    from tests.conftest import ApiClient

    report = isolation.sweep(
        leaky_app, web, ApiClient(raw, token), forbidden, (isolation.SECRET_B,), context
    )
    assert any("/fuite/" in leak and isolation.SECRET_B in leak for leak in report.leaks)
    assert any("/nouvelle-route/<int:dossier_id>" in route for route in report.unknown_routes)
    assert any("/nouvelle-route/agent/" in leak and "answered 200" in leak for leak in report.leaks)


def test_a_deleted_and_recreated_identity_reaches_nothing(app, world, login, api_login, db_ctx):
    """A's secondary account is deleted; a Secrétariat account takes its id (forced: ids are
    never reused). The deleted account's cookie and token must open no page at all."""
    from app import roles
    from app.models import User

    web = login(world.secondary_a)
    token = api_login(world.secondary_a).headers["Authorization"].split()[1]
    stolen = app.test_client()
    stolen.set_cookie("session", web.get_cookie("session").value)
    old_id = world.secondary_a.id
    with db_ctx() as session:
        session.delete(session.get(User, old_id))
    with db_ctx() as session:
        factories.make_user_with_id(session, old_id, roles.SECRETARIAT, "secretariat.heritier")
    attempts, leaks = isolation.identity_replay_leaks(app, stolen, token)
    assert attempts > 50
    assert leaks == []
    print(f"identity replay: {attempts} routes tried with the deleted account's cookie and token")


def test_a_secondary_account_acting_on_the_collectivitys_shared_objects_is_held_to_its_rules(
    app, world, db_ctx, login, api_login
):
    """A's secondary account refuses, cancels, books, deletes and closes on objects the whole
    collectivity shares (the primary's bookings, a position held by an agent it does not
    manage): every collectivity-wide rule holds, with its message, and nothing changes."""
    with db_ctx() as session:
        shared = isolation.build_shared_objects(session, world)
        scope = isolation.scope_of(session, world.secondary_a)
    with db_ctx() as session:
        before = isolation.fingerprint(session)
    web = login(world.secondary_a)
    web.csrf_token_value = web.csrf_token("/compte/moi/")
    problems = isolation.secondary_acts_on_shared_objects(
        app, web, api_login(world.secondary_a), shared, scope
    )
    with db_ctx() as session:
        after = isolation.fingerprint(session)
    assert problems == []
    assert after == before, "a refused action changed the database"


def test_dashboard_amounts_are_the_collectivitys_own(world, login):
    """The billing figure of the restricted dashboard (issue 17): A and B each have an invoice
    of 1 044,00 € with a credit note of 100,00 € and a payment of 44,00 €; A's primary account
    reads A's (944,00 € net, 44,00 € paid), never the sum with B's; a secondary account has no
    billing figure (invoices are the primary account's, as on « Factures »)."""
    nbsp = "\u00a0"
    primary = login(world.primary_a)
    page = primary.get("/portail/tableau-de-bord/").get_data(as_text=True)
    figure = page.split('data-figure="factures"')[1].split("</section>")[0]
    assert f"944,00{nbsp}€" in figure and f"44,00{nbsp}€" in figure
    assert f"1{nbsp}888,00" not in figure and f"88,00{nbsp}€" not in figure
    export = primary.get("/portail/tableau-de-bord/export/factures/csv").get_data(as_text=True)
    assert ";944,00;" in export and "1 888,00" not in export
    secondary = login(world.secondary_a)
    page = secondary.get("/portail/tableau-de-bord/").get_data(as_text=True)
    assert 'data-figure="factures"' not in page and "944,00" not in page
    assert secondary.get("/portail/tableau-de-bord/export/factures/xlsx").status_code == 404


def test_the_sweep_presses_the_decision_buttons(world, db_ctx, login):
    """« Accepter » / « Refuser » on a procedure the user does administer (aimed at A) answer
    a redirect: the sweep's decision check reports it, so it can fail; B's stay 404."""
    from app import roles
    from app.procedures.models import Procedure

    with db_ctx() as session:
        outsider = factories.make_user(session, roles.EMPLOYER_PRIMARY, username="demandeur-a")
        own = Procedure(
            kind="gestion", state="en_cours", requester_id=outsider.id, collectivity_id=world.a.id
        )
        session.add(own)
        session.flush()
        own_id = own.id
    web = login(world.primary_a)
    web.csrf_token_value = web.csrf_token("/compte/moi/")
    report = isolation.SweepReport()
    rule = "/demarches/a-valider/<int:procedure_id>"
    isolation._press_decisions(report, web, rule, [*world.ids["procedures"], own_id])
    assert any(f"/demarches/a-valider/{own_id} " in leak for leak in report.leaks)
    foreign = [f"/demarches/a-valider/{pid} " for pid in world.ids["procedures"]]
    assert not [
        leak for leak in report.leaks if leak.startswith("POST") and any(f in leak for f in foreign)
    ]
