"""Membership wizard and the CDG's validation queue (SPEC I3, issue 16, first half)."""

from __future__ import annotations

import datetime as dt

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


POSITION = {"label": "Agent d'entretien", "pcs_code": "525b", "risks": ["nuit"]}
AGENT = {
    "civility": "Madame",
    "first_name": "Paule",
    "birth_name": "Martin",
    "birth_date": "12/04/1985",
    "ins": "",
    "entry_date": "01/09/2020",
    "position": "525b|Agent d'entretien",
    "contract_type": "Titulaire",
}
CONTACT = {
    "contact-function": ["convocation", "rh"],
    "contact-last_name": ["Durand", ""],
    "contact-first_name": ["Léa", ""],
    "contact-email": ["rh@nouvelle.fr", ""],
    "contact-phone": ["0478000000", ""],
}


def _fill(web, agents=(AGENT,), submit=True):
    assert (
        web.post_form(
            STEP.format(1), {"siret": SIRET, "naf_code": "8411Z", "city": "Lyon"}
        ).status_code
        == 302
    )
    assert web.post_form(STEP.format(2), {**STEP2, **CONTACT}).status_code == 302
    assert web.post_form(STEP.format(3), {**POSITION, "ajouter": "1"}).status_code == 302
    assert web.post_form(STEP.format(3), {}).headers["Location"].endswith(STEP.format(4))
    for agent in agents:
        added = web.post_form(STEP.format(4), {**agent, "ajouter": "1"})
        assert added.status_code == 302, text(added)
    assert web.post_form(STEP.format(4), {}).headers["Location"].endswith(STEP.format(5))
    if not submit:
        return None
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
    assert "Raison sociale" in text(again.get("/adhesion/", follow_redirects=True))  # step 2
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
                # the waiting demo application is complete: the CDG can validate it
                from app.membership import services
                from app.workforce.models import Agent

                waiting = db.session.scalars(
                    select(MembershipApplication).where(MembershipApplication.status == "soumise")
                ).one()
                assert waiting.applicant_function
                collectivity = services.validate(waiting.id, None, dt.date(2026, 12, 2))
                names = db.session.scalars(
                    select(Agent.birth_name).where(Agent.collectivity_id == collectivity.id)
                ).all()
                assert names == ["DUPONT"]
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
    with db_ctx() as session:
        application = session.scalars(
            select(MembershipApplication).where(MembershipApplication.applicant_user_id == user.id)
        ).one()
        assert application.applicant_function == "DRH"  # the function is kept for the CDG


# ----------------------------------------------------------------------------------------------
# Validation: positions, agents, contacts, conventions, primary account, e-mails (issue 16)
# ----------------------------------------------------------------------------------------------


def _submitted_id(db_ctx):
    with db_ctx() as session:
        return session.scalars(select(MembershipApplication)).one().id


def _validate(staff, app_id):
    token = staff.csrf_token(f"{QUEUE}{app_id}")
    return staff.post(f"{QUEUE}{app_id}/valider", data={"csrf_token": token}, follow_redirects=True)


def _outbox(app):
    """(recipient, subject, body) of each message of the outbox, oldest first."""
    from email import message_from_bytes, policy
    from pathlib import Path

    messages = [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    ]
    return [(m["To"], m["Subject"], m.get_content()) for m in messages]


