"""Procedures (démarches, SPEC I3, issue 16): « Votre demande : », « Mes démarches »,
« Démarches à valider » and the CDG's « Démarches »."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, inspect, select

from app import roles
from app.accounts.models import PortalMembership
from app.core import clock
from app.core.audit import AuditLog
from app.procedures import merger
from app.procedures.models import Procedure
from app.referential.models import Collectivity, Convention
from app.rules.retention import erasure_date
from app.tenancy import system_scope, tenant_models
from app.workforce.models import Agent, Contract, WorkPosition
from tests import factories, isolation
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
        "Synchroniser votre adhérent",
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
    assert "Le numéro d'adhérent est obligatoire." in text(page)
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
    _, number, siret = world["target"]
    requester.post_form(  # fills the CDG queue
        NEW, {"type": "rachat", "message": "Rachat", "membership_number": number, "siret": siret}
    )
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


ME = "/compte/moi/"


def _outbox(app):
    return [
        p.read_text(errors="replace") for p in sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    ]


def _decide_cdg(web, procedure_id, decision="accepter", reason=""):
    return web.post_form(
        f"/demarches/cdg/{procedure_id}",
        {"decision": decision, "reason": reason},
        form_url=ME,
        follow_redirects=True,
    )


def _only(db_ctx, kind):
    with db_ctx() as session:
        return session.scalars(select(Procedure).where(Procedure.kind == kind)).one()


def _memberships(db_ctx, collectivity_id):
    """user id -> primary user id (None: a primary account) of a collectivity."""
    with db_ctx() as session:
        return dict(
            session.execute(
                select(PortalMembership.user_id, PortalMembership.primary_user_id).where(
                    PortalMembership.collectivity_id == collectivity_id
                )
            ).all()
        )


def _sees(web, name):
    page = web.get("/effectif/")
    return page.status_code == 200 and name in text(page)


def test_administrator_change_hands_the_primary_account_over(world, login, db_ctx, app):
    """The former administrator left: he loses access, the requester becomes the primary
    account, the secondary accounts the former one had created stay (now the new one's)."""
    target_id, number, siret = world["target"]
    with db_ctx() as session:
        target = session.get(Collectivity, target_id)
        helper = factories.make_user(
            session,
            roles.EMPLOYER_SECONDARY,
            collectivity=target,
            primary=world["admin"],
            username="aide-rh",
        )
    requester = login(world["requester"])
    page = requester.post_form(
        NEW,
        {
            "type": "administrateur",
            "membership_number": number,
            "siret": siret,
            "former_admin_email": world["admin"].email.upper(),
        },
        follow_redirects=True,
    )
    assert "transmise au service adhérent" in text(page)
    procedure = _only(db_ctx, "administrateur")
    staff = login(world["secretariat"])
    assert world["admin"].email in text(staff.get("/demarches/cdg/"))
    assert _sees(login(world["admin"]), "Commune Cible")
    assert "Démarche acceptée" in text(_decide_cdg(staff, procedure.id))
    assert _memberships(db_ctx, target_id) == {
        world["requester"].id: None,
        helper.id: world["requester"].id,
    }
    assert not _sees(login(world["admin"]), "Commune Cible")
    new_admin = login(world["requester"])
    assert _sees(new_admin, "Commune Cible")
    assert "Aucune démarche" in text(new_admin.get("/demarches/a-valider/"))
    mails = _outbox(app)
    assert any(world["admin"].email in m and "Fin de votre acc" in m for m in mails) or any(
        world["admin"].email in m for m in mails
    )
    assert any("demandeur@example.fr" in m for m in mails)
    with db_ctx() as session:
        actions = set(session.scalars(select(AuditLog.action)))
    assert {"administrateur", "accepter"} <= actions


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("inconnu@mairie.fr", "n'est pas celle d'un administrateur de cet adhérent"),
        ("pas-une-adresse", "n'est pas une adresse valide"),
        ("", "L'e-mail de l'ancien administrateur est obligatoire."),
        ("a" * 10_000 + "@mairie.fr", "n'est pas une adresse valide"),
    ],
)
def test_administrator_change_needs_the_former_administrators_email(
    world, login, db_ctx, email, message
):
    _, number, siret = world["target"]
    page = login(world["requester"]).post_form(
        NEW,
        {
            "type": "administrateur",
            "membership_number": number,
            "siret": siret,
            "former_admin_email": email,
        },
    )
    assert page.status_code == 200
    assert message in text(page)
    assert _count(db_ctx, Procedure) == 0


