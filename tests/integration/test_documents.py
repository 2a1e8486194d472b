"""Employer documents (SPEC E6, E5; issue 15): a PDF deposit with its nature after ticking
« Ce document ne contient pas de données médicales », its history, deletion until the health
team confirms receipt; the team's queue; « Mes documents » with the published documents and the
released visit sheets; the REST resource ``document``; the retention listing."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import roles
from app.documents.models import DocumentFolder, EmployerDocument, PublishedDocument
from app.referential.models import (
    DocumentNature,
    DocumentUsage,
    HealthTeamMember,
    HealthTeamRole,
)
from tests import factories
from tests.integration.test_attachments import multipart
from tests.isolation import make_agent
from tests.unit.test_files import make_pdf
from tests.util import text

PAGE = "/portail/documents/"
DEPOSIT = "/portail/documents/deposer"
QUEUE = "/documents/depots/"
MINE = "/portail/mes-documents/"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 4000


@pytest.fixture
def world(db_ctx):
    with db_ctx() as session:
        a = factories.make_collectivity(session, name="Commune Alpha")
        b = factories.make_collectivity(session, name="Commune Beta")
        primary = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=a)
        secondary = factories.make_user(
            session, roles.EMPLOYER_SECONDARY, collectivity=a, primary=primary
        )
        agent_a = make_agent(session, a, birth_name="MARTIN")
        other_a = make_agent(session, a, birth_name="DURAND")
        agent_b = make_agent(session, b, birth_name="BERNARD")
        from app.workforce.models import AgentAssignment

        session.add(
            AgentAssignment(agent_id=agent_a.id, user_id=secondary.id, collectivity_id=a.id)
        )
        nurse = factories.make_user(session, roles.SANTE, username="infirmiere-alpha")
        outsider = factories.make_user(session, roles.SANTE, username="infirmiere-beta")
        pro = factories.make_professional(session, last_name="SOIN")
        pro.user_id = nurse.id
        pro_b = factories.make_professional(session, last_name="AUTRE")
        pro_b.user_id = outsider.id
        session.add(
            HealthTeamMember(
                collectivity_id=a.id, professional_id=pro.id, role=HealthTeamRole.infirmier
            )
        )
        session.add(
            HealthTeamMember(
                collectivity_id=b.id, professional_id=pro_b.id, role=HealthTeamRole.infirmier
            )
        )
        nature = session.scalar(
            select(DocumentNature).where(
                DocumentNature.usage == DocumentUsage.employeur,
                DocumentNature.code == "fiche_poste",
            )
        )
        session.flush()
        return {
            "a": a,
            "b": b,
            "primary": primary,
            "secondary": secondary,
            "agent_a": agent_a,
            "other_a": other_a,
            "agent_b": agent_b,
            "nurse": nurse,
            "outsider": outsider,
            "nature": nature.id,
        }


def _deposit(web, nature, content=None, name="fiche-de-poste.pdf", tick=True, agent=None):
    data = {
        "csrf_token": web.csrf_token(PAGE),
        "nature_id": str(nature),
        "document": (io.BytesIO(content if content is not None else make_pdf()), name),
    }
    if tick:
        data["no_medical_data"] = "1"
    if agent is not None:
        data["agent_id"] = str(agent)
    return multipart(web, DEPOSIT, data)


def _count(db_ctx, model=EmployerDocument):
    with db_ctx() as session:
        return session.scalar(select(func.count()).select_from(model))


def _files(app) -> set[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_an_employer_deposits_sees_the_history_and_deletes_it(world, login, db_ctx):
    web = login(world["primary"])
    response = _deposit(web, world["nature"], agent=world["agent_a"].id)
    assert response.status_code == 302
    page = text(web.get(PAGE))
    assert "Document transmis à l'équipe santé" in page
    assert "Fiche de poste" in page and "MARTIN" in page
    assert "en attente de réception" in page
    with db_ctx() as session:
        row = session.scalar(select(EmployerDocument))
        assert row.no_medical_data_by_id == world["primary"].id
        assert row.no_medical_data_at is not None
        doc_id = row.id
    pdf = web.get(f"/portail/documents/{doc_id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert "no-store" in pdf.headers["Cache-Control"]
    web.post(f"/portail/documents/{doc_id}/supprimer", data={"csrf_token": web.csrf_token(PAGE)})
    assert _count(db_ctx) == 0
    assert "Document supprimé" in text(web.get(PAGE))


@pytest.mark.parametrize(
    ("content", "tick", "message"),
    [
        (None, False, "Ce document ne contient pas de données médicales"),
        (EXE, True, "n'est pas un PDF valide"),
        (make_pdf() + b"%" + b"x" * (1024 * 1024), True, "dépasse 1 Mo"),
    ],
    ids=["unticked", "not-a-pdf", "too-large"],
)
def test_a_bad_deposit_is_refused_in_french_and_writes_nothing(
    world, login, db_ctx, app, content, tick, message
):
    web = login(world["primary"])
    before = _files(app)
    response = _deposit(web, world["nature"], content=content, tick=tick)
    assert response.status_code in (302, 303)
    assert message in text(web.get(PAGE))
    assert _count(db_ctx) == 0
    assert _files(app) == before


def test_a_1_2_mb_body_is_refused_before_it_is_read(world, login, db_ctx):
    web = login(world["primary"])
    response = _deposit(
        web, world["nature"], content=b"%PDF-1.4\n" + b"0" * (1200 * 1024 + 300_000)
    )
    assert response.status_code in (302, 303)
    assert "dépassent la taille autorisée" in text(web.get(PAGE))
    assert _count(db_ctx) == 0


def test_another_collectivitys_agent_is_a_404_and_nothing_is_written(world, login, db_ctx):
    web = login(world["primary"])
    response = _deposit(web, world["nature"], agent=world["agent_b"].id)
    assert response.status_code == 404
    assert _count(db_ctx) == 0


def test_the_health_team_confirms_receipt_and_the_deposit_is_locked(world, login, db_ctx):
    employer = login(world["primary"])
    _deposit(employer, world["nature"])
    with db_ctx() as session:
        doc_id = session.scalar(select(EmployerDocument.id))
    # Another collectivity's nurse has no such deposit in her queue and cannot confirm it.
    outsider = login(world["outsider"])
    assert "fiche-de-poste" not in text(outsider.get(QUEUE))
    token = outsider.csrf_token("/compte/moi/")
    assert (
        outsider.post(f"{QUEUE}{doc_id}/reception", data={"csrf_token": token}).status_code == 404
    )
    assert outsider.get(f"{QUEUE}{doc_id}/pdf").status_code == 404

    nurse = login(world["nurse"])
    queue = text(nurse.get(QUEUE))
    assert "Commune Alpha" in queue and "1 document(s) en attente" in queue
    assert nurse.get(f"{QUEUE}{doc_id}/pdf").status_code == 200
    nurse.post(f"{QUEUE}{doc_id}/reception", data={"csrf_token": nurse.csrf_token(QUEUE)})
    assert "0 document(s) en attente" in text(nurse.get(QUEUE))

    page = text(employer.get(PAGE))
    assert "Réception confirmée par l'équipe santé : le document ne peut plus être supprimé" in page
    employer.post(
        f"/portail/documents/{doc_id}/supprimer", data={"csrf_token": employer.csrf_token(PAGE)}
    )
    assert "ne peut plus être supprimé" in text(employer.get(PAGE))
    assert _count(db_ctx) == 1


def test_a_secondary_account_deposits_and_reads_only_for_its_agents(world, login, db_ctx):
    primary = login(world["primary"])
    _deposit(primary, world["nature"], agent=world["other_a"].id, name="durand.pdf")
    secondary = login(world["secondary"])
    page = text(secondary.get(PAGE))
    assert "durand.pdf" not in page and "DURAND" not in page
    assert _deposit(secondary, world["nature"], agent=world["other_a"].id).status_code == 404
    _deposit(secondary, world["nature"], agent=world["agent_a"].id, name="martin.pdf")
    assert "martin.pdf" in text(secondary.get(PAGE))
    assert "martin.pdf" in text(primary.get(PAGE))
    # A deposit about no agent: its author and the primary account read it, not another secondary.
    _deposit(secondary, world["nature"], name="planning-service.pdf")
    assert "planning-service.pdf" in text(secondary.get(PAGE))
    assert "planning-service.pdf" in text(primary.get(PAGE))
    assert _count(db_ctx) == 3


def test_my_documents_lists_published_documents_and_released_sheets_by_folder(
    world, login, db_ctx, app
):
    from app.documents.services import publish

    with db_ctx() as session:
        publish(
            world["a"].id, DocumentFolder.rapports_acfi, "Rapport d'inspection 2026", make_pdf()
        )
        publish(
            world["a"].id,
            "autres",
            "Courrier pour MARTIN",
            make_pdf(),
            agent_id=world["agent_a"].id,
        )
        publish(world["b"].id, DocumentFolder.rapports_acfi, "Rapport de Beta", make_pdf())
        with pytest.raises(Exception, match="n'appartient pas"):
            publish(world["a"].id, "autres", "Erreur", make_pdf(), agent_id=world["agent_b"].id)
    web = login(world["primary"])
    page = text(web.get(MINE))
    assert "Répertoires" in page and "Fiches de visite" in page
    assert "Rapport d'inspection 2026" in page and "Courrier pour MARTIN" in page
    assert "Rapport de Beta" not in page
    folder = text(web.get(MINE + "?repertoire=rapports_acfi"))
    assert "Rapport d'inspection 2026" in folder and "Courrier pour MARTIN" not in folder
    by_name = text(web.get(MINE + "?agent=martin"))
    assert "Courrier pour MARTIN" in by_name and "Rapport d'inspection" not in by_name
    with db_ctx() as session:
        ids = dict(session.execute(select(PublishedDocument.title, PublishedDocument.id)).all())
    report = ids["Rapport d'inspection 2026"]
    assert web.get(f"{MINE}{report}/pdf").status_code == 200
    assert web.get(f"{MINE}{ids['Rapport de Beta']}/pdf").status_code == 404
    secondary = login(world["secondary"])
    mine = text(secondary.get(MINE))
    assert "Courrier pour MARTIN" in mine and "Rapport d'inspection 2026" not in mine
    assert secondary.get(f"{MINE}{report}/pdf").status_code == 404


def test_staff_publish_an_acfi_report_for_the_employer(world, login, db_ctx):
    with db_ctx() as session:
        secretary = factories.make_user(session, roles.SECRETARIAT, username="secretariat-pub")
    staff = login(secretary)
    url = "/documents/publications/"
    data = {
        "csrf_token": staff.csrf_token(url),
        "collectivity_id": str(world["a"].id),
        "folder": "rapports_acfi",
        "title": "Rapport ACFI du 12/11/2026",
        "document": (io.BytesIO(make_pdf()), "rapport.pdf"),
    }
    assert multipart(staff, url + "publier", data).status_code == 302
    data["document"] = (io.BytesIO(EXE), "rapport.pdf")
    data["csrf_token"] = staff.csrf_token(url)
    multipart(staff, url + "publier", data)
    assert "n'est pas un PDF valide" in text(staff.get(url))
    assert _count(db_ctx, PublishedDocument) == 1
    page = text(login(world["primary"]).get(MINE + "?repertoire=rapports_acfi"))
    assert "Rapport ACFI du 12/11/2026" in page


def test_the_document_resource_reads_the_scope_only(world, login, api_login, db_ctx):
    _deposit(login(world["primary"]), world["nature"], agent=world["agent_a"].id)
    with db_ctx() as session:
        doc_id = session.scalar(select(EmployerDocument.id))
    api = api_login(world["primary"])
    listing = api.get("/api/v1/document/").get_json()
    assert listing["count"] == 1
    assert listing["result"][0]["nature"] == "fiche_poste"
    assert listing["result"][0]["received_on"] is None
    assert api.get(f"/api/v1/document/{doc_id}/file").status_code == 200
    with db_ctx() as session:
        user_b = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=world["b"])
    other = api_login(user_b)
    assert other.get(f"/api/v1/document/{doc_id}").status_code == 404
    assert other.get(f"/api/v1/document/{doc_id}/file").status_code == 404
    assert other.get("/api/v1/document/").get_json()["count"] == 0


def test_a_nurse_reads_through_the_api_only_her_teams_deposits(world, login, api_login, db_ctx):
    """Santé: the REST resource follows the deposit queue, limited to the nurse's health team."""
    _deposit(login(world["primary"]), world["nature"], agent=world["agent_a"].id)
    with db_ctx() as session:
        doc_id = session.scalar(select(EmployerDocument.id))
    own = api_login(world["nurse"])
    assert own.get("/api/v1/document/").get_json()["count"] == 1
    assert own.get(f"/api/v1/document/{doc_id}/file").status_code == 200
    outsider = api_login(world["outsider"])
    assert outsider.get("/api/v1/document/").get_json()["count"] == 0
    assert outsider.get(f"/api/v1/document/{doc_id}").status_code == 404
    assert outsider.get(f"/api/v1/document/{doc_id}/file").status_code == 404


