"""Payment reconciliation (issue 18): importing a bank statement, matching its credits to the
invoices, the manual match of what was left and « ignorer » with a reason.

An import is all or nothing: the file is parsed whole (``app.rules.bank_statements``), every
cited invoice is loaded in one query, every line is matched, and only then are the statement,
its lines and the payments written, in the caller's transaction (the view commits, or rolls
back on any refusal). Payments go through ``app.billing.invoices.record_payment`` (the one rule
for what a payment may be): an overpayment records what remained due and keeps the excess on
the statement line (a statement's payments are written together, see ``_record_payments``).
The same file imported twice (same SHA-256) imports nothing and says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert, select

from app.billing.invoices import apply_payment, record_payment
from app.billing.models import Invoice, InvoiceKind, InvoiceStatus, Payment
from app.core import audit, clock
from app.core.formatting import format_money
from app.extensions import db
from app.payments.models import (
    BankStatement,
    BankStatementLine,
    MatchOutcome,
    StatementFormat,
    StatementLineStatus,
)
from app.rules import bank_statements as rules
from app.rules.errors import DomainError, FieldError

FORMATS = {
    rules.CSV: StatementFormat.csv,
    rules.CAMT053: StatementFormat.camt053,
    rules.CAMT054: StatementFormat.camt054,
}
OUTCOMES = {
    rules.Outcome.exact: MatchOutcome.exact,
    rules.Outcome.partial: MatchOutcome.partial,
    rules.Outcome.overpayment: MatchOutcome.overpayment,
    rules.Outcome.ambiguous: MatchOutcome.ambiguous,
    rules.Outcome.unmatched: MatchOutcome.unmatched,
}
# Numbers per IN (...) list: one query up to this many cited invoices.
IN_CHUNK = 10_000


@dataclass(frozen=True)
class ImportResult:
    statement: BankStatement
    already_imported: bool = False

    @property
    def message(self) -> str:
        s = self.statement
        if self.already_imported:
            return (
                f"Ce relevé a déjà été importé le {s.imported_at:%d/%m/%Y}"
                f"{' par ' + s.imported_by if s.imported_by else ''} (« {s.file_name} ») : "
                "rien n'a été importé une seconde fois."
            )
        return (
            f"Relevé importé : {s.line_count} paiement(s), {s.matched_count} rapproché(s), "
            f"{s.unmatched_count} à rapprocher manuellement."
        )


def _candidates(numbers: set[str]) -> dict[str, Invoice]:
    """The invoices cited by the statement, by number, locked for the transaction (PostgreSQL):
    one query (chunked only beyond ``IN_CHUNK`` numbers)."""
    found: dict[str, Invoice] = {}
    ordered = sorted(numbers)
    for start in range(0, len(ordered), IN_CHUNK):
        chunk = ordered[start : start + IN_CHUNK]
        for invoice in db.session.scalars(
            select(Invoice).where(Invoice.number.in_(chunk)).order_by(Invoice.id).with_for_update()
        ):
            found[invoice.number] = invoice
    return found


def _candidate(invoice: Invoice) -> rules.Candidate:
    payable = invoice.kind is InvoiceKind.facture and invoice.status is not InvoiceStatus.annulee
    label = "avoir" if invoice.kind is InvoiceKind.avoir else invoice.status.label.lower()
    return rules.Candidate(invoice.number, invoice.remaining, payable, label)


def import_statement(data: bytes, filename: str, *, imported_by: str) -> ImportResult:
    """Parse, match and write a statement (flush only); raises ``StatementRejected`` with the
    line-level report when anything is wrong (the caller rolls back: nothing is written)."""
    digest = hashlib.sha256(data).hexdigest()
    existing = db.session.scalar(select(BankStatement).where(BankStatement.sha256 == digest))
    if existing is not None:
        return ImportResult(existing, already_imported=True)
    parsed = rules.parse_statement(data, filename)
    unit = "Ligne" if parsed.format == rules.CSV else "Écriture"
    today = clock.today()
    future = [
        rules.StatementIssue(
            line.line_no, f"date {line.booked_on:%d/%m/%Y} dans le futur", unit=unit
        )
        for line in parsed.lines
        if line.booked_on > today
    ]
    if future:
        raise rules.StatementRejected(future)
    invoices = _candidates(rules.cited_numbers(parsed.lines))
    matches = rules.match_lines(
        parsed.lines, {number: _candidate(inv) for number, inv in invoices.items()}
    )
    statement = BankStatement(
        file_name=(filename or "releve")[:200],
        sha256=digest,
        format=FORMATS[parsed.format],
        imported_by=imported_by[:120],
        line_count=len(parsed.lines),
        matched_count=sum(1 for m in matches if m.matched),
        unmatched_count=sum(1 for m in matches if not m.matched),
        total_amount=sum((line.amount for line in parsed.lines), Decimal("0.00")),
    )
    db.session.add(statement)
    db.session.flush()
    payments = _record_payments(statement.id, unit, parsed.lines, matches, invoices)
    rows = []
    for index, (line, match) in enumerate(zip(parsed.lines, matches, strict=True)):
        invoice = invoices.get(match.number or "") if match.matched else None
        payment = payments.get(index)
        rows.append(
            {
                "statement_id": statement.id,
                "line_no": line.line_no,
                "booked_on": line.booked_on,
                "amount": line.amount,
                "reference": line.reference,
                "label": line.label,
                "debtor": line.debtor,
                "status": (
                    StatementLineStatus.rapprochee
                    if match.matched
                    else StatementLineStatus.non_rapprochee
                ),
                "outcome": OUTCOMES[match.outcome],
                "invoice_id": invoice.id if invoice is not None else None,
                "payment_id": payment.id if payment is not None else None,
                "excess_amount": match.excess,
                "note": match.message[:500],
            }
        )
    # One executemany for the lines (5 000 lines: one statement, not 5 000).
    db.session.execute(insert(BankStatementLine), rows)
    audit.log_event(
        action="import",
        table_name=BankStatementLine.__tablename__,
        row_id=str(statement.id),
        collectivity_id=None,
        details={
            "fichier": statement.file_name,
            "sha256": digest,
            "lignes": statement.line_count,
            "rapprochées": statement.matched_count,
        },
    )
    db.session.flush()
    return ImportResult(statement)


def _record_payments(
    statement_id: int,
    unit: str,
    lines: Sequence[rules.StatementLine],
    matches: Sequence[rules.Match],
    invoices: dict[str, Invoice],
) -> dict[int, Payment]:
    """The payments of the matched lines, by line index, written in one flush.

    Each goes through ``apply_payment``, the checks and status rule of ``record_payment``, on
    the invoices already loaded and locked by ``_candidates`` (``record_payment`` re-reads and
    locks its invoice, one SELECT per line, which a 5 000-line statement cannot afford). The
    matching excludes what the checks refuse; a refusal would still reject the whole file."""
    payments: dict[int, Payment] = {}
    issues: list[rules.StatementIssue] = []
    for index, (line, match) in enumerate(zip(lines, matches, strict=True)):
        invoice = invoices.get(match.number or "") if match.matched else None
        if invoice is None or match.applied <= 0:
            continue
        try:
            payments[index] = apply_payment(
                invoice,
                match.applied,
                line.booked_on,
                f"Relevé {statement_id} {unit.lower()} {line.line_no}"[:120],
            )
        except DomainError as error:  # pragma: no cover - excluded by the matching
            issues.append(rules.StatementIssue(line.line_no, str(error), unit=unit))
    if issues:
        raise rules.StatementRejected(issues)
    db.session.flush()
    return payments


# --- One line at a time -----------------------------------------------------------------------


def _open_line(line_id: int) -> BankStatementLine:
    line = db.session.scalar(
        select(BankStatementLine).where(BankStatementLine.id == line_id).with_for_update()
    )
    if line is None:
        raise DomainError("Ligne de relevé introuvable.")
    if line.status is not StatementLineStatus.non_rapprochee:
        raise DomainError(f"Cette ligne est déjà traitée ({line.status.label.lower()}).")
    return line


def _count_done(line: BankStatementLine, matched: bool) -> None:
    statement = db.session.get(BankStatement, line.statement_id, with_for_update=True)
    assert statement is not None
    statement.unmatched_count = max(0, statement.unmatched_count - 1)
    if matched:
        statement.matched_count += 1


def match_manually(line_id: int, invoice_number: str, *, by: str) -> BankStatementLine:
    """Match an unmatched line to the invoice chosen by accounting: the payment recorded is
    what remains due at most, the rest kept as an overpayment on the line."""
    number = (invoice_number or "").strip()
    if not rules.INVOICE_NUMBER.fullmatch(number):
        raise FieldError(
            "Numéro de facture invalide : 8 chiffres (par exemple 26000001).", "invoice_number"
        )
    line = _open_line(line_id)
    invoice = db.session.scalar(select(Invoice).where(Invoice.number == number))
    if invoice is None:
        raise FieldError(f"Facture {number} introuvable.", "invoice_number")
    candidate = _candidate(invoice)
    if not candidate.payable:
        raise FieldError(
            f"La facture {number} ne peut pas recevoir de règlement ({candidate.status_label}).",
            "invoice_number",
        )
    match = rules.match_amount(number, line.amount, candidate.outstanding)
    payment_id = None
    if match.applied > 0:
        try:
            payment = record_payment(
                invoice.id,
                match.applied,
                line.booked_on,
                reference=f"Relevé {line.statement_id} ligne {line.line_no}",
            )
        except DomainError as error:
            raise FieldError(error.message, "invoice_number") from None
        payment_id = payment.id
    line.status = StatementLineStatus.rapprochee
    line.outcome = MatchOutcome.manual
    line.invoice_id = invoice.id
    line.payment_id = payment_id
    line.excess_amount = match.excess
    line.note = f"Rapprochement manuel par {by or 'inconnu'} : {match.message}"[:500]
    _count_done(line, matched=True)
    db.session.flush()
    return line


def ignore_line(line_id: int, reason: str, *, by: str) -> BankStatementLine:
    """Set a line aside (not a payment of an invoice: a refund, a subsidy...), with its reason."""
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("Indiquez le motif pour lequel la ligne est ignorée.", "reason")
    if len(reason) > 400:
        raise FieldError("Le motif ne doit pas dépasser 400 caractères.", "reason")
    line = _open_line(line_id)
    line.status = StatementLineStatus.ignoree
    line.note = f"Ignorée par {by or 'inconnu'} : {reason}"[:500]
    _count_done(line, matched=False)
    db.session.flush()
    return line


def search_invoices(text: str, limit: int = 20) -> Sequence[Invoice]:
    """Invoices whose number starts with the digits typed (manual matching), payable first."""
    digits = "".join(ch for ch in (text or "") if ch.isdigit())[:8]
    if len(digits) < 2:
        return []
    from sqlalchemy.orm import joinedload

    return list(
        db.session.scalars(
            select(Invoice)
            .where(Invoice.number.startswith(digits), Invoice.kind == InvoiceKind.facture)
            .options(joinedload(Invoice.collectivity))
            .order_by(Invoice.number)
            .limit(limit)
        )
    )


def remaining_text(invoice: Invoice) -> str:
    return format_money(invoice.remaining)