def test_buyout_changes_the_siret_and_the_administrator(world, login, db_ctx):
    target_id, number, siret = world["target"]
    new_siret = factories.fake_siret(random.Random(424242))
    requester = login(world["requester"])
    base = {
        "type": "rachat",
        "message": "Rachat ; tél. 04 78 00 00 00",
        "membership_number": number,
    }
    page = requester.post_form(NEW, {**base, "siret": siret, "new_siret": world["other"][2]})
    assert "Un autre adhérent a déjà ce numéro SIRET." in text(page)
    page = requester.post_form(NEW, {**base, "siret": world["other"][2]})
    assert "Aucun adhérent ne correspond" in text(page)
    assert _count(db_ctx, Procedure) == 0
    requester.post_form(NEW, {**base, "siret": siret, "new_siret": new_siret})
    procedure = _only(db_ctx, "rachat")
    assert (procedure.collectivity_id, procedure.new_siret) == (target_id, new_siret)
    staff = login(world["secretariat"])
    assert f"Nouveau SIRET {new_siret}" in text(staff.get("/demarches/cdg/"))
    assert "Démarche acceptée" in text(_decide_cdg(staff, procedure.id))
    with db_ctx() as session:
        target = session.get(Collectivity, target_id)
        assert (target.siret, target.siren) == (new_siret, new_siret[:9])
    assert _memberships(db_ctx, target_id) == {world["requester"].id: None}
    assert not _sees(login(world["admin"]), "Commune Cible")
    assert _sees(login(world["requester"]), "Commune Cible")


def test_synchronisation_makes_the_first_person_administrator(world, login, db_ctx):
    with db_ctx() as session:
        orphan = factories.make_collectivity(session, name="Commune Orpheline")
        orphan_id, number, siren = orphan.id, orphan.membership_number, orphan.siren
        second = factories.make_user(session, roles.EMPLOYER_SECONDARY, username="deuxieme")
    requester = login(world["requester"])
    page = requester.get(NEW + "?type=synchronise")
    assert "SIREN" in text(page) and "Synchroniser" in text(page)
    page = requester.post_form(
        NEW, {"type": "synchronise", "membership_number": number, "siret": "12345678A"}
    )
    assert "Le numéro SIREN doit comporter 9 chiffres." in text(page)
    # an existing member that already has its administrator: the seed's message
    _, target_number, target_siret = world["target"]
    page = requester.post_form(
        NEW,
        {"type": "synchronise", "membership_number": target_number, "siret": target_siret[:9]},
    )
    assert "Cette démarche de synchronisation a déjà été réalisée." in text(page)
    assert _count(db_ctx, Procedure) == 0
    page = requester.post_form(
        NEW,
        {"type": "synchronise", "membership_number": number, "siret": siren},
        follow_redirects=True,
    )
    assert "transmise au service adhérent" in text(page)
    # a second person asks before the CDG decides; the CDG accepts the first one
    login(second).post_form(
        NEW, {"type": "synchronise", "membership_number": number, "siret": siren}
    )
    staff = login(world["secretariat"])
    first, late = _ids_by_requester(db_ctx, "synchronise", world["requester"].id)
    assert "Démarche acceptée" in text(_decide_cdg(staff, first))
    assert _memberships(db_ctx, orphan_id) == {world["requester"].id: None}
    page = _decide_cdg(staff, late)
    assert "Cette démarche de synchronisation a déjà été réalisée." in text(page)
    with db_ctx() as session:
        assert session.get(Procedure, late).state == "en_cours"
        user = session.get(User, second.id)
        assert [r.name for r in user.roles] == [roles.EMPLOYER_SECONDARY]
    assert _sees(login(world["requester"]), "Commune Orpheline")


def _ids_by_requester(db_ctx, kind, first_requester_id):
    with db_ctx() as session:
        rows = session.execute(
            select(Procedure.id, Procedure.requester_id).where(Procedure.kind == kind)
        ).all()
    mine = [pid for pid, uid in rows if uid == first_requester_id]
    others = [pid for pid, uid in rows if uid != first_requester_id]
    return mine[0], others[0]


