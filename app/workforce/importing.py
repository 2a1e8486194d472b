"""Reading and checking the positions, agents and end-of-contract import files (SPEC C5)."""

from __future__ import annotations

import codecs
import csv
import functools
import io
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

from app.core.spreadsheet import csv_bytes
from app.rules.dates import parse_french_date
from app.rules.errors import DomainError
from app.rules.formatting import fold, format_date, parse_oui_non
from app.rules.identifiers import PCS_MESSAGE, normalize_ins, normalize_pcs
from app.rules.spreadsheet import restore_cell


class ImportKind(StrEnum):
    """The three SSTRN import files (CONTRACT.md §3)."""

    positions = "positions"
    agents = "agents"
    exits = "exits"


# CONTRACT.md §3, character for character, in this order.
HEADERS: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.positions: (
        "Code CSP",
        "Libellé",
        "Amiante(Oui/Non)",
        "Plomb(Oui/Non)",
        "CMR (Cancérogène)",
        "Agent biologique",
        "Rayonnements ionisants",
        "Risque hyperbare",
        "Chute(Oui/Non)",
        "Habilitation électrique",
        "CACES(Oui/Non)",
        "Charge manuelle",
        "Agent biologique groupe 2",
        "Champs électromagnétiques",
        "Travailleur de nuit",
        "Autre risque(Oui/Non)",
        "Description du risque",
    ),
    ImportKind.agents: (
        "Civilite(Madame/Monsieur)",
        "Prenom",
        "Nom de naissance",
        "Nom marital",
        "Date de naissance",
        "INS",
        "Date entree",
        "Date sortie",
        "Code CSP du type de poste",
        "Libelle du type de poste",
        "Libelle du type de contrat",
    ),
    ImportKind.exits: (
        "id",
        "INS",
        "Civilite",
        "Prenom",
        "Nom de naissance",
        "Nom marital",
        "Date de naissance",
        "Contrat",
        "Libelle de poste",
        "Date entree",
        "Date de sortie",
    ),
}

# Positions header -> risk code (the codes of app.rules.follow_up).
POSITION_RISK_COLUMNS: dict[str, str] = {
    "Amiante(Oui/Non)": "amiante",
    "Plomb(Oui/Non)": "plomb",
    "CMR (Cancérogène)": "cmr",
    "Agent biologique": "bio_3_4",
    "Rayonnements ionisants": "rayonnements",
    "Risque hyperbare": "hyperbare",
    "Chute(Oui/Non)": "chute_echafaudage",
    "Habilitation électrique": "electrique",
    "CACES(Oui/Non)": "caces",
    "Charge manuelle": "charges_55kg",
    "Agent biologique groupe 2": "bio_2",
    "Champs électromagnétiques": "electromagnetique",
    "Travailleur de nuit": "nuit",
    "Autre risque(Oui/Non)": "autre",
}

# The panels of the « Importer » page, as the user sees them (app/workforce/imports.py).
KIND_LABELS: dict[ImportKind, str] = {
    ImportKind.positions: "Postes de travail",
    ImportKind.agents: "Création de salariés",
    ImportKind.exits: "Fins de contrats",
}

TEMPLATE_HINT = (
    "Utilisez le fichier de référence téléchargeable depuis cette page, "
    "sans modifier sa première ligne."
)

LABEL_MAX = 200
RISK_DESCRIPTION_MAX = 250
NAME_MAX = 100
CONTRACT_TYPE_MAX = 200
MIN_AGE_AT_ENTRY = 14
MAX_AGE_AT_ENTRY = 80
# A guard against files (or zip bombs) far beyond any collectivity's headcount.
MAX_LINES = 100_000
# Columns read from an XLSX sheet: the widest template has 17, the rest is room for mistakes.
MAX_XLSX_COLUMNS = 40

_ZIP_SIGNATURE = b"PK\x03\x04"
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls
_SEPARATORS = (";", ",")
_EXPECTED_WIDTHS = frozenset(len(headers) for headers in HEADERS.values())
_CIVILITIES = {
    "madame": "madame",
    "mme": "madame",
    "mme.": "madame",
    "monsieur": "monsieur",
    "m": "monsieur",
    "m.": "monsieur",
    "mr": "monsieur",
    "mr.": "monsieur",
}


# Cells with a handful of distinct values (civilities) are folded once each.
_fold_short = functools.lru_cache(maxsize=256)(fold)


