"""Import of a former tool's consultations history (SPEC E4, CONTRACT.md §1 and §3).

Staff only. The file is read by the C5 import reader (CSV ``;`` or ``,``, UTF-8 with or
without BOM or Windows-1252, XLSX), every line checked against the file's rules first, then
against the database (SIRET, INS within that collectivity, visit type, professional, a
consultation already recorded), and written only when no line is wrong: all or nothing, the
report in French by line and column, like the positions and agents imports.

Decisions:

- the sheet's release date is the rule of recorded visits (``rules.consultations``: the visit
  plus 8 working days, national calendar since the file names no office): a visit older than
  that is available to the employer at once, a recent one waits its 8 working days;
- no appointment, no office, no restrictions, no next visit, no medical notes (the file holds
  no medical content beyond the outcome);
- rows are written like the agents import: Core bulk inserts (``tenancy.bulk_insert``), one
  audit entry per collectivity for the whole file. ORM flush events (the due-dates listener)
  do not see them, so the import recomputes the due dates of the agents concerned itself, once,
  in the same transaction (``app.visits.due.recompute``, as its bulk loaders do).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app, g
from sqlalchemy import select

from app.core import audit, clock
from app.core.spreadsheet import csv_bytes
from app.core.types import utcnow
from app.extensions import db
from app.referential.models import Collectivity, Professional, VisitType
from app.rules import consultations as sheet_rules
from app.rules.dates import parse_french_date
from app.rules.errors import DomainError
from app.rules.formatting import fold, format_date, parse_oui_non
from app.rules.identifiers import normalize_ins, normalize_siret
from app.rules.names import name_key
from app.tenancy import ScopeKind, TenantViolation, bulk_insert, current_scope
from app.visits import due
from app.visits.consultation_models import Consultation, Outcome
from app.workforce.importing import ImportIssue, ImportRejected, read_table
from app.workforce.models import Agent

# CONTRACT.md §3, character for character, in this order.
HEADERS: tuple[str, ...] = (
    "SIRET",
    "INS",
    "Date de la visite",
    "Type de visite",
    "Professionnel",
    "Avis",
    "Confidentielle(Oui/Non)",
)
TEMPLATE_HINT = (
    "Utilisez le fichier de référence téléchargeable depuis la page « Importer l'historique », "
    "sans modifier sa première ligne."
)
PREVIEW_LINES = 20


def _header_key(text: str) -> str:
    return fold(text.replace("\ufeff", "")).replace(" ", "")


_HEADER_KEYS = tuple(_header_key(h) for h in HEADERS)


# --- Reading the lines (no database) -----------------------------------------------------


def _outcome_key(text: str) -> str:
    """Fold an outcome label or code: no case, accents, slashes, underscores or extra spaces."""
    return " ".join(fold(text).replace("/", " ").replace("_", " ").replace("-", " ").split())


_OUTCOMES: dict[str, Outcome] = {}
for _member in Outcome:
    _OUTCOMES[_outcome_key(_member.label)] = _member
    _OUTCOMES[_outcome_key(_member.name)] = _member
# The two halves of « Apte avec restrictions / aménagements », as a former tool may write them.
_OUTCOMES[_outcome_key("Apte avec restrictions")] = Outcome.apte_restrictions
_OUTCOMES[_outcome_key("Apte avec aménagements")] = Outcome.apte_restrictions
_OUTCOMES[_outcome_key("Apte avec restrictions et aménagements")] = Outcome.apte_restrictions


def parse_outcome(text: str) -> Outcome:
    """The outcome (« Avis ») named by its French label or its code, ignoring case, accents and
    the slash of « Apte avec restrictions / aménagements ».

    Source: CONTRACT.md §2 (``outcome`` codes; « an enum field accepts its code or its French
    label, ignoring case and accents ») and issue 12 (the six outcomes of a visit).
    """
    outcome = _OUTCOMES.get(_outcome_key(text))
    if outcome is None:
        known = ", ".join(f"« {member.label} »" for member in Outcome)
        raise DomainError(f"Avis « {text.strip()} » inconnu (attendu : {known}).")
    return outcome


_TITLES = ("dr", "docteur", "pr", "professeur", "mme", "madame", "m", "monsieur", "mr")


@dataclass(frozen=True)
class ProfessionalName:
    id: int
    last_name: str
    first_name: str

    @property
    def shown(self) -> str:
        return f"{self.last_name.upper()} {self.first_name}"


@dataclass
class ProfessionalIndex:
    """Professionals found by « NOM Prénom », « Prénom NOM » or the last name alone, ignoring
    case, accents, hyphens and a leading title (« Dr »)."""

    full: dict[str, set[int]] = field(default_factory=dict)
    last: dict[str, set[int]] = field(default_factory=dict)
    names: dict[int, ProfessionalName] = field(default_factory=dict)

    @classmethod
    def of(cls, professionals: Iterable[ProfessionalName]) -> ProfessionalIndex:
        index = cls()
        for professional in professionals:
            index.names[professional.id] = professional
            for key in (
                name_key(professional.last_name, professional.first_name),
                name_key(professional.first_name, professional.last_name),
            ):
                index.full.setdefault(key, set()).add(professional.id)
            index.last.setdefault(name_key(professional.last_name), set()).add(professional.id)
        return index

    def find(self, text: str) -> int:
        """The professional named by ``text``.

        Source: issue 12 (« match by "NOM Prénom" or last name, accent/case-insensitive;
        ambiguous -> error »).
        """
        key = name_key(text)
        words = key.split()
        if len(words) > 1 and words[0] in _TITLES:
            key = " ".join(words[1:])
        found = self.full.get(key) or self.last.get(key) or set()
        if len(found) == 1:
            return next(iter(found))
        if not found:
            raise DomainError(
                f"Professionnel « {text.strip()} » inconnu : indiquez « NOM Prénom » d'un "
                "professionnel de santé déclaré (menu « Organisation › Professionnels de santé »)."
            )
        same = ", ".join(sorted(self.names[i].shown for i in found))
        raise DomainError(
            f"Professionnel « {text.strip()} » ambigu : plusieurs professionnels portent ce nom "
            f"({same}). Indiquez « NOM Prénom »."
        )


@dataclass(frozen=True)
class HistoryLine:
    """A consultation read from the history file, before the database checks."""

    line: int
    siret: str
    ins: str
    visit_date: date
    visit_type: str
    professional: str
    outcome: Outcome
    confidential: bool


class _Line:
    __slots__ = ("cells", "issues", "line", "ok")

    def __init__(self, line: int, cells: list[str], issues: list[ImportIssue]) -> None:
        self.line = line
        self.cells = cells + [""] * (len(HEADERS) - len(cells))
        self.issues = issues
        self.ok = True

    def __getitem__(self, column: str) -> str:
        return " ".join(self.cells[HEADERS.index(column)].split())

    def fail(self, column: str | None, message: str) -> None:
        self.issues.append(ImportIssue(self.line, column, message))
        self.ok = False

    def read(self, column: str, parse: Any, empty: str) -> Any:
        value = self[column]
        if not value:
            self.fail(column, empty)
            return None
        try:
            return parse(value)
        except DomainError as exc:
            self.fail(column, exc.message)
            return None


def check_header(rows: Sequence[Sequence[str]]) -> None:
    """Line 1 holds the 7 headers in order (case, accents, spaces and a BOM tolerated) and data
    lines follow; raises ImportRejected otherwise.

    Source: CONTRACT.md §3 (« First line = these headers, in this order »).
    """
    found = [_header_key(cell) for cell in rows[0]] if rows else []
    while found and not found[-1]:
        found.pop()
    if tuple(found) != _HEADER_KEYS:
        issues = [
            ImportIssue(1, None, f"Colonne {i + 1} : « {expected} » attendu, {_shown(rows[0], i)}.")
            for i, expected in enumerate(HEADERS)
            if i >= len(found) or found[i] != _HEADER_KEYS[i]
        ]
        if len(found) > len(HEADERS):
            issues.append(
                ImportIssue(
                    1,
                    None,
                    f"{len(found) - len(HEADERS)} colonne(s) en trop ({len(HEADERS)} colonnes "
                    f"attendues, {len(found)} trouvées).",
                )
            )
        raise ImportRejected(issues, hint=TEMPLATE_HINT)
    if not any(any(cell.strip() for cell in row) for row in rows[1:]):
        raise ImportRejected(
            [ImportIssue(None, None, "Le fichier ne contient aucune ligne de données.")]
        )


def _shown(header: Sequence[str], index: int) -> str:
    if index >= len(header) or not header[index].strip():
        return "colonne absente"
    return f"« {header[index].replace(chr(0xFEFF), '').strip()} » trouvé"


def _siret(value: str) -> str:
    try:
        return normalize_siret(value)
    except DomainError as exc:
        raise DomainError(f"SIRET « {value} » invalide. {exc.message}") from exc


def _ins(value: str) -> str:
    try:
        return normalize_ins(value)
    except DomainError as exc:
        raise DomainError(f"INS « {value} » invalide. {exc.message}") from exc


def parse_history(
    rows: Sequence[Sequence[str]], *, today: date, issues: list[ImportIssue]
) -> list[HistoryLine]:
    """Check every line of a consultations history file; the lines that read well are returned,
    the problems of the others added to ``issues`` (the caller adds the database's).

    Source: CONTRACT.md §3 (7 columns; dates JJ/MM/AAAA; Oui/Non any case) and SPEC C5 (every
    error by line and column, nothing written when one line is wrong). An empty
    « Confidentielle » cell reads « Non », as the empty risk cells of the positions file; a
    visit after today is refused (a history holds visits that took place).
    """
    check_header(rows)
    parsed: list[HistoryLine] = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        row = _Line(number, list(cells), issues)
        extra = next((i for i in range(len(HEADERS), len(row.cells)) if row.cells[i].strip()), None)
        if extra is not None:
            row.fail(
                None,
                f"Valeur « {row.cells[extra].strip()} » en colonne {extra + 1}, au-delà des "
                f"{len(HEADERS)} colonnes du modèle (un « ; » dans une cellule décale les "
                "colonnes).",
            )
        siret = row.read("SIRET", _siret, "SIRET obligatoire : la cellule est vide.")
        ins = row.read("INS", _ins, "INS obligatoire : l'agent est retrouvé par son INS.")
        visit_date = row.read(
            "Date de la visite",
            parse_french_date,
            "Date de la visite obligatoire : la cellule est vide. Format attendu JJ/MM/AAAA.",
        )
        if visit_date is not None and visit_date > today:
            row.fail(
                "Date de la visite",
                f"La visite du {format_date(visit_date)} est à venir : l'historique ne contient "
                "que des visites passées.",
            )
        visit_type = row.read(
            "Type de visite", str, "Type de visite obligatoire : la cellule est vide."
        )
        professional = row.read(
            "Professionnel", str, "Professionnel obligatoire : indiquez « NOM Prénom »."
        )
        outcome = row.read("Avis", parse_outcome, "Avis obligatoire : la cellule est vide.")
        confidential = False
        if row["Confidentielle(Oui/Non)"]:
            confidential = bool(row.read("Confidentielle(Oui/Non)", parse_oui_non, ""))
        if row.ok:
            parsed.append(
                HistoryLine(
                    number, siret, ins, visit_date, visit_type, professional, outcome, confidential
                )
            )
    return parsed


def template_csv() -> bytes:
    """The downloadable history file: the header only (CONTRACT.md §3)."""
    return csv_bytes(HEADERS, [])


# --- Database checks and writing ------------------------------------------------------------


@dataclass(frozen=True)
class PreviewLine:
    line: int
    collectivity: str
    agent: str
    visit_date: date
    visit_type: str
    professional: str
    outcome: Outcome
    confidential: bool


@dataclass(frozen=True)
class HistoryResult:
    count: int
    collectivities: int
    written: bool
    preview: list[PreviewLine]

    @property
    def message(self) -> str:
        s = "s" if self.count > 1 else ""
        where = f"{self.collectivities} collectivité{'s' if self.collectivities > 1 else ''}"
        if not self.written:
            return (
                f"Fichier vérifié, aucune erreur : {self.count} consultation{s} seront "
                f"importée{s} ({where}). Rien n'est encore enregistré."
            )
        return f"Import réussi : {self.count} consultation{s} importée{s} ({where})."


@dataclass(frozen=True)
class _Resolved:
    """A history line with its database rows found."""

    line: HistoryLine
    collectivity_id: int
    collectivity: str
    agent_id: int
    agent: str
    visit_type_id: int
    visit_type: str
    professional_id: int


def _chunks(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def run_history_import(data: bytes, filename: str, *, write: bool = True) -> HistoryResult:
    """Validate the whole file, then (``write``) insert it; raises ImportRejected, nothing
    written, when any line is wrong. Staff and trusted code only (an employer scope is refused
    before the file is read). The caller commits."""
    scope = current_scope()
    if scope.is_employer or scope.kind is ScopeKind.NOBODY:
        raise TenantViolation()
    rows = read_table(data, filename, max_bytes=current_app.config["IMPORT_MAX_BYTES"])
    # File errors and database errors are reported together: the user fixes everything at once.
    issues: list[ImportIssue] = []
    try:
        lines = parse_history(rows, today=clock.today(), issues=issues)
    except ImportRejected as rejected:
        raise rejected.in_sheet(rows.sheet) from None
    lookups = _Lookups.load(lines)
    resolved = [r for line in lines if (r := lookups.resolve(line, issues)) is not None]
    _check_duplicates(resolved, issues)
    if issues:
        ordered = sorted(
            issues,
            key=lambda i: (i.line or 0, HEADERS.index(i.column) if i.column in HEADERS else -1),
        )
        raise ImportRejected(ordered).in_sheet(rows.sheet)
    preview = [
        PreviewLine(
            r.line.line,
            r.collectivity,
            r.agent,
            r.line.visit_date,
            r.visit_type,
            lookups.professionals.names[r.professional_id].shown,
            r.line.outcome,
            r.line.confidential,
        )
        for r in resolved[:PREVIEW_LINES]
    ]
    by_collectivity: dict[int, list[_Resolved]] = {}
    for r in resolved:
        by_collectivity.setdefault(r.collectivity_id, []).append(r)
    if write:
        _write(by_collectivity, data, filename)
        # The rows bypass the ORM, so its due-dates listener: recomputed here, once.
        due.recompute(sorted({r.agent_id for r in resolved}), session=db.session)
    return HistoryResult(len(resolved), len(by_collectivity), write, preview)


@dataclass
class _Lookups:
    """What the file's lines name, read in a few queries (chunks of 500 keys)."""

    collectivities: dict[str, tuple[int, str]]  # SIRET -> (id, name)
    agents: dict[tuple[int, str], tuple[int, str]]  # (collectivity id, INS) -> (id, name)
    visit_types: dict[str, tuple[int, str]]  # folded label or code -> (id, label)
    professionals: ProfessionalIndex

    @classmethod
    def load(cls, lines: list[HistoryLine]) -> _Lookups:
        collectivities: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(sorted({line.siret for line in lines})):
            for cid, siret, name in db.session.execute(
                select(Collectivity.id, Collectivity.siret, Collectivity.name).where(
                    Collectivity.siret.in_(chunk)
                )
            ):
                collectivities[siret] = (cid, name)
        collectivity_ids = sorted({cid for cid, _ in collectivities.values()})
        agents: dict[tuple[int, str], tuple[int, str]] = {}
        # (collectivity_id, ins) is unique: one agent per INS and collectivity, found by index.
        for chunk in _chunks(sorted({line.ins for line in lines if line.siret in collectivities})):
            for agent_id, cid, ins, birth, usage, first in db.session.execute(
                select(
                    Agent.id,
                    Agent.collectivity_id,
                    Agent.ins,
                    Agent.birth_name,
                    Agent.usage_name,
                    Agent.first_name,
                ).where(Agent.collectivity_id.in_(collectivity_ids), Agent.ins.in_(chunk))
            ):
                agents[(cid, ins)] = (agent_id, f"{(usage or birth).upper()} {first}")
        visit_types: dict[str, tuple[int, str]] = {}
        for type_id, code, label in db.session.execute(
            select(VisitType.id, VisitType.code, VisitType.label)
        ):
            visit_types[_type_key(label)] = (type_id, label)
            visit_types[_type_key(code)] = (type_id, label)
        professionals = ProfessionalIndex.of(
            ProfessionalName(pid, last, first)
            for pid, last, first in db.session.execute(
                select(Professional.id, Professional.last_name, Professional.first_name)
            )
        )
        return cls(collectivities, agents, visit_types, professionals)

    def resolve(self, line: HistoryLine, issues: list[ImportIssue]) -> _Resolved | None:
        """The line's rows, or None with its problems added to ``issues``."""
        before = len(issues)
        collectivity = self.collectivities.get(line.siret)
        agent: tuple[int, str] | None = None
        if collectivity is None:
            issues.append(
                ImportIssue(line.line, "SIRET", f"Aucune collectivité n'a le SIRET {line.siret}.")
            )
        else:
            agent = self.agents.get((collectivity[0], line.ins))
            if agent is None:
                issues.append(
                    ImportIssue(
                        line.line,
                        "INS",
                        f"Aucun agent de la collectivité « {collectivity[1]} » n'a l'INS "
                        f"{line.ins} : créez d'abord l'agent (import « Création de salariés »).",
                    )
                )
        visit_type = self.visit_types.get(_type_key(line.visit_type))
        if visit_type is None:
            known = ", ".join(sorted({label for _, label in self.visit_types.values()}))
            issues.append(
                ImportIssue(
                    line.line,
                    "Type de visite",
                    f"Type de visite « {line.visit_type} » inconnu (attendu : {known}).",
                )
            )
        professional_id: int | None = None
        try:
            professional_id = self.professionals.find(line.professional)
        except DomainError as exc:
            issues.append(ImportIssue(line.line, "Professionnel", exc.message))
        if len(issues) > before or not (collectivity and agent and visit_type):
            return None
        assert professional_id is not None
        return _Resolved(
            line,
            collectivity[0],
            collectivity[1],
            agent[0],
            agent[1],
            visit_type[0],
            visit_type[1],
            professional_id,
        )


def _type_key(text: str) -> str:
    return fold(text).replace("_", " ")


def _check_duplicates(resolved: list[_Resolved], issues: list[ImportIssue]) -> None:
    """The same visit twice (same agent, day and type), in the file or already recorded: the
    same file imported twice creates nothing twice."""
    existing: set[tuple[int, date, int]] = set()
    for chunk in _chunks(sorted({r.agent_id for r in resolved})):
        existing.update(
            (agent_id, day, type_id)
            for agent_id, day, type_id in db.session.execute(
                select(
                    Consultation.agent_id, Consultation.visit_date, Consultation.visit_type_id
                ).where(Consultation.agent_id.in_(chunk))
            )
        )
    seen: dict[tuple[int, date, int], int] = {}
    for r in resolved:
        key = (r.agent_id, r.line.visit_date, r.visit_type_id)
        first = seen.setdefault(key, r.line.line)
        what = f"La visite {r.visit_type.lower()} du {format_date(r.line.visit_date)} de {r.agent}"
        if first != r.line.line:
            issues.append(ImportIssue(r.line.line, None, f"{what} figure déjà à la ligne {first}."))
        elif key in existing:
            issues.append(
                ImportIssue(
                    r.line.line,
                    None,
                    f"{what} est déjà enregistrée : ce fichier n'ajoute que de nouvelles visites.",
                )
            )


def _write(by_collectivity: dict[int, list[_Resolved]], data: bytes, filename: str) -> None:
    """One executemany per collectivity (``tenancy.bulk_insert`` stamps and checks the agents)
    and one audit entry each, with the file's digest."""
    now = utcnow()
    user = g.get("user")
    recorded_by = getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
    digest = hashlib.sha256(data).hexdigest()
    for collectivity_id, rows in by_collectivity.items():
        values = [
            {
                "agent_id": r.agent_id,
                "appointment_id": None,
                "visit_date": r.line.visit_date,
                "visit_type_id": r.visit_type_id,
                "professional_id": r.professional_id,
                "office_id": None,
                "outcome": r.line.outcome,
                "restrictions": None,
                "next_visit_on": None,
                "is_smp": False,
                "is_confidential": r.line.confidential,
                "sheet_released_on": None,
                "sheet_available_on": sheet_rules.sheet_available_on(r.line.visit_date),
                "sheet_path": None,
                "recorded_by_id": recorded_by,
                "created_at": now,
                "updated_at": now,
            }
            for r in rows
        ]
        ids = bulk_insert(db.session, Consultation, values, collectivity_id)
        count = len(ids)
        audit.log_import(
            table_name=Consultation.__tablename__,
            collectivity_id=collectivity_id,
            summary=f"Import de {count} consultation{'s' if count > 1 else ''} (historique)",
            row_id=f"{ids[0]}-{ids[-1]}" if ids else "",
            details={"fichier": filename, "sha256": digest, "consultations": count},
        )
    db.session.flush()


def import_from_cli(path: str) -> int:
    """``flask import consultations FILE``: the report on stderr, exit status 1 and nothing
    written when any line is wrong (CONTRACT.md §1)."""
    from pathlib import Path

    import click

    file = Path(path)
    try:
        result = run_history_import(file.read_bytes(), file.name)
    except ImportRejected as rejected:
        db.session.rollback()
        click.echo(rejected.message, err=True)
        for issue in rejected.issues:
            click.echo(f"  {issue}", err=True)
        return 1
    db.session.commit()
    click.echo(result.message)
    return 0