# ----------------------------------------------------------------------------------------------
# Merger / absorption, with the isolation world: A absorbs B
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def merger_world(db_ctx):
    from app.referential.models import Risk
    from app.workforce.models import PositionRisk, WorkPosition

    with db_ctx() as session:
        w = isolation.build_world(session)
        # A already has the position B's agent holds (same PCS, same label): B's is renamed.
        autre = session.scalar(select(Risk).where(Risk.code == "autre"))
        twin = WorkPosition(collectivity_id=w.a.id, pcs_code="372d")
        twin.set_label(f"Poste {isolation.SECRET_B}")
        twin.risk_links = [PositionRisk(risk=autre, description="Risque A", collectivity_id=w.a.id)]
        session.add(twin)
        # B also signed a convention that starts after the merger.
        with system_scope():
            in_force = session.scalar(
                select(Convention).where(Convention.collectivity_id == w.b.id)
            )
        session.add(
            Convention(
                collectivity_id=w.b.id,
                mission_id=in_force.mission_id,
                number=f"CONV-FUTURE-{w.b.id}",
                start_date=clock.today() + dt.timedelta(days=30),
                end_date=clock.today() + dt.timedelta(days=3 * 365),
            )
        )
        session.flush()
        w.ids["twin"] = [twin.id]
        return w


def _owned(session, collectivity_id):
    """Rows per tenant table of a collectivity (read as the system)."""
    with system_scope():
        return {
            model.__tablename__: session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.collectivity_id == collectivity_id)
            )
            for model in tenant_models()
            if "collectivity_id" in model.__table__.c
        }


def _ask_merger(db_ctx, login, w):
    with db_ctx() as session:
        b_siret = session.get(Collectivity, w.b.id).siret
    page = login(w.primary_a).post_form(
        NEW,
        {"type": "fusion", "siret": b_siret, "message": "Fusion au 1er janvier"},
        follow_redirects=True,
    )
    assert "transmise au service adhérent" in text(page)
    procedure = _only(db_ctx, "fusion")
    assert (procedure.collectivity_id, procedure.absorbed_collectivity_id) == (w.a.id, w.b.id)
    return procedure.id


