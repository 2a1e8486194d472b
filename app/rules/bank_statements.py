"""Bank statements and payment reconciliation (issue 18): pure parsing and matching.

- ``parse_statement(data, filename)`` reads a camt.053 (account statement) or camt.054 (debit /
  credit notification) XML file, any ISO 20022 version (``urn:iso:std:iso:20022:tech:xsd:
  camt.053.001.xx``), keeping only the credit entries (``CdtDbtInd`` = ``CRDT``), or the CSV of
  the public accountant's payments ``date;montant;référence;libellé`` (French or ISO dates,
  « 1 234,56 » or 1234.56 amounts, ``;`` or ``,`` separator, UTF-8 with or without BOM or
  Windows-1252). It returns plain values or raises ``StatementRejected`` listing every line in
  error (« Ligne 4 : montant illisible « 12,3,4 » »): nothing is imported from a bad file.
  XML is read with defusedxml (no DTD, no entity, no network access).
- ``match_lines(lines, candidates)`` finds the invoice numbers (8 digits, ``26000001``) in each
  line's reference and label and matches by number and amount: exact, partial (less than the
  outstanding amount), overpayment (the excess is kept, never lost), ambiguous (two invoices
  cited: left for a manual match) or unmatched.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import enum
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from app.rules.errors import DomainError
from app.rules.formatting import fold, format_money

MAX_LINES = 50_000
CSV = "csv"
CAMT053 = "camt.053"
CAMT054 = "camt.054"
FORMAT_LABELS = {
    CSV: "CSV du comptable public",
    CAMT053: "Relevé camt.053",
    CAMT054: "Avis camt.054",
}
CAMT_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(camt\.05[34])\.001\.\d{2}$")
INVOICE_NUMBER = re.compile(r"(?<!\d)(\d{8})(?!\d)")
ZERO = Decimal("0.00")

# Field sizes kept (the model's columns).
REFERENCE_MAX = 140
LABEL_MAX = 500
DEBTOR_MAX = 140


@dataclass(frozen=True)
class StatementLine:
    """One credit of a statement: ``line_no`` is the CSV line (header = 1) or the entry's rank
    in the XML file."""

    line_no: int
    booked_on: dt.date
    amount: Decimal
    reference: str
    label: str
    debtor: str = ""

    @property
    def text(self) -> str:
        return f"{self.reference} {self.label}"


@dataclass(frozen=True)
class StatementIssue:
    line: int | None
    message: str
    unit: str = "Ligne"

    def __str__(self) -> str:
        return f"{self.unit} {self.line} : {self.message}" if self.line else self.message


class StatementRejected(DomainError):
    """The statement is refused as a whole; ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[StatementIssue]) -> None:
        count = len(issues)
        super().__init__(
            f"Le relevé n'a pas été importé : {count} erreur{'s' if count > 1 else ''}. "
            "Aucun paiement n'a été enregistré."
        )
        self.issues = list(issues)


def _reject(message: str) -> StatementRejected:
    return StatementRejected([StatementIssue(None, message)])


@dataclass(frozen=True)
class ParsedStatement:
    format: str
    lines: list[StatementLine]
    # Debit entries (and other non-credit entries) skipped in an XML file.
    skipped: int = 0


# --- Values ---------------------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_SPACE_GROUPS = re.compile(r"^[+-]?\d{1,3}( \d{3})+([,.]\d{1,2})?$")
# 1234,56 / 1 234,56 (spaces checked then removed) / 1234.56 / 1.234,56 / 1,234.56: the
# pattern, then the thousands mark to drop and the decimal mark.
_AMOUNT_FORMS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^\d+(,\d{1,2})?$"), "", ","),
    (re.compile(r"^\d+(\.\d{1,2})?$"), "", "."),
    (re.compile(r"^\d{1,3}(\.\d{3})+,\d{1,2}$"), ".", ","),
    (re.compile(r"^\d{1,3}(,\d{3})+\.\d{1,2}$"), ",", "."),
)


def _shown(text: str, limit: int = 40) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "…"


def parse_amount(text: str) -> Decimal:
    """« 1 234,56 », « 1234.56 », « 1.234,56 € » → Decimal('1234.56'); ValueError otherwise
    (more than two decimals, several decimal marks, badly grouped thousands, letters)."""
    raw = _SPACES.sub(" ", (text or "").replace("€", "").replace("EUR", "")).strip()
    if " " in raw:
        if not _SPACE_GROUPS.match(raw):
            raise ValueError(text)
        raw = raw.replace(" ", "")
    sign = ""
    if raw[:1] in ("+", "-") and raw:
        sign, raw = ("-" if raw[0] == "-" else ""), raw[1:]
    for pattern, thousands, decimal_mark in _AMOUNT_FORMS:
        if pattern.match(raw):
            digits = (raw.replace(thousands, "") if thousands else raw).replace(decimal_mark, ".")
            try:
                return Decimal(sign + digits).quantize(Decimal("0.01"))
            except InvalidOperation:  # pragma: no cover - the patterns only let digits through
                break
    raise ValueError(text)


_FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")


def parse_date(text: str) -> dt.date:
    """« 31/01/2026 » or « 2026-01-31 » (an ISO date-time keeps its date); ValueError else."""
    raw = (text or "").strip()
    found = _FRENCH_DATE.match(raw)
    if found:
        day, month, year = (int(part) for part in found.groups())
    else:
        found = _ISO_DATE.match(raw)
        if not found:
            raise ValueError(text)
        year, month, day = (int(part) for part in found.groups())
    return dt.date(year, month, day)  # ValueError for 32/13/2026


def invoice_numbers(text: str) -> list[str]:
    """The invoice numbers cited in a text (8 digits not part of a longer number), in order."""
    return list(dict.fromkeys(INVOICE_NUMBER.findall(text or "")))


# --- Reading a file -------------------------------------------------------------------------


def parse_statement(data: bytes, filename: str = "") -> ParsedStatement:
    """The credits of a statement file (camt.053, camt.054 or CSV), or StatementRejected."""
    if not data.removeprefix(codecs.BOM_UTF8).strip():
        raise _reject("Le fichier est vide.")
    head = data.removeprefix(codecs.BOM_UTF8).lstrip()[:1]
    if head == b"<" or filename.lower().endswith(".xml"):
        return parse_camt(data)
    return parse_csv(data)


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


_HEADER_KEYS = {
    "date": "date",
    "datedepaiement": "date",
    "datedereglement": "date",
    "montant": "amount",
    "reference": "reference",
    "ref": "reference",
    "libelle": "label",
    "debiteur": "debtor",
    "nom": "debtor",
    "tiers": "debtor",
}
_DEFAULT_COLUMNS = ("date", "amount", "reference", "label", "debtor")


def _header_key(cell: str) -> str:
    return re.sub(r"[^a-z]", "", fold(cell.replace("\ufeff", "")))


def parse_csv(data: bytes) -> ParsedStatement:
    """The public accountant's CSV: ``date;montant;référence;libellé`` (header optional)."""
    if b"\x00" in data:
        raise _reject(
            "Le fichier n'est ni un relevé camt.053 / camt.054 (XML) ni un fichier CSV : "
            "vérifiez le fichier envoyé."
        )
    text = _decode(data)
    first = text.split("\n", 1)[0]
    separator = ";" if first.count(";") >= 1 else ("\t" if "\t" in first else ",")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    except csv.Error as exc:
        raise _reject(f"Le fichier CSV est mal formé ({exc}) : vérifiez les guillemets.") from exc
    if len(rows) > MAX_LINES + 1:
        raise _reject(f"Le fichier dépasse {MAX_LINES} lignes : découpez-le.")
    columns: tuple[str, ...] = _DEFAULT_COLUMNS
    start = 0
    if rows and rows[0] and _header_key(rows[0][0]) in _HEADER_KEYS:
        keys = [_HEADER_KEYS.get(_header_key(cell), "") for cell in rows[0]]
        missing = [
            name for name, key in (("date", "date"), ("montant", "amount")) if key not in keys
        ]
        if missing:
            raise StatementRejected(
                [StatementIssue(1, f"colonne « {name} » absente de l'en-tête") for name in missing]
            )
        columns = tuple(keys)
        start = 1
    lines: list[StatementLine] = []
    issues: list[StatementIssue] = []
    for index, cells in enumerate(rows[start:], start=start + 1):
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        values = {key: cells[i] for i, key in enumerate(columns) if key and i < len(cells)}
        line_issues: list[str] = []
        booked_on = amount = None
        raw_date = values.get("date", "")
        try:
            booked_on = parse_date(raw_date)
        except ValueError:
            line_issues.append(
                f"date illisible « {_shown(raw_date)} » (JJ/MM/AAAA ou AAAA-MM-JJ attendu)"
                if raw_date
                else "date absente"
            )
        raw_amount = values.get("amount", "")
        try:
            amount = parse_amount(raw_amount)
        except ValueError:
            line_issues.append(
                f"montant illisible « {_shown(raw_amount)} »" if raw_amount else "montant absent"
            )
        if amount is not None and amount <= 0:
            line_issues.append(
                f"montant « {_shown(raw_amount)} » négatif ou nul : seuls les encaissements "
                "sont importés"
            )
        for message in line_issues:
            issues.append(StatementIssue(index, message))
        if line_issues or booked_on is None or amount is None:
            continue
        lines.append(
            StatementLine(
                line_no=index,
                booked_on=booked_on,
                amount=amount,
                reference=values.get("reference", "")[:REFERENCE_MAX],
                label=values.get("label", "")[:LABEL_MAX],
                debtor=values.get("debtor", "")[:DEBTOR_MAX],
            )
        )
    if issues:
        raise StatementRejected(issues)
    if not lines:
        raise _reject("Le fichier ne contient aucun paiement.")
    return ParsedStatement(CSV, lines)