def test_validation_creates_positions_agents_contacts_and_the_primary_sees_them(
    world, login, db_ctx, app
):
    from app.referential.models import Contact
    from app.workforce.models import Agent, Contract, WorkPosition

    web = login(world["applicant"])
    second = {**AGENT, "first_name": "Jean", "birth_name": "Morel", "civility": "Monsieur"}
    _fill(web, agents=(AGENT, second))
    mails_before = len(_outbox(app))
    staff = login(world["secretariat"])
    assert "Adhésion validée" in text(_validate(staff, _submitted_id(db_ctx)))
    with db_ctx() as session:
        collectivity = session.scalars(
            select(Collectivity).where(Collectivity.siret == SIRET)
        ).one()
        assert collectivity.naf_code == "84.11Z"
        position = session.scalars(select(WorkPosition)).one()
        assert position.collectivity_id == collectivity.id
        assert (position.label, position.pcs_code, position.risk_codes) == (
            "Agent d'entretien",
            "525b",
            ["nuit"],
        )
        agents = session.scalars(select(Agent).order_by(Agent.birth_name)).all()
        assert [(a.birth_name, a.first_name) for a in agents] == [
            ("MARTIN", "Paule"),
            ("MOREL", "Jean"),
        ]
        assert all(a.validated_at is not None and not a.created_by_employer for a in agents)
        contracts = session.scalars(select(Contract)).all()
        assert {c.work_position_id for c in contracts} == {position.id}
        assert {c.contract_type.label for c in contracts} == {"Titulaire"}
        contacts = session.scalars(select(Contact)).all()
        assert [(c.function.name, c.last_name, c.email) for c in contacts] == [
            ("convocation", "DURAND", "rh@nouvelle.fr")
        ]
        convention = session.scalars(select(Convention)).one()
        assert convention.mission.code == "medprev"
        assert (convention.end_date - convention.start_date).days in (1094, 1095)  # 3 years
    mails = _outbox(app)[mails_before:]
    cdg = app.config["SECRETARIAT_EMAIL"]
    assert [(to, "validée" in subject) for to, subject, _ in mails] == [
        (world["applicant"].email, True),
        (cdg, True),
    ]
    assert "compte principal" in mails[0][2]
    # the applicant is now the primary account and sees his positions and agents
    primary = login(world["applicant"])
    assert "Agent d'entretien" in text(primary.get("/postes/"))
    roster = text(primary.get("/effectif/"))
    assert "MARTIN" in roster and "MOREL" in roster
    page = primary.get("/adhesion/")
    assert page.status_code == 200 and "validée" in text(page)


def test_a_failure_half_way_writes_nothing(world, login, db_ctx, app):
    """Two agents clash (same person): validation stops at the second one and nothing of the
    member exists afterwards: no collectivity, position, agent, contact, convention, account."""
    from app.referential.models import Contact
    from app.workforce.models import Agent, WorkPosition

    web = login(world["applicant"])
    _fill(web)
    with db_ctx() as session:
        application = session.scalars(select(MembershipApplication)).one()
        payload = dict(application.payload)
        agent = payload["4"]["agents"][0]
        payload["4"] = {"agents": [agent, dict(agent)]}  # a tampered payload: a duplicate
        application.payload = payload
    mails_before = len(_outbox(app))
    staff = login(world["secretariat"])
    page = _validate(staff, _submitted_id(db_ctx))
    body = text(page)
    assert "rien n'a été créé" in body and "Salarié n° 2" in body and "existe déjà" in body
    for model in (WorkPosition, Agent, Contact, Convention):
        assert _count(db_ctx, model) == 0, model
    assert _count(db_ctx, Collectivity) == 1  # the known one only
    with db_ctx() as session:
        assert session.scalars(select(MembershipApplication)).one().status == "soumise"
        assert not session.scalars(
            select(PortalMembership).where(PortalMembership.user_id == world["applicant"].id)
        ).all()
    assert len(_outbox(app)) == mails_before  # no « validée » e-mail either


def test_missions_follow_the_size_and_affiliation_rules(world, login, db_ctx):
    web = login(world["applicant"])
    _fill(web, submit=False)
    page = web.post_form(STEP.format(5), {"accept": "1", "missions": ["msc", "retraite"]})
    body = text(page)
    assert "d'au moins 50 agents" in body
    assert "réservée aux collectivités affiliées" in body
    with db_ctx() as session:
        assert session.scalars(select(MembershipApplication)).one().status == "brouillon"
    page = web.post_form(STEP.format(5), {"accept": "1", "missions": ["acfi"]})
    assert page.status_code == 302
    app_id = _submitted_id(db_ctx)
    assert "Adhésion validée" in text(_validate(login(world["secretariat"]), app_id))
    with db_ctx() as session:
        codes = sorted(c.mission.code for c in session.scalars(select(Convention)))
        assert codes == ["acfi", "medprev"]
        assert all(" - CU - " in c.number for c in session.scalars(select(Convention)))


