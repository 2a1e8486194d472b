"""Staff manage collectivities in French screens; bad input gets a French message, loses nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models import AuditLog, Collectivity
from tests.util import text

VALID_SIRET = "21690123100011"  # a Luhn-valid SIRET


def _form(**overrides):
    data = {
        "name": "Commune de Saint-Exemple",
        "kind": "commune",
        "siret": "216 901 231 00011",
        "naf_code": "8411z",
        "membership_number": "A-0042",
        "regime": "public",
        "category": "affiliee",
        "secretariat_mode": "cdg",
        "membership_start": "01/01/2025",
        "membership_end": "",
        "main_line1": "1 place de la Mairie",
        "main_postcode": "69160",
        "main_city": "Saint-Exemple",
    }
    data.update(overrides)
    return data


def test_secretary_creates_a_collectivity_with_normalised_identifiers(login, users, db_ctx):
    web = login(users.secretariat)
    response = web.post_form("/collectivityview/add", _form())
    assert response.status_code == 302
    with db_ctx() as session:
        created = session.scalar(
            select(Collectivity).where(Collectivity.name == "Commune de Saint-Exemple")
        )
        assert created.siret == VALID_SIRET
        assert created.siren == VALID_SIRET[:9]
        assert created.naf_code == "84.11Z"
        assert created.membership_start.isoformat() == "2025-01-01"
    page = web.get(f"/collectivityview/show/{created.id}").get_data(as_text=True)
    assert "01/01/2025" in page
    assert "Détail" in page or "Collectivité" in page


def test_invalid_siret_redisplays_the_form_with_a_french_message_and_the_typed_values(
    login, users, db_ctx
):
    web = login(users.secretariat)
    response = web.post_form("/collectivityview/add", _form(siret="21690123100012"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "clé de contrôle incorrecte" in page
    assert "Commune de Saint-Exemple" in page and "1 place de la Mairie" in page
    with db_ctx() as session:
        assert (
            session.scalar(
                select(func.count(Collectivity.id)).where(
                    Collectivity.name == "Commune de Saint-Exemple"
                )
            )
            == 0
        )


def test_duplicate_siret_gives_the_seed_message(login, users, db_ctx):
    web = login(users.secretariat)
    assert web.post_form("/collectivityview/add", _form()).status_code == 302
    again = web.post_form(
        "/collectivityview/add", _form(name="Autre commune", membership_number="A-0043")
    )
    assert again.status_code == 200
    assert "Nous avons déjà un adhérent avec ce numéro de Siret" in again.get_data(as_text=True)
    with db_ctx() as session:
        assert (
            session.scalar(
                select(func.count(Collectivity.id)).where(Collectivity.siret == VALID_SIRET)
            )
            == 1
        )


def test_missing_and_over_long_fields_are_refused_in_french(login, users, db_ctx):
    web = login(users.secretariat)
    missing = web.post_form("/collectivityview/add", _form(name=""))
    assert missing.status_code == 200
    assert "Ce champ est requis" in missing.get_data(as_text=True)
    too_long = web.post_form("/collectivityview/add", _form(name="x" * 201))
    assert too_long.status_code == 200
    assert "200 caractères" in too_long.get_data(as_text=True)
    bad_date = web.post_form("/collectivityview/add", _form(membership_start="31/02/2025"))
    assert bad_date.status_code == 200
    with db_ctx() as session:
        assert (
            session.scalar(
                select(func.count(Collectivity.id)).where(Collectivity.siret == VALID_SIRET)
            )
            == 0
        )


def test_membership_end_before_start_is_refused(login, users):
    web = login(users.secretariat)
    response = web.post_form("/collectivityview/add", _form(membership_end="31/12/2024"))
    assert response.status_code == 200
    assert "ne peut pas précéder" in response.get_data(as_text=True)


def test_editing_a_collectivity_is_audited_with_old_and_new_values(login, users, db_ctx):
    web = login(users.secretariat)
    collectivity_id = users.collectivity_a.id
    data = _form(
        siret=users.collectivity_a.siret, name="Commune A renommée", membership_number="A-9"
    )
    response = web.post_form(f"/collectivityview/edit/{collectivity_id}", data)
    assert response.status_code == 302
    with db_ctx() as session:
        entry = session.scalars(
            select(AuditLog).where(
                AuditLog.table_name == "collectivity",
                AuditLog.row_id == str(collectivity_id),
                AuditLog.action == "update",
            )
        ).all()[-1]
        assert entry.changes["name"] == ["Commune A", "Commune A renommée"]
        assert entry.username == users.secretariat.username
    admin = login(users.admin)
    page = admin.get("/auditlogview/list/").get_data(as_text=True)
    assert "Modification" in page and "collectivity" in page


def test_page_size_in_the_url_is_validated_and_capped(login, users):
    web = login(users.secretariat)
    for value in ("abc", "-3", "100000"):
        response = web.get(
            f"/collectivityview/list/?psize_CollectivityView={value}&page_CollectivityView={value}"
        )
        assert response.status_code == 200


def test_screens_are_in_french(login, users):
    web = login(users.secretariat)
    page = web.get("/collectivityview/list/").get_data(as_text=True)
    for french in ("Collectivités adhérentes", "Rechercher", "Nom", "Catégorie de tarification"):
        assert french in page
    for english in ("List Collectivity", "Add Filter", ">Search<", "Record Count"):
        assert english not in page


def test_an_impossible_date_gets_the_expected_format_in_french(login, users):
    web = login(users.secretariat)
    response = web.post_form("/collectivityview/add", _form(membership_start="31/02/2025"))
    assert response.status_code == 200
    assert "Date impossible : « 31/02/2025 » n'existe pas au calendrier." in text(response)