def test_the_lists_run_a_constant_number_of_queries(world, login, db_ctx, count_queries):
    from app.documents.services import publish

    web = login(world["primary"])
    nurse = login(world["nurse"])
    urls = [(web, PAGE), (web, MINE), (nurse, QUEUE)]

    def counts():
        result = []
        for client, url in urls:
            client.get(url)
            with count_queries() as counter:
                assert client.get(url).status_code == 200
            result.append(counter.count)
        return result

    _deposit(web, world["nature"], agent=world["agent_a"].id)
    with db_ctx():
        publish(world["a"].id, "autres", "Un", make_pdf(), agent_id=world["agent_a"].id)
    first = counts()
    for agent in ("agent_a", "other_a", "agent_a", "other_a"):
        _deposit(web, world["nature"], agent=world[agent].id)
    with db_ctx():
        for index in range(4):
            publish(world["a"].id, "rapports_annuels", f"R{index}", make_pdf(), agent_id=None)
    assert counts() == first


def test_retention_lists_the_collectivitys_files(world, login, db_ctx, app):
    from app.documents import services

    _deposit(login(world["primary"]), world["nature"])
    with db_ctx():
        services.publish(world["a"].id, "autres", "Un", make_pdf())
        services.publish(world["b"].id, "autres", "Autre", make_pdf())
        paths = services.stored_paths(world["a"].id)
        assert len(paths) == 2
        assert all(p.startswith(("documents-employeur/", "documents-publies/")) for p in paths)
        services.drop_rows(world["a"].id)
        assert services.stored_paths(world["a"].id) == []
        assert len(services.stored_paths(world["b"].id)) == 1
    assert dt.date.today()