def test_prepare_convention_checks_eligibility_on_creation_only(api_login, users, db_ctx):
    """Every caller of prepare_convention (screens, API): a new MSC convention needs at least
    50 agents; an existing one stays editable; retirement files need an affiliated member."""
    import datetime as dt

    from app.referential.models import Mission, TariffCategory
    from app.workforce.models import Headcount

    api = api_login(users.secretariat)
    body = {
        "collectivity_id": users.collectivity_a.id,
        "mission": "msc",
        "number": "1 - CU - MSC - 2026",
        "start_date": "2026-01-01",
        "end_date": "2028-12-31",
    }
    refused = api.post("/api/v1/convention/", json=body)
    assert refused.status_code == 400
    assert "d'au moins 50 agents" in refused.get_json()["message"]
    with db_ctx() as session:
        session.add(Headcount(collectivity_id=users.collectivity_a.id, year=2025, headcount=50))
    created = api.post("/api/v1/convention/", json=body)
    assert created.status_code == 201, created.get_json()
    with db_ctx() as session:
        session.execute(Headcount.__table__.delete())
        small = Convention(
            collectivity_id=users.collectivity_a.id,
            number="2 - CU - MSC - 2025",
            mission_id=session.scalar(select(Mission.id).where(Mission.code == "msc")),
            start_date=dt.date(2025, 1, 1),
            end_date=dt.date(2027, 12, 31),
        )
        session.add(small)
        session.flush()
        small_id = small.id
    edited = api.put(f"/api/v1/convention/{small_id}", json={"notes": "Vu"})
    assert edited.status_code == 200, edited.get_json()
    with db_ctx() as session:
        session.get(
            Collectivity, users.collectivity_a.id
        ).category = TariffCategory.non_affiliee_moins_800
    retirement = api.post(
        "/api/v1/convention/", json={**body, "mission": "retraite", "number": "3 - CU - R - 2026"}
    )
    assert retirement.status_code == 400
    assert "affiliées" in retirement.get_json()["message"]
    with db_ctx() as session:
        collectivity = session.get(Collectivity, users.collectivity_a.id)
        collectivity.category = TariffCategory.affiliee
    assert (
        api.post(
            "/api/v1/convention/",
            json={**body, "mission": "retraite", "number": "3 - CU - R - 2026"},
        ).status_code
        == 201
    )


# ----------------------------------------------------------------------------------------------
# Step 3 (badge), step 4 (agents, import), malformed input on every step
# ----------------------------------------------------------------------------------------------


def _to_step(web, number):
    web.post_form(STEP.format(1), {"siret": SIRET, "naf_code": "8411Z", "city": "Lyon"})
    if number > 2:
        web.post_form(STEP.format(2), STEP2)
    if number > 3:
        web.post_form(STEP.format(3), {**POSITION, "ajouter": "1"})
        web.post_form(STEP.format(3), {})


def test_positions_step_shows_the_badge_and_checks_each_position(world, login, db_ctx):
    web = login(world["applicant"])
    _to_step(web, 3)
    live = web.get("/postes/suivi?risques=nuit,amiante").get_json()
    assert live["level"] == "SIR"  # the workforce form's endpoint answers the applicant too
    assert web.get("/postes/suivi?risques=nuit").get_json()["level"] == "SIA"
    page = web.post_form(STEP.format(3), {})
    assert "Déclarez au moins un poste" in text(page)
    page = web.post_form(
        STEP.format(3),
        {"label": "Cariste", "pcs_code": "52 5", "risks": ["caces", "inconnu"], "ajouter": "1"},
    )
    body = text(page)
    assert "Code PCS « 52 5 »" in body and "Risque inconnu" in body and "CACES" in body
    assert 'value="Cariste"' in page.get_data(as_text=True)  # what was typed is kept
    assert web.post_form(STEP.format(3), {**POSITION, "ajouter": "1"}).status_code == 302
    page = web.get(STEP.format(3))
    html = page.get_data(as_text=True)
    assert "Agent d'entretien" in text(page) and "badge-sia" in html
    assert "js/position-form.js" in html and 'id="badge"' in html
    again = web.post_form(STEP.format(3), {**POSITION, "ajouter": "1"})
    assert "déjà dans la liste" in text(again)
    long = web.post_form(STEP.format(3), {"label": "x" * 10_000, "pcs_code": "525b"})
    assert long.status_code == 200 and "10000 caractères" in text(long)
    assert (
        web.post_form(STEP.format(3), {"retirer": "99"}, follow_redirects=True).status_code == 200
    )
    with db_ctx() as session:
        positions = session.scalars(select(MembershipApplication)).one().step(3)["positions"]
        assert [p["label"] for p in positions] == ["Agent d'entretien"]


