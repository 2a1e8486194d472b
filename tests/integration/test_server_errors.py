"""Bad input is a 400 (or a 404 for an id that cannot exist) with a French message, never a 500.

One regression test per cause of HTTP 500 found by fuzzing (security issue 8).
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text

from app import roles
from app.referential.models import Professional
from tests import factories

HUGE = 2**63 + 1  # above SQLite's INTEGER and PostgreSQL's BIGINT


def _french_400(response, *words: str) -> str:
    assert response.status_code == 400, (response.status_code, response.get_data(as_text=True))
    message = response.get_json()["message"]
    assert isinstance(message, str), message
    for word in words:
        assert word in message, message
    return message


# -- rison -----------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["((((", "(a:", "!(!(!(!("])
def test_a_rison_that_breaks_the_parser_is_a_400(api_login, users, q):
    api = api_login(users.admin)
    for url in ("/api/v1/collectivity/", "/api/v1/collectivity/_info", "/api/v1/plage/"):
        _french_400(api.get(url, query_string={"q": q}), "q")


# -- integers too large for the database --------------------------------------------------------


def test_an_id_above_2_63_in_the_url_is_a_404(api_login, login, users):
    api = api_login(users.admin)
    for url in (f"/api/v1/collectivity/{HUGE}", f"/api/v1/plage/{HUGE}/book"):
        response = api.get(url) if "book" not in url else api.post(url, json={})
        assert response.status_code == 404, response.get_data(as_text=True)
        assert response.get_json()["message"] == "Enregistrement introuvable."
    web = login(users.admin)
    for url in (f"/collectivityview/show/{HUGE}", f"/collectivityview/edit/{HUGE}"):
        assert web.get(url).status_code == 404


def test_an_integer_above_2_63_in_a_body_is_a_400(api_login, users, db_ctx):
    with db_ctx() as session:
        office = factories.make_office(session, served=[users.collectivity_a])
        doctor = factories.make_professional(session)
    api = api_login(users.secretariat)
    response = api.post(
        "/api/v1/plage/",
        json={
            "office_id": HUGE,
            "professional_id": doctor.id,
            "start": "2031-03-03T09:00:00",
            "end": "2031-03-03T12:00:00",
            "appointment_minutes": 20,
            "nature": "medecin",
        },
    )
    _french_400(response, "trop grand")
    response = api.put(f"/api/v1/office/{office.id}", json={"name": "Cabinet", "postcode": HUGE})
    assert response.status_code in (400, 422), response.get_data(as_text=True)


def test_a_page_above_2_63_is_a_400(api_login, users):
    api = api_login(users.admin)
    q = f"(page:{HUGE},page_size:10)"
    _french_400(api.get("/api/v1/collectivity/", query_string={"q": q}), "trop grand")
    q = "(page:922337203685477580,page_size:100)"  # fits, but the offset overflows
    _french_400(api.get("/api/v1/collectivity/", query_string={"q": q}), "page")
    _french_400(api.get("/api/v1/collectivity/", query_string={"q": "(page:-1)"}), "page")


def test_an_integer_above_2_63_in_a_filter_is_a_400(api_login, login, users):
    api = api_login(users.admin)
    q = f"(filters:!((col:office_id,opr:eq,value:{HUGE})))"
    _french_400(api.get("/api/v1/plage/", query_string={"q": q}), "trop grand")
    web = login(users.admin)
    response = web.get(f"/conventionview/list/?_flt_0_number={HUGE}")
    assert response.status_code in (200, 400)


# -- enums ----------------------------------------------------------------------------------


def test_an_unknown_enum_in_a_web_filter_is_a_french_400(login, users):
    web = login(users.admin)
    response = web.get("/collectivityview/list/?_flt_0_kind=inconnu")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Valeur inconnue" in page and "inconnu" in page
    assert web.get("/collectivityview/list/?_flt_0_kind=commune").status_code == 200


def test_an_unknown_enum_in_an_api_filter_is_a_400(api_login, users):
    api = api_login(users.admin)
    q = "(filters:!((col:category,opr:eq,value:inconnue)))"
    _french_400(api.get("/api/v1/collectivity/", query_string={"q": q}), "Valeur inconnue")
    q = "(filters:!((col:category,opr:eq,value:affiliee)))"
    assert api.get("/api/v1/collectivity/", query_string={"q": q}).status_code == 200


@pytest.mark.parametrize("role", ["", "inconnu"])
def test_an_empty_or_unknown_enum_posted_in_a_form_is_a_form_error(login, users, db_ctx, role):
    web = login(users.admin)
    response = web.post_form(
        "/professionalview/add",
        {"role": role, "last_name": "ENUMTEST", "first_name": "Paul", "is_active": "y"},
    )
    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True)
    assert ("Choix invalide." if role else "Ce champ est requis.") in page
    with db_ctx() as session:
        assert (
            session.scalar(select(Professional).where(Professional.last_name == "ENUMTEST")) is None
        )


def _plage(db_ctx, users) -> int:
    import datetime as dt

    from app.planning.models import Plage, PlageNature, PlageState

    with db_ctx() as session:
        office = factories.make_office(session, served=[users.collectivity_a])
        doctor = factories.make_professional(session)
        start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=10), dt.time(9, 0))
        plage = Plage(
            office_id=office.id,
            professional_id=doctor.id,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=60),
            appointment_minutes=20,
            nature=PlageNature.medecin,
            state=PlageState.commune,
        )
        session.add(plage)
        session.flush()
        return plage.id


# -- the columns argument, ordering -----------------------------------------------------------


def test_columns_on_a_resource_with_its_own_schema_is_not_a_500(api_login, users, db_ctx):
    """Such a resource answers with its documented schema; ``columns`` is ignored."""
    plage_id = _plage(db_ctx, users)
    api = api_login(users.secretariat)
    response = api.get("/api/v1/plage/", query_string={"q": "(columns:!(id))"})
    assert response.status_code == 200, response.get_data(as_text=True)
    response = api.get("/api/v1/plage/", query_string={"q": "(columns:!(id,starts_at))"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["result"][0].keys() >= {"id", "start", "free_capacity"}
    response = api.get(f"/api/v1/plage/{plage_id}", query_string={"q": "(columns:!(id))"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "free_capacity" in response.get_json()["result"]


def test_ordering_by_a_relation_is_refused_or_ignored(api_login, login, users):
    web = login(users.admin)
    response = web.get("/professionalview/list/?_oc_ProfessionalView=user&_od_ProfessionalView=asc")
    assert response.status_code == 200
    response = web.get("/contactview/list/?_oc_ContactView=collectivity&_od_ContactView=desc")
    assert response.status_code == 200
    api = api_login(users.admin)
    q = "(order_column:office,order_direction:asc)"
    _french_400(api.get("/api/v1/plage/", query_string={"q": q}), "tri")
    q = "(order_column:served_collectivities,order_direction:asc)"
    _french_400(api.get("/api/v1/office/", query_string={"q": q}), "tri")


def test_every_list_screen_survives_ordering_by_any_of_its_columns(app, login, users):
    """Every list column of every screen, sortable or not (computed properties, relations),
    as the Admin who sees them all: never a server error."""
    from flask_appbuilder import ModelView

    web = login(users.admin)
    tried = 0
    for view in app.appbuilder.baseviews:
        if not isinstance(view, ModelView) or not view.list_columns:
            continue
        name = view.__class__.__name__
        url = f"{view.route_base}/list/"
        for column in view.list_columns:
            response = web.get(url, query_string={f"_oc_{name}": column, f"_od_{name}": "asc"})
            tried += 1
            assert response.status_code < 500, (name, column)
    assert tried > 50


# -- malformed JSON bodies --------------------------------------------------------------------


@pytest.mark.parametrize("body", [[None, None], "texte", 3, None])
def test_a_body_that_is_not_a_json_object_is_a_400(api_login, users, db_ctx, body):
    with db_ctx() as session:
        office = factories.make_office(session)
    api = api_login(users.secretariat)
    for method, url in (
        ("post", "/api/v1/collectivity/"),
        ("put", f"/api/v1/office/{office.id}"),
        ("post", "/api/v1/plage/"),
    ):
        response = getattr(api, method)(
            url, data=__import__("json").dumps(body), content_type="application/json"
        )
        _french_400(response, "objet JSON")


def test_a_malformed_json_body_is_a_french_400(api_login, users):
    api = api_login(users.secretariat)
    response = api.post("/api/v1/collectivity/", data="{nope", content_type="application/json")
    _french_400(response, "JSON")


def test_a_number_or_a_boolean_filtering_a_text_column_is_not_a_500(api_login, users):
    api = api_login(users.admin)
    for opr in ("sw", "ct", "ew", "eq"):
        q = f"(filters:!((col:membership_number,opr:{opr},value:1)))"
        response = api.get("/api/v1/collectivity/", query_string={"q": q})
        assert response.status_code == 200, response.get_data(as_text=True)
    q = "(filters:!((col:name,opr:ct,value:!t)))"
    _french_400(api.get("/api/v1/collectivity/", query_string={"q": q}), "Texte attendu")


@pytest.mark.parametrize(
    "risks",
    [
        {"risks": [{"a": 1}]},
        {"risks": ["cmr"], "risk_precisions": "texte"},
        {"risks": ["cmr"], "risk_precisions": {"cmr": {"caces_categories": {"a": 1}}}},
    ],
)
def test_wrong_types_inside_a_position_body_are_a_422(api_login, users, risks):
    api = api_login(users.primary_a)
    response = api.post(
        "/api/v1/work_position/", json={"label": "AGENT TECHNIQUE", "pcs_code": "684a", **risks}
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert isinstance(response.get_json()["message"], dict)


# -- FAB download routes ----------------------------------------------------------------------


def test_fab_download_routes_are_404_without_upload_folder(login, users):
    web = login(users.admin)
    for url in ("/collectivityview/download/x.txt", "/users/download/x.txt"):
        assert web.get(url).status_code == 404, url


# -- NUL bytes --------------------------------------------------------------------------------


def test_a_nul_byte_in_an_api_text_field_is_a_french_400(api_login, users, db_ctx):
    with db_ctx() as session:
        office = factories.make_office(session)
    api = api_login(users.secretariat)
    _french_400(api.put(f"/api/v1/office/{office.id}", json={"name": "Cab\x00inet"}), "nul")
    _french_400(
        api.get(
            "/api/v1/office/", query_string={"q": "(filters:!((col:name,opr:ct,value:'a\x00')))"}
        ),
        "nul",
    )


def test_a_nul_byte_in_a_form_field_is_a_french_400(login, users, db_ctx):
    web = login(users.admin)
    response = web.post_form(
        "/professionalview/add",
        {"role": "medecin", "last_name": "NUL\x00TEST", "first_name": "Paul", "is_active": "y"},
    )
    assert response.status_code == 400
    assert "caractère nul" in response.get_data(as_text=True)
    assert web.get("/collectivityview/list/?_flt_0_name=a%00b").status_code == 400
    with db_ctx() as session:
        assert (
            session.scalar(
                select(Professional).where(
                    Professional.first_name == "Paul", Professional.last_name.like("NUL%")
                )
            )
            is None
        )


# -- _info ------------------------------------------------------------------------------------


def test_info_descriptions_do_not_carry_the_catalogue_header(api_login, users):
    api = api_login(users.admin)
    body = api.get("/api/v1/collectivity/_info").get_json()
    fields = [*body["add_columns"], *body["edit_columns"]]
    assert fields
    for field in fields:
        assert "Project-Id-Version" not in field["description"], field
        assert "Content-Type" not in field["label"], field
    undocumented = next(f for f in fields if f["name"] == "main_city")
    assert undocumented["description"] == ""


# -- two concurrent SQLite writers -------------------------------------------------------------


@pytest.mark.committing
def test_two_concurrent_writers_wait_for_each_other(app, db_ctx):
    """A request that reads then writes must not fail with « database is locked » because a
    second writer committed in between (SQLite: a deferred transaction cannot upgrade)."""
    from app.extensions import db

    with db_ctx() as session:
        first = factories.make_collectivity(session, name="Écrivain A")
        second = factories.make_collectivity(session, name="Écrivain B")
    read_done = threading.Event()
    errors: list[BaseException] = []

    def reader_then_writer() -> None:
        try:
            with (
                app.test_request_context("/", method="POST"),
                db.engine.connect() as connection,
                connection.begin(),
            ):
                connection.execute(text("SELECT name FROM collectivity")).all()
                read_done.set()
                time.sleep(0.5)
                connection.execute(
                    text("UPDATE collectivity SET main_city = 'Vienne' WHERE id = :id"),
                    {"id": first.id},
                )
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
            read_done.set()

    def writer() -> None:
        try:
            read_done.wait(10)
            with (
                app.test_request_context("/", method="PUT"),
                db.engine.connect() as connection,
                connection.begin(),
            ):
                connection.execute(
                    text("UPDATE collectivity SET main_city = 'Givors' WHERE id = :id"),
                    {"id": second.id},
                )
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=reader_then_writer), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with db_ctx() as session:
        cities = dict(
            session.execute(
                text("SELECT name, main_city FROM collectivity WHERE id IN (:a, :b)"),
                {"a": first.id, "b": second.id},
            ).all()
        )
    assert cities == {"Écrivain A": "Vienne", "Écrivain B": "Givors"}


def test_reads_stay_deferred_on_sqlite(app):
    """GET requests do not take SQLite's write lock (they would serialise every reader)."""
    from app.core import sqlite

    with app.test_request_context("/", method="GET"):
        assert sqlite.begin_statement() == "BEGIN"
    with app.test_request_context("/", method="POST"):
        assert sqlite.begin_statement() == "BEGIN IMMEDIATE"
    assert roles.ADMIN
