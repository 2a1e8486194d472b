"""The integration contract (CONTRACT.md §2 « Values »), as an HR system or a staff tool uses it:
enum fields by code or French label (returned as codes), writable lists of ids within the
caller's scope, the convention resource, booking / refusal / cancellation, French messages and
404 outside the caller's scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import delete, select

from app import roles
from app.planning.models import Plage, PlageNature, PlageState
from app.referential.models import Civility, ContractType, ProfessionalRole
from app.workforce.importing import ImportKind, template_csv
from app.workforce.models import Agent, AgentAssignment, Contract, WorkPosition
from tests import factories
from tests.isolation import make_agent


@pytest.fixture
def world(db_ctx: Any, users: Any) -> dict[str, Any]:
    with db_ctx() as session:
        office = factories.make_office(session, served=[users.collectivity_a], name="Cabinet A")
        doctor = factories.make_professional(session, role=ProfessionalRole.medecin)
        day = dt.date.today() + dt.timedelta(days=20)
        plages = {}
        for hour, key, state, reserved in (
            (8, "reserved_a", PlageState.reservee, users.collectivity_a),
            (10, "reserved_b", PlageState.reservee, users.collectivity_b),
            (14, "common", PlageState.commune, None),
        ):
            plage = Plage(
                office_id=office.id,
                professional_id=doctor.id,
                starts_at=dt.datetime.combine(day, dt.time(hour)),
                ends_at=dt.datetime.combine(day, dt.time(hour + 1)),
                appointment_minutes=20,
                nature=PlageNature.medecin,
                state=state,
                reserved_for_id=reserved.id if reserved else None,
            )
            session.add(plage)
            plages[key] = plage
        agent_a = make_agent(session, users.collectivity_a, birth_name="MARTIN")
        position_a = WorkPosition(collectivity_id=users.collectivity_a.id, pcs_code="684a")
        position_a.set_label("Agent d'entretien des espaces verts")
        session.add(position_a)
        session.flush()
        session.add(
            Contract(
                agent_id=agent_a.id,
                collectivity_id=users.collectivity_a.id,
                work_position_id=position_a.id,
                contract_type_id=session.scalar(
                    select(ContractType.id).where(ContractType.code == "titulaire")
                ),
                start_date=dt.date(2020, 1, 1),
            )
        )
        agent_b = make_agent(session, users.collectivity_b, birth_name="BERNARD")
        secondary_b = factories.make_user(
            session,
            roles.EMPLOYER_SECONDARY,
            collectivity=users.collectivity_b,
            primary=users.primary_b,
        )
        position_b = WorkPosition(collectivity_id=users.collectivity_b.id, pcs_code="641a")
        position_b.set_label("Chauffeur")
        session.add(position_b)
        session.flush()
        return {
            "office": office.id,
            "plages": {key: plage.id for key, plage in plages.items()},
            "agent_a": agent_a.id,
            "agent_b": agent_b.id,
            "secondary_b": secondary_b.id,
            "position_a": position_a.id,
            "position_b": position_b.id,
        }


HR_AGENT = {
    "civility": "Madame",
    "first_name": "Hélène",
    "birth_name": "Durand",
    "birth_date": "1985-03-02",
    "status": "Titulaire",
    "service": "Voirie",
}


# ----------------------------------------------------------------------------------------------
# Enum fields: code or French label, ignoring case and accents; returned as the code
# ----------------------------------------------------------------------------------------------


def test_an_hr_system_creates_an_agent_with_french_labels_and_reads_codes(api_login, users):
    api = api_login(users.primary_a)
    created = api.post("/api/v1/agent/", json=HR_AGENT)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["result"]["civility"] == "madame"
    assert created.get_json()["result"]["status"] == "titulaire"
    agent = api.get(f"/api/v1/agent/{created.get_json()['id']}").get_json()["result"]
    assert (agent["civility"], agent["status"]) == ("madame", "titulaire")
    assert agent["collectivity_id"] == users.collectivity_a.id
    for civility, status, expected in (
        ("madame", "droit prive", ("madame", "droit_prive")),
        ("MONSIEUR", "Droit Privé", ("monsieur", "droit_prive")),
        ("monsieur", "CONTRACTUEL", ("monsieur", "contractuel")),
    ):
        response = api.put(
            f"/api/v1/agent/{agent['id']}", json={"civility": civility, "status": status}
        )
        assert response.status_code == 200, response.get_json()
        result = response.get_json()["result"]
        assert (result["civility"], result["status"]) == expected


def test_a_contract_type_is_given_by_its_code_or_its_label(api_login, users, world):
    api = api_login(users.primary_a)
    agent_id = api.post("/api/v1/agent/", json=HR_AGENT).get_json()["id"]
    contract = {
        "agent_id": agent_id,
        "work_position_id": world["position_a"],
        "contract_type": "Titulaire",
        "start_date": "2026-01-05",
    }
    created = api.post("/api/v1/contract/", json=contract)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["result"]["contract_type"] == "titulaire"
    unknown = api.post("/api/v1/contract/", json={**contract, "contract_type": "Intérim"})
    assert unknown.status_code == 400
    message = unknown.get_json()["message"]
    assert message.startswith("Valeur inconnue pour « contract_type » : « Intérim ».")
    assert "titulaire" in message
    foreign = api.post(
        "/api/v1/contract/", json={**contract, "work_position_id": world["position_b"]}
    )
    # Another collectivity's position: refused by the contract rules (French field message).
    assert foreign.status_code in (400, 404)
    assert foreign.get_json()["message"] in (
        "Poste de travail inconnu pour cette collectivité.",
        "Enregistrement introuvable.",
    )


def test_an_unknown_enum_value_is_refused_in_french_with_the_accepted_codes(api_login, users):
    api = api_login(users.primary_a)
    response = api.post("/api/v1/agent/", json={**HR_AGENT, "civility": "Mademoiselle"})
    assert response.status_code == 422
    assert response.get_json()["message"] == {
        "civility": ["Valeur inconnue : « Mademoiselle ». Valeurs acceptées : madame, monsieur."]
    }
    assert api.post("/api/v1/agent/", json={**HR_AGENT, "civility": 3}).status_code == 422


def test_enum_filters_take_the_code_or_the_label(api_login, users, db_ctx):
    with db_ctx() as session:
        factories.make_professional(
            session, last_name="INFIRMIERE", role=ProfessionalRole.infirmier
        )
        factories.make_professional(session, last_name="DOCTEUR", role=ProfessionalRole.medecin)
    api = api_login(users.secretariat)
    for value in ("medecin", "Médecin", "MEDECIN"):
        response = api.get(
            f"/api/v1/professional/?q=(filters:!((col:role,opr:eq,value:'{value}')))"
        )
        assert response.status_code == 200, response.get_json()
        rows = response.get_json()["result"]
        assert rows and {row["role"] for row in rows} == {"medecin"}
    unknown = api.get("/api/v1/professional/?q=(filters:!((col:role,opr:eq,value:chirurgien)))")
    assert unknown.status_code == 400
    assert "Valeurs acceptées : medecin" in unknown.get_json()["message"]


# ----------------------------------------------------------------------------------------------
# secondary_account_ids, risks, served_collectivity_ids
# ----------------------------------------------------------------------------------------------


def test_the_primary_account_names_the_secondary_accounts_of_an_agent(
    api_login, users, world, db_ctx
):
    api = api_login(users.primary_a)
    created = api.post(
        "/api/v1/agent/", json={**HR_AGENT, "secondary_account_ids": [users.secondary_a.id]}
    )
    assert created.status_code == 201, created.get_json()
    agent_id = created.get_json()["id"]
    url = f"/api/v1/agent/{agent_id}"
    assert api.get(url).get_json()["result"]["secondary_account_ids"] == [users.secondary_a.id]
    assert api_login(users.secondary_a).get(url).status_code == 200
    # Round trip of what was read: unchanged.
    unchanged = api.put(url, json={"secondary_account_ids": [users.secondary_a.id]})
    assert unchanged.status_code == 200
    removed = api.put(url, json={"secondary_account_ids": []})
    assert removed.status_code == 200
    assert api.get(url).get_json()["result"]["secondary_account_ids"] == []
    assert api_login(users.secondary_a).get(url).status_code == 404
    # Another collectivity's secondary account, another primary, the caller himself: 404.
    for foreign in (world["secondary_b"], users.primary_b.id, users.primary_a.id, 999999):
        response = api.put(url, json={"secondary_account_ids": [users.secondary_a.id, foreign]})
        assert response.status_code == 404, foreign
        assert response.get_json()["message"] == "Enregistrement introuvable."
    refused = api.post(
        "/api/v1/agent/",
        json={**HR_AGENT, "birth_name": "Autre", "secondary_account_ids": [world["secondary_b"]]},
    )
    assert refused.status_code == 404
    # Another collectivity's agent: 404 whatever the body.
    other = api.put(
        f"/api/v1/agent/{world['agent_b']}", json={"secondary_account_ids": [users.secondary_a.id]}
    )
    assert other.status_code == 404
    # Only the primary account changes them.
    for user in (users.secondary_a, users.secretariat):
        response = api_login(user).put(
            f"/api/v1/agent/{world['agent_a']}",
            json={"secondary_account_ids": [users.secondary_a.id]},
        )
        assert response.status_code in (403, 404), user
    bad = api.put(url, json={"secondary_account_ids": "tous"})
    assert bad.status_code == 422
    assert bad.get_json()["message"] == {"secondary_account_ids": ["Liste attendue."]}
    with db_ctx() as session:
        assert not session.scalars(
            select(AgentAssignment).where(AgentAssignment.user_id == world["secondary_b"])
        ).all()
        assert session.get(Agent, world["agent_b"]).secondary_account_ids == []


def test_a_work_position_is_created_with_its_risks(api_login, users, world):
    api = api_login(users.primary_a)
    created = api.post(
        "/api/v1/work_position/",
        json={
            "label": "Agent d'entretien",
            "pcs_code": "684A",
            "risks": ["autre"],
            "risk_precisions": {"autre": {"description": "Produits d'entretien"}},
        },
    )
    assert created.status_code == 201, created.get_json()
    position = api.get(f"/api/v1/work_position/{created.get_json()['id']}").get_json()["result"]
    assert position["risks"] == ["autre"]
    assert position["follow_up"] in ("SI", "SIA", "SIR")
    assert position["collectivity_id"] == users.collectivity_a.id
    cleared = api.put(f"/api/v1/work_position/{position['id']}", json={"risks": []})
    assert cleared.status_code == 200, cleared.get_json()
    assert api.get(f"/api/v1/work_position/{position['id']}").get_json()["result"]["risks"] == []
    unknown = api.put(f"/api/v1/work_position/{position['id']}", json={"risks": ["lumiere"]})
    assert unknown.status_code == 400
    assert unknown.get_json()["message"] == "Risque inconnu : « lumiere »."
    other = api.put(f"/api/v1/work_position/{world['position_b']}", json={"risks": ["autre"]})
    assert other.status_code == 404
    # A secondary account reads positions only.
    secondary = api_login(users.secondary_a)
    assert (
        secondary.put(f"/api/v1/work_position/{position['id']}", json={"risks": []}).status_code
        == 403
    )


def test_staff_set_the_collectivities_an_office_serves(api_login, users, world):
    api = api_login(users.secretariat)
    url = f"/api/v1/office/{world['office']}"
    wanted = sorted([users.collectivity_a.id, users.collectivity_b.id])
    response = api.put(url, json={"served_collectivity_ids": wanted})
    assert response.status_code == 200, response.get_json()
    assert sorted(api.get(url).get_json()["result"]["served_collectivity_ids"]) == wanted
    assert api.put(url, json={"served_collectivity_ids": [999999]}).status_code == 404
    assert api.put(url, json={"served_collectivity_ids": "A"}).status_code == 400
    created = api.post(
        "/api/v1/office/",
        json={
            "name": "Cabinet de regroupement",
            "kind": "Cabinet de regroupement",
            "served_collectivity_ids": [users.collectivity_b.id],
        },
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["result"]["kind"] == "regroupement"
    office = api.get(f"/api/v1/office/{created.get_json()['id']}").get_json()["result"]
    assert office["served_collectivity_ids"] == [users.collectivity_b.id]
    employer = api_login(users.primary_a)
    assert employer.put(url, json={"served_collectivity_ids": []}).status_code == 403


# ----------------------------------------------------------------------------------------------
# Booking, refusal, cancellation
# ----------------------------------------------------------------------------------------------


def test_book_refuse_and_cancel_as_the_contract_describes(api_login, users, world):
    api = api_login(users.primary_a)
    plages = world["plages"]
    booked = api.post(
        f"/api/v1/plage/{plages['reserved_a']}/book",
        json={"agent_id": world["agent_a"], "visit_type": "Périodique", "comment": "Merci"},
    )
    assert booked.status_code == 201, booked.get_json()
    appointment = booked.get_json()["result"]
    assert appointment["visit_type"] == "periodique" and appointment["status"] == "reservee"
    unknown = api.post(
        f"/api/v1/plage/{plages['reserved_a']}/book",
        json={"agent_id": world["agent_a"], "visit_type": "annuelle"},
    )
    assert unknown.status_code == 400
    assert "Valeurs acceptées" in unknown.get_json()["message"]
    hidden = api.post(
        f"/api/v1/plage/{plages['reserved_b']}/book",
        json={"agent_id": world["agent_a"], "visit_type": "periodique"},
    )
    assert hidden.status_code == 404
    assert hidden.get_json()["message"] == "Enregistrement introuvable."
    foreign_agent = api.post(
        f"/api/v1/plage/{plages['common']}/book",
        json={"agent_id": world["agent_b"], "visit_type": "periodique"},
    )
    assert foreign_agent.status_code == 404
    no_reason = api.post(f"/api/v1/plage/{plages['common']}/refuse", json={})
    assert no_reason.status_code == 400
    assert "motif" in no_reason.get_json()["message"].lower()
    refused = api.post(f"/api/v1/plage/{plages['common']}/refuse", json={"reason": "Fermé"})
    assert refused.status_code == 200, refused.get_json()
    assert (
        api.post(f"/api/v1/plage/{plages['reserved_b']}/refuse", json={"reason": "x"}).status_code
        == 404
    )
    cancelled = api.post(f"/api/v1/appointment/{appointment['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.get_json()
    assert cancelled.get_json()["status"] == "absence_justifiee"
    assert (
        api_login(users.primary_b)
        .post(f"/api/v1/appointment/{appointment['id']}/cancel")
        .status_code
        == 404
    )


# ----------------------------------------------------------------------------------------------
# Conventions for staff
# ----------------------------------------------------------------------------------------------


def _convention(users: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "collectivity_id": users.collectivity_a.id,
        "mission": "Médecine préventive",
        "number": "295 - CU - MEDPREV - 2026",
        "start_date": "2026-01-01",
        "end_date": "2028-12-31",
        "quota_percent": "12.50",
        **overrides,
    }


def test_the_secretariat_manages_conventions_with_the_mission_code(api_login, users):
    api = api_login(users.secretariat)
    created = api.post("/api/v1/convention/", json=_convention(users))
    assert created.status_code == 201, created.get_json()
    result = created.get_json()["result"]
    assert result["mission"] == "medprev" and result["quota_percent"] == "12.50"
    url = f"/api/v1/convention/{created.get_json()['id']}"
    changed = api.put(url, json={"mission": "MEDPREV", "end_date": "2027-12-31"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["result"]["end_date"] == "2027-12-31"
    listing = api.get("/api/v1/convention/").get_json()
    assert {row["mission"] for row in listing["result"]} == {"medprev"}
    assert listing["label_columns"]["start_date"] == "Début"
    reversed_dates = api.put(url, json={"end_date": "2025-01-01"})
    assert reversed_dates.status_code == 400
    assert (
        reversed_dates.get_json()["message"]
        == "La fin de la convention ne peut pas précéder son début."
    )
    unknown = api.post("/api/v1/convention/", json=_convention(users, mission="cantine"))
    assert unknown.status_code == 422
    assert "Valeurs acceptées" in unknown.get_json()["message"]["mission"][0]
    assert api.delete(url).status_code == 200


def test_convention_permissions_follow_the_matrix(api_login, users, db_ctx):
    created = api_login(users.comptabilite).post("/api/v1/convention/", json=_convention(users))
    assert created.status_code == 201, created.get_json()
    url = f"/api/v1/convention/{created.get_json()['id']}"
    assert api_login(users.comptabilite).put(url, json={"notes": "Vu"}).status_code == 200
    assert api_login(users.comptabilite).delete(url).status_code == 403
    direction = api_login(users.direction)
    assert direction.get(url).status_code == 200
    assert direction.put(url, json={"notes": "x"}).status_code == 403
    for user in (users.primary_a, users.secondary_a, users.sante):
        assert api_login(user).get("/api/v1/convention/").status_code == 403


# ----------------------------------------------------------------------------------------------
# Imports without reference data
# ----------------------------------------------------------------------------------------------


def test_the_import_command_without_reference_data_says_to_seed_it(cli, users, db_ctx, tmp_path):
    with db_ctx() as session:
        session.execute(delete(ContractType))
    path = tmp_path / "salaries.csv"
    path.write_bytes(template_csv(ImportKind.agents, []))
    result = cli.invoke(
        args=["import", "agents", str(path), "--collectivity", users.collectivity_a.siret]
    )
    assert result.exit_code == 1
    assert "lancez flask seed-reference" in result.output
    assert "Traceback" not in result.output and "KeyError" not in result.output


def test_civility_enum_round_trips_in_the_openapi_document(api_login, users):
    spec = api_login(users.secretariat).get("/api/v1/_openapi").get_json()
    schemas = spec["components"]["schemas"]
    post = next(value for key, value in schemas.items() if key == "AgentApi.post")
    assert post["properties"]["civility"]["enum"] == [member.name for member in Civility]
