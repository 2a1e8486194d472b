"""« Historique des consultations » (SPEC E4): the staff screen and its filters, its French
CSV / XLSX export, the import of a former tool's history by the web page and by
``flask import consultations`` (CONTRACT.md §1, §3): all or nothing, a French report by line."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
from dataclasses import dataclass
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from app import roles
from app.core.audit import AuditLog
from app.demo import fake_siret
from app.referential.models import ProfessionalRole, VisitType
from app.rules.consultations import sheet_available_on
from app.visits.consultation_models import Consultation, MedicalNote, Outcome
from app.visits.history_import import HEADERS
from tests import factories
from tests.isolation import make_agent
from tests.util import text

SUMMARY_ONE = "Le fichier n'a pas été importé : 1 erreur. Aucune ligne n'a été enregistrée."
HISTORY = "/consultations/historique/"
IMPORT = "/consultations/historique/import/"


def ins_of(nir13: str) -> str:
    """An INS with a valid key: N + 13 characters + (97 - number mod 97) on 2 digits."""
    return f"N{nir13}{97 - int(nir13) % 97:02d}"


INS_HELENE = ins_of("2800569123456")
INS_EMILE = ins_of("1750169123789")
INS_BRUNO = ins_of("1820269123111")


@dataclass
class History:
    users: Any
    siret_a: str
    siret_b: str
    helene: int
    emile: int
    bruno: int
    sophie: int
    paul: int
    anne: int
    types: dict[str, int]


@pytest.fixture
def history(db_ctx) -> History:
    with db_ctx() as session:
        users = factories.make_users(session)
        a, b = users.collectivity_a, users.collectivity_b
        helene = make_agent(session, a, first_name="Hélène", birth_name="DURAND", ins=INS_HELENE)
        emile = make_agent(session, a, first_name="Émile", birth_name="GÉRARD", ins=INS_EMILE)
        bruno = make_agent(session, b, first_name="Bruno", birth_name="BERTRAND", ins=INS_BRUNO)
        sophie = factories.make_professional(session, last_name="MARTIN", first_name="Sophie")
        paul = factories.make_professional(
            session, last_name="MARTIN", first_name="Paul", role=ProfessionalRole.infirmier
        )
        anne = factories.make_professional(session, last_name="LÉVÊQUE", first_name="Anne")
        types = {t.code: t.id for t in session.scalars(select(VisitType))}
        return History(
            users,
            a.siret,
            b.siret,
            helene.id,
            emile.id,
            bruno.id,
            sophie.id,
            paul.id,
            anne.id,
            types,
        )


def line(
    siret: str,
    ins: str,
    day: str = "15/03/2024",
    visit_type: str = "Périodique",
    professional: str = "MARTIN Sophie",
    outcome: str = "Apte",
    confidential: str = "Non",
) -> list[str]:
    return [siret, ins, day, visit_type, professional, outcome, confidential]


def csv_file(rows: list[list[str]], *, delimiter: str = ";", encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


REPORT_ROW = re.compile(r"<tr><td>(\d*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>")


def report_lines(page: str) -> list[str]:
    """The web report's rows, written as the CLI writes them (« Ligne 3, colonne « X » : ... »)."""
    report = page.split("medprev-import-report")[1].split("</table>")[0]
    lines = []
    for number, column, message in REPORT_ROW.findall(report):
        where = f"Ligne {number}" if number else ""
        if column:
            where = f"{where}, colonne « {column} »" if where else f"Colonne « {column} »"
        lines.append(f"{where} : {message}" if where else message)
    return lines


def consultation_count(db_ctx) -> int:
    with db_ctx() as session:
        return session.scalar(select(func.count()).select_from(Consultation)) or 0


