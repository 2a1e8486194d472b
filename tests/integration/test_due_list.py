"""« Demandes à planifier » (SPEC E3): stored due dates kept fresh, explained, scoped, exported,
and `flask due-list --on` (CONTRACT.md §1), DOMAIN.md §8 example 6."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import select

from app import roles
from app.core import clock
from app.referential.models import ContractType, Risk, VisitType
from app.referential.reference_data import seed_reference_data
from app.visits.consultation_models import Consultation, Outcome
from app.visits.due_models import DueDate, DueKind, PeriodicityRuleRecord
from app.workforce.models import AgentAssignment, Contract, PositionRisk, WorkPosition
from tests import factories, isolation
from tests.util import text

TODAY = clock.today()
DECREE = "Décret n° 2025-1193 du 8 décembre 2025"


@pytest.fixture(autouse=True)
def _rules(db_ctx):
    # A committing test elsewhere may have purged the reference rows: load them again.
    with db_ctx() as session:
        seed_reference_data(session)


def _position(session, collectivity, risks=()):
    position = WorkPosition(collectivity_id=collectivity.id, pcs_code="372d")
    position.set_label(f"Poste {factories._next()}")
    for code in risks:
        risk = session.scalar(select(Risk).where(Risk.code == code))
        position.risk_links.append(
            PositionRisk(risk=risk, collectivity_id=collectivity.id, caces_categories="R489")
        )
    session.add(position)
    session.flush()
    return position


def _agent(session, collectivity, name, start=dt.date(2015, 9, 1), risks=()):
    agent = isolation.make_agent(session, collectivity, birth_name=name, first_name="Léa")
    contract_type = session.scalar(select(ContractType).where(ContractType.code == "titulaire"))
    session.add(
        Contract(
            agent_id=agent.id,
            collectivity_id=collectivity.id,
            work_position_id=_position(session, collectivity, risks).id,
            contract_type_id=contract_type.id,
            start_date=start,
        )
    )
    session.flush()
    return agent


def _consultation(session, agent, day, **values):
    visit = session.scalar(select(VisitType).where(VisitType.code == "periodique"))
    professional = values.pop("professional", None) or factories.make_professional(session)
    consultation = Consultation(
        agent_id=agent.id,
        collectivity_id=agent.collectivity_id,
        visit_date=day,
        visit_type_id=visit.id,
        professional_id=professional.id,
        outcome=values.pop("outcome", Outcome.apte),
        sheet_available_on=day,
        **values,
    )
    session.add(consultation)
    session.flush()
    return consultation


def _rows(session, agent_id):
    return {
        row.kind.name: row
        for row in session.scalars(select(DueDate).where(DueDate.agent_id == agent_id))
    }


def test_recording_a_visit_moves_the_stored_due_date_with_its_explanation(db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        agent = _agent(session, collectivity, "NOUVEAU", start=dt.date(2026, 2, 2))
    with db_ctx() as session:
        [row] = _rows(session, agent.id).values()
        assert (row.kind, row.due_on) == (DueKind.periodique, dt.date(2026, 2, 2))
        assert row.explanation.startswith("Jamais vu depuis son entrée le 02/02/2026 ; VIP")
        _consultation(session, agent, dt.date(2026, 3, 10))
    with db_ctx() as session:
        row = _rows(session, agent.id)["periodique"]
        assert row.due_on == dt.date(2031, 3, 10)
        assert row.explanation == f"Dernière visite le 10/03/2026 ; VIP tous les 5 ans ({DECREE})"
        assert row.legal_reference == DECREE


def test_a_position_risk_change_adds_the_certificate_renewal(db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        agent = _agent(session, collectivity, "CARISTE")
        _consultation(session, agent, dt.date(2024, 6, 1))
    with db_ctx() as session:
        assert set(_rows(session, agent.id)) == {"periodique"}
        position = session.scalar(
            select(WorkPosition).join(Contract).where(Contract.agent_id == agent.id)
        )
        caces = session.scalar(select(Risk).where(Risk.code == "caces"))
        position.risk_links.append(
            PositionRisk(risk=caces, collectivity_id=collectivity.id, caces_categories="R489")
        )
    with db_ctx() as session:
        rows = _rows(session, agent.id)
        assert rows["certificat"].due_on == dt.date(2029, 6, 1)
        assert rows["certificat"].explanation.startswith("Avis d'aptitude le 01/06/2024 (CACES)")


def test_an_ended_contract_removes_the_due_rows(db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        agent = _agent(session, collectivity, "PARTANT")
    with db_ctx() as session:
        assert _rows(session, agent.id)
        contract = session.scalar(select(Contract).where(Contract.agent_id == agent.id))
        contract.end_date = TODAY - dt.timedelta(days=1)
    with db_ctx() as session:
        assert _rows(session, agent.id) == {}


def test_a_confidential_visit_moves_no_date_the_employer_reads(db_ctx, login):
    """SPEC E7: a visit the agent asked for himself, confidentially, is no fact of the due list
    (the employer reads it: a date moved by that visit would tell him of it)."""
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        agent = _agent(session, collectivity, "SECRET")
        _consultation(session, agent, dt.date(2019, 1, 15))
        _consultation(
            session, agent, TODAY - dt.timedelta(days=3), is_confidential=True, next_visit_on=None
        )
    with db_ctx() as session:
        row = _rows(session, agent.id)["periodique"]
        assert row.due_on == dt.date(2024, 1, 15)
        assert row.explanation.startswith("Dernière visite le 15/01/2019 ; VIP")
    with db_ctx() as session:
        world = isolation.build_world(session)
    page = text(login(world.primary_a).get("/portail/demandes-a-planifier/?echeance=12"))
    for marker in isolation.EMPLOYER_MARKERS:
        assert marker not in page
    assert "Restriction" not in page and "Apte" not in page


def _employer_world(session):
    a = factories.make_collectivity(session, name="Commune Alpha")
    b = factories.make_collectivity(session, name="Commune Beta")
    primary = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=a)
    secondary = factories.make_user(
        session, roles.EMPLOYER_SECONDARY, collectivity=a, primary=primary
    )
    staff = factories.make_user(session, roles.SECRETARIAT)
    overdue = _agent(session, a, "RETARD")
    _consultation(session, overdue, dt.date(2019, 1, 15))
    soon = _agent(session, a, "BIENTOT")
    _consultation(session, soon, TODAY - dt.timedelta(days=5 * 365 - 30))
    later = _agent(session, a, "TARD")
    _consultation(session, later, TODAY - dt.timedelta(days=30))
    other = _agent(session, b, "AUTRE")
    session.add(AgentAssignment(agent_id=soon.id, user_id=secondary.id, collectivity_id=a.id))
    return {
        "a": a,
        "b": b,
        "primary": primary,
        "secondary": secondary,
        "staff": staff,
        "overdue": overdue,
        "soon": soon,
        "later": later,
        "other": other,
    }


def test_employer_due_list_shows_its_agents_within_the_horizon_explained(db_ctx, login):
    with db_ctx() as session:
        w = _employer_world(session)
    web = login(w["primary"])
    page = text(web.get("/portail/demandes-a-planifier/"))
    assert "Demandes à planifier" in page
    assert "RETARD Léa" in page and "BIENTOT Léa" in page
    assert "TARD Léa" not in page.replace("RETARD Léa", "")  # due in 5 years
    assert "AUTRE" not in page  # another collectivity
    assert "en retard" in page
    assert "Dernière visite le 15/01/2019 ; VIP tous les 5 ans" in page and DECREE in page
    assert f"/portail/demandes-de-visite/agent/{w['soon'].id}/nouvelle?type=periodique" in page
    overdue_only = text(web.get("/portail/demandes-a-planifier/?echeance=retard"))
    assert "RETARD Léa" in overdue_only and "BIENTOT Léa" not in overdue_only
    searched = text(web.get("/portail/demandes-a-planifier/?nom=bien"))
    assert "BIENTOT Léa" in searched and "RETARD Léa" not in searched
    secondary = text(login(w["secondary"]).get("/portail/demandes-a-planifier/"))
    assert "BIENTOT Léa" in secondary and "RETARD Léa" not in secondary


def test_secretariat_sees_every_collectivity_and_filters_one(db_ctx, login):
    with db_ctx() as session:
        w = _employer_world(session)
    web = login(w["staff"])
    page = text(web.get("/demandes-a-planifier/"))
    assert "AUTRE Léa" in page and "RETARD Léa" in page and "Commune Beta" in page
    assert f"/demandes-de-visite/agent/{w['other'].id}/nouvelle?type=periodique" in page
    only_b = text(web.get(f"/demandes-a-planifier/?collectivity_id={w['b'].id}"))
    assert "AUTRE Léa" in only_b and "RETARD Léa" not in only_b
    # Bad arguments are ignored, never an error.
    assert web.get("/demandes-a-planifier/?echeance=abc&page=x&psize=-1&type=zz").status_code == 200


def test_the_due_list_exports_what_it_shows(db_ctx, login):
    with db_ctx() as session:
        w = _employer_world(session)
    web = login(w["primary"])
    response = web.get("/portail/demandes-a-planifier/export/csv?echeance=retard")
    assert response.status_code == 200
    lines = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    assert lines[0] == [
        "Nom et prénom",
        "Échéance",
        "En retard",
        "Visite",
        "Explication",
        "Référence juridique",
    ]
    assert [line[0] for line in lines[1:]] == ["RETARD Léa"]
    assert lines[1][1] == "15/01/2024" and lines[1][2] == "Oui" and lines[1][5] == DECREE
    xlsx = web.get("/portail/demandes-a-planifier/export/xlsx")
    assert xlsx.status_code == 200 and xlsx.get_data()[:2] == b"PK"
    assert "AUTRE" not in isolation.response_text(xlsx)
    assert web.get("/portail/demandes-a-planifier/export/pdf").status_code == 404


def test_the_due_list_runs_a_constant_number_of_statements(db_ctx, login, count_queries):
    with db_ctx() as session:
        w = _employer_world(session)
    clients = {"primary": login(w["primary"]), "staff": login(w["staff"])}
    urls = {
        "primary": "/portail/demandes-a-planifier/?echeance=12",
        "staff": "/demandes-a-planifier/?echeance=12",
    }
    measured = {}
    for grow in (0, 30):
        with db_ctx() as session:
            for n in range(grow):
                _agent(session, w["a"], f"NOMBREUX{n}")
        for who, web in clients.items():
            web.get(urls[who])
            with count_queries() as counter:
                response = web.get(urls[who])
            assert response.status_code == 200
            measured.setdefault(who, []).append(counter.count)
    for who, counts in measured.items():
        assert counts[0] == counts[1] <= 8, (who, counts)


def test_cli_explains_each_date_as_of_the_date_asked(db_ctx, cli):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        agent = _agent(session, collectivity, "EXEMPLE")
        _consultation(session, agent, dt.date(2024, 3, 15))
    before = cli.invoke(
        args=[
            "due-list",
            "--collectivity",
            collectivity.siret,
            "--on",
            "2025-06-01",
            "--format",
            "json",
        ]
    )
    assert before.exit_code == 0, before.output
    assert json.loads(before.output) == [
        {
            "agent_id": agent.id,
            "due_on": "2026-03-15",
            "kind": "periodique",
            "legal_reference": "Décret n° 85-603 du 10 juin 1985, art. 20",
            "explanation": "Dernière visite le 15/03/2024 ; VIP tous les 2 ans "
            "(Décret n° 85-603 du 10 juin 1985, art. 20)",
        }
    ]
    after = cli.invoke(
        args=["due-list", "--collectivity", collectivity.siret, "--on", "2025-12-12"]
    )
    assert after.exit_code == 0, after.output
    lines = after.output.splitlines()
    assert lines[0] == "agent_id;due_on;kind;legal_reference;explanation"
    assert lines[1].startswith(f"{agent.id};2029-03-15;periodique;{DECREE};")
    today = cli.invoke(args=["due-list", "--collectivity", collectivity.siret])
    assert today.exit_code == 0 and f"{agent.id};2029-03-15;periodique" in today.output
    unknown = cli.invoke(args=["due-list", "--collectivity", "21690123100011"])
    assert unknown.exit_code == 1 and "aucune collectivité" in unknown.output
    bad = cli.invoke(args=["due-list", "--collectivity", collectivity.siret, "--on", "31/02/2026"])
    assert bad.exit_code == 2 and "« 31/02/2026 »" in bad.output


def test_admin_edits_dated_rules_and_overlaps_are_refused_in_french(db_ctx, login):
    with db_ctx() as session:
        admin = factories.make_user(session, roles.ADMIN)
        secretary = factories.make_user(session, roles.SECRETARIAT)
        count = len(session.scalars(select(PeriodicityRuleRecord)).all())
    web = login(admin)
    listing = text(web.get("/periodicityruleview/list/"))
    assert "Périodicité des visites" in listing and DECREE in listing
    overlapping = {
        "regime": "public",
        "population": "tous",
        "months": "36",
        "valid_from": "01/01/2026",
        "legal_reference": "Délibération locale",
    }
    response = web.post_form("/periodicityruleview/add", overlapping)
    page = text(response)
    assert "existe déjà pour ce régime et cette population sur cette période" in page
    with db_ctx() as session:
        assert len(session.scalars(select(PeriodicityRuleRecord)).all()) == count
    assert login(secretary).get("/periodicityruleview/add").status_code in (302, 403)


def test_the_nightly_sync_recomputes_due_dates_as_of_its_day(app, db_ctx):
    from app.scheduling import services

    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        agent = _agent(session, collectivity, "NUIT")
        _consultation(session, agent, dt.date(2024, 3, 15))
        session.execute(DueDate.__table__.delete().where(DueDate.agent_id == agent.id))
    with app.app_context():
        outcome = services.claim_and_run("sync", today=dt.date(2025, 6, 1))
    assert outcome.status.name == "reussi"
    with db_ctx() as session:
        row = _rows(session, agent.id)["periodique"]
        assert (row.due_on, row.computed_on) == (dt.date(2026, 3, 15), dt.date(2025, 6, 1))


def test_a_situation_declared_with_a_request_puts_the_agent_under_smp(db_ctx):
    from app.visits.models import VisitRequest, VisitRequestState

    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        agent = _agent(session, collectivity, "ENCEINTE")
        _consultation(session, agent, dt.date(2024, 3, 15))
    with db_ctx() as session:
        assert _rows(session, agent.id)["periodique"].due_on == dt.date(2029, 3, 15)
        visit = session.scalar(select(VisitType).where(VisitType.code == "periodique"))
        session.add(
            VisitRequest(
                agent_id=agent.id,
                collectivity_id=collectivity.id,
                visit_type_id=visit.id,
                state=VisitRequestState.en_attente,
                created_on=TODAY,
                situations=["femme_enceinte"],
            )
        )
    with db_ctx() as session:
        rows = _rows(session, agent.id)
        assert rows["periodique"].due_on == dt.date(2028, 3, 15)
        assert rows["intermediaire"].due_on == dt.date(2026, 3, 15)
        assert "surveillance médicale particulière tous les 4 ans" in rows["periodique"].explanation


def test_an_employer_request_declaring_a_situation_updates_its_due_list(db_ctx, login):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        primary = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=collectivity)
        agent = _agent(session, collectivity, "DECLAREE")
        _consultation(session, agent, dt.date(2024, 3, 15))
    web = login(primary)
    url = f"/portail/demandes-de-visite/agent/{agent.id}/nouvelle"
    response = web.post_form(
        url, {"visit_type": "periodique", "situations": "travailleur_handicape"}
    )
    assert response.status_code == 302, text(response)[:2000]
    page = text(web.get("/portail/demandes-a-planifier/?echeance=12"))
    assert "DECLAREE Léa" in page and "15/03/2026" in page and "Visite intermédiaire" in page
