"""The agents import as a user and an auditor see it (SPEC C5, A5, issues 9 and 10): every error
of a line in one report, messages naming the page's panels and the PCS code, one audit entry
per import, written by bulk inserts that stay inside the caller's collectivity."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import openpyxl
import pytest
from sqlalchemy import func, select

from app.core.audit import AuditLog
from app.tenancy import TenantViolation, collectivity_of, scope_as
from app.workforce.importing import HEADERS, ImportKind, template_csv
from app.workforce.imports import run_import
from app.workforce.models import Agent, AgentAssignment, Contract
from tests.integration.test_workforce_imports import (
    INS_HELENE,
    INS_PAUL,
    agent_line,
    counts,
    positions_a,  # noqa: F401 (the fixture: the positions of collectivity A)
    report,
    upload,
)
from tests.util import text

pytestmark = pytest.mark.usefixtures("positions_a")
# What an agents import writes (the login writes its own audited rows beside).
WRITTEN_TABLES = {"agent", "contract", "agent_assignment"}


def test_a_bad_date_a_bad_ins_and_an_unknown_position_on_one_line_are_three_errors(
    login, users, db_ctx
):
    before = counts(db_ctx)
    content = template_csv(
        ImportKind.agents,
        [
            agent_line(ins=INS_HELENE),
            agent_line(
                "Paul",
                "Lefèvre",
                born="31/02/1975",
                ins="N123",
                position="Cosmonaute",
                civility="Monsieur",
            ),
        ],
    )
    rows = report(upload(login(users.primary_a), "agents", content))
    assert [(line, column) for line, column, _ in rows] == [
        ("3", "Date de naissance"),
        ("3", "INS"),
        ("3", "Libelle du type de poste"),
    ]
    unknown = rows[2][2]
    assert "Aucun poste « Cosmonaute » de code PCS 372d" in unknown
    assert "menu « Effectif › Postes de travail »" in unknown
    assert counts(db_ctx) == before


def test_the_report_says_pcs_and_names_the_panel_a_misplaced_file_belongs_to(login, users):
    web = login(users.primary_a)
    bad_pcs = report(
        upload(web, "agents", template_csv(ImportKind.agents, [agent_line(pcs="37D2")]))
    )
    assert bad_pcs[0][1] == "Code CSP du type de poste"
    assert bad_pcs[0][2].startswith("Code PCS « 37D2 » invalide.")
    assert not any("CSP" in message for _, _, message in bad_pcs)
    misplaced = report(upload(web, "positions", template_csv(ImportKind.agents, [agent_line()])))
    assert "« Création de salariés »" in misplaced[0][2]
    assert "« Postes de travail »" in misplaced[0][2]


def test_an_xlsx_report_names_the_sheet_its_lines_belong_to(login, users):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Salariés 2026"
    sheet.append(list(HEADERS[ImportKind.agents]))
    sheet.append(agent_line(born="32/01/1980"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload(login(users.primary_a), "agents", buffer.getvalue(), "salaries.xlsx")
    assert "(feuille « Salariés 2026 ») : 1 erreur" in text(response)
    assert [line for line, _, _ in report(response)] == ["2"]


def test_an_import_writes_one_audit_entry_with_the_files_digest_and_counts(login, users, db_ctx):
    content = template_csv(
        ImportKind.agents,
        [
            agent_line(ins=INS_HELENE),
            agent_line("Paul", "Lefèvre", ins=INS_PAUL, civility="Monsieur"),
        ],
    )
    with db_ctx() as session:
        before = session.scalar(select(func.count(AuditLog.id)))
    response = upload(login(users.primary_a), "agents", content, "salaries.csv")
    assert "Import réussi : 2 agent(s) créé(s)" in text(response)
    with db_ctx() as session:
        entries = list(
            session.scalars(select(AuditLog).where(AuditLog.id > 0).order_by(AuditLog.id))
        )
        new = entries[before:]
        assert [(e.action, e.table_name) for e in new if e.table_name in WRITTEN_TABLES] == [
            ("import", "agent")
        ], [(e.action, e.table_name, e.changes) for e in new]
        entry = next(e for e in new if e.action == "import")
        assert (entry.action_label, entry.table_name) == ("Import", "agent")
        assert entry.collectivity_id == users.collectivity_a.id
        assert entry.username == users.primary_a.username
        assert entry.changes["import"] == [None, "Import de 2 agents"]
        assert entry.changes["sha256"] == [None, hashlib.sha256(content).hexdigest()]
        assert entry.changes["agents"] == [None, 2] and entry.changes["contrats"] == [None, 2]
        agents = list(
            session.scalars(select(Agent).where(Agent.collectivity_id == users.collectivity_a.id))
        )
        assert {a.birth_name for a in agents} >= {"DURAND", "LEFÈVRE"}
        ids = sorted(a.id for a in agents if a.birth_name in ("DURAND", "LEFÈVRE"))
        assert entry.row_id == f"{ids[0]}-{ids[-1]}"
        contracts = session.scalars(select(Contract).where(Contract.agent_id.in_(ids))).all()
        assert {c.collectivity_id for c in contracts} == {users.collectivity_a.id}
        assert all(c.created_at is not None for c in contracts)


def test_an_employer_posting_another_collectivity_still_imports_into_his_own(login, users, db_ctx):
    content = template_csv(ImportKind.agents, [agent_line(ins=INS_HELENE)])
    response = upload(
        login(users.primary_a), "agents", content, collectivity_id=str(users.collectivity_b.id)
    )
    assert "Import réussi : 1 agent(s)" in text(response)
    with db_ctx() as session:
        owner = session.scalar(select(Agent.collectivity_id).where(Agent.ins == INS_HELENE))
    assert owner == users.collectivity_a.id


def test_the_import_service_refuses_an_employer_scope_writing_into_another_collectivity(
    app, users, db_ctx
):
    content = template_csv(ImportKind.agents, [agent_line(ins=INS_HELENE)])
    with app.app_context():
        with scope_as(collectivity_of(users.collectivity_a.id)), pytest.raises(TenantViolation):
            run_import(ImportKind.agents, content, "s.csv", users.collectivity_b.id)
        from app.extensions import db

        db.session.rollback()
    with db_ctx() as session:
        assert session.scalar(select(Agent.id).where(Agent.ins == INS_HELENE)) is None


def test_a_bulk_insert_refuses_a_reference_to_another_collectivitys_row(app, users, db_ctx):
    from app.extensions import db
    from app.tenancy import bulk_insert

    with db_ctx() as session:
        foreign = session.scalar(
            select(Agent.id).where(Agent.collectivity_id == users.collectivity_b.id).limit(1)
        )
        if foreign is None:
            from tests.isolation import make_agent

            foreign = make_agent(session, users.collectivity_b, birth_name="ETRANGER").id
    with app.app_context():
        with scope_as(collectivity_of(users.collectivity_a.id)), pytest.raises(TenantViolation):
            bulk_insert(
                db.session,
                AgentAssignment,
                [{"agent_id": foreign, "user_id": users.secondary_a.id}],
                users.collectivity_a.id,
            )
        db.session.rollback()


def test_a_secondary_account_never_writes_in_bulk_even_into_its_collectivity(app, users, db_ctx):
    from app.extensions import db
    from app.tenancy import bulk_insert
    from tests.isolation import scope_of

    with db_ctx() as session:
        scope = scope_of(session, users.secondary_a)
        before = session.scalar(select(func.count(Agent.id)))
    with app.app_context():
        with scope_as(scope), pytest.raises(TenantViolation):
            bulk_insert(
                db.session,
                Agent,
                [
                    {
                        "civility": "madame",
                        "first_name": "Lise",
                        "birth_name": "CACHEE",
                        "birth_date": dt.date(1990, 1, 1),
                    }
                ],
                users.collectivity_a.id,
            )
        db.session.rollback()
    with db_ctx() as session:
        assert session.scalar(select(func.count(Agent.id))) == before


def test_imported_agents_get_the_name_keys_the_search_uses(login, users, db_ctx):
    from app.rules.names import agent_name_keys

    content = template_csv(
        ImportKind.agents,
        [agent_line("Gérard", "Lefèvre-Müller", usage="Dupont", ins=INS_PAUL, civility="Monsieur")],
    )
    assert "Import réussi" in text(upload(login(users.primary_a), "agents", content))
    with db_ctx() as session:
        agent = session.scalar(select(Agent).where(Agent.ins == INS_PAUL))
        assert (agent.search_name, agent.search_alt_name) == agent_name_keys(
            agent.birth_name, agent.usage_name, agent.first_name
        )
        assert agent.search_name == "dupont gerard"