def _header_key(text: str) -> str:
    """Fold a header for comparison: no BOM, case, accents or spaces."""
    return fold(text.replace("\ufeff", "")).replace(" ", "")


_HEADER_KEYS = {kind: tuple(_header_key(h) for h in headers) for kind, headers in HEADERS.items()}
_COLUMN_INDEX = {kind: {h: i for i, h in enumerate(headers)} for kind, headers in HEADERS.items()}


@dataclass(frozen=True)
class ImportIssue:
    """One problem in an import file, located as the user sees it in Excel (SPEC C5).

    ``line`` is the line number in the file, the header being line 1 (None: the whole file);
    ``column`` is the header of the column concerned (None: the whole line).
    """

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.line is not None and self.column is not None:
            return f"Ligne {self.line}, colonne « {self.column} » : {self.message}"
        if self.line is not None:
            return f"Ligne {self.line} : {self.message}"
        if self.column is not None:
            return f"Colonne « {self.column} » : {self.message}"
        return self.message


class ImportRejected(DomainError):
    """The file is refused as a whole; ``issues`` lists every problem found (SPEC C5).

    Source: SPEC.md C5 (one bad row means nothing is written; the report lists every error by
    line and column).
    """

    def __init__(
        self, issues: list[ImportIssue], hint: str | None = None, sheet: str | None = None
    ) -> None:
        count = len(issues)
        where = f" (feuille « {sheet} »)" if sheet else ""
        summary = (
            f"Le fichier n'a pas été importé{where} : {count} erreur{'s' if count > 1 else ''}. "
            "Aucune ligne n'a été enregistrée."
        )
        super().__init__(f"{summary} {hint}" if hint else summary)
        self.issues = list(issues)
        self.hint = hint
        self.sheet = sheet

    def in_sheet(self, sheet: str | None) -> ImportRejected:
        """The same report, naming the Excel sheet its line numbers refer to."""
        return ImportRejected(self.issues, self.hint, sheet) if sheet else self


def _reject(message: str) -> ImportRejected:
    return ImportRejected([ImportIssue(None, None, message)])


def _human_size(size: int) -> str:
    """Return a byte count in French units: ``20 Mo``, ``1,5 Mo``, ``512 Ko``, ``100 octets``."""
    for unit, factor in (("Mo", 1024 * 1024), ("Ko", 1024)):
        if size >= factor:
            amount = round(size / factor, 1)
            text = f"{amount:.1f}".removesuffix(".0").replace(".", ",")
            return f"{text} {unit}"
    return f"{size} octet{'s' if size > 1 else ''}"


# --- Reading the file ---------------------------------------------------------------------


class Table(list[list[str]]):
    """The cells of an import file; ``sheet`` is the name of the Excel sheet read (None: CSV)."""

    sheet: str | None = None


def read_table(data: bytes, filename: str, *, max_bytes: int = 20 * 1024 * 1024) -> Table:
    """Return the cells of an import file (CSV or XLSX) as stripped strings, row by row.

    Source: CONTRACT.md §3 (CSV ``;`` or ``,``, UTF-8 with or without BOM or Windows-1252;
    XLSX accepted) and SSTRN-EXTRANET (« Ouvrir le fichier avec Excel, le remplir, puis
    sauvegarder »). Row ``i`` of the result is line ``i + 1`` in Excel; trailing empty rows are
    dropped; an XLSX file is read from its first sheet, whose name the report gives. Raises
    ImportRejected for a file too large, empty, unreadable or without header.
    """
    if len(data) > max_bytes:
        raise _reject(f"Le fichier dépasse la taille maximale de {_human_size(max_bytes)}.")
    if not data.removeprefix(codecs.BOM_UTF8).strip():
        raise _reject("Le fichier est vide.")
    if data.startswith(_OLE_SIGNATURE):
        raise _reject(
            "Le format Excel 97-2003 (.xls) n'est pas accepté : enregistrez le fichier "
            "au format Excel (.xlsx) ou CSV (séparateur point-virgule)."
        )
    if data.startswith(_ZIP_SIGNATURE) or filename.lower().endswith(".xlsx"):
        rows = _read_xlsx(data)
    else:
        rows = Table(_read_csv(data))
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise _reject("Le fichier ne contient pas de ligne d'en-tête.").in_sheet(rows.sheet)
    return rows