def upload(web, data: bytes, action: str = "importer", filename: str = "historique.csv"):
    return web.post(
        IMPORT,
        data={
            "csrf_token": web.csrf_token(IMPORT),
            "action": action,
            "file": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
    )


# ----------------------------------------------------------------------------------------------
# Import: the good file
# ----------------------------------------------------------------------------------------------


def test_the_cli_imports_the_history_of_known_agents_with_their_sheet_dates(
    cli, history, db_ctx, tmp_path, monkeypatch
):
    recent = dt.date.today() - dt.timedelta(days=2)
    path = tmp_path / "historique.csv"
    path.write_bytes(
        csv_file(
            [
                line(history.siret_a, INS_HELENE, "15/03/2024", "periodique", "martin sophie"),
                line(
                    history.siret_a,
                    INS_EMILE.lower(),
                    recent.strftime("%d/%m/%Y"),
                    "EMBAUCHE",
                    "Dr Leveque",
                    "apte avec restrictions / amenagements",
                    "OUI",
                ),
                line(history.siret_b, INS_BRUNO, "02/01/2023", "Reprise", "Paul Martin", "Inapte"),
            ]
        )
    )
    sent: list[list[int]] = []
    from app.visits import due

    recompute = due.recompute

    def spy(agent_ids: list[int], **kw: Any) -> Any:
        sent.append(list(agent_ids))
        return recompute(agent_ids, **kw)

    monkeypatch.setattr(due, "recompute", spy)
    result = cli.invoke(args=["import", "consultations", str(path)])
    assert result.exit_code == 0, result.output
    assert "Import réussi : 3 consultations importées (2 collectivités)." in result.output
    assert sent == [sorted([history.helene, history.emile, history.bruno])]
    with db_ctx() as session:
        rows = {c.agent_id: c for c in session.scalars(select(Consultation))}
        helene, emile, bruno = rows[history.helene], rows[history.emile], rows[history.bruno]
        assert (helene.visit_date, helene.visit_type_id, helene.professional_id) == (
            dt.date(2024, 3, 15),
            history.types["periodique"],
            history.sophie,
        )
        assert helene.outcome is Outcome.apte and helene.is_confidential is False
        assert emile.outcome is Outcome.apte_restrictions and emile.is_confidential is True
        assert emile.professional_id == history.anne
        assert bruno.professional_id == history.paul and bruno.outcome is Outcome.inapte
        assert bruno.collectivity_id == history.users.collectivity_b.id
        for consultation in rows.values():
            assert consultation.appointment_id is None
            assert consultation.office_id is None and consultation.restrictions is None
            assert consultation.sheet_available_on == sheet_available_on(consultation.visit_date)
        # An old visit's sheet is available at once; a recent one waits its 8 working days.
        assert helene.sheet_available_on < dt.date.today() < emile.sheet_available_on
        audit = list(
            session.scalars(
                select(AuditLog).where(
                    AuditLog.action == "import", AuditLog.table_name == "consultation"
                )
            )
        )
        assert len(audit) == 2
        assert session.scalar(select(func.count()).select_from(MedicalNote)) == 0

    again = cli.invoke(args=["import", "consultations", str(path)])
    assert again.exit_code == 1
    assert "Le fichier n'a pas été importé : 3 erreurs. Aucune ligne n'a été enregistrée." in (
        again.output
    )
    assert "Ligne 2 : La visite périodique du 15/03/2024 de DURAND Hélène est déjà enregistrée" in (
        again.output
    )
    assert consultation_count(db_ctx) == 3


def test_a_comma_windows_1252_file_and_an_xlsx_file_are_accepted(login, history, db_ctx):
    web = login(history.users.secretariat)
    data = csv_file(
        [line(history.siret_a, INS_HELENE, professional="Lévêque Anne")],
        delimiter=",",
        encoding="cp1252",
    )
    page = text(upload(web, data))
    assert "Import réussi : 1 consultation importée (1 collectivité)." in page
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(HEADERS))
    sheet.append(
        [
            history.siret_a,
            INS_EMILE,
            dt.datetime(2024, 5, 2),
            "Périodique",
            "LEVEQUE",
            "Apte",
            "non",
        ]
    )
    out = io.BytesIO()
    workbook.save(out)
    page = text(upload(web, out.getvalue(), filename="historique.xlsx"))
    assert "Import réussi : 1 consultation importée (1 collectivité)." in page
    with db_ctx() as session:
        emile = session.scalar(select(Consultation).where(Consultation.agent_id == history.emile))
        assert emile.visit_date == dt.date(2024, 5, 2)


