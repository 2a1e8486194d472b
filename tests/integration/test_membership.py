"""Membership wizard and the CDG's validation queue (SPEC I3, issue 16, first half)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import roles
from app.accounts.models import PortalMembership
from app.membership.models import MembershipApplication
from app.referential.models import Collectivity, Convention
from tests import factories
from tests.util import text

SIRET = "73282932000074"  # a valid SIRET (Luhn key)
STEP = "/adhesion/etape/{}"
QUEUE = "/adhesions/"

STEP2 = {
    "name": "Commune Nouvelle",
    "kind": "commune",
    "email": "mairie@nouvelle.fr",
    "main_line1": "1 place de la Mairie",
    "main_postcode": "69001",
    "main_city": "Lyon",
}


@pytest.fixture
def world(db_ctx):
    with db_ctx() as session:
        known = factories.make_collectivity(session, name="Commune Connue")
        applicant = factories.make_user(session, roles.EMPLOYER_PRIMARY, username="candidat")
        other = factories.make_user(session, roles.EMPLOYER_PRIMARY, username="autre-candidat")
        secretariat = factories.make_user(session, roles.SECRETARIAT, username="secretariat-adh")
        return {
            "known_siret": known.siret,
            "applicant": applicant,
            "other": other,
            "secretariat": secretariat,
        }


def _count(db_ctx, model):
    with db_ctx() as session:
        return session.scalar(select(func.count()).select_from(model))


def _fill(web):
    assert (
        web.post_form(
            STEP.format(1), {"siret": SIRET, "naf_code": "8411Z", "city": "Lyon"}
        ).status_code
        == 302
    )
    assert web.post_form(STEP.format(2), STEP2).status_code == 302
    assert (
        web.post_form(
            STEP.format(3), {"poste-label": ["Agent d'entretien"], "poste-risks": ["Bruit"]}
        ).status_code
        == 302
    )
    assert (
        web.post_form(
            STEP.format(4),
            {
                "agent-last_name": ["MARTIN"],
                "agent-first_name": ["Paul"],
                "agent-position": ["Agent d'entretien"],
            },
        ).status_code
        == 302
    )
    return web.post_form(STEP.format(5), {"accept": "1"}, follow_redirects=True)


def test_wizard_refuses_bad_siret_and_known_siret_keeping_input(world, login, db_ctx):
    web = login(world["applicant"])
    page = web.post_form(
        STEP.format(1), {"siret": "12345678901234", "naf_code": "8411Z", "city": "Lyon"}
    )
    assert page.status_code == 200
    body = text(page)
    assert "n'est pas valide" in body
    assert "8411Z" in page.get_data(as_text=True)  # what was typed is kept
    page = web.post_form(
        STEP.format(1), {"siret": world["known_siret"], "naf_code": "8411Z", "city": "Lyon"}
    )
    html = page.get_data(as_text=True)
    assert "Nous avons déjà un adhérent avec ce numéro de Siret" in text(page)
    assert "/demarches/nouvelle?type=gestion" in html
    page = web.post_form(STEP.format(1), {"siret": "", "naf_code": "", "city": ""})
    assert "« Siret » est obligatoire." in text(page)
    # the applicant cannot jump ahead
    assert web.get(STEP.format(3)).status_code == 302
    assert _count(db_ctx, Collectivity) == 1


def test_wizard_is_resumable_and_previous_keeps_data(world, login):
    web = login(world["applicant"])
    web.post_form(STEP.format(1), {"siret": SIRET, "naf_code": "8411Z", "city": "Lyon"})
    web.post_form(STEP.format(2), {**STEP2, "main_postcode": "690"})
    page = web.get(STEP.format(2))
    assert "Commune Nouvelle" in page.get_data(as_text=True)
    again = login(world["applicant"])
    assert "Raison sociale" in text(again.get("/adhesion/"))  # resumes at step 2
    assert SIRET in again.get(STEP.format(1)).get_data(as_text=True)


def test_submit_validate_creates_collectivity_convention_and_primary_once(
    world, login, db_ctx, app
):
    web = login(world["applicant"])
    done = _fill(web)
    assert "transmise au CDG" in text(done)
    # another applicant's draft is out of reach; the applicant sees only its own
    other = login(world["other"])
    assert "Commune Nouvelle" not in other.get(STEP.format(1)).get_data(as_text=True)
    with db_ctx() as session:
        application = session.scalars(select(MembershipApplication)).one()
        assert application.status == "soumise"
        assert application.conditions_version.startswith("CG-MEDPREV")
        app_id = application.id
    staff = login(world["secretariat"])
    assert "Commune Nouvelle" in text(staff.get(QUEUE))
    assert "Agent d'entretien" in text(staff.get(f"{QUEUE}{app_id}"))
    before = _count(db_ctx, Collectivity)
    token = staff.csrf_token(f"{QUEUE}{app_id}")
    page = staff.post(f"{QUEUE}{app_id}/valider", data={"csrf_token": token}, follow_redirects=True)
    assert "Adhésion validée" in text(page)
    again = staff.post(
        f"{QUEUE}{app_id}/valider", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Cette demande a déjà été traitée." in text(again)  # double submit: nothing twice
    assert _count(db_ctx, Collectivity) == before + 1
    with db_ctx() as session:
        collectivity = session.scalars(
            select(Collectivity).where(Collectivity.siret == SIRET)
        ).one()
        convention = session.scalars(
            select(Convention).where(Convention.collectivity_id == collectivity.id)
        ).one()
        assert " - CU - MEDPREV - " in convention.number
        membership = session.scalars(
            select(PortalMembership).where(PortalMembership.user_id == world["applicant"].id)
        ).one()
        assert membership.collectivity_id == collectivity.id and membership.is_primary
        from app.core.audit import AuditLog

        actions = session.scalars(
            select(AuditLog.action)
            .where(AuditLog.table_name == "membership_application")
            .order_by(AuditLog.id)
        ).all()
        assert [a for a in actions if a in ("soumettre", "valider")] == ["soumettre", "valider"]


def test_refuse_requires_a_reason_and_forged_id_is_404(world, login, db_ctx):
    web = login(world["applicant"])
    _fill(web)
    with db_ctx() as session:
        app_id = session.scalars(select(MembershipApplication)).one().id
    staff = login(world["secretariat"])
    page = staff.post_form(
        f"{QUEUE}{app_id}/refuser",
        {"reason": ""},
        form_url=f"{QUEUE}{app_id}",
        follow_redirects=True,
    )
    assert "Le motif du refus est obligatoire." in text(page)
    page = staff.post_form(
        f"{QUEUE}{app_id}/refuser",
        {"reason": "Hors ressort"},
        form_url=f"{QUEUE}{app_id}",
        follow_redirects=True,
    )
    assert "refusée" in text(page)
    assert "Hors ressort" in text(web.get("/adhesion/", follow_redirects=True))
    assert staff.get(f"{QUEUE}999999").status_code == 404
    # an employer cannot reach the queue
    assert web.get(QUEUE).status_code in (302, 403, 404)


PORTAL_PAGES = [
    "/portail/actions-de-prevention/",
    "/portail/comptes-secondaires/",
    "/portail/consultations/",
    "/portail/contacts/",
    "/portail/coordonnees/",
    "/portail/declarations/",
    "/portail/demandes-de-visite/",
    "/portail/documents/",
    "/portail/equipe-sante/",
    "/portail/factures/",
    "/portail/fiches-de-visite/",
    "/portail/mes-documents/",
    "/portail/tableau-de-bord/",
    "/api/v1/agent/",
    "/api/v1/collectivity/",
]


def test_applicant_without_collectivity_sees_no_collectivity_data(world, login, db_ctx):
    """An account with no PortalMembership has an empty scope: nothing, never everything."""
    with db_ctx() as session:
        from tests.isolation import make_agent

        known = session.scalars(select(Collectivity)).one()
        make_agent(session, known, birth_name="SECRETAGENT")
    web = login(world["applicant"])
    for url in PORTAL_PAGES:
        response = web.get(url, follow_redirects=True)
        body = response.get_data(as_text=True)
        assert response.status_code < 500, url
        assert "Commune Connue" not in body, url
        assert "SECRETAGENT" not in body, url
        assert world["known_siret"] not in body, url
    home = web.get("/")
    assert "Votre adhésion" in text(home)


def test_members_and_staff_are_not_offered_the_membership_wizard(world, login, db_ctx):
    """« Votre adhésion » is for an account that belongs to no collectivity yet."""
    with db_ctx() as session:
        known = session.scalars(select(Collectivity)).one()
        member = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=known)
        admin = factories.make_user(session, roles.ADMIN)
    for user in (member, admin):
        assert "Votre adhésion" not in text(login(user).get("/"))


def test_demo_has_one_waiting_application_and_one_draft(app):
    from app.demo import load_demo
    from app.extensions import db
    from app.tenancy import system_scope

    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        db.session.remove()
        db.session.configure(bind=connection)
        try:
            load_demo(db.session, scale=10, seed=1)
            with system_scope():
                statuses = sorted(db.session.scalars(select(MembershipApplication.status)))
            assert statuses == ["brouillon", "soumise"]
        finally:
            db.session.remove()
            transaction.rollback()
            connection.close()


def test_self_registration_creates_an_account_without_collectivity(app, client, db_ctx):
    from pathlib import Path

    from app.models import User

    assert "Créer un compte" in text(client.get("/login/"))
    page = client.post_form("/inscription/", {"last_name": "Vallon", "first_name": "Claire"})
    assert "obligatoires" in text(page)
    assert "Vallon" in page.get_data(as_text=True)  # what was typed is kept
    data = {
        "last_name": "Vallon",
        "first_name": "Claire",
        "email": "claire.vallon@exemple.fr",
        "function": "DRH",
    }
    assert client.post_form("/inscription/", data).status_code == 302
    again = client.post_form("/inscription/", data)
    assert "déjà utilisé" in text(again)
    with db_ctx() as session:
        user = session.scalars(select(User).where(User.email == data["email"])).one()
        assert [r.name for r in user.roles] == [roles.EMPLOYER_PRIMARY]
        assert not session.scalars(
            select(PortalMembership).where(PortalMembership.user_id == user.id)
        ).all()
    outbox = sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    assert "/compte/mot-de-passe/" in outbox[-1].read_text(encoding="utf-8", errors="replace")