def test_agents_step_refuses_bad_dates_and_keeps_what_was_typed(world, login, db_ctx):
    web = login(world["applicant"])
    _to_step(web, 4)
    cases = [
        ({"birth_date": "32/13/2026"}, "Date impossible"),
        ({"birth_date": "1/2/26"}, "Date de naissance"),
        ({"entry_date": ""}, "Date obligatoire"),
        ({"position": ""}, "Choisissez le poste"),
        ({"contract_type": "Intérimaire"}, "Type de contrat « Intérimaire » inconnu"),
        ({"ins": "N123"}, "INS"),
        ({"first_name": "y" * 10_000}, "« Prénom » : 10000 caractères"),
        ({"position": "999z|Inconnu"}, "n'a été déclaré à l'étape 3"),
    ]
    for change, message in cases:
        page = web.post_form(STEP.format(4), {**AGENT, **change, "ajouter": "1"})
        assert page.status_code == 200, change
        assert message in text(page), (change, text(page)[:600])
        if "first_name" not in change:
            assert 'value="Martin"' in page.get_data(as_text=True), change  # typed: kept
    with db_ctx() as session:
        assert session.scalars(select(MembershipApplication)).one().step(4).get("agents") in (
            None,
            [],
        )
    assert web.post_form(STEP.format(4), {**AGENT, "ajouter": "1"}).status_code == 302
    again = web.post_form(STEP.format(4), {**AGENT, "ajouter": "1"})
    assert "déjà dans la liste" in text(again)


def _csv(*lines):
    from app.workforce.importing import HEADERS, ImportKind

    return ("\n".join([";".join(HEADERS[ImportKind.agents]), *lines]) + "\n").encode("utf-8")


def _upload(web, content):
    import io

    token = web.csrf_token(STEP.format(4))
    return web.post(
        STEP.format(4),
        data={"csrf_token": token, "importer": "1", "file": (io.BytesIO(content), "salaries.csv")},
        content_type="multipart/form-data",
    )


def test_agents_import_is_all_or_nothing_and_kept_in_the_application(world, login, db_ctx):
    from app.workforce.models import Agent

    web = login(world["applicant"])
    _to_step(web, 4)
    good = "Madame;Anne;Dupont;;12/04/1985;;01/09/2020;;525b;Agent d'entretien;Titulaire"
    bad = "Monsieur;Marc;Petit;;32/13/1980;;01/09/2020;;999z;Inconnu;CDI"
    page = _upload(web, _csv(good, bad))
    body = text(page)
    assert page.status_code == 200
    assert "Aucune ligne n'a été enregistrée" in body
    assert "Ligne 3, colonne « Date de naissance »" in body
    assert "Ligne 3, colonne « Libelle du type de poste »" in body
    assert "Ligne 2" not in body
    with db_ctx() as session:
        assert not session.scalars(select(MembershipApplication)).one().step(4).get("agents")
    second = "Monsieur;Marc;Petit;;03/05/1979;;01/09/2020;;525b;Agent d'entretien;CDI"
    page = _upload(web, _csv(good, second))
    assert page.status_code == 302
    assert "2 salarié(s) importé(s)" in text(web.get(STEP.format(4)))
    assert "Aucun" not in text(_upload(web, b"pas un fichier"))[:0]  # a non-file: no 500
    assert _upload(web, b"").status_code == 200
    with db_ctx() as session:
        agents = session.scalars(select(MembershipApplication)).one().step(4)["agents"]
        assert [(a["birth_name"], a["birth_date"]) for a in agents] == [
            ("DUPONT", "1985-04-12"),
            ("PETIT", "1979-05-03"),
        ]
    assert _count(db_ctx, Agent) == 0  # kept in the application until the CDG validates
    assert web.get("/imports/modele/agents").status_code == 200  # the reference file