def test_verifying_a_file_shows_a_preview_and_writes_nothing(login, history, db_ctx):
    web = login(history.users.sante)
    data = csv_file(
        [
            line(history.siret_a, INS_HELENE),
            line(history.siret_a, INS_EMILE, "16/03/2024", outcome="Avis différé"),
        ]
    )
    page = text(upload(web, data, action="verifier"))
    assert (
        "Fichier vérifié, aucune erreur : 2 consultations seront importées (1 collectivité)."
        in page
    )
    assert "Rien n'est encore enregistré." in page
    assert "DURAND Hélène" in page and "GÉRARD Émile" in page and "Avis différé" in page
    assert consultation_count(db_ctx) == 0
    page = text(upload(web, data))
    assert "Import réussi : 2 consultations importées (1 collectivité)." in page
    assert consultation_count(db_ctx) == 2


# ----------------------------------------------------------------------------------------------
# Import: every bad input refuses the whole file
# ----------------------------------------------------------------------------------------------

UNKNOWN_SIRET = fake_siret(random.Random(777001))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"siret": UNKNOWN_SIRET},
            f"Ligne 3, colonne « SIRET » : Aucune collectivité n'a le SIRET {UNKNOWN_SIRET}.",
        ),
        ({"siret": "123"}, "Ligne 3, colonne « SIRET » : SIRET « 123 » invalide."),
        (
            {"ins": INS_BRUNO},
            f"Ligne 3, colonne « INS » : Aucun agent de la collectivité « Commune A » n'a l'INS "
            f"{INS_BRUNO}",
        ),
        (
            {"day": "31/02/2024"},
            "Ligne 3, colonne « Date de la visite » : Date impossible : « 31/02/2024 » "
            "n'existe pas au calendrier. Format attendu JJ/MM/AAAA.",
        ),
        (
            {"day": "2024/03/15"},
            "Ligne 3, colonne « Date de la visite » : Date invalide : « 2024/03/15 ».",
        ),
        (
            {"visit_type": "Visite annuelle"},
            "Ligne 3, colonne « Type de visite » : Type de visite « Visite annuelle » inconnu "
            "(attendu : Embauche,",
        ),
        (
            {"professional": "DUPONT Jean"},
            "Ligne 3, colonne « Professionnel » : Professionnel « DUPONT Jean » inconnu",
        ),
        (
            {"professional": "martin"},
            "Ligne 3, colonne « Professionnel » : Professionnel « martin » ambigu : plusieurs "
            "professionnels portent ce nom (MARTIN Paul, MARTIN Sophie). Indiquez « NOM Prénom ».",
        ),
        (
            {"outcome": "Apte partiel"},
            "Ligne 3, colonne « Avis » : Avis « Apte partiel » inconnu (attendu : « Attestation "
            "de suivi », « Apte »,",
        ),
        (
            {"confidential": "Peut-être"},
            "Ligne 3, colonne « Confidentielle(Oui/Non) » : Valeur « Peut-être » invalide : Oui ou "
            "Non attendu.",
        ),
        (
            {"day": (dt.date.today() + dt.timedelta(days=3)).strftime("%d/%m/%Y")},
            "est à venir : l'historique ne contient que des visites passées.",
        ),
        ({"ins": ""}, "Ligne 3, colonne « INS » : INS obligatoire"),
    ],
    ids=[
        "unknown-siret",
        "bad-siret",
        "ins-of-another-collectivity",
        "31-02",
        "bad-date-format",
        "unknown-visit-type",
        "unknown-professional",
        "ambiguous-professional",
        "unknown-outcome",
        "bad-oui-non",
        "future-visit",
        "empty-ins",
    ],
)
def test_each_bad_line_refuses_the_whole_file_with_a_french_message(
    login, history, db_ctx, changes, expected
):
    web = login(history.users.secretariat)
    bad = {"siret": history.siret_a, "ins": INS_EMILE, **changes}
    data = csv_file([line(history.siret_a, INS_HELENE), line(**bad)])
    page = text(upload(web, data))
    assert SUMMARY_ONE in page
    assert "Import réussi" not in page
    assert expected in "\n".join(report_lines(page))
    assert consultation_count(db_ctx) == 0


