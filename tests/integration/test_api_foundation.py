"""REST API skeleton (CONTRACT.md §2): JWT login, the collectivity resource, OpenAPI, French errors."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models import Collectivity


def test_jwt_login_and_collectivity_list(api_login, users):
    api = api_login(users.secretariat)
    response = api.get("/api/v1/collectivity/")
    assert response.status_code == 200
    body = response.get_json()
    names = {row["name"] for row in body["result"]}
    assert {"Commune A", "Commune B"} <= names
    row = next(r for r in body["result"] if r["name"] == "Commune A")
    assert set(row) >= {"id", "name", "siret", "membership_number", "category", "regime"}
    assert row["category"] == "affiliee" and row["regime"] == "public"


def test_a_wrong_password_is_refused_without_saying_why(client, users):
    response = client.post(
        "/api/v1/security/login",
        json={"username": users.secretariat.username, "password": "Mauvais-1", "provider": "db"},
    )
    assert response.status_code == 401


def test_unknown_id_answers_404_with_a_french_message(api_login, users):
    api = api_login(users.secretariat)
    response = api.get("/api/v1/collectivity/999999")
    assert response.status_code == 404
    assert response.get_json()["message"] == "Enregistrement introuvable."


def test_creating_a_collectivity_through_the_api_checks_the_siret(api_login, users, db_ctx):
    api = api_login(users.secretariat)
    bad = api.post(
        "/api/v1/collectivity/",
        json={
            "name": "Commune X",
            "siret": "12345678901234",
            "category": "affiliee",
            "kind": "commune",
            "regime": "public",
        },
    )
    assert bad.status_code == 400
    assert "SIRET" in bad.get_json()["message"]
    good = api.post(
        "/api/v1/collectivity/",
        json={
            "name": "Commune X",
            "siret": "21690123100011",
            "category": "affiliee",
            "kind": "commune",
            "regime": "public",
            "has_own_cst": False,
            "secretariat_mode": "cdg",
        },
    )
    assert good.status_code == 201, good.get_json()
    duplicate = api.post(
        "/api/v1/collectivity/",
        json={
            "name": "Commune Y",
            "siret": "21690123100011",
            "category": "affiliee",
            "kind": "commune",
            "regime": "public",
            "has_own_cst": False,
            "secretariat_mode": "cdg",
        },
    )
    assert duplicate.status_code == 400
    assert duplicate.get_json()["message"] == "Nous avons déjà un adhérent avec ce numéro de Siret."
    missing = api.post("/api/v1/collectivity/", json={"siret": "21690123100029"})
    assert missing.status_code == 422
    assert missing.get_json()["message"]["name"] == ["Champ obligatoire."]
    with db_ctx() as session:
        assert (
            session.scalar(
                select(func.count(Collectivity.id)).where(
                    Collectivity.name.in_(["Commune X", "Commune Y"])
                )
            )
            == 1
        )


def test_page_size_is_capped_on_the_api(api_login, users):
    api = api_login(users.secretariat)
    response = api.get("/api/v1/collectivity/?q=(page_size:100000)")
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert len(response.get_json()["result"]) <= 100


def test_openapi_description_is_served(api_login, users):
    api = api_login(users.secretariat)
    response = api.get("/api/v1/_openapi")
    assert response.status_code == 200
    paths = response.get_json()["paths"]
    assert {"/api/v1/collectivity/", "/api/v1/office/", "/api/v1/professional/"} <= set(paths)


def test_an_employer_reads_only_his_own_collectivity(api_login, users):
    api = api_login(users.primary_a)
    listing = api.get("/api/v1/collectivity/").get_json()
    assert [row["id"] for row in listing["result"]] == [users.collectivity_a.id]
    assert listing["count"] == 1
    assert api.get(f"/api/v1/collectivity/{users.collectivity_b.id}").status_code == 404
    assert api.get(f"/api/v1/collectivity/{users.collectivity_a.id}").status_code == 200
    # Read-only for employers: no write permission.
    assert (
        api.put(f"/api/v1/collectivity/{users.collectivity_a.id}", json={"name": "x"}).status_code
        == 403
    )
