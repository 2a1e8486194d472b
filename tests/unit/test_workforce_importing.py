"""Positions, agents and end-of-contract import files: reading, header and row checks (SPEC C5)."""

import io
from collections.abc import Sequence
from datetime import date, datetime

import openpyxl
import pytest

from app.rules.errors import DomainError
from app.workforce.importing import (
    HEADERS,
    POSITION_RISK_COLUMNS,
    AgentRow,
    ExitRow,
    ImportIssue,
    ImportKind,
    ImportRejected,
    PositionRow,
    check_header,
    parse_agents,
    parse_exits,
    parse_positions,
    read_table,
    template_csv,
)

TODAY = date(2026, 5, 4)
NON_14 = ["Non"] * 14


def ins_of(nir13: str) -> str:
    """An INS with its valid key: N + 13 characters + (97 - number mod 97) on 2 digits."""
    return f"N{nir13}{97 - int(nir13) % 97:02d}"


INS_HELENE = ins_of("2800569123456")
INS_PAUL = ins_of("1750169123789")


def position_cells(
    pcs: str = "372d",
    label: str = "Agent d'entretien",
    risks: Sequence[str] = NON_14,
    desc: str = "",
) -> list[str]:
    return [pcs, label, *risks, desc]


def agent_cells(**overrides: str) -> list[str]:
    """One agents line; overrides are headers with ``_`` for spaces (``Civilite`` for civility)."""
    cells = {
        "Civilite(Madame/Monsieur)": "Madame",
        "Prenom": "Hélène",
        "Nom de naissance": "Durand",
        "Nom marital": "Martin",
        "Date de naissance": "05/05/1980",
        "INS": INS_HELENE,
        "Date entree": "01/09/2020",
        "Date sortie": "",
        "Code CSP du type de poste": "526c",
        "Libelle du type de poste": "Auxiliaire de puériculture",
        "Libelle du type de contrat": "CDI",
    }
    for key, value in overrides.items():
        header = "Civilite(Madame/Monsieur)" if key == "Civilite" else key.replace("_", " ")
        cells[header] = value
    unknown = set(cells) - set(HEADERS[ImportKind.agents])
    assert not unknown, unknown
    return [cells[header] for header in HEADERS[ImportKind.agents]]


def exit_cells(contract_id: str, exit_date: str = "") -> list[str]:
    return [
        contract_id,
        INS_HELENE,
        "Madame",
        "Hélène",
        "Durand",
        "",
        "05/05/1980",
        "CDI",
        "Auxiliaire de puériculture",
        "01/09/2020",
        exit_date,
    ]