def test_the_cli_refuses_a_bad_file_with_exit_code_1_and_the_report_in_french(
    cli, history, db_ctx, tmp_path
):
    path = tmp_path / "historique.csv"
    path.write_bytes(
        csv_file(
            [
                line(history.siret_a, INS_HELENE, "31/02/2024"),
                line(history.siret_a, INS_EMILE, confidential="peut-être", outcome="Apte ?"),
            ]
        )
    )
    result = cli.invoke(args=["import", "consultations", str(path)])
    assert result.exit_code == 1
    assert "Le fichier n'a pas été importé : 3 erreurs. Aucune ligne n'a été enregistrée." in (
        result.output
    )
    assert (
        "Ligne 2, colonne « Date de la visite » : Date impossible : « 31/02/2024 » n'existe pas "
        "au calendrier. Format attendu JJ/MM/AAAA." in result.output
    )
    assert "Ligne 3, colonne « Avis » : Avis « Apte ? » inconnu" in result.output
    assert (
        "Ligne 3, colonne « Confidentielle(Oui/Non) » : Valeur « peut-être » invalide : Oui ou "
        "Non attendu." in result.output
    )
    assert consultation_count(db_ctx) == 0


def test_a_file_with_the_wrong_header_is_refused_with_the_template_hint(
    cli, history, db_ctx, tmp_path
):
    path = tmp_path / "historique.csv"
    path.write_bytes(b"SIRET;INS;Date;Type\r\n1;2;3;4\r\n")
    result = cli.invoke(args=["import", "consultations", str(path)])
    assert result.exit_code == 1
    assert "Ligne 1 : Colonne 3 : « Date de la visite » attendu, « Date » trouvé." in result.output
    assert "fichier de référence" in result.output
    assert consultation_count(db_ctx) == 0


def test_the_same_visit_twice_in_the_file_is_refused(login, history, db_ctx):
    web = login(history.users.secretariat)
    data = csv_file([line(history.siret_a, INS_HELENE), line(history.siret_a, INS_HELENE)])
    page = text(upload(web, data))
    assert SUMMARY_ONE in page
    assert "La visite périodique du 15/03/2024 de DURAND Hélène figure déjà à la ligne 2." in page
    assert consultation_count(db_ctx) == 0


def test_the_other_imports_still_need_their_collectivity(cli, history, tmp_path):
    path = tmp_path / "postes.csv"
    path.write_bytes(b"x")
    result = cli.invoke(args=["import", "positions", str(path)])
    assert result.exit_code == 1
    assert "Erreur : indiquez la collectivité (--collectivity SIRET)." in result.output


# ----------------------------------------------------------------------------------------------
# The screen: filters, order, paging, export
# ----------------------------------------------------------------------------------------------


def _record(session, agent_id, collectivity_id, day, type_id, professional_id, **kw):
    consultation = Consultation(
        agent_id=agent_id,
        collectivity_id=collectivity_id,
        visit_date=day,
        visit_type_id=type_id,
        professional_id=professional_id,
        outcome=kw.pop("outcome", Outcome.apte),
        sheet_available_on=sheet_available_on(day),
        **kw,
    )
    session.add(consultation)
    session.flush()
    return consultation


@pytest.fixture
def seen(history, db_ctx) -> History:
    a, b = history.users.collectivity_a.id, history.users.collectivity_b.id
    t = history.types
    with db_ctx() as session:
        _record(session, history.helene, a, dt.date(2024, 1, 10), t["periodique"], history.sophie)
        note_on = _record(
            session,
            history.emile,
            a,
            dt.date(2024, 6, 3),
            t["embauche"],
            history.anne,
            outcome=Outcome.apte_restrictions,
            restrictions="RESTRICTIONSECRETE port de charges",
        )
        session.add(MedicalNote(consultation_id=note_on.id, text="NOTEMEDICALESECRETE"))
        _record(
            session,
            history.bruno,
            b,
            dt.date(2025, 2, 20),
            t["reprise"],
            history.paul,
            outcome=Outcome.inapte_temporaire,
            is_confidential=True,
        )
    return history


def _shown_agents(page: str) -> list[str]:
    names = ("DURAND Hélène", "GÉRARD Émile", "BERTRAND Bruno")
    body = page.split("medprev-history")[1].split("</table>")[0]
    positions = {name: body.find(name) for name in names if name in body}
    return sorted(positions, key=positions.__getitem__)


