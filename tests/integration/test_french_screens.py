"""Screens for people who are not developers (issue 10): words, not internals."""

from __future__ import annotations

import re

import pytest
from flask_appbuilder.api import ModelRestApi

from app import roles
from app.security import MATRIX
from tests import factories, isolation

NBSP = "\u00a0"
# Column labels that are the same word in French and in English.
SAME_IN_FRENCH = {"Service", "Nature", "Agent", "Code", "Type", "Mission", "Plage", "Date"}


def _resources(app):
    return [
        view
        for view in app.appbuilder.baseviews
        if isinstance(view, ModelRestApi) and view.__module__.startswith("app.")
    ]


def _english_guess(column: str, label: str) -> bool:
    return label == column.replace("_", " ").title() and label not in SAME_IN_FRENCH


def test_every_rest_resource_names_its_columns_in_french(app, api_login, users):
    api = api_login(users.admin)
    english = {}
    for resource in _resources(app):
        response = api.get(f"/api/v1/{resource.resource_name}/")
        assert response.status_code == 200, resource.resource_name
        served = response.get_json()["label_columns"]
        columns = {
            *resource.list_columns,
            *resource.show_columns,
            *resource.add_columns,
            *resource.edit_columns,
        }
        labels = {c: str(resource.label_columns.get(c, c)) for c in columns} | served
        guessed = {c: label for c, label in labels.items() if _english_guess(c, label)}
        if guessed:
            english[resource.resource_name] = guessed
    assert english == {}
    agent = api.get("/api/v1/agent/").get_json()["label_columns"]
    assert agent["birth_name"] == "Nom de naissance" and agent["birth_date"] == "Date de naissance"


def test_the_users_list_says_oui_non_and_names_the_roles(login, users):
    body = login(users.admin).get("/users/list/").get_data(as_text=True)
    assert re.search(r"<td>\s*Oui\s*</td>", body)
    assert "Employeur principal" in body and "Secrétariat" in body
    assert "[Employeur principal]" not in body and "True" not in body
    assert "Groupes" not in body


def test_the_roles_screen_is_the_permission_matrix_in_french(login, users):
    body = login(users.admin).get("/roles/list/").get_data(as_text=True)
    rows = re.findall(r'<th scope="row">([^<]+)</th>', body)
    assert len(rows) == len(MATRIX)
    assert "Agents" in rows and "Postes de travail" in rows and "Mes coordonnées" in rows
    assert "lire, modifier, supprimer" in body and "réserver/refuser/annuler" in body
    assert not any(re.fullmatch(r"[A-Z][a-z]+[A-Z]\w*", row) for row in rows), rows


def test_the_audit_log_names_records_and_fields_in_french(login, users, db_ctx):
    from sqlalchemy import select

    from app.core.audit import AuditLog

    with db_ctx() as session:
        agent = isolation.make_agent(session, users.collectivity_a, marker="AUDIT")
        session.flush()
        entry = session.scalar(
            select(AuditLog).where(AuditLog.table_name == "agent", AuditLog.row_id == str(agent.id))
        )
    web = login(users.admin)
    listing = web.get("/auditlogview/list/").get_data(as_text=True)
    assert "Commune A" in listing and ">Agent<" in listing.replace(" ", "").replace("\n", "")
    shown = web.get(f"/auditlogview/show/{entry.id}").get_data(as_text=True)
    assert "Nom de naissance : ∅ → NOMAUDIT" in shown
    assert "birth_name" not in shown and "collectivity_id" not in shown


def test_tariffs_show_euros_rates_and_french_categories(login, users):
    body = login(users.comptabilite).get("/tariffview/list/?psize_TariffView=100")
    text = body.get_data(as_text=True)
    assert f"87,00{NBSP}€ par agent et par an" in text
    assert f"5{NBSP}%" in text
    assert "Collectivité affiliée" in text
    assert ">affiliee<" not in text and "87.0000000" not in text


def test_the_menu_leaves_out_what_the_user_cannot_open(login, users):
    admin = login(users.admin).get("/").get_data(as_text=True)
    for portal in ("coordonnees", "contacts", "equipe-sante", "comptes-secondaires"):
        assert f"/portail/{portal}/" not in admin, "an administrator has no collectivity portal"
    assert "/groups/" not in admin and "Utilisateurs" in admin and "Rôles et permissions" in admin
    sante = login(users.sante).get("/plages/").get_data(as_text=True)
    assert "/plages/nouvelle" not in sante
    secondary = login(users.secondary_a).get("/").get_data(as_text=True)
    assert "/imports/" not in secondary and "/portail/comptes-secondaires/" not in secondary


@pytest.mark.parametrize("url", ["/login/", "/collectivityview/list/", "/roles/list/"])
def test_every_page_is_in_french_with_the_favicon(login, users, url, client):
    web = client if url == "/login/" else login(users.admin)
    body = web.get(url).get_data(as_text=True)
    assert '<html lang="fr">' in body
    icon = re.search(r'<link rel="icon"[^>]*href="([^"]+)"', body)
    assert icon
    with web.get(icon.group(1)) as favicon:
        assert favicon.status_code == 200 and favicon.mimetype == "image/svg+xml"


def test_a_secretary_only_button_is_not_shown_to_direction(login, users, db_ctx):
    with db_ctx() as session:
        office = factories.make_office(session, served=[users.collectivity_a])
        session.flush()
        office_id = office.id
    assert office_id
    for role in (roles.SANTE, roles.DIRECTION):
        body = login(users.by_role(role)).get("/plages/").get_data(as_text=True)
        assert "Nouvelle plage" not in body, role
    assert "Nouvelle plage" in login(users.secretariat).get("/plages/").get_data(as_text=True)


def _audited_models():
    from flask_appbuilder import Model

    return [
        mapper.class_
        for mapper in Model.registry.mappers
        if getattr(mapper.class_, "__audited__", False) or mapper.class_.__name__ == "User"
    ]


def test_the_audit_log_has_a_french_name_for_every_audited_table_and_column(app):
    from sqlalchemy import inspect

    from app.core.audit import IGNORED_COLUMNS
    from app.core.labels import declared_labels, field_label, model_label

    same_word = {"mission", "convention", "agent", "plage", "contact"}
    with app.app_context():
        unnamed = {}
        for model in _audited_models():
            table = model.__tablename__
            if (
                model_label(table) == table.replace("_", " ").capitalize()
                and table not in same_word
            ):
                unnamed[table] = "table"
            labels = declared_labels(model)
            columns = [
                attr.key
                for attr in inspect(model).column_attrs
                if attr.key not in IGNORED_COLUMNS
                and field_label(model, attr.key, labels) == attr.key
            ]
            if columns:
                unnamed[table] = columns
    assert unnamed == {}
