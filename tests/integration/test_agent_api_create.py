"""Creating an agent through the REST API (CONTRACT.md §2): staff give the agent's collectivity,
an employer creates only in his own (another collectivity is 404, nothing written)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.workforce.models import Agent

AGENT = {
    "civility": "Monsieur",
    "first_name": "Gérard",
    "birth_name": "Lefèvre",
    "birth_date": "1979-11-23",
}


def agents_named(db_ctx: Any, birth_name: str) -> list[tuple[int, bool]]:
    with db_ctx() as session:
        return [
            (agent.collectivity_id, agent.validated)
            for agent in session.scalars(select(Agent).where(Agent.birth_name == birth_name))
        ]


def test_the_secretariat_creates_an_agent_in_the_collectivity_it_names(api_login, users, db_ctx):
    api = api_login(users.secretariat)
    response = api.post(
        "/api/v1/agent/", json={**AGENT, "collectivity_id": users.collectivity_b.id}
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["result"]["collectivity_id"] == users.collectivity_b.id
    shown = api.get(f"/api/v1/agent/{response.get_json()['id']}").get_json()["result"]
    assert (shown["collectivity_id"], shown["validated"]) == (users.collectivity_b.id, True)
    assert agents_named(db_ctx, "LEFÈVRE") == [(users.collectivity_b.id, True)]


def test_staff_must_name_an_existing_collectivity(api_login, users, db_ctx):
    api = api_login(users.secretariat)
    missing = api.post("/api/v1/agent/", json=AGENT)
    assert missing.status_code == 400
    assert "collectivité" in missing.get_json()["message"]
    unknown = api.post("/api/v1/agent/", json={**AGENT, "collectivity_id": 987654})
    assert unknown.status_code == 404
    assert agents_named(db_ctx, "LEFÈVRE") == []


def test_an_employer_creates_in_his_own_collectivity_with_or_without_naming_it(
    api_login, users, db_ctx
):
    api = api_login(users.primary_a)
    implicit = api.post("/api/v1/agent/", json=AGENT)
    assert implicit.status_code == 201, implicit.get_json()
    named = api.post(
        "/api/v1/agent/",
        json={**AGENT, "first_name": "Paul", "collectivity_id": users.collectivity_a.id},
    )
    assert named.status_code == 201, named.get_json()
    # Created by the employer: they await the CDG's validation.
    assert agents_named(db_ctx, "LEFÈVRE") == [(users.collectivity_a.id, False)] * 2


def test_an_employer_naming_another_collectivity_gets_404_and_nothing_is_created(
    api_login, users, db_ctx
):
    with db_ctx() as session:
        before = session.scalar(select(func.count(Agent.id)))
    for user in (users.primary_a, users.secondary_a):
        response = api_login(user).post(
            "/api/v1/agent/", json={**AGENT, "collectivity_id": users.collectivity_b.id}
        )
        assert response.status_code == 404
        assert "message" in response.get_json()
    with db_ctx() as session:
        assert session.scalar(select(func.count(Agent.id))) == before


def test_the_collectivity_of_an_agent_cannot_be_changed_through_the_api(api_login, users, db_ctx):
    api = api_login(users.secretariat)
    created = api.post(
        "/api/v1/agent/", json={**AGENT, "collectivity_id": users.collectivity_a.id}
    ).get_json()
    response = api.put(
        f"/api/v1/agent/{created['id']}", json={"collectivity_id": users.collectivity_b.id}
    )
    assert response.status_code in (400, 422)
    assert agents_named(db_ctx, "LEFÈVRE") == [(users.collectivity_a.id, True)]