def csv_bytes(
    kind: ImportKind,
    rows: Sequence[Sequence[str]],
    *,
    separator: str = ";",
    encoding: str = "utf-8",
) -> bytes:
    lines = [separator.join(HEADERS[kind]), *(separator.join(row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def rejection(call: object, *args: object, **kwargs: object) -> ImportRejected:
    assert callable(call)
    with pytest.raises(ImportRejected) as caught:
        call(*args, **kwargs)
    return caught.value


def agents_from(data: bytes, filename: str = "salaries.csv") -> list[AgentRow]:
    return parse_agents(read_table(data, filename), today=TODAY)


# --- Headers and templates ----------------------------------------------------------------


def test_headers_have_the_contract_widths_and_every_risk_column_is_a_positions_header() -> None:
    assert [len(HEADERS[kind]) for kind in ImportKind] == [17, 11, 11]
    assert HEADERS[ImportKind.positions][:3] == ("Code CSP", "Libellé", "Amiante(Oui/Non)")
    assert HEADERS[ImportKind.agents][0] == "Civilite(Madame/Monsieur)"
    assert HEADERS[ImportKind.exits][0] == "id"
    assert HEADERS[ImportKind.exits][-1] == "Date de sortie"
    assert list(POSITION_RISK_COLUMNS) == list(HEADERS[ImportKind.positions][2:16])
    assert len(set(POSITION_RISK_COLUMNS.values())) == 14


def test_template_is_semicolon_separated_utf8_with_bom_and_crlf() -> None:
    data = template_csv(ImportKind.positions)
    assert data.startswith(b"\xef\xbb\xbfCode CSP;Libell\xc3\xa9;Amiante(Oui/Non);")
    assert data.endswith(b"Description du risque\r\n")
    assert data.count(b"\r\n") == 1


def test_template_quotes_a_cell_holding_the_separator() -> None:
    data = template_csv(ImportKind.positions, [position_cells(label="Agent; polyvalent")])
    assert [row.label for row in parse_positions(read_table(data, "postes.csv"))] == [
        "Agent; polyvalent"
    ]


# --- Round trips --------------------------------------------------------------------------


def test_positions_round_trip_from_the_template() -> None:
    risks = ["Non"] * 14
    risks[0] = "Oui"  # Amiante
    risks[8] = "oui"  # CACES
    risks[13] = "OUI"  # Autre risque
    data = template_csv(
        ImportKind.positions,
        [
            position_cells("372D", "  Responsable   des opérations ", risks, "Travail en hauteur"),
            position_cells("526c", "Auxiliaire de puériculture"),
        ],
    )
    assert parse_positions(read_table(data, "postes.csv")) == [
        PositionRow(
            line=2,
            pcs_code="372d",
            label="Responsable des opérations",
            risks=frozenset({"amiante", "caces", "autre"}),
            risk_description="Travail en hauteur",
        ),
        PositionRow(3, "526c", "Auxiliaire de puériculture", frozenset(), None),
    ]


def test_agents_round_trip_from_the_template() -> None:
    data = template_csv(
        ImportKind.agents,
        [
            agent_cells(),
            agent_cells(
                Civilite="M.",
                Prenom="Paul",
                Nom_de_naissance="Lefèvre",
                Nom_marital="",
                Date_de_naissance="1/2/1975",
                INS=INS_PAUL.lower(),
                Date_entree="15/03/2021",
                Date_sortie="31/12/2025",
                Code_CSP_du_type_de_poste="533A",
                Libelle_du_type_de_poste="Agent de sécurité",
                Libelle_du_type_de_contrat="CDD",
            ),
        ],
    )
    assert agents_from(data) == [
        AgentRow(
            line=2,
            civility="madame",
            first_name="Hélène",
            birth_name="Durand",
            usage_name="Martin",
            birth_date=date(1980, 5, 5),
            ins=INS_HELENE,
            entry_date=date(2020, 9, 1),
            exit_date=None,
            pcs_code="526c",
            position_label="Auxiliaire de puériculture",
            contract_type_label="CDI",
        ),
        AgentRow(
            line=3,
            civility="monsieur",
            first_name="Paul",
            birth_name="Lefèvre",
            usage_name=None,
            birth_date=date(1975, 2, 1),
            ins=INS_PAUL,
            entry_date=date(2021, 3, 15),
            exit_date=date(2025, 12, 31),
            pcs_code="533a",
            position_label="Agent de sécurité",
            contract_type_label="CDD",
        ),
    ]


def test_exits_round_trip_reads_only_the_filled_dates() -> None:
    data = template_csv(
        ImportKind.exits,
        [
            exit_cells("12"),
            exit_cells("13", "30/04/2026"),
            exit_cells("14"),
            exit_cells("15", "1/5/2026"),
        ],
    )
    assert parse_exits(read_table(data, "fins.csv")) == [
        ExitRow(line=3, contract_id=13, exit_date=date(2026, 4, 30)),
        ExitRow(line=5, contract_id=15, exit_date=date(2026, 5, 1)),
    ]


# --- Separators, encodings, XLSX -----------------------------------------------------------


def test_comma_separated_file_is_read_like_a_semicolon_one() -> None:
    rows = [agent_cells()]
    with_commas = read_table(csv_bytes(ImportKind.agents, rows, separator=","), "salaries.csv")
    with_semicolons = read_table(csv_bytes(ImportKind.agents, rows), "salaries.csv")
    assert with_commas == with_semicolons
    assert len(with_commas[0]) == 11


def test_comma_file_with_a_quoted_comma_in_a_cell_is_read() -> None:
    header = ",".join(HEADERS[ImportKind.positions])
    data = f'{header}\n372d,"Agent d\'entretien, polyvalent",{",".join(NON_14)},\n'.encode()
    assert parse_positions(read_table(data, "postes.csv"))[0].label == (
        "Agent d'entretien, polyvalent"
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_accents_are_read_in_utf8_with_or_without_bom_and_in_windows_1252(encoding: str) -> None:
    agents = agents_from(csv_bytes(ImportKind.agents, [agent_cells()], encoding=encoding))
    assert agents[0].first_name == "Hélène"
    assert agents[0].position_label == "Auxiliaire de puériculture"
    positions = parse_positions(
        read_table(
            csv_bytes(
                ImportKind.positions, [position_cells(label="Libellé à tester")], encoding=encoding
            ),
            "p.csv",
        )
    )
    assert positions[0].label == "Libellé à tester"


def test_windows_1252_file_is_not_mistaken_for_utf8() -> None:
    data = csv_bytes(ImportKind.agents, [agent_cells()], encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert read_table(data, "salaries.csv")[0][2] == "Nom de naissance"


def xlsx_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_first_sheet_is_read_with_dates_numbers_and_empty_cells() -> None:
    cells: list[object] = list(agent_cells())
    cells[4] = datetime(1980, 5, 5)  # a real Excel date cell
    cells[6] = date(2020, 9, 1)
    cells[3] = None
    data = xlsx_bytes([HEADERS[ImportKind.agents], cells])
    table = read_table(data, "salaries.xlsx")
    assert table[1][3:7] == ["", "05/05/1980", INS_HELENE, "01/09/2020"]
    agents = parse_agents(table, today=TODAY)
    assert agents[0].birth_date == date(1980, 5, 5)
    assert agents[0].usage_name is None


def test_xlsx_integer_ids_have_no_decimal_part_and_trailing_empty_rows_are_dropped() -> None:
    rows: list[Sequence[object]] = [HEADERS[ImportKind.exits]]
    rows.append([12, *exit_cells("")[1:10], date(2026, 4, 30)])
    rows.append([13.0, *exit_cells("")[1:10], "30/04/2026"])
    rows.append([None] * 11)
    table = read_table(xlsx_bytes(rows), "fins.xlsx")
    assert len(table) == 3
    assert [(row.contract_id, row.exit_date) for row in parse_exits(table)] == [
        (12, date(2026, 4, 30)),
        (13, date(2026, 4, 30)),
    ]


def test_xlsx_is_recognised_by_its_content_whatever_its_name() -> None:
    data = xlsx_bytes([HEADERS[ImportKind.positions], position_cells()])
    assert read_table(data, "postes.csv")[1][:2] == ["372d", "Agent d'entretien"]


@pytest.mark.parametrize(
    ("data", "filename"),
    [(b"PK\x03\x04 not really a workbook", "postes.csv"), (b"Code CSP;Libell", "postes.xlsx")],
)
def test_unreadable_xlsx_is_rejected_with_advice(data: bytes, filename: str) -> None:
    error = rejection(read_table, data, filename)
    assert [issue.line for issue in error.issues] == [None]
    assert "Le fichier Excel n'a pas pu être lu" in error.issues[0].message


def test_old_xls_format_is_rejected_with_advice() -> None:
    error = rejection(read_table, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "a.xls")
    assert "(.xls) n'est pas accepté" in error.issues[0].message


# --- File-level refusals -------------------------------------------------------------------


def test_file_over_the_size_limit_is_rejected_naming_the_limit() -> None:
    data = template_csv(ImportKind.positions, [position_cells()] * 100)
    error = rejection(read_table, data, "postes.csv", max_bytes=1024)
    assert error.issues == [
        ImportIssue(None, None, "Le fichier dépasse la taille maximale de 1 Ko.")
    ]
    assert isinstance(error, DomainError)


def test_default_size_limit_is_20_mo() -> None:
    error = rejection(read_table, b"x" * (20 * 1024 * 1024 + 1), "postes.csv")
    assert error.issues[0].message == "Le fichier dépasse la taille maximale de 20 Mo."


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"  \r\n"])
def test_empty_file_is_rejected(data: bytes) -> None:
    assert rejection(read_table, data, "postes.csv").issues[0].message == "Le fichier est vide."


def test_file_of_separators_only_has_no_header_line() -> None:
    error = rejection(read_table, b";;;\r\n;;\r\n", "postes.csv")
    assert error.issues[0].message == "Le fichier ne contient pas de ligne d'en-tête."


@pytest.mark.parametrize("kind", list(ImportKind))
def test_file_with_a_header_and_no_data_row_is_rejected(kind: ImportKind) -> None:
    table = read_table(template_csv(kind) + b";;;\r\n\r\n", "modele.csv")
    error = rejection(check_header, table, kind)
    assert error.issues == [
        ImportIssue(None, None, "Le fichier ne contient aucune ligne de données.")
    ]


# --- Header checks -------------------------------------------------------------------------


def test_headers_in_another_order_are_rejected_naming_each_column() -> None:
    header = list(HEADERS[ImportKind.agents])
    header[1], header[2] = header[2], header[1]
    error = rejection(check_header, [header, agent_cells()], ImportKind.agents)
    assert [str(issue) for issue in error.issues] == [
        "Ligne 1 : Colonne 2 : « Prenom » attendu, « Nom de naissance » trouvé.",
        "Ligne 1 : Colonne 3 : « Nom de naissance » attendu, « Prenom » trouvé.",
    ]
    assert "fichier de référence" in str(error)
    assert str(error).startswith("Le fichier n'a pas été importé : 2 erreurs.")


def test_header_tolerates_case_accents_bom_spaces_and_empty_trailing_columns() -> None:
    header = ["\ufeffcode csp ", "LIBELLE", "Amiante (oui/non)", *HEADERS[ImportKind.positions][3:]]
    header[4] = "CMR (Cancerogene)"
    check_header([[*header, "", ""], position_cells()], ImportKind.positions)


def test_missing_columns_are_counted_and_named() -> None:
    header = list(HEADERS[ImportKind.agents][:9])
    error = rejection(check_header, [header, agent_cells()[:9]], ImportKind.agents)
    assert [issue.message for issue in error.issues] == [
        "2 colonnes manquantes : « Libelle du type de poste », « Libelle du type de contrat » "
        "(11 colonnes attendues, 9 trouvées)."
    ]


def test_extra_named_column_is_reported() -> None:
    header = [*HEADERS[ImportKind.exits], "Commentaire"]
    error = rejection(check_header, [header, exit_cells("1", "01/01/2026")], ImportKind.exits)
    assert error.issues[0].message == (
        "1 colonne en trop : « Commentaire » (11 colonnes attendues, 12 trouvées)."
    )


def test_file_of_another_kind_is_recognised() -> None:
    table = read_table(template_csv(ImportKind.agents, [agent_cells()]), "salaries.csv")
    error = rejection(parse_positions, table)
    assert [issue.message for issue in error.issues] == [
        "Ce fichier est un fichier « Création de salariés » : envoyez-le depuis le cadre "
        "« Création de salariés » de la page « Importer », pas depuis le cadre « Postes de travail »."
    ]


# --- Positions rows ------------------------------------------------------------------------


def test_oui_non_typo_is_reported_with_line_and_column() -> None:
    risks = list(NON_14)
    risks[1] = "Ouii"
    data = csv_bytes(
        ImportKind.positions, [position_cells(), position_cells("526c", "Cuisinier", risks)]
    )
    error = rejection(parse_positions, read_table(data, "postes.csv"))
    assert error.issues == [
        ImportIssue(3, "Plomb(Oui/Non)", "Valeur « Ouii » invalide : Oui ou Non attendu.")
    ]
    assert str(error.issues[0]) == (
        "Ligne 3, colonne « Plomb(Oui/Non) » : Valeur « Ouii » invalide : Oui ou Non attendu."
    )
    assert str(error) == (
        "Le fichier n'a pas été importé : 1 erreur. Aucune ligne n'a été enregistrée."
    )


def test_empty_risk_cells_count_as_non() -> None:
    rows = [["372d", "Agent d'entretien", "oui"]]  # short row: the other cells are empty
    positions = parse_positions([list(HEADERS[ImportKind.positions]), *rows])
    assert positions[0].risks == frozenset({"amiante"})
    assert positions[0].risk_description is None


def test_other_risk_needs_a_description() -> None:
    risks = list(NON_14)
    risks[13] = "Oui"
    table = [list(HEADERS[ImportKind.positions]), position_cells(risks=risks)]
    error = rejection(parse_positions, table)
    assert [(issue.line, issue.column) for issue in error.issues] == [(2, "Description du risque")]


def test_position_code_and_label_are_checked() -> None:
    table = [
        list(HEADERS[ImportKind.positions]),
        position_cells("37D2"),
        position_cells("", "Jardinier"),
        position_cells("372d", ""),
        position_cells("372d", "x" * 201),
    ]
    issues = rejection(parse_positions, table).issues
    assert [(issue.line, issue.column) for issue in issues] == [
        (2, "Code CSP"),
        (3, "Code CSP"),
        (4, "Libellé"),
        (5, "Libellé"),
    ]
    assert issues[0].message.startswith("Code PCS « 37D2 » invalide.")
    assert "201 caractères, 200 au maximum" in issues[3].message


def test_same_position_twice_is_reported_on_the_second_line_ignoring_case_and_accents() -> None:
    table = [
        list(HEADERS[ImportKind.positions]),
        position_cells("372d", "Agent d'entretien"),
        position_cells("526c", "Agent d'entretien"),
        position_cells("372D", "AGENT  D'ENTRÉTIEN"),
    ]
    issues = rejection(parse_positions, table).issues
    assert [(issue.line, issue.column) for issue in issues] == [(4, "Libellé")]
    assert "figure déjà à la ligne 2" in issues[0].message


# --- Agents rows ---------------------------------------------------------------------------


def agents_table(*rows: list[str]) -> list[list[str]]:
    return [list(HEADERS[ImportKind.agents]), *rows]


@pytest.mark.parametrize(
    ("typed", "civility"),
    [
        ("Madame", "madame"),
        ("MADAME", "madame"),
        ("Mme", "madame"),
        ("monsieur", "monsieur"),
        ("M.", "monsieur"),
        ("Mr", "monsieur"),
    ],
)
def test_civility_accepts_full_words_and_abbreviations(typed: str, civility: str) -> None:
    agents = parse_agents(agents_table(agent_cells(Civilite=typed)), today=TODAY)
    assert agents[0].civility == civility


def test_unknown_civility_is_refused() -> None:
    error = rejection(parse_agents, agents_table(agent_cells(Civilite="Dr")), today=TODAY)
    assert error.issues[0].message == "Civilité « Dr » invalide : Madame ou Monsieur attendu."


def test_wrong_ins_key_is_reported() -> None:
    wrong = INS_HELENE[:-2] + ("00" if INS_HELENE[-2:] != "00" else "01")
    error = rejection(parse_agents, agents_table(agent_cells(INS=wrong)), today=TODAY)
    assert error.issues == [
        ImportIssue(2, "INS", f"INS « {wrong} » invalide. La clé du NIR est incorrecte.")
    ]


def test_missing_ins_is_allowed() -> None:
    assert parse_agents(agents_table(agent_cells(INS="")), today=TODAY)[0].ins is None


def test_impossible_date_is_reported_with_the_expected_format() -> None:
    error = rejection(
        parse_agents, agents_table(agent_cells(Date_de_naissance="31/02/1980")), today=TODAY
    )
    assert [str(issue) for issue in error.issues] == [
        "Ligne 2, colonne « Date de naissance » : Date impossible : « 31/02/1980 » "
        "n'existe pas au calendrier. Format attendu JJ/MM/AAAA."
    ]


def test_exit_before_entry_is_refused() -> None:
    error = rejection(
        parse_agents,
        agents_table(agent_cells(Date_entree="01/09/2020", Date_sortie="31/08/2020")),
        today=TODAY,
    )
    assert error.issues == [
        ImportIssue(
            2,
            "Date sortie",
            "La date de sortie (31/08/2020) est antérieure à la date d'entrée (01/09/2020).",
        )
    ]


@pytest.mark.parametrize(
    ("birth", "entry", "accepted"),
    [
        ("01/09/2006", "01/09/2020", True),  # 14 on the day
        ("02/09/2006", "01/09/2020", False),  # 13
        ("02/09/1939", "01/09/2020", True),  # 80
        ("01/09/1939", "01/09/2020", False),  # 81 on the day
    ],
)
def test_agent_is_14_to_80_years_old_at_entry(birth: str, entry: str, accepted: bool) -> None:
    table = agents_table(agent_cells(INS="", Date_de_naissance=birth, Date_entree=entry))
    if accepted:
        assert len(parse_agents(table, today=TODAY)) == 1
    else:
        issues = rejection(parse_agents, table, today=TODAY).issues
        assert [(issue.line, issue.column) for issue in issues] == [(2, "Date de naissance")]


def test_birth_date_must_be_before_today() -> None:
    table = agents_table(
        agent_cells(INS="", Date_de_naissance="04/05/2026", Date_entree="05/05/2026")
    )
    issues = rejection(parse_agents, table, today=TODAY).issues
    assert [issue.message for issue in issues] == [
        "La date de naissance (04/05/2026) doit être antérieure à aujourd'hui."
    ]


def test_required_agent_cells_are_reported_each_in_its_column() -> None:
    blank = dict.fromkeys(HEADERS[ImportKind.agents], "")
    blank["Nom marital"] = "Martin"  # an otherwise empty line is still a line
    error = rejection(parse_agents, agents_table(list(blank.values())), today=TODAY)
    assert [issue.column for issue in error.issues] == [
        "Civilite(Madame/Monsieur)",
        "Prenom",
        "Nom de naissance",
        "Date de naissance",
        "Date entree",
        "Code CSP du type de poste",
        "Libelle du type de poste",
        "Libelle du type de contrat",
    ]


def test_same_ins_twice_is_reported_on_the_later_line() -> None:
    table = agents_table(
        agent_cells(),
        agent_cells(Prenom="Paul", Nom_de_naissance="Lefèvre", Civilite="M", INS=INS_PAUL),
        agent_cells(Prenom="Julie", INS=INS_HELENE.lower()),
    )
    issues = rejection(parse_agents, table, today=TODAY).issues
    assert issues == [ImportIssue(4, "INS", f"L'INS {INS_HELENE} figure déjà à la ligne 2.")]


def test_same_person_twice_is_reported_on_the_later_line_ignoring_case_and_accents() -> None:
    table = agents_table(
        agent_cells(INS=""),
        agent_cells(INS="", Prenom="Paul"),
        agent_cells(INS="", Prenom="HELENE", Nom_de_naissance="durand"),
    )
    issues = rejection(parse_agents, table, today=TODAY).issues
    assert [(issue.line, issue.column) for issue in issues] == [(4, None)]
    assert "figure déjà à la ligne 2" in issues[0].message


def test_every_error_of_a_file_is_reported_with_its_line() -> None:
    data = csv_bytes(
        ImportKind.agents,
        [
            agent_cells(),  # line 2: fine
            agent_cells(INS="", Prenom="Paul", Date_de_naissance="31/02/1980"),  # line 3
            agent_cells(INS="", Prenom="Léa", Civilite="Mlle"),  # line 4
            [""] * 11,  # line 5: blank, skipped
            agent_cells(INS="", Prenom="Jean", Code_CSP_du_type_de_poste="ABC"),  # line 6
            agent_cells(INS="", Prenom="Zoé", Date_sortie="01/01/2019"),  # line 7
        ],
    )
    error = rejection(agents_from, data)
    assert [(issue.line, issue.column) for issue in error.issues] == [
        (3, "Date de naissance"),
        (4, "Civilite(Madame/Monsieur)"),
        (6, "Code CSP du type de poste"),
        (7, "Date sortie"),
    ]
    assert str(error).startswith("Le fichier n'a pas été importé : 4 erreurs.")


def test_value_beyond_the_last_column_is_reported() -> None:
    issues = rejection(
        parse_agents, agents_table([*agent_cells(), "", "en trop"]), today=TODAY
    ).issues
    assert [(issue.line, issue.column) for issue in issues] == [(2, None)]
    assert "« en trop » en colonne 13" in issues[0].message


def test_ten_thousand_agents_are_parsed() -> None:
    rows = []
    for number in range(10_000):
        nir13 = f"1800569{number:06d}"
        rows.append(
            agent_cells(
                INS=ins_of(nir13),
                Prenom=f"Prénom{number}",
                Nom_de_naissance=f"Nom{number}",
                Civilite="Monsieur",
            )
        )
    agents = agents_from(template_csv(ImportKind.agents, rows))
    assert len(agents) == 10_000
    assert agents[-1].line == 10_001


# --- End-of-contract rows ------------------------------------------------------------------


def exits_table(*rows: list[str]) -> list[list[str]]:
    return [list(HEADERS[ImportKind.exits]), *rows]


def test_exit_file_without_any_date_is_rejected() -> None:
    error = rejection(parse_exits, exits_table(exit_cells("1"), exit_cells("2")))
    assert [issue.line for issue in error.issues] == [None]
    assert error.issues[0].message.startswith("Aucune date de sortie n'est renseignée.")


def test_exit_rows_without_date_are_ignored_even_when_their_other_cells_changed() -> None:
    table = exits_table(exit_cells("not an id"), exit_cells("7", "02/05/2026"))
    assert parse_exits(table) == [ExitRow(3, 7, date(2026, 5, 2))]


def test_exit_ids_and_dates_are_checked() -> None:
    table = exits_table(
        exit_cells("7", "02/05/2026"),
        exit_cells("7", "03/05/2026"),
        exit_cells("0", "03/05/2026"),
        exit_cells("", "03/05/2026"),
        exit_cells("8", "03/05/26"),  # a two-digit year (ISO 2026-05-03 is accepted)
    )
    issues = rejection(parse_exits, table).issues
    assert [(issue.line, issue.column) for issue in issues] == [
        (3, "id"),
        (4, "id"),
        (5, "id"),
        (6, "Date de sortie"),
    ]
    assert issues[0].message.startswith("Le contrat 7 figure déjà à la ligne 2")
    assert issues[1].message.startswith("Numéro de contrat « 0 » invalide")


# --- Issues and rejection ------------------------------------------------------------------


def test_issue_is_shown_with_its_line_and_column_in_french() -> None:
    issue = ImportIssue(
        4, "Date de naissance", "Date invalide : « 31/02/1980 ». Format attendu JJ/MM/AAAA."
    )
    assert str(issue) == (
        "Ligne 4, colonne « Date de naissance » : "
        "Date invalide : « 31/02/1980 ». Format attendu JJ/MM/AAAA."
    )
    assert str(ImportIssue(None, None, "Le fichier est vide.")) == "Le fichier est vide."


def test_rejection_summarises_the_number_of_errors() -> None:
    issues = [ImportIssue(line, None, "x") for line in (2, 3, 4)]
    error = ImportRejected(issues)
    assert error.message == (
        "Le fichier n'a pas été importé : 3 erreurs. Aucune ligne n'a été enregistrée."
    )
    assert error.issues == issues