def test_merger_moves_agents_and_history_and_closes_the_absorbed_membership(
    app, merger_world, db_ctx, login, api_login
):
    w = merger_world
    secret = isolation.SECRET_B
    with db_ctx() as session:
        b_agents = set(session.scalars(select(Agent.id).where(Agent.collectivity_id == w.b.id)))
        before_a, before_b = _owned(session, w.a.id), _owned(session, w.b.id)
        visible = isolation.visible_ids(session, isolation.scope_of(session, w.primary_a))
    # before: A's administrator reaches none of B's agents
    assert b_agents and not b_agents & set(visible[Agent])
    assert secret not in text(login(w.primary_a).get("/effectif/?onglet=tous"))
    procedure_id = _ask_merger(db_ctx, login, w)
    staff = login(w.staff)
    assert f"Absorbe « Commune {secret} »" in text(staff.get("/demarches/cdg/"))
    assert "Démarche acceptée" in text(_decide_cdg(staff, procedure_id, reason="Fusion validée"))

    with db_ctx() as session:
        after_a, after_b = _owned(session, w.a.id), _owned(session, w.b.id)
        absorbed = session.get(Collectivity, w.b.id)
        assert absorbed.membership_end == clock.today()
        # the retention clock runs from that end
        assert erasure_date(absorbed.membership_end) > clock.today()
        twin_labels = set(
            session.scalars(
                select(WorkPosition.label).where(WorkPosition.collectivity_id == w.a.id)
            )
        )
        visible = isolation.visible_ids(session, isolation.scope_of(session, w.primary_a))
        assert session.get(Procedure, procedure_id).state == "acceptee"
        actions = set(session.scalars(select(AuditLog.action)))
        with system_scope():
            b_conventions = session.execute(
                select(Convention.number, Convention.end_date, Convention.tacit_renewal).where(
                    Convention.collectivity_id == w.b.id
                )
            ).all()
    # B's convention in force ends on the merger day, without renewal; the future one is gone.
    assert [(end, renewal) for _, end, renewal in b_conventions] == [(clock.today(), False)]
    assert before_b["convention"] == 2 and after_b["convention"] == 1
    moved = {model.__tablename__ for model in merger.MOVED}
    for table in moved:
        assert after_b[table] == 0, table
        assert after_a[table] == before_a[table] + before_b[table], table
    stay = {
        "invoice",
        "invoice_line",
        "invoice_payment",
        "sepa_mandate",
        "sepa_debit",
        "headcount",
        "declaration_reminder",
        "contact",
        "health_team_member",
        "acfi_plan",
        "acfi_day",
        "prevention_action",
        "plage_refusal",
    }
    for table in stay:
        assert after_b[table] == before_b[table] and after_a[table] == before_a[table], table
    assert before_b["invoice"] > 0 and before_b["headcount"] > 0
    assert after_b["portal_membership"] == 0 and after_b["agent_assignment"] == 0
    assert f"Poste {secret} (ex-Commune {secret})" in twin_labels
    assert f"Poste {secret}" in twin_labels  # A's own position, untouched
    assert b_agents <= set(visible[Agent])
    assert {"fusionner", "absorber", "accepter"} <= actions
    assert any("Fusion" in m and w.primary_b.email in m for m in _outbox(app)) or any(
        w.primary_b.email in m for m in _outbox(app)
    )

    # after: A's administrator sees B's former agents ...
    assert secret in text(login(w.primary_a).get("/effectif/?onglet=tous"))
    # ... and B's former administrator reaches nothing of either collectivity
    former = login(w.primary_b)
    former.csrf_token_value = former.csrf_token(ME)
    with db_ctx() as session:
        with system_scope():
            forbidden = {
                model: list(session.scalars(select(inspect(model).primary_key[0])))
                for model in tenant_models()
            }
            everyone = sorted(set(session.scalars(select(PortalMembership.user_id))))
            procedure_ids = list(session.scalars(select(Procedure.id)))
        before = isolation.fingerprint(session)
    context = {"foreign_user_ids": everyone, "visible": {}, "procedure_ids": procedure_ids}
    report = isolation.sweep(
        app,
        former,
        api_login(w.primary_b),
        forbidden,
        (secret, isolation.HIDDEN_A, "VISIBLEA") + isolation.EMPLOYER_MARKERS,
        context,
    )
    with db_ctx() as session:
        after = isolation.fingerprint(session)
    assert report.unknown_routes == []
    assert report.leaks == []
    assert after == before
    assert report.cases > 100


def test_a_merger_that_fails_half_way_writes_nothing(merger_world, db_ctx, login, monkeypatch, app):
    w = merger_world
    procedure_id = _ask_merger(db_ctx, login, w)
    real = merger.move_table

    def failing(model, absorbed_id, absorbing_id):
        if model is Contract:  # agents and positions have moved already
            raise RuntimeError("connexion perdue")
        return real(model, absorbed_id, absorbing_id)

    monkeypatch.setattr(merger, "move_table", failing)
    with db_ctx() as session:
        before = isolation.fingerprint(session)
    mails_before = len(_outbox(app))
    page = _decide_cdg(login(w.staff), procedure_id)
    assert page.status_code == 200
    assert "La fusion n'a pas pu être enregistrée ; aucune donnée n'a été déplacée." in text(page)
    with db_ctx() as session:
        assert isolation.fingerprint(session) == before
        assert session.get(Procedure, procedure_id).state == "en_cours"
    assert len(_outbox(app)) == mails_before
    assert isolation.SECRET_B not in text(login(w.primary_a).get("/effectif/?onglet=tous"))
    monkeypatch.setattr(merger, "move_table", real)
    assert "Démarche acceptée" in text(_decide_cdg(login(w.staff), procedure_id))


def test_a_merger_with_an_agent_in_both_collectivities_is_refused(merger_world, db_ctx, login):
    w = merger_world
    with db_ctx() as session:
        for collectivity in (w.a, w.b):
            isolation.make_agent(session, collectivity, "DOUBLE", ins="1800175123456")
    procedure_id = _ask_merger(db_ctx, login, w)
    with db_ctx() as session:
        before = isolation.fingerprint(session)
        b_agents = session.scalar(
            select(func.count(Agent.id)).where(Agent.collectivity_id == w.b.id)
        )
    page = _decide_cdg(login(w.staff), procedure_id)
    assert "1 agent(s) figurent dans les deux adhérents avec le même INS" in text(page)
    with db_ctx() as session:
        assert isolation.fingerprint(session) == before
    # refusing the request moves nothing either
    page = _decide_cdg(login(w.staff), procedure_id, "refuser", "Doublons à traiter")
    assert "Démarche refusée" in text(page)
    with db_ctx() as session:
        assert (
            session.scalar(select(func.count(Agent.id)).where(Agent.collectivity_id == w.b.id))
            == b_agents
        )