@pytest.mark.parametrize("role", ["sante", "secretariat"])
def test_health_staff_and_the_secretariat_search_the_agents_seen(login, seen, role):
    web = login(getattr(seen.users, role))
    page = text(web.get(HISTORY))
    # Newest first by default.
    assert _shown_agents(page) == ["BERTRAND Bruno", "GÉRARD Émile", "DURAND Hélène"]
    assert "3 résultat(s)" in page
    assert "Inapte temporaire" in page and "Apte avec restrictions / aménagements" in page
    assert "Dr Sophie MARTIN" in page and "Paul MARTIN" in page
    # No medical content: no note, not even the restrictions.
    assert "NOTEMEDICALESECRETE" not in page and "RESTRICTIONSECRETE" not in page

    assert _shown_agents(text(web.get(HISTORY + "?du=01/01/2024&au=31/12/2024"))) == [
        "GÉRARD Émile",
        "DURAND Hélène",
    ]
    assert _shown_agents(text(web.get(HISTORY + "?du=1/6/2024"))) == [
        "BERTRAND Bruno",
        "GÉRARD Émile",
    ]
    assert _shown_agents(text(web.get(HISTORY + f"?type={seen.types['embauche']}"))) == [
        "GÉRARD Émile"
    ]
    assert _shown_agents(text(web.get(HISTORY + f"?professionnel={seen.paul}"))) == [
        "BERTRAND Bruno"
    ]
    assert _shown_agents(text(web.get(HISTORY + "?agent=gerard"))) == ["GÉRARD Émile"]
    assert _shown_agents(text(web.get(HISTORY + "?agent=GERARD+emi"))) == ["GÉRARD Émile"]
    b = seen.users.collectivity_b.id
    assert _shown_agents(text(web.get(HISTORY + f"?collectivite={b}"))) == ["BERTRAND Bruno"]
    assert _shown_agents(text(web.get(HISTORY + "?tri=agent"))) == [
        "BERTRAND Bruno",
        "DURAND Hélène",
        "GÉRARD Émile",
    ]
    assert _shown_agents(text(web.get(HISTORY + "?tri=date&ordre=asc&psize=2&page=2"))) == [
        "BERTRAND Bruno"
    ]


def test_a_date_that_does_not_read_is_explained_never_an_error(login, seen):
    web = login(seen.users.secretariat)
    response = web.get(HISTORY + "?du=31/02/2024&type=abc&professionnel=99999999999&page=x")
    assert response.status_code == 200
    page = text(response)
    assert "Du : Date impossible : « 31/02/2024 » n'existe pas au calendrier." in page
    assert "Le filtre n'est pas appliqué." in page
    assert len(_shown_agents(page)) == 3
    page = text(web.get(HISTORY + "?du=01/01/2025&au=01/01/2024"))
    assert "La date de fin précède la date de début" in page
    assert "Aucune consultation pour ces critères." in page