def _xlsx_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, datetime | date):
        return format_date(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _cell_text(str(value))


def _cell_text(cell: str) -> str:
    """A text cell stripped, without the quote ``safe_cell`` adds to our own downloads."""
    return restore_cell(cell.strip()).strip()


def _read_xlsx(data: bytes) -> Table:
    """Read the first sheet of an XLSX workbook (openpyxl, read-only, cached values)."""
    import openpyxl  # imported here: only XLSX uploads pay for it

    unreadable = _reject(
        "Le fichier Excel n'a pas pu être lu : enregistrez-le au format Excel (.xlsx) "
        "ou CSV (séparateur point-virgule) et importez-le à nouveau."
    )
    rows = Table()
    try:
        with warnings.catch_warnings():
            # Extensions openpyxl drops (data validation, conditional formats) are harmless here.
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            workbook = openpyxl.load_workbook(
                io.BytesIO(data), read_only=True, data_only=True, keep_links=False
            )
            try:
                sheet = workbook.worksheets[0]
                rows.sheet = str(sheet.title)
                for values in sheet.iter_rows(max_col=MAX_XLSX_COLUMNS, values_only=True):
                    if len(rows) >= MAX_LINES:
                        raise _too_many_lines()
                    rows.append([_xlsx_cell(value) for value in values])
            finally:
                workbook.close()
    except ImportRejected as rejected:
        raise rejected.in_sheet(rows.sheet) from None
    except Exception as exc:  # a damaged or foreign ZIP raises many kinds of errors
        raise unreadable from exc
    return rows


def _too_many_lines() -> ImportRejected:
    limit = f"{MAX_LINES:,}".replace(",", "\u00a0")
    return _reject(f"Le fichier compte plus de {limit} lignes : découpez-le en plusieurs fichiers.")


def _decode(data: bytes) -> str:
    """Decode UTF-8 (BOM or not), else Windows-1252 (what Excel writes), else Latin-1."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _choose_separator(text: str) -> str:
    """Pick ``;`` or ``,``: the one splitting the header into a template's width, else the most frequent."""
    header = next((line for line in io.StringIO(text) if line.strip()), "")
    widths: dict[str, int] = {}
    for separator in _SEPARATORS:
        cells = next(csv.reader([header], delimiter=separator), [])
        while cells and not cells[-1].strip():
            cells.pop()
        widths[separator] = len(cells)
    fitting = [s for s in _SEPARATORS if widths[s] in _EXPECTED_WIDTHS]
    if len(fitting) == 1:
        return fitting[0]
    return max(_SEPARATORS, key=lambda s: (header.count(s), s == ";"))


def _read_csv(data: bytes) -> list[list[str]]:
    if b"\x00" in data:
        raise _reject(
            "Le fichier n'est ni un fichier CSV ni un fichier Excel (.xlsx) : enregistrez-le "
            "au format CSV (séparateur point-virgule) ou Excel (.xlsx)."
        )
    text = _decode(data)
    separator = _choose_separator(text)
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        for cells in reader:
            if len(rows) >= MAX_LINES:
                raise _too_many_lines()
            rows.append([_cell_text(cell) for cell in cells])
    except csv.Error as exc:
        raise _reject(
            f"Le fichier CSV est mal formé à la ligne {len(rows) + 1} ({exc}) : "
            "vérifiez les guillemets de cette ligne."
        ) from exc
    return rows


# --- Header -------------------------------------------------------------------------------


def _found_keys(rows: list[list[str]]) -> list[str]:
    keys = [_header_key(cell) for cell in rows[0]] if rows else []
    while keys and not keys[-1]:
        keys.pop()
    return keys


def check_header(rows: list[list[str]], kind: ImportKind) -> None:
    """Check that line 1 holds the template headers in order and that data lines follow.

    Source: CONTRACT.md §3 (« First line = these headers, in this order ») and SSTRN-EXTRANET
    (« Télécharger le fichier de référence ... le remplir »). Case, accents, spaces, a BOM and
    empty trailing columns are tolerated. Raises ImportRejected listing every wrong column.
    """
    if not rows:
        raise _reject("Le fichier ne contient pas de ligne d'en-tête.")
    found_keys = _found_keys(rows)
    if tuple(found_keys) != _HEADER_KEYS[kind]:
        raise ImportRejected(_header_issues(kind, rows[0], found_keys), hint=TEMPLATE_HINT)
    if not any(any(row) for row in rows[1:]):
        raise _reject("Le fichier ne contient aucune ligne de données.")


def _header_issues(kind: ImportKind, found: list[str], found_keys: list[str]) -> list[ImportIssue]:
    for other, keys in _HEADER_KEYS.items():
        if other is not kind and tuple(found_keys) == keys:
            return [
                ImportIssue(
                    1,
                    None,
                    f"Ce fichier est un fichier « {KIND_LABELS[other]} » : envoyez-le depuis "
                    f"le cadre « {KIND_LABELS[other]} » de la page « Importer », pas depuis le "
                    f"cadre « {KIND_LABELS[kind]} ».",
                )
            ]
    expected = HEADERS[kind]
    expected_keys = _HEADER_KEYS[kind]
    issues: list[ImportIssue] = []
    for index in range(min(len(expected), len(found_keys))):
        if found_keys[index] != expected_keys[index]:
            shown = (
                f"« {found[index].replace(chr(0xFEFF), '')} » trouvé"
                if found[index]
                else "colonne vide"
            )
            issues.append(
                ImportIssue(
                    1, None, f"Colonne {index + 1} : « {expected[index]} » attendu, {shown}."
                )
            )
    if len(found_keys) < len(expected):
        missing = expected[len(found_keys) :]
        names = ", ".join(f"« {name} »" for name in missing)
        plural = "s" if len(missing) > 1 else ""
        issues.append(
            ImportIssue(
                1,
                None,
                f"{len(missing)} colonne{plural} manquante{plural} : {names} "
                f"({len(expected)} colonnes attendues, {len(found_keys)} trouvées).",
            )
        )
    elif len(found_keys) > len(expected):
        extra = found[len(expected) : len(found_keys)]
        names = ", ".join(f"« {name} »" for name in extra)
        plural = "s" if len(extra) > 1 else ""
        issues.append(
            ImportIssue(
                1,
                None,
                f"{len(extra)} colonne{plural} en trop : {names} "
                f"({len(expected)} colonnes attendues, {len(found_keys)} trouvées).",
            )
        )
    return issues


# --- Data rows ----------------------------------------------------------------------------


class _Row:
    """One data line being checked: its cells by header, and the issues it adds to the report."""

    __slots__ = ("cells", "index", "issues", "line", "ok")

    def __init__(
        self, line: int, cells: list[str], index: dict[str, int], issues: list[ImportIssue]
    ) -> None:
        self.line = line
        self.cells = cells
        self.index = index
        self.issues = issues
        self.ok = True

    def __getitem__(self, column: str) -> str:
        return self.cells[self.index[column]].strip()

    def fail(self, column: str | None, message: str) -> None:
        self.issues.append(ImportIssue(self.line, column, message))
        self.ok = False


def _data_rows(
    rows: list[list[str]], kind: ImportKind, issues: list[ImportIssue], *, strict_width: bool
) -> Iterable[_Row]:
    """Yield the non-empty data lines (line 2 onwards), padded to the template's width."""
    width = len(HEADERS[kind])
    index = _COLUMN_INDEX[kind]
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        row = _Row(line, cells, index, issues)
        if len(cells) > width:
            extra = next((i for i in range(width, len(cells)) if cells[i].strip()), None)
            if strict_width and extra is not None:
                row.fail(
                    None,
                    f"Valeur « {cells[extra].strip()} » en colonne {extra + 1}, au-delà des "
                    f"{width} colonnes du modèle (un « ; » dans une cellule décale les colonnes).",
                )
        elif len(cells) < width:
            row.cells = cells + [""] * (width - len(cells))
        yield row


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _text(row: _Row, column: str, *, max_length: int, required: str | None) -> str | None:
    """Read a text cell (inner spaces collapsed); ``required`` is the message when it is empty."""
    value = _collapse(row[column])
    if not value:
        if required is not None:
            row.fail(column, required)
        return None
    if len(value) > max_length:
        row.fail(
            column,
            f"Texte trop long : {len(value)} caractères, {max_length} au maximum "
            f"(« {value[:30]}… »).",
        )
        return None
    return value


def _date(row: _Row, column: str, *, required: bool) -> date | None:
    value = row[column]
    if not value:
        if required:
            row.fail(column, "Date obligatoire : la cellule est vide. Format attendu JJ/MM/AAAA.")
        return None
    try:
        return parse_french_date(value)
    except DomainError as exc:
        row.fail(column, exc.message)
        return None


def _pcs(row: _Row, column: str) -> str | None:
    value = row[column]
    if not value:
        row.fail(column, f"Code PCS obligatoire : la cellule est vide. {PCS_MESSAGE}")
        return None
    try:
        return normalize_pcs(value)
    except DomainError as exc:
        row.fail(column, f"Code PCS « {value} » invalide. {exc.message}")
        return None


def _oui_non(row: _Row, column: str) -> bool:
    value = row[column]
    if not value:
        return False
    try:
        return parse_oui_non(value)
    except DomainError as exc:
        row.fail(column, exc.message)
        return False


def _raise_if(issues: list[ImportIssue]) -> None:
    if issues:
        raise ImportRejected(issues)


def _finish(issues: list[ImportIssue], found: list[ImportIssue] | None) -> None:
    """Raise the file's issues, or hand them to a caller that adds its own checks (the database
    ones) on the rows that read well, so the report lists every error at once."""
    if found is None:
        _raise_if(issues)
    else:
        found.extend(issues)


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


# --- Positions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionRow:
    """A work position read from the positions file (CONTRACT.md §3)."""

    line: int
    pcs_code: str
    label: str
    risks: frozenset[str]
    risk_description: str | None


def parse_positions(
    rows: list[list[str]], found: list[ImportIssue] | None = None
) -> list[PositionRow]:
    """Check every line of a positions file and return the positions, or reject the file.

    Source: CONTRACT.md §3 and SSTRN-EXTRANET « Importer des postes en masse » (code CSP of
    3 digits and a letter; « Inscrire « Oui » ou « Non » dans chaque cellule »); SPEC C5 (every
    error by line and column, nothing written when one line is wrong).
    """
    check_header(rows, ImportKind.positions)
    issues: list[ImportIssue] = []
    parsed: list[PositionRow] = []
    seen: dict[tuple[str, str], int] = {}
    for row in _data_rows(rows, ImportKind.positions, issues, strict_width=True):
        pcs_code = _pcs(row, "Code CSP")
        label = _text(
            row,
            "Libellé",
            max_length=LABEL_MAX,
            required="Libellé du poste obligatoire : la cellule est vide.",
        )
        risks = frozenset(
            code for column, code in POSITION_RISK_COLUMNS.items() if _oui_non(row, column)
        )
        description = _text(
            row,
            "Description du risque",
            max_length=RISK_DESCRIPTION_MAX,
            required=(
                "Description obligatoire lorsque « Autre risque(Oui/Non) » vaut Oui : "
                "décrivez le risque."
                if "autre" in risks
                else None
            ),
        )
        if pcs_code is not None and label is not None:
            key = (pcs_code, fold(label))
            first = seen.setdefault(key, row.line)
            if first != row.line:
                row.fail(
                    "Libellé",
                    f"Le poste « {label} » ({pcs_code}) figure déjà à la ligne {first} : "
                    "chaque poste ne doit apparaître qu'une fois.",
                )
        if row.ok and pcs_code is not None and label is not None:
            parsed.append(PositionRow(row.line, pcs_code, label, risks, description))
    _finish(issues, found)
    return parsed


# --- Agents -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentRow:
    """An agent and his first contract read from the agents file (CONTRACT.md §3)."""

    line: int
    civility: str
    first_name: str
    birth_name: str
    usage_name: str | None
    birth_date: date
    ins: str | None
    entry_date: date
    exit_date: date | None
    pcs_code: str
    position_label: str
    contract_type_label: str


@dataclass(frozen=True)
class AgentKeys:
    """What the database checks of an agents line need (its position, contract type, INS and
    identity), read even when other cells of the line are wrong: the report then lists a bad
    date, a bad INS and an unknown position of the same line together (SPEC C5)."""

    line: int
    first_name: str | None
    birth_name: str | None
    birth_date: date | None
    ins: str | None
    pcs_code: str | None
    position_label: str | None
    contract_type_label: str | None
    # (birth name, first name) folded, and the birth date: how duplicates are recognised.
    person: tuple[str, str, date] | None = None


def _civility(row: _Row, column: str) -> str | None:
    value = row[column]
    if not value:
        row.fail(column, "Civilité obligatoire : Madame ou Monsieur.")
        return None
    civility = _CIVILITIES.get(_fold_short(value))
    if civility is None:
        row.fail(column, f"Civilité « {value} » invalide : Madame ou Monsieur attendu.")
    return civility


def _ins(row: _Row, column: str) -> str | None:
    value = row[column]
    if not value:
        return None
    try:
        return normalize_ins(value)
    except DomainError as exc:
        row.fail(column, f"INS « {value} » invalide. {exc.message}")
        return None


def _check_ages(row: _Row, birth: date, entry: date | None, today: date) -> None:
    if birth >= today:
        row.fail(
            "Date de naissance",
            f"La date de naissance ({format_date(birth)}) doit être antérieure à aujourd'hui.",
        )
        return
    if entry is None:
        return
    if entry < birth:
        row.fail(
            "Date entree",
            f"La date d'entrée ({format_date(entry)}) est antérieure à la date de naissance "
            f"({format_date(birth)}).",
        )
        return
    age = _age(birth, entry)
    if age < MIN_AGE_AT_ENTRY or age > MAX_AGE_AT_ENTRY:
        bound = (
            f"{MIN_AGE_AT_ENTRY} ans au minimum"
            if age < MIN_AGE_AT_ENTRY
            else f"{MAX_AGE_AT_ENTRY} ans au maximum"
        )
        row.fail(
            "Date de naissance",
            f"Le salarié aurait {age} an{'s' if age > 1 else ''} à la date d'entrée "
            f"({format_date(entry)}) : {bound}. Vérifiez la date de naissance "
            f"({format_date(birth)}) et la date d'entrée.",
        )


def parse_agents(
    rows: list[list[str]],
    *,
    today: date,
    found: list[ImportIssue] | None = None,
    keys: list[AgentKeys] | None = None,
) -> list[AgentRow]:
    """Check every line of an agents file and return the agents, or reject the file.

    Source: CONTRACT.md §3 and SSTRN-EXTRANET « Déclarer des salariés en masse » (« Inscrire
    Madame ou Monsieur »; « INS : Identifiant National de Sécurité précédé d'un N »; the
    position is given by its code CSP and label); SPEC C5 (every error by line and column).
    An agent is 14 to 80 years old at his entry date: 14 is the floor of Code du travail
    L4153-1 and L4153-3 (holiday work from 14); 80 guards against a mistyped year.
    ``keys``, when given, receives the database keys of every line, valid or not.
    """
    check_header(rows, ImportKind.agents)
    issues: list[ImportIssue] = []
    parsed: list[AgentRow] = []
    seen_ins: dict[str, int] = {}
    seen_people: dict[tuple[str, str, date], int] = {}
    for row in _data_rows(rows, ImportKind.agents, issues, strict_width=True):
        civility = _civility(row, "Civilite(Madame/Monsieur)")
        first_name = _text(
            row, "Prenom", max_length=NAME_MAX, required="Prénom obligatoire : la cellule est vide."
        )
        birth_name = _text(
            row,
            "Nom de naissance",
            max_length=NAME_MAX,
            required="Nom de naissance obligatoire : la cellule est vide.",
        )
        usage_name = _text(row, "Nom marital", max_length=NAME_MAX, required=None)
        birth_date = _date(row, "Date de naissance", required=True)
        ins = _ins(row, "INS")
        entry_date = _date(row, "Date entree", required=True)
        exit_date = _date(row, "Date sortie", required=False)
        pcs_code = _pcs(row, "Code CSP du type de poste")
        position_label = _text(
            row,
            "Libelle du type de poste",
            max_length=LABEL_MAX,
            required="Libellé du poste obligatoire : la cellule est vide.",
        )
        contract_type_label = _text(
            row,
            "Libelle du type de contrat",
            max_length=CONTRACT_TYPE_MAX,
            required="Type de contrat obligatoire : la cellule est vide (ex. CDI).",
        )
        if birth_date is not None:
            _check_ages(row, birth_date, entry_date, today)
        if entry_date is not None and exit_date is not None and exit_date < entry_date:
            row.fail(
                "Date sortie",
                f"La date de sortie ({format_date(exit_date)}) est antérieure à la date "
                f"d'entrée ({format_date(entry_date)}).",
            )
        duplicate_ins = False
        if ins is not None:
            first = seen_ins.setdefault(ins, row.line)
            if first != row.line:
                duplicate_ins = True
                row.fail("INS", f"L'INS {ins} figure déjà à la ligne {first}.")
        person: tuple[str, str, date] | None = None
        if first_name is not None and birth_name is not None and birth_date is not None:
            person = (fold(birth_name), fold(first_name), birth_date)
            first = seen_people.setdefault(person, row.line)
            if first != row.line and not duplicate_ins:
                row.fail(
                    None,
                    f"{first_name} {birth_name}, né(e) le {format_date(birth_date)}, figure déjà "
                    f"à la ligne {first} : chaque salarié ne doit apparaître qu'une fois.",
                )
        if keys is not None:
            keys.append(
                AgentKeys(
                    row.line,
                    first_name,
                    birth_name,
                    birth_date,
                    None if duplicate_ins else ins,
                    pcs_code,
                    position_label,
                    contract_type_label,
                    person,
                )
            )
        if (
            row.ok
            and civility is not None
            and first_name is not None
            and birth_name is not None
            and birth_date is not None
            and entry_date is not None
            and pcs_code is not None
            and position_label is not None
            and contract_type_label is not None
        ):
            parsed.append(
                AgentRow(
                    line=row.line,
                    civility=civility,
                    first_name=first_name,
                    birth_name=birth_name,
                    usage_name=usage_name,
                    birth_date=birth_date,
                    ins=ins,
                    entry_date=entry_date,
                    exit_date=exit_date,
                    pcs_code=pcs_code,
                    position_label=position_label,
                    contract_type_label=contract_type_label,
                )
            )
    _finish(issues, found)
    return parsed


# --- End of contracts ---------------------------------------------------------------------


@dataclass(frozen=True)
class ExitRow:
    """An end date for one running contract, read from the end-of-contracts file."""

    line: int
    contract_id: int
    exit_date: date


def parse_exits(rows: list[list[str]], found: list[ImportIssue] | None = None) -> list[ExitRow]:
    """Return the end dates filled in an end-of-contracts file, or reject the file.

    Source: CONTRACT.md §3 and SSTRN-EXTRANET « Débaucher des salariés en masse » (« Seule la
    date de sortie sera prise en compte »): only ``id`` and ``Date de sortie`` are read, lines
    without a date are left alone; SPEC C5 (every error by line and column).
    """
    check_header(rows, ImportKind.exits)
    issues: list[ImportIssue] = []
    parsed: list[ExitRow] = []
    seen: dict[int, int] = {}
    dated = 0
    for row in _data_rows(rows, ImportKind.exits, issues, strict_width=False):
        if not row["Date de sortie"]:
            continue
        dated += 1
        exit_date = _date(row, "Date de sortie", required=True)
        raw_id = row["id"]
        contract_id: int | None = None
        if not raw_id:
            row.fail(
                "id",
                "Numéro de contrat absent : ne modifiez pas la colonne « id » "
                "du fichier de référence.",
            )
        elif raw_id.isascii() and raw_id.isdigit() and int(raw_id) > 0:
            contract_id = int(raw_id)
            first = seen.setdefault(contract_id, row.line)
            if first != row.line:
                row.fail(
                    "id",
                    f"Le contrat {contract_id} figure déjà à la ligne {first} : "
                    "une seule date de sortie par contrat.",
                )
        else:
            row.fail(
                "id",
                f"Numéro de contrat « {raw_id} » invalide : un nombre entier positif est "
                "attendu. Ne modifiez pas la colonne « id » du fichier de référence.",
            )
        if row.ok and contract_id is not None and exit_date is not None:
            parsed.append(ExitRow(row.line, contract_id, exit_date))
    if not dated:
        issues.append(
            ImportIssue(
                None,
                None,
                "Aucune date de sortie n'est renseignée. Indiquez la date de fin de contrat "
                "au format JJ/MM/AAAA sur la ligne de chaque contrat à clore.",
            )
        )
    _finish(issues, found)
    return parsed


# --- Templates ----------------------------------------------------------------------------


def template_csv(kind: ImportKind, rows: Iterable[Sequence[str]] = ()) -> bytes:
    """Return a downloadable import file: the template header, then ``rows``.

    Source: CONTRACT.md §3 (headers, ``;`` separator) and SSTRN-EXTRANET (« Télécharger le
    fichier de référence », opened with Excel): UTF-8 with a BOM so Excel reads the accents,
    CRLF line ends; every cell neutralised against formula injection (``app.core.spreadsheet``).
    """
    return csv_bytes(HEADERS[kind], rows)