def test_merger_requests_that_cannot_be_made(world, login, db_ctx):
    _, number, siret = world["target"]
    requester = login(world["requester"])
    page = requester.post_form(NEW, {"type": "fusion", "siret": world["other"][2]})
    assert "adhérent absorbant" in text(page)  # no current collectivity
    admin = login(world["admin"])
    page = admin.post_form(NEW, {"type": "fusion", "siret": siret})
    assert "absorbée par elle-même" in text(page)
    page = admin.post_form(NEW, {"type": "fusion", "siret": "1234567890123X"})
    assert "Le numéro SIRET doit comporter 14 chiffres." in text(page)
    page = admin.post_form(
        NEW, {"type": "fusion", "siret": world["other"][2], "membership_number": number}
    )
    assert "Aucun adhérent ne correspond" in text(page)
    with db_ctx() as session:
        other = session.get(Collectivity, world["other"][0])
        other.membership_end = clock.today() - dt.timedelta(days=1)
    page = admin.post_form(NEW, {"type": "fusion", "siret": world["other"][2]})
    assert "est déjà terminée" in text(page)
    assert _count(db_ctx, Procedure) == 0


# ----------------------------------------------------------------------------------------------
# Malformed input on every form: a French message, nothing written, never a 500
# ----------------------------------------------------------------------------------------------

LONG = "9" * 10_000


def _malformed_cases(world):
    _, number, siret = world["target"]
    _, other_number, other_siret = world["other"]
    return [
        ({"type": "gestion", "membership_number": number, "siret": other_siret}, "Aucun adhérent"),
        (
            {"type": "gestion", "membership_number": number, "siret": "7328293200007A"},
            "14 chiffres",
        ),
        ({"type": "gestion", "membership_number": number, "siret": "123"}, "14 chiffres"),
        ({"type": "gestion", "membership_number": LONG, "siret": siret}, "20 caractères"),
        ({"type": "gestion", "membership_number": number, "siret": LONG}, "14 chiffres"),
        (
            {
                "type": "gestion",
                "membership_number": number,
                "siret": siret,
                "message": "x" * 10_001,
            },
            "4 000 caractères",
        ),
        ({"type": "synchronise", "membership_number": other_number, "siret": LONG}, "9 chiffres"),
        ({"type": "synchronise", "membership_number": LONG, "siret": "123456789"}, "20 caractères"),
        (
            {
                "type": "administrateur",
                "membership_number": other_number,
                "siret": siret,
                "former_admin_email": "a@b.fr",
            },
            "Aucun adhérent",
        ),
        (
            {
                "type": "administrateur",
                "membership_number": number,
                "siret": "ABCDEFGHIJKLMN",
                "former_admin_email": "a@b.fr",
            },
            "14 chiffres",
        ),
        (
            {"type": "rachat", "message": "", "membership_number": number, "siret": siret},
            "Décrivez votre demande",
        ),
        (
            {
                "type": "rachat",
                "message": "x" * 10_000,
                "membership_number": number,
                "siret": siret,
            },
            "4 000 caractères",
        ),
        (
            {
                "type": "rachat",
                "message": "Rachat",
                "membership_number": number,
                "siret": siret,
                "new_siret": "12 34",
            },
            "14 chiffres",
        ),
        ({"type": "fusion", "siret": LONG}, "adhérent absorbant"),
        ({"type": "x" * 10_000}, "Choisissez le type"),
        ({}, "Choisissez le type"),
    ]


def test_malformed_requests_write_nothing(world, login, db_ctx):
    web = login(world["requester"])
    for data, message in _malformed_cases(world):
        page = web.post_form(NEW, data)
        assert page.status_code == 200, data.get("type")
        assert message in text(page), (data, message)
    assert _count(db_ctx, Procedure) == 0