def test_the_export_holds_the_filtered_rows_in_french(login, seen):
    web = login(seen.users.sante)
    response = web.get(HISTORY + "export/csv?du=01/01/2024&au=31/12/2024&tri=agent")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    content = response.get_data().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(content), delimiter=";"))
    assert lines[0] == [
        "Date de la visite",
        "Collectivité",
        "Agent",
        "Date de naissance",
        "Type de visite",
        "Professionnel",
        "Avis",
        "Confidentielle",
        "Fiche disponible le",
    ]
    assert [row[2] for row in lines[1:]] == ["DURAND Hélène", "GÉRARD Émile"]
    emile = lines[2]
    assert emile[0] == "03/06/2024" and emile[1] == "Commune A"
    assert emile[4:8] == [
        "Embauche",
        "Dr Anne LÉVÊQUE",
        "Apte avec restrictions / aménagements",
        "Non",
    ]
    assert emile[8] == sheet_available_on(dt.date(2024, 6, 3)).strftime("%d/%m/%Y")
    assert "NOTEMEDICALESECRETE" not in content and "RESTRICTIONSECRETE" not in content

    response = web.get(HISTORY + "export/xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Date de la visite" and len(rows) == 4
    assert rows[1][2] == "BERTRAND Bruno" and rows[1][7] == "Oui"
    assert rows[1][0] == dt.datetime(2025, 2, 20)
    assert web.get(HISTORY + "export/pdf").status_code == 404


def test_the_page_runs_the_same_number_of_statements_for_5_or_40_consultations(
    login, history, db_ctx, count_queries
):
    web = login(history.users.secretariat)
    a = history.users.collectivity_a.id

    def grow(n: int) -> None:
        with db_ctx() as session:
            for i in range(n):
                agent = make_agent(session, history.users.collectivity_a, f"N{i}")
                professional = factories.make_professional(session)
                _record(
                    session,
                    agent.id,
                    a,
                    dt.date(2024, 1, 1) + dt.timedelta(days=i),
                    history.types["periodique"],
                    professional.id,
                )

    measured = []
    for n in (5, 35):
        grow(n)
        web.get(HISTORY + "?psize=100")
        with count_queries() as counter:
            response = web.get(HISTORY + "?psize=100&agent=nom")
        assert response.status_code == 200
        measured.append(counter.count)
    print(f"history page statements: {measured}")
    assert measured[0] == measured[1] <= 8, measured


# ----------------------------------------------------------------------------------------------
# Who reaches it
# ----------------------------------------------------------------------------------------------

ROUTES = [
    ("GET", HISTORY),
    ("GET", HISTORY + "export/csv"),
    ("GET", HISTORY + "export/xlsx"),
    ("GET", IMPORT),
    ("GET", IMPORT + "modele.csv"),
    ("POST", IMPORT),
]


@pytest.mark.parametrize(
    "role", ["primary_a", "secondary_a", "primary_b", "comptabilite", "direction"]
)
def test_employers_and_other_staff_roles_cannot_reach_the_history(login, seen, db_ctx, role):
    web = login(getattr(seen.users, role))
    token = web.csrf_token("/compte/moi/")
    for method, url in ROUTES:
        if method == "GET":
            response = web.get(url)
        else:
            data = csv_file([line(seen.siret_a, INS_HELENE, "01/01/2020")])
            response = web.post(
                url,
                data={
                    "csrf_token": token,
                    "action": "importer",
                    "file": (io.BytesIO(data), "h.csv"),
                },
                content_type="multipart/form-data",
            )
        assert response.status_code == 403, (role, method, url)
        assert "BERTRAND" not in response.get_data(as_text=True)
    assert consultation_count(db_ctx) == 3
    menu = text(web.get("/compte/moi/"))
    assert "Historique des consultations" not in menu


def test_the_menu_offers_the_history_after_the_day_s_consultations(login, history):
    page = text(login(history.users.sante).get(HISTORY)).split("<body", 1)[1]
    assert page.index("Consultations du jour") < page.index("Historique des consultations")
    assert "Importer l'historique" in page
    template = login(history.users.secretariat).get(IMPORT + "modele.csv")
    assert template.get_data().decode("utf-8-sig").splitlines()[0] == ";".join(HEADERS)


def test_roles_matrix_lists_the_history_for_health_and_secretariat_only():
    from app.security import role_permissions

    for role in (roles.SANTE, roles.SECRETARIAT):
        assert ("ConsultationHistory", "can_read") in role_permissions(role)
        assert ("ConsultationHistory", "can_write") in role_permissions(role)
    for role in (
        roles.COMPTABILITE,
        roles.DIRECTION,
        roles.EMPLOYER_PRIMARY,
        roles.EMPLOYER_SECONDARY,
    ):
        assert not [p for p in role_permissions(role) if p[0] == "ConsultationHistory"]


def test_an_imported_old_visit_reaches_the_employer_s_sheets_a_confidential_one_never(
    cli, login, history, db_ctx, tmp_path
):
    path = tmp_path / "historique.csv"
    path.write_bytes(
        csv_file(
            [
                line(history.siret_a, INS_HELENE, "15/03/2024"),
                line(history.siret_a, INS_EMILE, "16/03/2024", confidential="Oui"),
            ]
        )
    )
    assert cli.invoke(args=["import", "consultations", str(path)]).exit_code == 0
    with db_ctx() as session:
        helene = session.scalar(
            select(Consultation.id).where(Consultation.agent_id == history.helene)
        )
        emile = session.scalar(
            select(Consultation.id).where(Consultation.agent_id == history.emile)
        )
    web = login(history.users.primary_a)
    page = text(web.get("/portail/fiches-de-visite/"))
    assert "DURAND Hélène" in page and "15/03/2024" in page
    assert "GÉRARD Émile" not in page
    sheet = web.get(f"/portail/fiches-de-visite/{helene}/pdf")
    assert sheet.status_code == 200 and sheet.get_data().startswith(b"%PDF")
    assert web.get(f"/portail/fiches-de-visite/{emile}/pdf").status_code == 404
