"""Procedures (démarches, SPEC I3, issue 16): « Votre demande : », « Mes démarches »,
« Démarches à valider » and the CDG's « Démarches »."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import roles
from app.accounts.models import PortalMembership
from app.core.audit import AuditLog
from app.procedures.models import Procedure
from tests import factories
from tests.util import text

NEW = "/demarches/nouvelle"


@pytest.fixture
def world(db_ctx):
    with db_ctx() as session:
        target = factories.make_collectivity(session, name="Commune Cible")
        other = factories.make_collectivity(session, name="Commune Voisine")
        admin = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=target)
        other_admin = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=other)
        requester = factories.make_user(
            session, roles.EMPLOYER_PRIMARY, username="demandeur", email="demandeur@example.fr"
        )
        secretariat = factories.make_user(session, roles.SECRETARIAT)
        return {
            "target": (target.id, target.membership_number, target.siret),
            "other": (other.id, other.membership_number, other.siret),
            "admin": admin,
            "other_admin": other_admin,
            "requester": requester,
            "secretariat": secretariat,
        }


def _count(db_ctx, model):
    with db_ctx() as session:
        return session.scalar(select(func.count()).select_from(model))


def _ask(web, world, key="target", **kw):
    _, number, siret = world[key]
    return web.post_form(
        NEW, {"type": "gestion", "membership_number": number, "siret": siret}, **kw
    )


def _procedure_id(db_ctx):
    with db_ctx() as session:
        return session.scalars(select(Procedure.id)).one()


def test_form_preselects_gestion_and_lists_the_seed_options(world, login):
    web = login(world["requester"])
    page = web.get(NEW + "?type=gestion")
    html = page.get_data(as_text=True)
    assert "Votre demande :" in text(page)
    assert 'value="gestion" checked' in html
    for label in (
        "Demander la gestion d'un adhérent",
        "Modifier l'administrateur d'un compte adhérent",
        "Signaler un rachat de société ou un changement de dirigeant",
        "Demander la fusion/absorption d'entreprises",
    ):
        assert label in text(page)


def test_gestion_request_accepted_by_the_administrator(world, login, db_ctx, app):
    web = login(world["requester"])
    assert "Commune Cible" not in text(web.get("/effectif/"))
    done = _ask(web, world, follow_redirects=True)
    assert "envoyée à l'administrateur" in text(done)
    mine = text(web.get("/demarches/"))
    assert "Demander la gestion d'un adhérent" in mine and "En cours" in mine
    admin = login(world["admin"])
    queue = text(admin.get("/demarches/a-valider/"))
    assert "demandeur@example.fr" in queue and "Commune Cible" in queue
    # another collectivity's administrator does not see it
    assert "demandeur@example.fr" not in text(
        login(world["other_admin"]).get("/demarches/a-valider/")
    )
    procedure_id = _procedure_id(db_ctx)
    page = admin.post_form(
        f"/demarches/a-valider/{procedure_id}",
        {"decision": "accepter"},
        form_url=NEW,
        follow_redirects=True,
    )
    assert "Démarche acceptée" in text(page)
    with db_ctx() as session:
        membership = session.scalars(
            select(PortalMembership).where(PortalMembership.user_id == world["requester"].id)
        ).one()
        assert membership.collectivity_id == world["target"][0]
        assert membership.primary_user_id == world["admin"].id  # a secondary account
        actions = set(
            session.scalars(select(AuditLog.action).where(AuditLog.table_name == "procedure"))
        )
        assert {"demander", "accepter"} <= actions
    again = login(world["requester"])
    agents = again.get("/effectif/")
    assert agents.status_code == 200
    assert "Commune Cible" in text(agents)
    assert "Accepté" in text(again.get("/demarches/"))
    outbox = sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    assert any("demandeur@example.fr" in p.read_text(errors="replace") for p in outbox)
    assert any(world["admin"].email in p.read_text(errors="replace") for p in outbox)


def test_mismatched_number_or_siret_writes_nothing(world, login, db_ctx):
    web = login(world["requester"])
    _, number, _ = world["target"]
    _, _, other_siret = world["other"]
    page = web.post_form(
        NEW, {"type": "gestion", "membership_number": number, "siret": other_siret}
    )
    assert page.status_code == 200
    assert "Aucun adhérent ne correspond" in text(page)
    assert number in page.get_data(as_text=True)  # what was typed is kept
    page = web.post_form(NEW, {"type": "gestion", "membership_number": "", "siret": ""})
    assert "sont obligatoires" in text(page)
    page = web.post_form(NEW, {"type": "inconnu"})
    assert "Choisissez le type" in text(page)
    assert _count(db_ctx, Procedure) == 0


def test_already_managing_is_refused(world, login, db_ctx):
    page = _ask(login(world["admin"]), world)
    assert page.status_code == 200
    assert "Vous gérez déjà cet adhérent." in text(page)
    assert _count(db_ctx, Procedure) == 0


def test_someone_elses_request_is_404_and_refusal_needs_a_reason(world, login, db_ctx, app):
    requester = login(world["requester"])
    _ask(requester, world)
    procedure_id = _procedure_id(db_ctx)
    requester.post_form(NEW, {"type": "rachat", "message": "Rachat"})  # fills the CDG queue
    intruder = login(world["other_admin"])
    assert (
        intruder.post_form(
            f"/demarches/a-valider/{procedure_id}", {"decision": "accepter"}, form_url=NEW
        ).status_code
        == 404
    )
    assert (
        intruder.post_form(
            "/demarches/a-valider/999", {"decision": "accepter"}, form_url=NEW
        ).status_code
        == 404
    )
    # the CDG queue does not take gestion requests either
    staff = login(world["secretariat"])
    assert (
        staff.post_form(
            f"/demarches/cdg/{procedure_id}", {"decision": "accepter"}, form_url="/demarches/cdg/"
        ).status_code
        == 404
    )
    admin = login(world["admin"])
    page = admin.post_form(
        f"/demarches/a-valider/{procedure_id}",
        {"decision": "refuser", "reason": "  "},
        form_url=NEW,
        follow_redirects=True,
    )
    assert "Indiquez le motif du refus." in text(page)
    with db_ctx() as session:
        assert session.get(Procedure, procedure_id).state == "en_cours"
    page = admin.post_form(
        f"/demarches/a-valider/{procedure_id}",
        {"decision": "refuser", "reason": "Personne inconnue du service"},
        form_url=NEW,
        follow_redirects=True,
    )
    assert "Démarche refusée" in text(page)
    mine = text(login(world["requester"]).get("/demarches/"))
    assert "Refusé" in mine and "Personne inconnue du service" in mine
    assert _count(db_ctx, PortalMembership) == 2


def test_double_accept_creates_one_membership(world, login, db_ctx):
    _ask(login(world["requester"]), world)
    procedure_id = _procedure_id(db_ctx)
    admin = login(world["admin"])
    url = f"/demarches/a-valider/{procedure_id}"
    admin.post_form(url, {"decision": "accepter"}, form_url=NEW)
    page = admin.post_form(url, {"decision": "accepter"}, form_url=NEW, follow_redirects=True)
    assert "Cette démarche a déjà été traitée." in text(page)
    with db_ctx() as session:
        count = session.scalar(
            select(func.count(PortalMembership.id)).where(
                PortalMembership.user_id == world["requester"].id
            )
        )
    assert count == 1


def test_cdg_procedures_administrator_buyout_and_merger(world, login, db_ctx):
    _, number, siret = world["target"]
    requester = login(world["requester"])
    page = requester.post_form(
        NEW,
        {
            "type": "administrateur",
            "membership_number": number,
            "siret": siret,
            "former_admin_email": "ancien@mairie.fr",
        },
        follow_redirects=True,
    )
    assert "transmise au service adhérent" in text(page)
    page = requester.post_form(NEW, {"type": "rachat", "message": ""})
    assert "Décrivez votre demande" in text(page)
    requester.post_form(NEW, {"type": "rachat", "message": "Rachat : ancien SIRET X, nouveau Y"})
    # fusion: the requester has no current collectivity
    page = requester.post_form(NEW, {"type": "fusion", "siret": world["other"][2]})
    assert "adhérent absorbant" in text(page)
    admin = login(world["admin"])
    page = admin.post_form(NEW, {"type": "fusion", "siret": siret})
    assert "absorbée par elle-même" in text(page)
    admin.post_form(NEW, {"type": "fusion", "siret": world["other"][2]})
    assert _count(db_ctx, Procedure) == 3
    staff = login(world["secretariat"])
    queue = text(staff.get("/demarches/cdg/"))
    assert "ancien@mairie.fr" in queue and "Rachat : ancien SIRET X" in queue
    with db_ctx() as session:
        merger = session.scalars(select(Procedure).where(Procedure.kind == "fusion")).one()
        assert merger.collectivity_id == world["target"][0]
        merger_id = merger.id
    page = staff.post_form(
        f"/demarches/cdg/{merger_id}",
        {"decision": "accepter", "reason": "Fusion enregistrée"},
        form_url="/demarches/cdg/",
        follow_redirects=True,
    )
    assert "Démarche acceptée" in text(page)
    # employers never reach the CDG's queue
    assert login(world["requester"]).get("/demarches/cdg/").status_code in (302, 403, 404)


def test_demo_has_a_gestion_request_and_a_cdg_procedure(app):
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
                kinds = sorted(db.session.scalars(select(Procedure.kind)))
            assert kinds == ["gestion", "rachat"]
        finally:
            db.session.remove()
            transaction.rollback()
            connection.close()
