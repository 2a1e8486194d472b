"""Positions, agents and end-of-contract imports through the web page and the CLI (SPEC C5,
CONTRACT.md §1 and §3): every row checked before anything is written, all or nothing, a French
report by line and column, tenant isolation."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import random
import re
from collections.abc import Sequence
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from app.demo import fake_siret
from app.referential.models import Collectivity, ContractType, Risk
from app.workforce.importing import HEADERS, POSITION_RISK_COLUMNS, ImportKind, template_csv
from app.workforce.models import Agent, Contract, PositionRisk, WorkPosition
from tests.isolation import make_agent
from tests.util import text

SUMMARY_ONE = "Le fichier n'a pas été importé : 1 erreur. Aucune ligne n'a été enregistrée."


def ins_of(nir13: str) -> str:
    """An INS with a valid key: N + 13 characters + (97 - number mod 97) on 2 digits."""
    return f"N{nir13}{97 - int(nir13) % 97:02d}"


INS_HELENE = ins_of("2800569123456")
INS_PAUL = ins_of("1750169123789")


# ----------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------


def position_line(
    pcs: str = "372d",
    label: str = "Agent d'entretien",
    risks: dict[str, str] | None = None,
    description: str = "",
) -> list[str]:
    """A positions line; ``risks`` maps a risk code to its cell (« Non » elsewhere)."""
    cells = risks or {}
    return [
        pcs,
        label,
        *(cells.get(code, "Non") for code in POSITION_RISK_COLUMNS.values()),
        description,
    ]


def agent_line(
    first: str = "Hélène",
    birth: str = "Durand",
    usage: str = "",
    born: str = "05/05/1980",
    ins: str = "",
    entry: str = "01/09/2020",
    end: str = "",
    pcs: str = "372d",
    position: str = "Agent d'entretien",
    contract: str = "CDI",
    civility: str = "Madame",
) -> list[str]:
    return [civility, first, birth, usage, born, ins, entry, end, pcs, position, contract]


def csv_file(
    kind: ImportKind,
    rows: Sequence[Sequence[str]],
    *,
    delimiter: str = ";",
    encoding: str = "utf-8-sig",
    header: Sequence[str] | None = None,
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header or HEADERS[kind])
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


# ----------------------------------------------------------------------------------------------
# Web page
# ----------------------------------------------------------------------------------------------


def upload(
    web: Any, kind: str, content: bytes, filename: str = "fichier.csv", **fields: Any
) -> Any:
    token = web.csrf_token("/imports/")
    return web.post(
        f"/imports/{kind}",
        data={"csrf_token": token, "file": (io.BytesIO(content), filename), **fields},
        content_type="multipart/form-data",
    )


_REPORT_ROW = re.compile(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", re.S)


def report(response: Any) -> list[tuple[str, str, str]]:
    """The rows (line, column, message) of the error report shown on the import page."""
    body = response.get_data(as_text=True)
    start = body.find("medprev-import-report")
    if start < 0:
        return []
    section = body[start : body.index("</table>", start)]
    return [tuple(html.unescape(cell) for cell in row) for row in _REPORT_ROW.findall(section)]


def position_row(page: str, position_id: int) -> str:
    start = page.index(f'data-position="{position_id}"')
    return page[start : page.index("</tr>", start)]


# ----------------------------------------------------------------------------------------------
# Database
# ----------------------------------------------------------------------------------------------


def counts(db_ctx: Any) -> dict[str, int]:
    with db_ctx() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (WorkPosition, PositionRisk, Agent, Contract)
        }


def make_position(
    session: Any, collectivity: Any, label: str = "Agent d'entretien", pcs: str = "372d"
) -> WorkPosition:
    position = WorkPosition(collectivity_id=collectivity.id, pcs_code=pcs)
    position.set_label(label)
    session.add(position)
    session.flush()
    return position


def make_employee(
    session: Any,
    collectivity: Any,
    position: WorkPosition,
    start: dt.date = dt.date(2020, 1, 6),
    end: dt.date | None = None,
    marker: str = "",
) -> Contract:
    agent = make_agent(session, collectivity, marker)
    cdi = session.scalar(select(ContractType).where(ContractType.code == "cdi"))
    contract = Contract(
        agent_id=agent.id,
        collectivity_id=collectivity.id,
        work_position_id=position.id,
        contract_type_id=cdi.id,
        start_date=start,
        end_date=end,
    )
    session.add(contract)
    session.flush()
    return contract


def end_dates(db_ctx: Any) -> dict[int, dt.date | None]:
    with db_ctx() as session:
        return {
            row.id: row.end_date for row in session.execute(select(Contract.id, Contract.end_date))
        }


@pytest.fixture
def positions_a(db_ctx: Any, users: Any) -> dict[str, int]:
    """Three positions of collectivity A, ready for an agents file."""
    with db_ctx() as session:
        return {
            "entretien": make_position(session, users.collectivity_a).id,
            "educatrice": make_position(
                session, users.collectivity_a, "Éducatrice de jeunes enfants", "434b"
            ).id,
            "jardinier": make_position(session, users.collectivity_a, "Jardinier", "631a").id,
        }


# ----------------------------------------------------------------------------------------------
# Positions
# ----------------------------------------------------------------------------------------------


def test_an_employer_imports_positions_with_their_risks_and_sees_the_follow_up_badge(
    login, users, db_ctx
):
    content = template_csv(
        ImportKind.positions,
        [
            position_line(
                "621a", "Peintre en bâtiment", {"plomb": "Oui", "chute_echafaudage": "oui"}
            ),
            position_line("372D", "Secrétaire de mairie"),
            position_line(
                "631a", "Agent des espaces verts", {"autre": "OUI"}, "Piqûres d'insectes"
            ),
        ],
    )
    web = login(users.primary_a)
    response = upload(web, "positions", content)
    assert response.status_code == 200
    assert "Import réussi : 3 poste(s) de travail créé(s)." in text(response)
    assert report(response) == []
    with db_ctx() as session:
        positions = {
            p.label: p
            for p in session.scalars(
                select(WorkPosition).where(WorkPosition.collectivity_id == users.collectivity_a.id)
            )
        }
        assert set(positions) == {
            "Peintre en bâtiment",
            "Secrétaire de mairie",
            "Agent des espaces verts",
        }
        painter = positions["Peintre en bâtiment"]
        assert painter.pcs_code == "621a"
        assert painter.risk_codes == ["chute_echafaudage", "plomb"]
        assert positions["Secrétaire de mairie"].pcs_code == "372d"
        assert positions["Secrétaire de mairie"].risk_codes == []
        other = session.scalar(
            select(PositionRisk)
            .join(Risk)
            .where(
                PositionRisk.work_position_id == positions["Agent des espaces verts"].id,
                Risk.code == "autre",
            )
        )
        assert other.description == "Piqûres d'insectes"
        assert other.collectivity_id == users.collectivity_a.id
        ids = {label: p.id for label, p in positions.items()}
    page = text(web.get("/postes/"))
    assert ">SIR</span>" in position_row(page, ids["Peintre en bâtiment"])
    assert ">SI</span>" in position_row(page, ids["Secrétaire de mairie"])
    assert ">SIR</span>" in position_row(page, ids["Agent des espaces verts"])


def test_the_same_positions_file_imported_twice_creates_nothing_the_second_time(
    login, users, db_ctx
):
    content = template_csv(
        ImportKind.positions,
        [position_line("621a", "Peintre", {"plomb": "Oui"}), position_line("372d", "Secrétaire")],
    )
    web = login(users.primary_a)
    assert "Import réussi : 2 poste(s)" in text(upload(web, "positions", content))
    before = counts(db_ctx)
    again = upload(web, "positions", content)
    assert again.status_code == 200
    page = text(again)
    assert "Le fichier n'a pas été importé : 2 erreurs. Aucune ligne n'a été enregistrée." in page
    assert "Import réussi" not in page
    rows = report(again)
    assert [(line, column) for line, column, _ in rows] == [("2", "Libellé"), ("3", "Libellé")]
    assert all("existe déjà" in message for _, _, message in rows)
    assert "« Peintre » (621a) existe déjà" in rows[0][2]
    assert counts(db_ctx) == before


def test_a_oui_non_typo_in_a_positions_file_is_reported_and_nothing_is_written(
    login, users, db_ctx
):
    before = counts(db_ctx)
    content = template_csv(
        ImportKind.positions,
        [position_line("621a", "Peintre"), position_line("372d", "Cantinière", {"plomb": "Ouii"})],
    )
    response = upload(login(users.primary_a), "positions", content)
    assert SUMMARY_ONE in text(response)
    assert report(response) == [
        ("3", "Plomb(Oui/Non)", "Valeur « Ouii » invalide : Oui ou Non attendu.")
    ]
    assert counts(db_ctx) == before


def test_a_windows_1252_positions_file_keeps_its_accents(login, users, db_ctx):
    content = csv_file(
        ImportKind.positions,
        [position_line("434b", "Éducatrice de jeunes enfants", {"bio_2": "Oui"})],
        encoding="cp1252",
    )
    assert "É".encode("cp1252") in content and "É".encode() not in content
    response = upload(login(users.primary_a), "positions", content)
    assert "Import réussi : 1 poste(s) de travail créé(s)." in text(response)
    with db_ctx() as session:
        position = session.scalar(
            select(WorkPosition).where(WorkPosition.collectivity_id == users.collectivity_a.id)
        )
        assert position.label == "Éducatrice de jeunes enfants"
        assert position.risk_codes == ["bio_2"]


def test_a_comma_separated_positions_file_is_accepted(login, users, db_ctx):
    content = csv_file(
        ImportKind.positions,
        [position_line("631a", "Jardinier, élagueur", {"chute_echafaudage": "Oui"})],
        delimiter=",",
    )
    response = upload(login(users.primary_a), "positions", content)
    assert "Import réussi : 1 poste(s) de travail créé(s)." in text(response)
    with db_ctx() as session:
        position = session.scalar(
            select(WorkPosition).where(WorkPosition.collectivity_id == users.collectivity_a.id)
        )
        assert (position.label, position.pcs_code) == ("Jardinier, élagueur", "631a")
        assert position.risk_codes == ["chute_echafaudage"]


# ----------------------------------------------------------------------------------------------
# Agents
# ----------------------------------------------------------------------------------------------


def test_an_employer_imports_agents_on_existing_positions_and_they_await_validation(
    login, users, db_ctx, positions_a
):
    content = template_csv(
        ImportKind.agents,
        [
            agent_line(usage="Martin", ins=INS_HELENE, position="AGENT D'ENTRETIEN"),
            agent_line(
                "Paul",
                "Lefèvre",
                born="01/01/1975",
                ins=INS_PAUL,
                entry="15/03/2019",
                end="31/12/2030",
                pcs="434B",
                position="  educatrice   de jeunes ENFANTS ",
                contract="contractuel",
                civility="Monsieur",
            ),
            agent_line("Zoé", "Petit", born="12/12/1992", pcs="631a", position="jardinier"),
        ],
    )
    web = login(users.primary_a)
    response = upload(web, "agents", content)
    assert response.status_code == 200
    assert "Import réussi : 3 agent(s) créé(s) avec leur contrat." in text(response)
    with db_ctx() as session:
        agents = {
            a.first_name: a
            for a in session.scalars(
                select(Agent).where(Agent.collectivity_id == users.collectivity_a.id)
            )
        }
        assert set(agents) == {"Hélène", "Paul", "Zoé"}
        helene, paul, zoe = agents["Hélène"], agents["Paul"], agents["Zoé"]
        assert (helene.birth_name, helene.usage_name, helene.ins) == (
            "DURAND",
            "MARTIN",
            INS_HELENE,
        )
        assert helene.birth_date == dt.date(1980, 5, 5)
        assert paul.civility.name == "monsieur" and paul.birth_name == "LEFÈVRE"
        assert zoe.ins is None
        for agent in agents.values():
            assert agent.validated_at is None, "an employer's agent waits for the CDG"
            assert agent.created_by_employer is True
            assert len(agent.contracts) == 1
        [contract] = helene.contracts
        assert contract.work_position_id == positions_a["entretien"]
        assert contract.contract_type.code == "cdi"
        assert (contract.start_date, contract.end_date) == (dt.date(2020, 9, 1), None)
        assert contract.collectivity_id == users.collectivity_a.id
        [contract] = paul.contracts
        assert contract.work_position_id == positions_a["educatrice"]
        assert contract.contract_type.code == "contractuel"
        assert (contract.start_date, contract.end_date) == (
            dt.date(2019, 3, 15),
            dt.date(2030, 12, 31),
        )
        assert zoe.contracts[0].work_position_id == positions_a["jardinier"]
    listing = text(web.get("/effectif/"))
    for name in ("MARTIN Hélène", "LEFÈVRE Paul", "PETIT Zoé"):
        assert name in listing
    assert listing.count("À valider par le CDG") == 3


def test_the_same_agents_file_imported_twice_creates_nothing_twice(
    login, users, db_ctx, positions_a
):
    content = template_csv(
        ImportKind.agents,
        [agent_line(ins=INS_HELENE), agent_line("Zoé", "Petit", born="12/12/1992")],
    )
    web = login(users.primary_a)
    assert "Import réussi : 2 agent(s)" in text(upload(web, "agents", content))
    before = counts(db_ctx)
    again = upload(web, "agents", content)
    rows = report(again)
    assert [(line, column) for line, column, _ in rows] == [("2", "INS"), ("3", "Nom de naissance")]
    assert "existe déjà" in rows[0][2] and INS_HELENE in rows[0][2]
    assert rows[1][2] == "L'agent Petit Zoé né(e) le 12/12/1992 existe déjà."
    assert "Import réussi" not in text(again)
    assert counts(db_ctx) == before


def test_an_unknown_position_is_reported_by_line_and_column_and_nothing_is_written(
    login, users, db_ctx, positions_a
):
    before = counts(db_ctx)
    content = template_csv(
        ImportKind.agents,
        [
            agent_line(),
            # Both exist, but not together: Jardinier is 631a.
            agent_line("Paul", "Lefèvre", pcs="372d", position="Jardinier"),
        ],
    )
    response = upload(login(users.primary_a), "agents", content)
    assert SUMMARY_ONE in text(response)
    [(line, column, message)] = report(response)
    assert (line, column) == ("3", "Libelle du type de poste")
    assert message.startswith(
        "Aucun poste « Jardinier » de code PCS 372d n'existe pour cette collectivité"
    )
    assert counts(db_ctx) == before


def test_a_position_of_another_collectivity_is_unknown_to_the_agents_file(
    login, users, db_ctx, positions_a
):
    with db_ctx() as session:
        make_position(session, users.collectivity_b, "Maître-nageur", "424a")
    before = counts(db_ctx)
    content = template_csv(ImportKind.agents, [agent_line(pcs="424a", position="Maître-nageur")])
    response = upload(login(users.primary_a), "agents", content)
    assert [(line, column) for line, column, _ in report(response)] == [
        ("2", "Libelle du type de poste")
    ]
    assert counts(db_ctx) == before


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        pytest.param(
            {"contract": "Intérimaire"},
            "Libelle du type de contrat",
            "Type de contrat « Intérimaire » inconnu (attendu : ",
            id="unknown-contract-type",
        ),
        pytest.param(
            {"ins": INS_HELENE[:-2] + "00"},
            "INS",
            f"INS « {INS_HELENE[:-2]}00 » invalide. La clé du NIR est incorrecte.",
            id="wrong-ins-key",
        ),
        pytest.param(
            {"born": "31/02/1980"},
            "Date de naissance",
            "Date impossible : « 31/02/1980 » n'existe pas au calendrier. Format attendu JJ/MM/AAAA.",
            id="impossible-date",
        ),
        pytest.param(
            {"entry": "01/09/2020", "end": "31/08/2020"},
            "Date sortie",
            "La date de sortie (31/08/2020) est antérieure à la date d'entrée (01/09/2020).",
            id="exit-before-entry",
        ),
        pytest.param(
            {"civility": "Mademoiselle"},
            "Civilite(Madame/Monsieur)",
            "Civilité « Mademoiselle » invalide : Madame ou Monsieur attendu.",
            id="unknown-civility",
        ),
    ],
)
def test_a_wrong_cell_in_an_agents_file_is_reported_by_line_and_column_and_nothing_is_written(
    login, users, db_ctx, positions_a, cells, column, message
):
    before = counts(db_ctx)
    content = template_csv(
        ImportKind.agents,
        [agent_line(ins=INS_PAUL, first="Paul", birth="Lefèvre"), agent_line(**cells)],
    )
    response = upload(login(users.primary_a), "agents", content)
    assert response.status_code == 200
    assert SUMMARY_ONE in text(response)
    [(line, found_column, found_message)] = report(response)
    assert (line, found_column) == ("3", column)
    assert found_message.startswith(message)
    assert counts(db_ctx) == before


def test_every_error_of_an_agents_file_is_listed_in_one_report(login, users, db_ctx, positions_a):
    before = counts(db_ctx)
    content = template_csv(
        ImportKind.agents,
        [
            agent_line(ins=INS_HELENE[:-2] + "00"),
            agent_line("Paul", "Lefèvre", born="31/02/1980"),
            agent_line("Zoé", "Petit", contract="Intérim"),
            agent_line("Luc", "Roux", entry="01/09/2020", end="01/01/2020"),
            agent_line("Léa", "Blanc", position="Inconnu"),
        ],
    )
    response = upload(login(users.primary_a), "agents", content)
    page = text(response)
    assert (
        "Le fichier n'a pas été importé : " in page and "Aucune ligne n'a été enregistrée." in page
    )
    located = {(line, column) for line, column, _ in report(response)}
    assert counts(db_ctx) == before
    # SPEC C5: « a French report lists every error by line and column », the mistakes found
    # against the database (contract type, position) as well as those read in the file.
    assert located == {
        ("2", "INS"),
        ("3", "Date de naissance"),
        ("4", "Libelle du type de contrat"),
        ("5", "Date sortie"),
        ("6", "Libelle du type de poste"),
    }


def test_an_agents_file_with_its_columns_in_another_order_is_refused(
    login, users, db_ctx, positions_a
):
    before = counts(db_ctx)
    header = list(HEADERS[ImportKind.agents])
    header[1], header[2] = header[2], header[1]
    line = agent_line()
    line[1], line[2] = line[2], line[1]
    content = csv_file(ImportKind.agents, [line], header=header)
    response = upload(login(users.primary_a), "agents", content)
    page = text(response)
    assert "Le fichier n'a pas été importé : 2 erreurs." in page
    assert "sans modifier sa première ligne" in page
    assert report(response) == [
        ("1", "", "Colonne 2 : « Prenom » attendu, « Nom de naissance » trouvé."),
        ("1", "", "Colonne 3 : « Nom de naissance » attendu, « Prenom » trouvé."),
    ]
    assert counts(db_ctx) == before


def test_a_positions_file_sent_as_an_agents_file_is_refused(login, users, db_ctx):
    before = counts(db_ctx)
    content = template_csv(ImportKind.positions, [position_line()])
    response = upload(login(users.primary_a), "agents", content)
    assert report(response) == [
        (
            "1",
            "",
            "Ce fichier est un fichier « Postes de travail » : envoyez-le depuis le cadre "
            "« Postes de travail » de la page « Importer », pas depuis le cadre « Création de salariés ».",
        )
    ]
    assert counts(db_ctx) == before


def test_an_agents_file_without_data_rows_is_refused(login, users, db_ctx, positions_a):
    before = counts(db_ctx)
    response = upload(login(users.primary_a), "agents", template_csv(ImportKind.agents))
    assert SUMMARY_ONE in text(response)
    assert report(response) == [("", "", "Le fichier ne contient aucune ligne de données.")]
    assert counts(db_ctx) == before


def test_a_windows_1252_agents_file_keeps_the_accents(login, users, db_ctx, positions_a):
    content = csv_file(
        ImportKind.agents,
        [
            agent_line("Hélène", "Lefèvre", usage="Général"),
            agent_line(
                "François",
                "Mañé",
                born="02/02/1985",
                position="Éducatrice de jeunes enfants",
                pcs="434b",
            ),
        ],
        encoding="cp1252",
    )
    response = upload(login(users.primary_a), "agents", content)
    assert "Import réussi : 2 agent(s) créé(s) avec leur contrat." in text(response)
    with db_ctx() as session:
        names = set(
            session.execute(
                select(Agent.first_name, Agent.birth_name, Agent.usage_name).where(
                    Agent.collectivity_id == users.collectivity_a.id
                )
            )
        )
    assert names == {("Hélène", "LEFÈVRE", "GÉNÉRAL"), ("François", "MAÑÉ", None)}


@pytest.mark.parametrize("delimiter", [";", ","], ids=["semicolon", "comma"])
def test_an_agents_file_is_read_with_either_separator(login, users, db_ctx, positions_a, delimiter):
    content = csv_file(
        ImportKind.agents,
        [agent_line(ins=INS_HELENE), agent_line("Paul", "Lefèvre", "Dupont, dit Paulo")],
        delimiter=delimiter,
    )
    response = upload(login(users.primary_a), "agents", content)
    assert "Import réussi : 2 agent(s) créé(s) avec leur contrat." in text(response)
    with db_ctx() as session:
        rows = set(
            session.execute(
                select(Agent.birth_name, Agent.usage_name, Agent.ins).where(
                    Agent.collectivity_id == users.collectivity_a.id
                )
            )
        )
    assert rows == {("DURAND", None, INS_HELENE), ("LEFÈVRE", "DUPONT, DIT PAULO", None)}


def test_an_xlsx_agents_file_is_accepted(login, users, db_ctx, positions_a):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(HEADERS[ImportKind.agents]))
    sheet.append(
        [
            "Madame",
            "Hélène",
            "Durand",
            None,
            dt.datetime(1980, 5, 5),  # a real date cell, as Excel stores it
            INS_HELENE,
            dt.datetime(2020, 9, 1),
            None,
            "372d",
            "Agent d'entretien",
            "CDI",
        ]
    )
    sheet.append(agent_line("Paul", "Lefèvre", born="01/01/1975", entry="15/03/2019"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload(login(users.primary_a), "agents", buffer.getvalue(), "salaries.xlsx")
    assert "Import réussi : 2 agent(s) créé(s) avec leur contrat." in text(response)
    with db_ctx() as session:
        helene = session.scalar(select(Agent).where(Agent.ins == INS_HELENE))
        assert helene.birth_date == dt.date(1980, 5, 5)
        assert helene.contracts[0].start_date == dt.date(2020, 9, 1)
        paul = session.scalar(select(Agent).where(Agent.birth_name == "LEFÈVRE"))
        assert paul.contracts[0].start_date == dt.date(2019, 3, 15)


def test_a_file_over_the_import_size_limit_is_refused_in_french(
    app, login, users, db_ctx, positions_a, monkeypatch
):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 2048)
    lines = [agent_line(f"Prénom{i}", f"Nom{i}", born="05/05/1980") for i in range(60)]
    content = template_csv(ImportKind.agents, lines)
    assert len(content) > 2048
    before = counts(db_ctx)
    response = upload(login(users.primary_a), "agents", content)
    assert response.status_code == 200
    assert SUMMARY_ONE in text(response)
    assert report(response) == [("", "", "Le fichier dépasse la taille maximale de 2 Ko.")]
    assert counts(db_ctx) == before


def test_a_body_over_the_upload_limit_gets_a_french_413_page(
    app, login, users, db_ctx, monkeypatch
):
    # MAX_CONTENT_LENGTH (32 Mo) lowered so the body stays small: the same 413 handler answers.
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 8 * 1024)
    web = login(users.primary_a)
    before = counts(db_ctx)
    content = template_csv(
        ImportKind.positions, [position_line("621a", f"Poste {i}") for i in range(200)]
    )
    assert len(content) > 8 * 1024
    response = upload(web, "positions", content)
    assert response.status_code == 413
    assert "Le fichier envoyé est trop volumineux." in text(response)
    assert counts(db_ctx) == before


def test_an_upload_from_an_expired_import_form_gets_the_french_message(login, users, db_ctx):
    web = login(users.primary_a)
    before = counts(db_ctx)
    content = template_csv(ImportKind.positions, [position_line()])
    response = web.post(
        "/imports/positions",
        data={"csrf_token": "expire", "file": (io.BytesIO(content), "fichier.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Le formulaire a expiré ou n'est pas valide" in text(response)
    assert counts(db_ctx) == before


# ----------------------------------------------------------------------------------------------
# End of contracts
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def contracts(db_ctx: Any, users: Any) -> dict[str, int]:
    """Collectivity A: two running contracts and an ended one; B: a running contract."""
    with db_ctx() as session:
        position_a = make_position(session, users.collectivity_a)
        position_b = make_position(session, users.collectivity_b, "Cuisinier", "636d")
        return {
            "a1": make_employee(session, users.collectivity_a, position_a, marker="A").id,
            "a2": make_employee(
                session, users.collectivity_a, position_a, dt.date(2021, 3, 1), marker="A"
            ).id,
            "a_ended": make_employee(
                session,
                users.collectivity_a,
                position_a,
                dt.date(2015, 1, 1),
                dt.date(2018, 12, 31),
                marker="FINI",
            ).id,
            "b": make_employee(session, users.collectivity_b, position_b, marker="SECRETB").id,
        }


def test_the_exits_template_lists_the_running_contracts_of_the_callers_collectivity_only(
    login, users, db_ctx, contracts
):
    response = login(users.primary_a).get("/imports/modele/exits")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response.data)
    assert tuple(rows[0]) == HEADERS[ImportKind.exits]
    assert sorted(int(row[0]) for row in rows[1:]) == sorted([contracts["a1"], contracts["a2"]])
    assert "SECRETB" not in response.get_data(as_text=True)
    assert "FINI" not in response.get_data(as_text=True)
    with db_ctx() as session:
        contract = session.get(Contract, contracts["a2"])
        agent = contract.agent
        expected = [
            str(contract.id),
            "",
            "Madame",
            agent.first_name,
            agent.birth_name,
            "",
            agent.birth_date.strftime("%d/%m/%Y"),
            "CDI",
            "Agent d'entretien",
            "01/03/2021",
            "",
        ]
    assert expected in rows
    # The other collectivity gets its own contract, and only it.
    rows_b = read_csv(login(users.primary_b).get("/imports/modele/exits").data)
    assert [int(row[0]) for row in rows_b[1:]] == [contracts["b"]]


def test_filling_one_exit_date_in_the_template_closes_that_contract_and_nothing_else(
    login, users, db_ctx, contracts
):
    web = login(users.primary_a)
    rows = read_csv(web.get("/imports/modele/exits").data)
    before = end_dates(db_ctx)
    [line] = [row for row in rows[1:] if int(row[0]) == contracts["a2"]]
    line[-1] = "30/06/2026"
    response = upload(web, "exits", template_csv(ImportKind.exits, rows[1:]))
    assert response.status_code == 200
    assert "Import réussi : 1 date(s) de sortie enregistrée(s)." in text(response)
    after = end_dates(db_ctx)
    assert after[contracts["a2"]] == dt.date(2026, 6, 30)
    assert {k: v for k, v in after.items() if k != contracts["a2"]} == {
        k: v for k, v in before.items() if k != contracts["a2"]
    }


def test_an_exit_date_before_the_entry_date_is_refused(login, users, db_ctx, contracts):
    web = login(users.primary_a)
    rows = read_csv(web.get("/imports/modele/exits").data)
    before = end_dates(db_ctx)
    for row in rows[1:]:
        if int(row[0]) == contracts["a1"]:
            row[-1] = "30/06/2026"
        if int(row[0]) == contracts["a2"]:
            row[-1] = "28/02/2021"  # entry on 01/03/2021
    line_a2 = next(i for i, row in enumerate(rows, start=1) if row[0] == str(contracts["a2"]))
    response = upload(web, "exits", template_csv(ImportKind.exits, rows[1:]))
    assert SUMMARY_ONE in text(response)
    assert report(response) == [
        (
            str(line_a2),
            "Date de sortie",
            "La date de sortie (28/02/2021) précède l'entrée sur le poste (01/03/2021).",
        )
    ]
    assert end_dates(db_ctx) == before


def test_a_contract_of_another_collectivity_in_the_exits_file_is_refused(
    login, users, db_ctx, contracts
):
    web = login(users.primary_a)
    rows = read_csv(web.get("/imports/modele/exits").data)
    before = end_dates(db_ctx)
    for row in rows[1:]:
        row[-1] = "30/06/2026"
    forged = [
        str(contracts["b"]),
        "",
        "Madame",
        "X",
        "Y",
        "",
        "01/01/1980",
        "CDI",
        "Z",
        "",
        "30/06/2026",
    ]
    data = [*rows[1:], forged]
    response = upload(web, "exits", template_csv(ImportKind.exits, data))
    assert SUMMARY_ONE in text(response)
    assert report(response) == [
        (
            str(len(data) + 1),
            "id",
            f"Contrat n° {contracts['b']} introuvable pour cette collectivité : "
            "utilisez le modèle pré-rempli.",
        )
    ]
    after = end_dates(db_ctx)
    assert after == before
    assert after[contracts["b"]] is None


def test_an_exits_file_without_any_exit_date_is_refused(login, users, db_ctx, contracts):
    web = login(users.primary_a)
    content = web.get("/imports/modele/exits").data
    before = end_dates(db_ctx)
    response = upload(web, "exits", content)
    [(line, column, message)] = report(response)
    assert (line, column) == ("", "")
    assert message.startswith("Aucune date de sortie n'est renseignée.")
    assert end_dates(db_ctx) == before


# ----------------------------------------------------------------------------------------------
# Who may import
# ----------------------------------------------------------------------------------------------


def test_a_secondary_account_has_no_access_to_the_imports(login, users, db_ctx, positions_a):
    web = login(users.secondary_a)
    assert web.get("/imports/").status_code == 403
    assert web.get("/imports/modele/exits").status_code == 403
    before = counts(db_ctx)
    token = web.csrf_token("/compte/moi/")
    content = template_csv(ImportKind.agents, [agent_line()])
    response = web.post(
        "/imports/agents",
        data={"csrf_token": token, "file": (io.BytesIO(content), "fichier.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert counts(db_ctx) == before


def test_staff_import_positions_and_agents_for_the_chosen_collectivity(login, users, db_ctx):
    web = login(users.secretariat)
    before = counts(db_ctx)
    positions = template_csv(ImportKind.positions, [position_line("636d", "Cuisinier")])
    missing = upload(web, "positions", positions)
    assert "Choisissez la collectivité concernée." in text(missing)
    assert counts(db_ctx) == before

    done = upload(web, "positions", positions, collectivity_id=str(users.collectivity_b.id))
    assert "Import réussi : 1 poste(s) de travail créé(s)." in text(done)
    agents = template_csv(ImportKind.agents, [agent_line(pcs="636d", position="Cuisinier")])
    done = upload(web, "agents", agents, collectivity_id=str(users.collectivity_b.id))
    assert "Import réussi : 1 agent(s) créé(s) avec leur contrat." in text(done)
    with db_ctx() as session:
        position = session.scalar(select(WorkPosition).where(WorkPosition.label == "Cuisinier"))
        assert position.collectivity_id == users.collectivity_b.id
        agent = session.scalar(select(Agent).where(Agent.birth_name == "DURAND"))
        assert agent.collectivity_id == users.collectivity_b.id
        assert agent.validated_at is not None, "staff agents need no validation"
        assert agent.created_by_employer is False
        assert agent.contracts[0].work_position_id == position.id


def test_a_stale_collectivity_choice_is_refused_without_a_server_error(login, users, db_ctx):
    """The collectivity picked in the form was deleted meanwhile (or the form was forged)."""
    with db_ctx() as session:
        gone = session.scalar(select(func.max(Collectivity.id))) + 1000
    web = login(users.secretariat)
    before = counts(db_ctx)
    content = template_csv(ImportKind.positions, [position_line("636d", "Cuisinier")])
    response = upload(web, "positions", content, collectivity_id=str(gone))
    assert response.status_code in (200, 404)
    assert "Import réussi" not in text(response)
    assert counts(db_ctx) == before


def test_an_employer_cannot_import_into_another_collectivity(login, users, db_ctx):
    web = login(users.primary_b)
    content = template_csv(ImportKind.positions, [position_line("636d", "Cuisinier")])
    response = upload(web, "positions", content, collectivity_id=str(users.collectivity_a.id))
    assert "Import réussi : 1 poste(s) de travail créé(s)." in text(response)
    with db_ctx() as session:
        owners = set(
            session.scalars(
                select(WorkPosition.collectivity_id).where(WorkPosition.label == "Cuisinier")
            )
        )
    assert owners == {users.collectivity_b.id}


# ----------------------------------------------------------------------------------------------
# Command line (CONTRACT.md §1)
# ----------------------------------------------------------------------------------------------


def test_the_cli_imports_agents_for_a_collectivity_and_they_are_validated(
    cli, users, db_ctx, positions_a, tmp_path
):
    path = tmp_path / "salaries.csv"
    path.write_bytes(
        template_csv(
            ImportKind.agents,
            [agent_line(ins=INS_HELENE), agent_line("Paul", "Lefèvre", civility="Monsieur")],
        )
    )
    result = cli.invoke(
        args=["import", "agents", str(path), "--collectivity", users.collectivity_a.siret]
    )
    assert result.exit_code == 0, result.output
    assert "Import réussi : 2 agent(s) créé(s) avec leur contrat." in result.output
    with db_ctx() as session:
        agents = list(
            session.scalars(select(Agent).where(Agent.collectivity_id == users.collectivity_a.id))
        )
        assert {a.birth_name for a in agents} == {"DURAND", "LEFÈVRE"}
        for agent in agents:
            assert agent.validated_at is not None, "agents imported by the CDG are validated"
            assert agent.created_by_employer is False
            assert [c.work_position_id for c in agent.contracts] == [positions_a["entretien"]]
    again = cli.invoke(
        args=["import", "agents", str(path), "--collectivity", users.collectivity_a.siret]
    )
    assert again.exit_code == 1
    assert "existe déjà" in again.output


def test_the_cli_refuses_a_bad_file_with_the_french_report_and_exit_code_1(
    cli, users, db_ctx, positions_a, tmp_path
):
    path = tmp_path / "salaries.csv"
    bad_ins = INS_PAUL[:-2] + "00"
    path.write_bytes(
        template_csv(
            ImportKind.agents,
            [agent_line(ins=INS_HELENE), agent_line("Paul", "Lefèvre", ins=bad_ins)],
        )
    )
    before = counts(db_ctx)
    result = cli.invoke(
        args=["import", "agents", str(path), "--collectivity", users.collectivity_a.siret]
    )
    assert result.exit_code == 1
    assert SUMMARY_ONE in result.output
    assert (
        f"Ligne 3, colonne « INS » : INS « {bad_ins} » invalide. La clé du NIR est incorrecte."
        in result.output
    )
    assert counts(db_ctx) == before


def test_the_cli_refuses_an_unknown_siret(cli, users, db_ctx, positions_a, tmp_path):
    path = tmp_path / "postes.csv"
    path.write_bytes(template_csv(ImportKind.positions, [position_line("636d", "Cuisinier")]))
    unknown = fake_siret(random.Random(424242))
    before = counts(db_ctx)
    result = cli.invoke(args=["import", "positions", str(path), "--collectivity", unknown])
    assert result.exit_code == 1
    assert f"Erreur : aucune collectivité n'a le SIRET {unknown}." in result.output
    assert counts(db_ctx) == before
