"""CSV and XLSX exports of the lists (issue 10): the list's filters and order, French headers and
formats, formula injection neutralised, the tenant scope, streamed, a constant number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import func, select

from app.planning.models import Plage
from app.referential.models import ContractType
from app.workforce.models import Contract, WorkPosition
from tests import factories, isolation
from tests.isolation import make_agent


def _position(session, collectivity, label="Agent d'entretien", pcs="684a"):
    position = WorkPosition(collectivity_id=collectivity.id, pcs_code=pcs)
    position.set_label(label)
    session.add(position)
    session.flush()
    return position


def _hire(session, agent, position, start=dt.date(2020, 3, 12)):
    contract_type = session.scalar(select(ContractType).where(ContractType.code == "titulaire"))
    session.add(
        Contract(
            agent_id=agent.id,
            collectivity_id=agent.collectivity_id,
            work_position_id=position.id,
            contract_type_id=contract_type.id,
            start_date=start,
        )
    )
    session.flush()


def _csv(response):
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    data = response.get_data()
    assert data.startswith("\ufeff".encode()), "no BOM: Excel would garble the accents"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def _xlsx(response):
    assert response.status_code == 200, response.status_code
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def staffed(db_ctx, users):
    """Collectivity A with three agents (one named like a formula), B with one."""
    with db_ctx() as session:
        a, b = users.collectivity_a, users.collectivity_b
        cleaner = _position(session, a)
        formula = _position(session, a, label="=cmd|' /C calc'!A0", pcs="633a")
        martin = make_agent(session, a, birth_name="MARTIN", first_name="Émile")
        gerard = make_agent(
            session, a, birth_name="GÉRARD", first_name="Anne", birth_date=dt.date(1988, 3, 12)
        )
        injected = make_agent(session, a, birth_name="=HYPERLINK(1)", first_name="Zoé")
        other = make_agent(session, b, birth_name="MARTINBEE", first_name="Bob")
        for agent in (martin, gerard, injected):
            _hire(session, agent, cleaner)
        _hire(session, other, _position(session, b, label="Poste de B"))
        return {"formula_position": formula.id, "martin": martin.id, "other": other.id}


def test_the_agents_csv_has_the_lists_french_headers_filter_and_french_dates(login, users, staffed):
    web = login(users.secretariat)
    rows = _csv(
        web.get(f"/effectif/export/csv?onglet=tous&nom=ger&collectivity={users.collectivity_a.id}")
    )
    assert rows[0] == [
        "Collectivité",
        "Nom et prénom",
        "Date de naissance",
        "Poste occupé",
        "Date de début",
        "Date de fin",
        "Service",
        "État",
    ]
    assert len(rows) == 2, rows
    assert rows[1][1] == "GÉRARD Anne"
    assert rows[1][2] == "12/03/1988"
    assert rows[1][3] == "Agent d'entretien"
    assert rows[1][4] == "12/03/2020"


def test_the_agents_export_follows_the_lists_order_in_both_formats(login, users, staffed):
    web = login(users.primary_a)
    page = web.get("/effectif/?onglet=tous").get_data(as_text=True)
    csv_names = [row[0] for row in _csv(web.get("/effectif/export/csv?onglet=tous"))[1:]]
    xlsx_rows = _xlsx(web.get("/effectif/export/xlsx?onglet=tous"))
    assert xlsx_rows[0][0] == "Nom et prénom", "an employer's export has no collectivity column"
    xlsx_names = [row[0] for row in xlsx_rows[1:]]
    assert csv_names == [name.lstrip("'") for name in xlsx_names] or csv_names == xlsx_names
    assert len(csv_names) == 3
    # The page lists them in the same order as the file.
    positions = [page.index(name.lstrip("'")) for name in csv_names]
    assert positions == sorted(positions)
    # XLSX dates stay dates (sortable in the spreadsheet), shown JJ/MM/AAAA.
    assert isinstance(xlsx_rows[1][1], dt.datetime)


def test_a_cell_starting_like_a_formula_is_neutralised(login, users, staffed):
    web = login(users.primary_a)
    names = [row[0] for row in _csv(web.get("/effectif/export/csv?onglet=tous"))[1:]]
    assert "'=HYPERLINK(1) Zoé" in names
    assert not any(name.startswith("=") for name in names)
    labels = [row[0] for row in _xlsx(web.get("/postes/export/xlsx"))[1:]]
    assert "'=cmd|' /C calc'!A0" in labels
    assert not any(str(label).startswith("=") for label in labels)


def test_an_employer_export_never_holds_another_collectivitys_row(login, users, staffed):
    web = login(users.primary_a)
    for url in ("/effectif/export/csv?onglet=tous", "/postes/export/csv"):
        body = web.get(url).get_data(as_text=True)
        assert "MARTINBEE" not in body and "Poste de B" not in body, url
        assert web.get(url.replace("csv", "xlsx")).status_code == 200
    xlsx = _xlsx(web.get("/effectif/export/xlsx?onglet=tous"))
    assert not any("MARTINBEE" in str(cell) for row in xlsx for cell in row)
    # Asking for B's collectivity changes nothing: an employer always works on its own.
    forged = web.get(f"/effectif/export/csv?onglet=tous&collectivity={users.collectivity_b.id}")
    assert "MARTINBEE" not in forged.get_data(as_text=True)
    assert len(_csv(forged)) == 4


@pytest.fixture
def world(db_ctx):
    with db_ctx() as session:
        return isolation.build_world(session)


def test_a_secondary_account_exports_only_its_agents(login, world):
    web = login(world.secondary_a)
    for fmt in ("csv", "xlsx"):
        response = web.get(f"/effectif/export/{fmt}?onglet=tous")
        text = isolation.response_text(response)
        assert "VISIBLEA" in text, fmt
        assert isolation.HIDDEN_A not in text and isolation.SECRET_B not in text, fmt


def test_the_plages_export_holds_only_the_plages_the_employer_sees(login, world):
    first = dt.date.today() + dt.timedelta(days=29)
    last = first + dt.timedelta(days=3)
    args = f"du={first:%d/%m/%Y}&au={last:%d/%m/%Y}"
    web = login(world.primary_a)
    rows = _csv(web.get(f"/portail/consultations/export/csv?{args}"))
    assert rows[0][:4] == ["Date", "Début", "Fin", "Cabinet"]
    cabinets = {row[3] for row in rows[1:]}
    assert cabinets == {"Cabinet partagé"}
    states = sorted(row[6] for row in rows[1:])
    assert states == ["Commune", "Réservée"], states
    assert isolation.SECRET_B not in "".join(";".join(r) for r in rows)
    xlsx = _xlsx(web.get(f"/portail/consultations/export/xlsx?{args}"))
    assert len(xlsx) == len(rows)


def test_the_staff_plages_export_follows_the_calendars_filters(login, world, db_ctx):
    with db_ctx() as session:
        # The world's planning day: the day with the most plages (other builders add a few
        # plages on days of their own).
        starts = session.scalars(select(Plage.starts_at)).all()
        day = max({s.date() for s in starts}, key=lambda d: sum(s.date() == d for s in starts))
        office_id = session.scalar(
            select(Plage.office_id)
            .where(func.date(Plage.starts_at) == day)
            .order_by(Plage.id.desc())
        )
    web = login(world.staff)
    every = _csv(web.get(f"/plages/export/csv?jour={day.isoformat()}"))
    one_office = _csv(web.get(f"/plages/export/csv?jour={day.isoformat()}&cabinet={office_id}"))
    assert len(every) == 7 and 1 < len(one_office) < len(every)
    assert "Réservée pour" in every[0]


def test_the_csv_is_streamed_and_the_query_count_does_not_grow_with_rows(
    login, users, db_ctx, count_queries, app
):
    with db_ctx() as session:
        position = _position(session, users.collectivity_a)
        for _ in range(5):
            _hire(session, make_agent(session, users.collectivity_a), position)
    web = login(users.primary_a)
    counts = {}
    for total in (5, 50):
        with count_queries() as few:
            response = web.get("/effectif/export/csv?onglet=tous")
            assert response.is_streamed
            assert len(_csv(response)) == total + 1
        counts[total] = few.count
        with count_queries() as xlsx:
            assert len(_xlsx(web.get("/effectif/export/xlsx?onglet=tous"))) == total + 1
        counts[f"xlsx{total}"] = xlsx.count
        if total == 5:
            with db_ctx() as session:
                for _ in range(45):
                    _hire(session, make_agent(session, users.collectivity_a), position)
    assert counts[5] == counts[50], counts
    assert counts["xlsx5"] == counts["xlsx50"], counts


def test_fab_lists_export_their_filtered_rows(login, users, db_ctx):
    with db_ctx() as session:
        factories.make_collectivity(session, name="Mairie de Gerland")
        factories.make_collectivity(session, name="=SUM(A1) Syndicat")
    web = login(users.secretariat)
    rows = _csv(web.get("/collectivityview/export/csv?_flt_2_name=Gerland"))
    assert rows[0][0] == "Nom"
    assert [row[0] for row in rows[1:]] == ["Mairie de Gerland"]
    ordered = _csv(
        web.get("/collectivityview/export/csv?_oc_CollectivityView=name&_od_CollectivityView=desc")
    )
    names = [row[0] for row in ordered[1:]]
    assert names == sorted(names, key=str.lower, reverse=True) or names[0] > names[-1]
    assert any(name == "'=SUM(A1) Syndicat" for name in names)
    page = web.get("/collectivityview/list/?_flt_2_name=Gerland").get_data(as_text=True)
    assert "Exporter CSV" in page and "Exporter Excel" in page
    assert "export/csv?_flt_2_name=Gerland" in page


def test_export_buttons_show_only_on_lists_the_role_sees(login, users):
    secretariat = login(users.secretariat)
    for url in ("/effectif/", "/postes/", "/plages/"):
        assert "Exporter Excel" in secretariat.get(url).get_data(as_text=True), url
    employer = login(users.primary_a)
    assert "Exporter CSV" in employer.get("/portail/consultations/").get_data(as_text=True)
    assert employer.get("/plages/export/csv").status_code in (302, 403, 404)
    # An employer reads its own collectivity's record only, in its export too.
    names = [row[0] for row in _csv(employer.get("/collectivityview/export/csv"))[1:]]
    assert names == [users.collectivity_a.name]


@pytest.mark.parametrize(
    "url",
    [
        "/effectif/export/pdf",
        "/effectif/export/csv?onglet=%00&nom=%ff&poste=(&service=\\&page=-1&collectivity=abc",
        "/postes/export/xlsx?q=%27%22%3C&clotures=x",
        "/plages/export/csv?jour=2026-02-31&professionnel=x&cabinet=-1",
        "/portail/consultations/export/csv?du=31/02/2026&au=xx",
        "/portail/consultations/export/xlsx?du=01/01/2026&au=01/01/2030",
        "/collectivityview/export/csv?_flt_9_name=x&_oc_CollectivityView=kind&_od_CollectivityView=up",
        "/conventionview/export/xlsx?_flt_0_start_date=31/02/2026",
    ],
)
def test_bad_export_arguments_never_give_a_server_error(login, users, url):
    for who in (users.secretariat, users.primary_a):
        response = login(who).get(url)
        response.get_data()  # a streamed body is read to its end (and its context closed)
        assert response.status_code < 500, (url, response.status_code)
        if url.endswith("/pdf"):
            assert response.status_code == 404