def test_malformed_input_on_steps_1_2_and_5_never_500(world, login, db_ctx):
    web = login(world["applicant"])
    # a step number tampered with, or step 5 before step 1: back to step 1, nothing written
    page = web.post_form(STEP.format(5), {"accept": "1"}, form_url=STEP.format(1))
    assert page.status_code == 302 and page.headers["Location"].endswith(STEP.format(1))
    assert _count(db_ctx, MembershipApplication) == 0
    tampered = web.get(STEP.format(42), follow_redirects=True)
    assert tampered.status_code == 200 and "pas encore accessible" in text(tampered)
    assert web.get("/adhesion/etape/-1").status_code == 404
    for siret, message in [
        ("219 200 466 00016", "clé de contrôle"),
        ("2192004660001A", "14 chiffres"),
        ("1" * 10_000, "10000 caractères"),
    ]:
        page = web.post_form(STEP.format(1), {"siret": siret, "naf_code": "8411Z", "city": "Lyon"})
        assert page.status_code == 200 and message in text(page), siret
        assert "8411Z" in page.get_data(as_text=True)
    page = web.post_form(STEP.format(1), {"siret": SIRET, "naf_code": "84-11", "city": "Lyon"})
    assert "Le code NAF doit avoir la forme 84.11Z." in text(page)
    spaced = " ".join([SIRET[:3], SIRET[3:6], SIRET[6:9], SIRET[9:]])
    page = web.post_form(STEP.format(1), {"siret": spaced, "naf_code": "8411Z", "city": "Lyon"})
    assert page.status_code == 302  # a valid SIRET typed with spaces is accepted
    with db_ctx() as session:
        assert session.scalars(select(MembershipApplication)).one().siret == SIRET
    early = web.post_form(STEP.format(5), {"accept": "1"}, form_url=STEP.format(1))
    assert early.headers["Location"].endswith(STEP.format(2))  # step 5 not reached yet
    page = web.post_form(
        STEP.format(2),
        {
            **STEP2,
            "main_postcode": "69 001",
            "email": "mairie@",
            "kind": "planete",
            "contact-function": ["convocation"],
            "contact-last_name": ["Durand"],
            "contact-email": [""],
        },
    )
    body = text(page)
    assert "5 chiffres" in body and "n'est pas valide" in body and "Type de collectivité" in body
    assert "contact des convocations est obligatoire" in body
    assert 'value="Durand"' in page.get_data(as_text=True)
    page = web.post_form(STEP.format(2), {"name": ""})
    assert "« Raison sociale » est obligatoire." in text(page)
    _to_step(web, 4)
    web.post_form(STEP.format(4), {**AGENT, "ajouter": "1"})
    web.post_form(STEP.format(4), {})
    page = web.post_form(STEP.format(5), {"missions": ["inconnue"]})
    assert "conditions générales" in text(page) and "Mission inconnue" in text(page)


def test_a_member_or_admin_opening_the_wizard_gets_a_clear_answer(world, login, db_ctx):
    with db_ctx() as session:
        known = session.scalars(select(Collectivity)).one()
        member = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=known)
        admin = factories.make_user(session, roles.ADMIN)
    web = login(member)
    for url in ("/adhesion/", STEP.format(1), STEP.format(3)):
        page = web.get(url)
        assert page.status_code == 200, url
        assert "déjà rattaché à une collectivité" in text(page), url
        assert "demande de gestion" in text(page)
    posted = web.post_form(
        STEP.format(1),
        {"siret": SIRET, "naf_code": "8411Z", "city": "Lyon"},
        form_url="/postes/nouveau",
    )
    assert "déjà rattaché à une collectivité" in text(posted)
    assert _count(db_ctx, MembershipApplication) == 0
    staff = login(admin)
    page = staff.get("/adhesion/")
    assert page.status_code == 302 and page.headers["Location"].endswith(QUEUE)
    assert "Adhésions à valider" in text(staff.get("/adhesion/", follow_redirects=True))
