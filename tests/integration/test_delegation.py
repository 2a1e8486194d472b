"""Employer portal (SPEC A3, A4, B1): « Mes coordonnées », secondary accounts, several collectivities."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app import roles
from app.accounts.models import PortalMembership
from app.core.mail import outbox_entries
from app.models import AuditLog, Collectivity, Contact, User
from app.referential.models import ContactFunction
from app.workforce.models import AgentAssignment
from tests import factories
from tests.isolation import make_agent
from tests.util import text


def _agents(db_ctx, collectivity, count, marker=""):
    with db_ctx() as session:
        return [make_agent(session, collectivity, marker).id for _ in range(count)]


def test_primary_creates_a_secondary_account_assigns_agents_edits_and_deletes_it(
    app, login, users, db_ctx
):
    agent_ids = _agents(db_ctx, users.collectivity_a, 3)
    web = login(users.primary_a)
    response = web.post_form(
        "/portail/comptes-secondaires/nouveau",
        {
            "last_name": "LEROY",
            "first_name": "Marc",
            "email": "Marc.Leroy@Commune-a.fr",
            "agent_ids": agent_ids[:2],
            "active": "y",
        },
    )
    assert response.status_code == 302
    with db_ctx() as session:
        user = session.scalar(select(User).where(User.email == "marc.leroy@commune-a.fr"))
        membership = session.scalar(
            select(PortalMembership).where(PortalMembership.user_id == user.id)
        )
        assert membership.primary_user_id == users.primary_a.id
        assert membership.collectivity_id == users.collectivity_a.id
        assert [r.name for r in user.roles] == [roles.EMPLOYER_SECONDARY]
        assigned = set(
            session.scalars(
                select(AgentAssignment.agent_id).where(AgentAssignment.user_id == user.id)
            )
        )
        assert assigned == set(agent_ids[:2])
    with app.app_context():
        [mail] = outbox_entries()
    assert mail.to == "marc.leroy@commune-a.fr" and "/compte/mot-de-passe/" in mail.body

    listing = text(web.get("/portail/comptes-secondaires/"))
    assert "LEROY" in listing and "marc.leroy@commune-a.fr" in listing

    edit = web.post_form(
        f"/portail/comptes-secondaires/{user.id}",
        {
            "last_name": "LEROY-DUPONT",
            "first_name": "Marc",
            "email": "pirate@evil.fr",
            "agent_ids": [agent_ids[2]],
            "active": "y",
        },
    )
    assert edit.status_code == 302
    with db_ctx() as session:
        changed = session.get(User, user.id)
        assert changed.last_name == "LEROY-DUPONT"
        assert changed.email == "marc.leroy@commune-a.fr", "the e-mail identifies the account"
        assert set(
            session.scalars(
                select(AgentAssignment.agent_id).where(AgentAssignment.user_id == user.id)
            )
        ) == {agent_ids[2]}

    removed = web.post_form(
        f"/portail/comptes-secondaires/{user.id}/supprimer",
        {},
        form_url="/portail/comptes-secondaires/",
    )
    assert removed.status_code == 302
    with db_ctx() as session:
        assert session.get(User, user.id) is None
        assert (
            session.scalar(
                select(func.count(AgentAssignment.id)).where(AgentAssignment.user_id == user.id)
            )
            == 0
        )


def test_a_secondary_account_cannot_manage_secondary_accounts(login, users, db_ctx):
    web = login(users.secondary_a)
    assert web.get("/portail/comptes-secondaires/").status_code == 403
    response = web.post_form(
        "/portail/comptes-secondaires/nouveau",
        {"last_name": "X", "first_name": "Y", "email": "x@y.fr"},
        form_url="/compte/moi/",
    )
    assert response.status_code == 403
    with db_ctx() as session:
        assert session.scalar(select(func.count(User.id)).where(User.email == "x@y.fr")) == 0


def test_a_primary_account_cannot_assign_another_collectivitys_agent(login, users, db_ctx):
    [own] = _agents(db_ctx, users.collectivity_a, 1)
    [foreign] = _agents(db_ctx, users.collectivity_b, 1)
    web = login(users.primary_a)
    response = web.post_form(
        "/portail/comptes-secondaires/nouveau",
        {
            "last_name": "LEROY",
            "first_name": "Marc",
            "email": "marc@a.fr",
            "agent_ids": [own, foreign],
        },
    )
    assert response.status_code == 200
    assert f"«\xa0{foreign}\xa0» n'est pas un choix valide pour ce champ." in text(response)
    edit = web.post_form(
        f"/portail/comptes-secondaires/{users.secondary_a.id}",
        {"last_name": "X", "first_name": "Y", "agent_ids": [foreign], "active": "y"},
    )
    assert edit.status_code == 200
    assert "n'est pas un choix valide" in text(edit)
    with db_ctx() as session:
        assert session.scalar(select(func.count(User.id)).where(User.email == "marc@a.fr")) == 0
        assert (
            session.scalar(
                select(func.count(AgentAssignment.id)).where(AgentAssignment.agent_id == foreign)
            )
            == 0
        )
        assert session.get(User, users.secondary_a.id).last_name != "X"


def test_an_e_mail_already_used_is_refused_in_french(login, users):
    web = login(users.primary_a)
    response = web.post_form(
        "/portail/comptes-secondaires/nouveau",
        {"last_name": "X", "first_name": "Y", "email": users.primary_b.email},
    )
    assert response.status_code == 200
    assert "Cette adresse e-mail est déjà utilisée par un autre compte." in text(response)


def test_my_details_updates_addresses_and_requires_the_convocation_e_mail(login, users, db_ctx):
    web = login(users.primary_a)
    page = text(web.get("/portail/coordonnees/"))
    assert "Coordonnées de convocation" in page and "Adresse de facturation" in page
    data = {
        "main_line1": "2 rue Neuve",
        "main_postcode": "69160",
        "main_city": "Tassin",
        "contact_last_name": "BLANC",
        "contact_first_name": "Anne",
        "contact_email": "",
    }
    refused = web.post_form("/portail/coordonnees/", data)
    assert "L'adresse e-mail du contact des convocations est obligatoire." in text(refused)
    assert "2 rue Neuve" in text(refused), "what the user typed is kept"
    accepted = web.post_form(
        "/portail/coordonnees/", {**data, "contact_email": "convocations@tassin.fr"}
    )
    assert accepted.status_code == 302
    with db_ctx() as session:
        collectivity = session.get(Collectivity, users.collectivity_a.id)
        assert collectivity.main_line1 == "2 rue Neuve"
        assert collectivity.convocation_address == collectivity.main_address, (
            "falls back to the main address"
        )
        contact = session.scalar(
            select(Contact).where(
                Contact.collectivity_id == collectivity.id,
                Contact.function == ContactFunction.convocation,
            )
        )
        assert contact.email == "convocations@tassin.fr"
        entry = session.scalars(
            select(AuditLog)
            .where(AuditLog.table_name == "collectivity", AuditLog.action == "update")
            .order_by(AuditLog.id.desc())
        ).first()
        assert entry.username == users.primary_a.username
        assert entry.changes["main_line1"][1] == "2 rue Neuve"


def test_a_secondary_account_reads_but_cannot_change_the_details(login, users, db_ctx):
    web = login(users.secondary_a)
    assert web.get("/portail/coordonnees/").status_code == 200
    response = web.post_form(
        "/portail/coordonnees/",
        {"main_line1": "Pirate", "contact_last_name": "X", "contact_email": "x@x.fr"},
    )
    assert response.status_code == 403
    with db_ctx() as session:
        assert session.get(Collectivity, users.collectivity_a.id).main_line1 != "Pirate"


def test_a_user_in_charge_of_several_collectivities_switches_between_them(login, users, db_ctx):
    with db_ctx() as session:
        session.add(
            PortalMembership(user_id=users.primary_a.id, collectivity_id=users.collectivity_b.id)
        )
        third = factories.make_collectivity(session, name="Commune Tierce")
    _agents(db_ctx, users.collectivity_a, 1, "AGENTDEA")
    _agents(db_ctx, users.collectivity_b, 1, "AGENTDEB")
    web = login(users.primary_a)
    home = text(web.get("/"))
    assert "Commune A" in home and "Commune B" in home  # the switch lists both
    assert "AGENTDEA" in text(web.get("/effectif/?onglet=tous")) and "AGENTDEB" not in text(
        web.get("/effectif/?onglet=tous")
    )
    token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
    switched = web.post(
        "/compte/moi/collectivite",
        data={"collectivity_id": users.collectivity_b.id, "csrf_token": token},
    )
    assert switched.status_code == 302
    page = text(web.get("/effectif/?onglet=tous"))
    assert "AGENTDEB" in page and "AGENTDEA" not in page
    forged = web.post(
        "/compte/moi/collectivite", data={"collectivity_id": third.id, "csrf_token": token}
    )
    assert forged.status_code == 404
    assert "AGENTDEB" in text(web.get("/effectif/?onglet=tous"))


def test_employer_list_pages_run_a_constant_number_of_queries(login, users, db_ctx, count_queries):
    web = login(users.secondary_a)
    counts = []
    for total in (5, 50):
        with db_ctx() as session:
            existing = session.scalar(
                select(func.count(AgentAssignment.id)).where(
                    AgentAssignment.user_id == users.secondary_a.id
                )
            )
            for _ in range(total - existing):
                agent = make_agent(session, users.collectivity_a)
                session.add(
                    AgentAssignment(
                        agent_id=agent.id,
                        user_id=users.secondary_a.id,
                        collectivity_id=users.collectivity_a.id,
                    )
                )
        web.get("/effectif/?onglet=tous&psize=100")
        with count_queries() as counter:
            page = web.get("/effectif/?onglet=tous&psize=100")
        assert page.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    assert counts[1] <= 12, counts


def test_the_assignment_service_refuses_another_collectivitys_agent_even_without_the_form(
    app, users, db_ctx
):
    import pytest

    from app.accounts import services
    from app.tenancy import Scope, ScopeKind, TenantViolation, scope_as

    [foreign] = _agents(db_ctx, users.collectivity_b, 1)
    scope = Scope(
        ScopeKind.EMPLOYER, user_id=users.primary_a.id, collectivity_id=users.collectivity_a.id
    )
    with app.test_request_context(), scope_as(scope), pytest.raises(TenantViolation):
        services.assign_agents(users.secondary_a.id, [foreign])


def test_the_secondary_accounts_list_runs_a_constant_number_of_queries(
    login, users, db_ctx, count_queries
):
    web = login(users.primary_a)
    counts = []
    for total in (5, 50):
        with db_ctx() as session:
            existing = session.scalar(
                select(func.count(PortalMembership.id)).where(
                    PortalMembership.primary_user_id == users.primary_a.id
                )
            )
            for _ in range(total - existing):
                secondary = factories.make_user(
                    session,
                    roles.EMPLOYER_SECONDARY,
                    collectivity=users.collectivity_a,
                    primary=users.primary_a,
                )
                agent = make_agent(session, users.collectivity_a)
                session.add(
                    AgentAssignment(
                        agent_id=agent.id,
                        user_id=secondary.id,
                        collectivity_id=users.collectivity_a.id,
                    )
                )
        web.get("/portail/comptes-secondaires/")
        with count_queries() as counter:
            page = web.get("/portail/comptes-secondaires/")
        assert page.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    assert ">1</td>" in page.get_data(as_text=True), "each account shows its number of agents"