def test_forged_fields_and_a_double_submit_write_one_plain_request(world, login, db_ctx):
    target_id, number, siret = world["target"]
    web = login(world["requester"])
    forged = {
        "type": "rachat",
        "message": "Rachat de la SARL",
        "membership_number": number,
        "siret": siret,
        # fields no form has: ignored
        "requester_id": str(world["admin"].id),
        "collectivity_id": str(world["other"][0]),
        "state": "acceptee",
        "decided_by_id": str(world["secretariat"].id),
    }
    assert web.post_form(NEW, forged).status_code == 302
    page = web.post_form(NEW, forged)
    assert page.status_code == 200
    assert "Une demande identique est déjà en cours" in text(page)
    _ask(web, world)
    page = _ask(web, world)
    assert "Une demande de gestion de cet adhérent est déjà en cours." in text(page)
    with db_ctx() as session:
        rows = session.scalars(select(Procedure).order_by(Procedure.id)).all()
        assert [
            (p.kind, p.requester_id, p.collectivity_id, p.state, p.decided_by_id) for p in rows
        ] == [
            ("rachat", world["requester"].id, target_id, "en_cours", None),
            ("gestion", world["requester"].id, target_id, "en_cours", None),
        ]
        gestion_id = rows[1].id
    # forged decisions: unknown decision, someone else's or unknown id, a 10 000-char reason
    admin = login(world["admin"])
    url = f"/demarches/a-valider/{gestion_id}"
    page = admin.post_form(url, {"decision": "supprimer"}, form_url=ME, follow_redirects=True)
    assert "Choisissez « Accepter » ou « Refuser »." in text(page)
    page = admin.post_form(
        url, {"decision": "refuser", "reason": "x" * 10_000}, form_url=ME, follow_redirects=True
    )
    assert "Le motif ne doit pas dépasser 4 000 caractères." in text(page)
    for forged_url in (f"/demarches/a-valider/{gestion_id + 1000}", "/demarches/a-valider/0"):
        assert admin.post_form(forged_url, {"decision": "accepter"}, form_url=ME).status_code == 404
    assert (
        login(world["other_admin"])
        .post_form(url, {"decision": "accepter"}, form_url=ME)
        .status_code
        == 404
    )
    # the CDG queue refuses an administrator's request (and the administrator the CDG's)
    rachat_id = rows[0].id
    assert (
        admin.post_form(
            f"/demarches/a-valider/{rachat_id}", {"decision": "accepter"}, form_url=ME
        ).status_code
        == 404
    )
    with db_ctx() as session:
        assert {p.state for p in session.scalars(select(Procedure))} == {"en_cours"}
        assert _memberships(db_ctx, target_id) == {world["admin"].id: None}


def test_demo_has_one_pending_procedure_of_each_kind(app):
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
            assert kinds == ["administrateur", "fusion", "gestion", "rachat", "synchronise"]
        finally:
            db.session.remove()
            transaction.rollback()
            connection.close()


def test_procedure_pages_run_a_constant_number_of_queries(world, login, db_ctx, count_queries):
    def add(count):
        with db_ctx() as session:
            for n in range(count):
                requester = factories.make_user(session, roles.EMPLOYER_PRIMARY)
                for kind in ("gestion", "rachat", "fusion"):
                    session.add(
                        Procedure(
                            kind=kind,
                            state="en_cours",
                            requester_id=requester.id,
                            collectivity_id=world["target"][0],
                            absorbed_collectivity_id=world["other"][0]
                            if kind == "fusion"
                            else None,
                            message=f"Demande {n}",
                        )
                    )
                session.add(
                    Procedure(
                        kind="rachat",
                        state="en_cours",
                        requester_id=world["admin"].id,
                        collectivity_id=world["other"][0],
                        message=f"Mienne {n}",
                    )
                )

    def counts():
        result = {}
        for user, url in (
            (world["admin"], "/demarches/a-valider/"),
            (world["admin"], "/demarches/"),
            (world["secretariat"], "/demarches/cdg/"),
        ):
            web = login(user)
            web.get(url)
            with count_queries() as counter:
                assert web.get(url).status_code == 200
            result[url] = counter.count
        return result

    add(1)
    few = counts()
    add(6)
    assert counts() == few