# --- camt.053 / camt.054 ----------------------------------------------------------------------


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element: Any, *path: str) -> Any:
    """The first descendant following ``path`` by local names (any namespace), or None."""
    current = element
    for name in path:
        if current is None:
            return None
        current = next((c for c in current if _local(c.tag) == name), None)
    return current


def _children(element: Any, name: str) -> list[Any]:
    return [c for c in element if _local(c.tag) == name] if element is not None else []


def _text(element: Any, *path: str) -> str:
    found = _child(element, *path)
    return (found.text or "").strip() if found is not None else ""


def _remittance(tx: Any) -> str:
    info = _child(tx, "RmtInf")
    parts = [(u.text or "").strip() for u in _children(info, "Ustrd")]
    for structured in _children(info, "Strd"):
        ref = _text(structured, "CdtrRefInf", "Ref")
        if ref:
            parts.append(ref)
        parts.extend(
            _text(doc, "Nb") for doc in _children(structured, "RfrdDocInf") if _text(doc, "Nb")
        )
    return " ".join(part for part in parts if part)


def _debtor(tx: Any) -> str:
    parties = _child(tx, "RltdPties")
    return _text(parties, "Dbtr", "Nm") or _text(parties, "Dbtr", "Pty", "Nm")


def parse_camt(data: bytes) -> ParsedStatement:
    """The credit entries of a camt.053 or camt.054 file (one line per transaction detail when
    an entry groups several, each with its own amount)."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
    from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise _reject(
            "Le fichier XML est illisible ou contient une déclaration interdite (DTD, entités) : "
            "envoyez le relevé camt.053 / camt.054 tel que la banque le fournit."
        ) from exc
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    found = CAMT_NAMESPACE.match(namespace)
    if not found or _local(root.tag) != "Document":
        raise _reject(
            "Ce fichier XML n'est pas un relevé ISO 20022 camt.053 ou camt.054 "
            f"(espace de noms « {_shown(namespace) or 'absent'} »)."
        )
    kind = found.group(1)
    message = root[0] if len(root) else None
    blocks = _children(message, "Stmt" if kind == CAMT053 else "Ntfctn")
    if not blocks:
        raise _reject("Le relevé ne contient aucun compte (Stmt / Ntfctn).")
    lines: list[StatementLine] = []
    issues: list[StatementIssue] = []
    skipped = 0
    rank = 0
    for block in blocks:
        for entry in _children(block, "Ntry"):
            rank += 1
            if len(lines) >= MAX_LINES:
                raise _reject(f"Le relevé dépasse {MAX_LINES} écritures : découpez-le.")
            if _text(entry, "CdtDbtInd") != "CRDT":
                skipped += 1
                continue
            status = _text(entry, "Sts") or _text(entry, "Sts", "Cd")
            if status in ("PDNG", "INFO"):
                skipped += 1
                continue
            raw_date = (
                _text(entry, "BookgDt", "Dt")
                or _text(entry, "BookgDt", "DtTm")
                or _text(entry, "ValDt", "Dt")
                or _text(entry, "ValDt", "DtTm")
            )
            try:
                booked_on = parse_date(raw_date)
            except ValueError:
                issues.append(
                    StatementIssue(rank, f"date illisible « {_shown(raw_date)} »", unit="Écriture")
                )
                continue
            label = _text(entry, "AddtlNtryInf")
            details = [tx for d in _children(entry, "NtryDtls") for tx in _children(d, "TxDtls")]
            parts = details if len(details) > 1 else [None]
            for tx in parts:
                source = tx if tx is not None else entry
                amount_element = _child(entry, "Amt")
                if tx is not None:
                    amount_element = _child(tx, "AmtDtls", "TxAmt", "Amt")
                    if amount_element is None:
                        amount_element = _child(tx, "Amt")
                raw_amount = (
                    (amount_element.text or "").strip() if amount_element is not None else ""
                )
                currency = amount_element.get("Ccy", "EUR") if amount_element is not None else ""
                try:
                    amount = parse_amount(raw_amount)
                except ValueError:
                    issues.append(
                        StatementIssue(
                            rank, f"montant illisible « {_shown(raw_amount)} »", unit="Écriture"
                        )
                    )
                    continue
                if currency != "EUR":
                    issues.append(
                        StatementIssue(
                            rank,
                            f"devise « {_shown(currency)} » : seul l'euro est accepté",
                            unit="Écriture",
                        )
                    )
                    continue
                if amount <= 0:
                    issues.append(StatementIssue(rank, "montant nul ou négatif", unit="Écriture"))
                    continue
                tx_source = tx if tx is not None else (details[0] if details else None)
                reference = _remittance(tx_source) if tx_source is not None else ""
                end_to_end = _text(tx_source, "Refs", "EndToEndId") if tx_source is not None else ""
                if end_to_end and end_to_end != "NOTPROVIDED" and end_to_end not in reference:
                    reference = f"{reference} {end_to_end}".strip()
                lines.append(
                    StatementLine(
                        line_no=rank,
                        booked_on=booked_on,
                        amount=amount,
                        reference=reference[:REFERENCE_MAX],
                        label=(label or _text(source, "AddtlTxInf"))[:LABEL_MAX],
                        debtor=(_debtor(tx_source) if tx_source is not None else "")[:DEBTOR_MAX],
                    )
                )
    if issues:
        raise StatementRejected(issues)
    if not lines:
        raise _reject("Le relevé ne contient aucun encaissement (écriture au crédit).")
    return ParsedStatement(kind, lines, skipped)


# --- Matching -------------------------------------------------------------------------------


class Outcome(enum.Enum):
    exact = "Paiement exact"
    partial = "Paiement partiel"
    overpayment = "Trop-perçu"
    ambiguous = "Ambigu"
    unmatched = "Non rapproché"


@dataclass(frozen=True)
class Candidate:
    """An invoice a payment may settle: its number, what remains due, and whether a payment may
    be recorded on it (not a credit note, not cancelled)."""

    number: str
    outstanding: Decimal
    payable: bool = True
    status_label: str = ""


@dataclass(frozen=True)
class Match:
    outcome: Outcome
    number: str | None = None
    # What is recorded as a payment of the invoice, and what is kept as an overpayment.
    applied: Decimal = ZERO
    excess: Decimal = ZERO
    message: str = ""

    @property
    def matched(self) -> bool:
        return self.outcome in (Outcome.exact, Outcome.partial, Outcome.overpayment)


def match_amount(number: str, amount: Decimal, outstanding: Decimal) -> Match:
    """Compare a payment of a known invoice with what remains due on it."""
    if amount == outstanding:
        return Match(Outcome.exact, number, amount, ZERO, f"Facture {number} réglée.")
    if amount < outstanding:
        return Match(
            Outcome.partial,
            number,
            amount,
            ZERO,
            f"Paiement partiel de la facture {number} : reste dû "
            f"{format_money(outstanding - amount)}.",
        )
    excess = amount - max(outstanding, ZERO)
    return Match(
        Outcome.overpayment,
        number,
        max(outstanding, ZERO),
        excess,
        f"Trop-perçu de {format_money(excess)} sur la facture {number} : montant conservé "
        "sur la ligne du relevé.",
    )


def match_line(line: StatementLine, candidates: Mapping[str, Candidate]) -> Match:
    """Match one line against the invoices (by number, then amount)."""
    cited = invoice_numbers(line.text)
    known = [number for number in cited if number in candidates]
    if len(known) > 1:
        return Match(
            Outcome.ambiguous,
            message=f"Le paiement cite {len(known)} factures ({', '.join(known)}) : "
            "rapprochement manuel nécessaire.",
        )
    if not known:
        if cited:
            return Match(
                Outcome.unmatched,
                message=f"Facture {', '.join(cited)} inconnue : rapprochement manuel nécessaire.",
            )
        return Match(
            Outcome.unmatched,
            message="Aucun numéro de facture dans la référence ni le libellé.",
        )
    number = known[0]
    candidate = candidates[number]
    if not candidate.payable:
        return Match(
            Outcome.unmatched,
            message=f"La facture {number} ne peut pas recevoir de règlement "
            f"({candidate.status_label or 'avoir ou facture annulée'}).",
        )
    return match_amount(number, line.amount, candidate.outstanding)


def match_lines(lines: Iterable[StatementLine], candidates: Mapping[str, Candidate]) -> list[Match]:
    """Match every line in order; two payments of the same invoice in one statement see what
    the earlier one left due."""
    outstanding = {number: c.outstanding for number, c in candidates.items()}
    results: list[Match] = []
    for line in lines:
        current = {
            number: Candidate(
                number,
                outstanding[number],
                candidates[number].payable,
                candidates[number].status_label,
            )
            for number in invoice_numbers(line.text)
            if number in candidates
        }
        match = match_line(line, current)
        if match.matched and match.number is not None:
            outstanding[match.number] -= match.applied
        results.append(match)
    return results


def cited_numbers(lines: Iterable[StatementLine]) -> set[str]:
    """Every invoice number cited in the lines: the candidates to load, in one query."""
    return {number for line in lines for number in invoice_numbers(line.text)}
