"""Portability (SPEC J1): « Exporter les données » of an agent and `flask export agent`: every
record held on the agent in one JSON or CSV file, for staff and the primary account only,
within the caller's collectivity, each export written to the audit log."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from sqlalchemy import select

from app.core.audit import AuditLog
from app.extensions import db
from app.planning.models import Appointment, AppointmentStatus, Plage, PlageNature, PlageState
from app.referential.models import ContractType, VisitType
from app.workforce.models import (
    AgentAssignment,
    ChangeStatus,
    Contract,
    StagedAgentChange,
    WorkPosition,
)
from tests import factories
from tests.isolation import make_agent


@pytest.fixture
def held(db_ctx: Any, users: Any) -> dict[str, int]:
    """An agent of A with a career, an appointment, a staged change, a secondary account; an
    agent of B."""
    with db_ctx() as session:
        a = users.collectivity_a
        agent = make_agent(
            session,
            a,
            first_name="Léa",
            birth_name="DUPONT",
            usage_name="=HYPERLINK(1)",
            ins="2850769123456",
        )
        position = WorkPosition(collectivity_id=a.id, pcs_code="372d")
        position.set_label("Agent d'entretien")
        session.add(position)
        session.flush()
        cdi = session.scalar(select(ContractType).where(ContractType.code == "cdi"))
        session.add(
            Contract(
                agent_id=agent.id,
                collectivity_id=a.id,
                work_position_id=position.id,
                contract_type_id=cdi.id,
                start_date=dt.date(2020, 1, 6),
            )
        )
        session.add(
            StagedAgentChange(
                agent_id=agent.id,
                collectivity_id=a.id,
                field="usage_name",
                old_value="DUPONT",
                new_value="MARTIN",
                status=ChangeStatus.en_attente,
            )
        )
        session.add(
            AgentAssignment(agent_id=agent.id, user_id=users.secondary_a.id, collectivity_id=a.id)
        )
        office = factories.make_office(session, served=[a], name="Cabinet de Lyon")
        plage = Plage(
            office_id=office.id,
            professional_id=factories.make_professional(session).id,
            starts_at=dt.datetime(2026, 3, 2, 9, 0),
            ends_at=dt.datetime(2026, 3, 2, 10, 0),
            appointment_minutes=20,
            nature=PlageNature.medecin,
            state=PlageState.convocation,
        )
        session.add(plage)
        session.flush()
        visit = session.scalar(select(VisitType).where(VisitType.code == "periodique"))
        session.add(
            Appointment(
                plage_id=plage.id,
                slot_index=0,
                agent_id=agent.id,
                collectivity_id=a.id,
                starts_at=plage.starts_at,
                visit_type_id=visit.id,
                comment="Prévoir un interprète",
                status=AppointmentStatus.honoree,
            )
        )
        other = make_agent(session, users.collectivity_b, birth_name="SECRETB")
        return {"agent": agent.id, "other": other.id, "secondary": users.secondary_a.id}


def _csv_lines(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


def _export_entries(app: Any, agent_id: int) -> list[AuditLog]:
    with app.app_context():
        entries = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "export", AuditLog.row_id == str(agent_id))
        ).all()
        db.session.remove()
    return list(entries)


def test_json_export_holds_every_record_of_the_agent(
    app: Any, login: Any, users: Any, held: dict[str, int]
) -> None:
    web = login(users.secretariat)
    response = web.get(f"/portabilite/agent/{held['agent']}?format=json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    document = json.loads(response.get_data())
    sections = document["sections"]
    assert set(sections) == {
        "identite",
        "carriere",
        "postes",
        "comptes_secondaires",
        "rendez_vous",
        "modifications",
        "demandes_visite",
    }  # « consultations » only for the health roles (test_consultations.py)
    identity = sections["identite"][0]
    assert identity["prenom"] == "Léa" and identity["nom_naissance"] == "DUPONT"
    assert identity["ins"] == "2850769123456"
    assert identity["collectivite"] == "Commune A"
    assert sections["carriere"][0]["poste"] == "Agent d'entretien"
    assert sections["carriere"][0]["debut"] == "2020-01-06"
    assert sections["postes"][0]["code_pcs"] == "372d"
    assert sections["rendez_vous"][0]["lieu"] == "Cabinet de Lyon"
    assert sections["rendez_vous"][0]["commentaire"] == "Prévoir un interprète"
    assert sections["rendez_vous"][0]["etat"] == "Honoré"
    assert sections["modifications"][0]["nouvelle_valeur"] == "MARTIN"
    assert len(sections["comptes_secondaires"]) == 1
    [entry] = _export_entries(app, held["agent"])
    assert entry.username == users.secretariat.username
    assert entry.changes["format"] == [None, "json"]
    assert "DUPONT" not in json.dumps(entry.changes)


def test_csv_export_has_sections_and_no_formula(
    app: Any, login: Any, users: Any, held: dict[str, int]
) -> None:
    web = login(users.primary_a)
    response = web.get(f"/portabilite/agent/{held['agent']}?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lines = _csv_lines(response.get_data())
    titles = [line[0] for line in lines if len(line) == 1]
    assert "Identité" in titles and "Rendez-vous" in titles and "Carrière" in titles
    heading = lines.index(["Identité"])
    header, values = lines[heading + 1], lines[heading + 2]
    row = dict(zip(header, values, strict=True))
    assert row["Nom de naissance"] == "DUPONT"
    assert row["Date de naissance"].count("/") == 2
    assert row["Nom d'usage"] == "'=HYPERLINK(1)"  # neutralised, not a formula
    [entry] = _export_entries(app, held["agent"])
    assert entry.username == users.primary_a.username and entry.changes["format"] == [None, "csv"]


def test_agent_page_offers_the_export_to_staff_and_primary_only(
    login: Any, users: Any, held: dict[str, int]
) -> None:
    for user in (users.secretariat, users.sante, users.direction, users.primary_a):
        page = login(user).get(f"/effectif/{held['agent']}").get_data(as_text=True)
        assert "Exporter les données" in page, user.username
    page = login(users.secondary_a).get(f"/effectif/{held['agent']}")
    assert page.status_code == 200
    assert "Exporter les données" not in page.get_data(as_text=True)


def test_secondary_account_and_accounting_cannot_export(
    app: Any, login: Any, users: Any, held: dict[str, int]
) -> None:
    for user in (users.secondary_a, users.comptabilite):
        response = login(user).get(f"/portabilite/agent/{held['agent']}?format=json")
        assert response.status_code in (302, 403), user.username
        assert b"DUPONT" not in response.get_data()
    assert _export_entries(app, held["agent"]) == []


def test_export_of_another_collectivitys_agent_is_not_found(
    app: Any, login: Any, users: Any, held: dict[str, int]
) -> None:
    web = login(users.primary_a)
    for url in (
        f"/portabilite/agent/{held['other']}?format=json",
        f"/portabilite/agent/{held['other']}?format=csv",
        "/portabilite/agent/999999?format=json",
    ):
        response = web.get(url)
        assert response.status_code == 404, url
        assert b"SECRETB" not in response.get_data()
    assert web.get(f"/portabilite/agent/{held['agent']}?format=xml").status_code == 404
    assert _export_entries(app, held["other"]) == []


def test_cli_exports_json_and_csv(app: Any, cli: Any, held: dict[str, int], tmp_path: Any) -> None:
    result = cli.invoke(args=["export", "agent", str(held["agent"]), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout_bytes)
    assert document["sections"]["identite"][0]["nom_naissance"] == "DUPONT"
    target = tmp_path / "agent.csv"
    result = cli.invoke(
        args=["export", "agent", str(held["agent"]), "--format", "csv", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert ["Identité"] in _csv_lines(target.read_bytes())
    entries = _export_entries(app, held["agent"])
    assert {e.changes["format"][1] for e in entries} == {"json", "csv"}
    assert {e.username for e in entries} == {"système"}


def test_cli_unknown_agent_is_a_french_error(cli: Any) -> None:
    for argument in ("999999", "abc"):
        result = cli.invoke(args=["export", "agent", argument, "--format", "json"])
        assert result.exit_code == 2
        assert "Erreur" in result.output and "agent" in result.output.lower()
    result = cli.invoke(args=["export", "agent", "1", "--format", "xml"])
    assert result.exit_code == 2
