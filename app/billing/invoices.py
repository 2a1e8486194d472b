"""Issuing invoices and credit notes, recording payments (SPEC F7, DOMAIN.md §7).

Interface (used by the billing runs, app/billing/runs.py, and by the accounting screens):

- ``LineInput(label, quantity, unit_price, amount, source)``: one line, ``amount`` already
  rounded by the rules of app/rules/billing.py (once per line, half up); ``source`` traces its
  inputs (« 333 agents déclarés au 01/01/2026 x 104,00 € — tarif MEDPREV 2025-2027 ... »).
- ``issue_invoice(*, collectivity_id, label, lines, run_key, issue_date) -> Invoice``: draws the
  next number of the issue year (``26000001``: 2-digit year + 6-digit gapless sequence) in the
  CALLER's transaction and adds the invoice and its lines; due date = issue + 30 days. Raises
  ``AlreadyIssued`` (a DomainError) when an invoice with that ``run_key`` exists. The caller
  commits (or rolls back: the number drawn is rolled back with it, so no hole is left).
- ``issue_invoices(items: Sequence[InvoiceInput], *, issue_date) -> list[Invoice]``: the same for
  a batch (consecutive numbers drawn as one block with one UPDATE, invoices and lines written by
  bulk inserts): for runs of thousands. ``insert_invoices`` does it without loading the invoices
  back ((id, number) pairs: what the billing runs use), ``lock_numbering(year)`` takes the
  counter row first so a run can re-check its run keys under the lock.
- ``credit_note(invoice_id, *, amount=None | lines=None, reason, issue_date=None) -> Invoice``:
  an *avoir* with its own number in the same sequence, negative lines, linked to the invoice
  (``credit_for_id``); never above the invoice's remaining amount; crediting all of it cancels
  the invoice (``annulee``).
- ``record_payment(invoice_id, amount, paid_on, reference=None) -> Payment``: partial payments
  allowed; refused on a cancelled invoice, on a credit note, or above the remaining amount.

Nothing else changes an issued invoice: there is no edit and no delete anywhere.

Gapless numbers: the counter row of the year (``invoice_sequence``) is incremented with
``UPDATE ... RETURNING``: PostgreSQL holds that row lock until the transaction ends, SQLite the
database write lock, so two transactions never draw the same number and a rolled-back one gives
its number back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from app.billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    Payment,
)
from app.core import clock
from app.core.formatting import format_money
from app.core.types import utcnow
from app.extensions import db
from app.rules import billing as rules
from app.rules.errors import DomainError

ZERO = Decimal("0.00")


class AlreadyIssued(DomainError):
    """An invoice with the same run key (collectivity, run kind, period) exists already."""

    def __init__(self, run_key: str) -> None:
        super().__init__(f"Une facture a déjà été émise pour cette période ({run_key}).")
        self.run_key = run_key


class InvoiceNotFound(DomainError):
    def __init__(self) -> None:
        super().__init__("Facture introuvable.")


@dataclass(frozen=True)
class LineInput:
    label: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    source: str


# ----------------------------------------------------------------------------------------------
# Numbering
# ----------------------------------------------------------------------------------------------


def next_number(year: int) -> str:
    """Draw the next number of ``year`` in the current transaction (gapless, see above)."""
    return next_numbers(year, 1)[0]


def next_numbers(year: int, count: int) -> list[str]:
    """Draw ``count`` consecutive numbers of ``year`` with one UPDATE (gapless, see above)."""
    last = _increment(year, count)
    if last is None:  # the year's first number: create its counter row, then draw
        _create_counter(year)
        last = _increment(year, count)
    if last is None:  # pragma: no cover - the row was just created
        raise DomainError("Le compteur des numéros de facture est introuvable.")
    return [rules.invoice_number(year, n) for n in range(int(last) - count + 1, int(last) + 1)]


def _increment(year: int, count: int = 1) -> int | None:
    drawn: int | None = db.session.execute(
        update(InvoiceSequence)
        .where(InvoiceSequence.year == year)
        .values(last_number=InvoiceSequence.last_number + count)
        .returning(InvoiceSequence.last_number),
        execution_options={"synchronize_session": False},
    ).scalar_one_or_none()
    return drawn


def _create_counter(year: int) -> None:
    """Insert the counter row unless a concurrent transaction did (then wait for it)."""
    session = db.session
    now = utcnow()
    values = {"year": year, "last_number": 0, "created_at": now, "updated_at": now}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(
            postgresql.insert(InvoiceSequence).values(**values).on_conflict_do_nothing()
        )
    elif dialect == "sqlite":
        session.execute(sqlite.insert(InvoiceSequence).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - other databases
        session.add(InvoiceSequence(year=year, last_number=0))
        session.flush()


# ----------------------------------------------------------------------------------------------
# Issuing
# ----------------------------------------------------------------------------------------------


def _check_lines(lines: Sequence[LineInput]) -> None:
    if not lines:
        raise DomainError("Une facture doit comporter au moins une ligne.")
    for line in lines:
        if not line.label.strip():
            raise DomainError("Chaque ligne de facture doit avoir un libellé.")
        if rules.round_money(line.amount) != line.amount:
            raise DomainError(
                f"Le montant de la ligne « {line.label} » n'est pas arrondi au centime."
            )


def _add_lines(invoice: Invoice, lines: Sequence[LineInput], sign: int = 1) -> None:
    for position, line in enumerate(lines, start=1):
        invoice.lines.append(
            InvoiceLine(
                collectivity_id=invoice.collectivity_id,
                position=position,
                label=line.label.strip()[:250],
                quantity=line.quantity,
                unit_price=sign * abs(line.unit_price) if sign < 0 else line.unit_price,
                amount=sign * abs(line.amount) if sign < 0 else line.amount,
                source=line.source or "",
            )
        )


def issue_invoice(
    *,
    collectivity_id: int,
    label: str,
    lines: Sequence[LineInput],
    run_key: str | None,
    issue_date: dt.date,
) -> Invoice:
    """Issue an invoice in the caller's transaction (see the module docstring)."""
    _check_lines(lines)
    total = rules.round_money(sum((line.amount for line in lines), ZERO))
    if total < 0:
        raise DomainError("Le total d'une facture ne peut pas être négatif : émettez un avoir.")
    if run_key is not None:
        exists = db.session.scalar(select(Invoice.id).where(Invoice.run_key == run_key))
        if exists is not None:
            raise AlreadyIssued(run_key)
    invoice = Invoice(
        collectivity_id=collectivity_id,
        number=next_number(issue_date.year),
        kind=InvoiceKind.facture,
        label=label.strip()[:250],
        issue_date=issue_date,
        due_date=rules.due_date(issue_date),
        total=total,
        paid_amount=ZERO,
        credited_amount=ZERO,
        status=InvoiceStatus.emise,
        run_key=run_key,
    )
    invoice.lines = []
    _add_lines(invoice, lines)
    db.session.add(invoice)
    db.session.flush()
    return invoice


@dataclass(frozen=True)
class InvoiceInput:
    """One invoice of a batch (see ``issue_invoices``)."""

    collectivity_id: int
    label: str
    lines: Sequence[LineInput]
    run_key: str | None


def issue_invoices(items: Sequence[InvoiceInput], *, issue_date: dt.date) -> list[Invoice]:
    """Issue a batch of invoices in the caller's transaction: the same checks as
    ``issue_invoice``, consecutive numbers drawn with one UPDATE, invoices and lines written by
    bulk inserts (see ``insert_invoices``); returns the invoices with their lines loaded.
    ``AlreadyIssued`` for the first run key that exists: nothing of the batch is added."""
    issued = insert_invoices(items, issue_date=issue_date)
    if not issued:
        return []
    ids = [invoice_id for invoice_id, _ in issued]
    loaded: dict[int, Invoice] = {}
    for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        chunk = ids[start : start + 900]
        loaded.update(
            (invoice.id, invoice)
            for invoice in db.session.scalars(
                select(Invoice).where(Invoice.id.in_(chunk)).options(selectinload(Invoice.lines))
            )
        )
    return [loaded[invoice_id] for invoice_id in ids]


def lock_numbering(year: int) -> None:
    """Take the year's counter row (created if needed) until the transaction ends, drawing no
    number: a batch that checks its run keys after this sees every invoice committed by a
    concurrent batch of the same year (PostgreSQL row lock; SQLite write lock)."""
    if _increment(year, 0) is None:
        _create_counter(year)
        _increment(year, 0)


def insert_invoices(items: Sequence[InvoiceInput], *, issue_date: dt.date) -> list[tuple[int, str]]:
    """The batch issue without loading the invoices back: (id, number) per item, in order.

    One UPDATE draws the block of numbers, one multi-row INSERT ... RETURNING writes the
    invoices, one executemany their lines, one the audit entries (the after-flush hook never
    sees Core statements: each invoice gets its « create » entry as the hook writes it). Lines are
    never audited on their own (``InvoiceLine.__audited__ = False``)."""
    totals = []
    for item in items:
        _check_lines(item.lines)
        total = rules.round_money(sum((line.amount for line in item.lines), ZERO))
        if total < 0:
            raise DomainError("Le total d'une facture ne peut pas être négatif : émettez un avoir.")
        totals.append(total)
    keys = [item.run_key for item in items if item.run_key is not None]
    if len(set(keys)) != len(keys):
        raise DomainError("Deux factures du lot portent la même clé de facturation.")
    for start in range(0, len(keys), 900):  # SQLite's bound-parameter limit
        chunk = keys[start : start + 900]
        found = db.session.scalar(select(Invoice.run_key).where(Invoice.run_key.in_(chunk)))
        if found is not None:
            raise AlreadyIssued(found)
    if not items:
        return []
    session = db.session
    session.flush()  # pending ORM changes first: the Core statements below bypass the session
    numbers = next_numbers(issue_date.year, len(items))
    now = utcnow()
    due = rules.due_date(issue_date)
    rows = [
        {
            "collectivity_id": item.collectivity_id,
            "number": number,
            "kind": InvoiceKind.facture,
            "label": item.label.strip()[:250],
            "issue_date": issue_date,
            "due_date": due,
            "total": total,
            "paid_amount": ZERO,
            "credited_amount": ZERO,
            "status": InvoiceStatus.emise,
            "run_key": item.run_key,
            "created_at": now,
            "updated_at": now,
        }
        for item, number, total in zip(items, numbers, totals, strict=True)
    ]
    table = Invoice.__table__
    connection = session.connection()
    ids = list(
        connection.execute(
            table.insert().returning(table.c.id, sort_by_parameter_order=True), rows
        ).scalars()
    )
    lines = [
        {
            "invoice_id": invoice_id,
            "collectivity_id": item.collectivity_id,
            "position": position,
            "label": line.label.strip()[:250],
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "amount": line.amount,
            "source": line.source or "",
            "created_at": now,
            "updated_at": now,
        }
        for invoice_id, item in zip(ids, items, strict=True)
        for position, line in enumerate(item.lines, start=1)
    ]
    connection.execute(InvoiceLine.__table__.insert(), lines)
    _audit_created(ids, rows)
    return list(zip(ids, numbers, strict=True))


def _audit_created(ids: Sequence[int], rows: Sequence[dict[str, object]]) -> None:
    from app.core.audit import IGNORED_COLUMNS, AuditLog, _actor, _json_value

    user_id, username = _actor()
    now = utcnow()
    entries = [
        {
            "at": now,
            "user_id": user_id,
            "username": username,
            "action": "create",
            "table_name": Invoice.__tablename__,
            "row_id": str(invoice_id),
            "collectivity_id": row["collectivity_id"],
            "changes": {
                "id": [None, invoice_id],
                **{
                    key: [None, _json_value(value)]
                    for key, value in row.items()
                    if key not in IGNORED_COLUMNS and value is not None
                },
            },
        }
        for invoice_id, row in zip(ids, rows, strict=True)
    ]
    db.session.connection().execute(AuditLog.__table__.insert(), entries)


def _locked_invoice(invoice_id: int) -> Invoice:
    """The invoice, its row locked until the end of the transaction (PostgreSQL)."""
    invoice: Invoice | None = db.session.scalar(
        select(Invoice)
        .where(Invoice.id == invoice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if invoice is None:
        raise InvoiceNotFound()
    return invoice


def _refresh_status(invoice: Invoice) -> None:
    settled = invoice.paid_amount + invoice.credited_amount
    if invoice.total > 0 and invoice.credited_amount >= invoice.total:
        invoice.status = InvoiceStatus.annulee
    elif invoice.total > 0 and settled >= invoice.total:
        invoice.status = InvoiceStatus.payee
    elif invoice.paid_amount > 0:
        invoice.status = InvoiceStatus.partiellement_payee
    else:
        invoice.status = InvoiceStatus.emise


def credit_note(
    invoice_id: int,
    *,
    amount: Decimal | None = None,
    lines: Sequence[LineInput] | None = None,
    reason: str,
    issue_date: dt.date | None = None,
) -> Invoice:
    """Issue a credit note (*avoir*) on an invoice, in whole or in part (see the docstring)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Indiquez le motif de l'avoir.")
    invoice = _locked_invoice(invoice_id)
    if invoice.kind is InvoiceKind.avoir:
        raise DomainError("Un avoir ne peut pas porter sur un autre avoir.")
    if invoice.status is InvoiceStatus.annulee:
        raise DomainError(f"La facture {invoice.number} est déjà annulée.")
    if (amount is None) == (lines is None):
        raise DomainError("Indiquez soit le montant de l'avoir, soit ses lignes.")
    if lines is None:
        assert amount is not None
        if rules.round_money(amount) != amount:
            raise DomainError("Le montant de l'avoir doit être arrondi au centime.")
        lines = [
            LineInput(
                label=f"Avoir sur la facture {invoice.number}",
                quantity=Decimal("1.00"),
                unit_price=amount,
                amount=amount,
                source=reason,
            )
        ]
    _check_lines(lines)
    credited = rules.round_money(sum((abs(line.amount) for line in lines), ZERO))
    if credited <= 0:
        raise DomainError("Le montant de l'avoir doit être supérieur à zéro.")
    remaining = invoice.remaining
    if credited > remaining:
        raise DomainError(
            f"Le montant de l'avoir ({format_money(credited)}) dépasse le reste dû de la facture "
            f"{invoice.number} ({format_money(remaining)})."
        )
    when = issue_date or clock.today()
    note = Invoice(
        collectivity_id=invoice.collectivity_id,
        number=next_number(when.year),
        kind=InvoiceKind.avoir,
        label=f"Avoir sur la facture {invoice.number} – {invoice.label}"[:250],
        issue_date=when,
        due_date=when,
        total=-credited,
        paid_amount=ZERO,
        credited_amount=ZERO,
        status=InvoiceStatus.emise,
        run_key=None,
        credit_for_id=invoice.id,
        reason=reason,
    )
    note.lines = []
    _add_lines(note, lines, sign=-1)
    invoice.credited_amount = invoice.credited_amount + credited
    _refresh_status(invoice)
    db.session.add(note)
    db.session.flush()
    return note


def record_payment(
    invoice_id: int, amount: Decimal, paid_on: dt.date, reference: str | None = None
) -> Payment:
    """Record a payment received for an invoice (partial allowed, see the docstring)."""
    payment = apply_payment(_locked_invoice(invoice_id), amount, paid_on, reference)
    db.session.flush()
    return payment


def apply_payment(
    invoice: Invoice, amount: Decimal, paid_on: dt.date, reference: str | None = None
) -> Payment:
    """Add a payment to an invoice the caller has already loaded and locked (``record_payment``
    for one invoice; a bank statement import for thousands, in one flush): the checks, the
    payment and the new status, without flushing. Raises ``DomainError`` in French."""
    if invoice.kind is InvoiceKind.avoir:
        raise DomainError("On n'enregistre pas de règlement sur un avoir.")
    if invoice.status is InvoiceStatus.annulee:
        raise DomainError(
            f"La facture {invoice.number} est annulée : aucun règlement ne peut être enregistré."
        )
    if amount <= 0:
        raise DomainError("Le montant du règlement doit être supérieur à zéro.")
    if rules.round_money(amount) != amount:
        raise DomainError("Le montant du règlement doit être arrondi au centime.")
    remaining = invoice.remaining
    if amount > remaining:
        raise DomainError(
            f"Le règlement ({format_money(amount)}) dépasse le reste dû de la facture "
            f"{invoice.number} ({format_money(remaining)})."
        )
    if paid_on > clock.today():
        raise DomainError("La date du règlement ne peut pas être dans le futur.")
    payment = Payment(
        collectivity_id=invoice.collectivity_id,
        invoice_id=invoice.id,
        paid_on=paid_on,
        amount=amount,
        reference=(reference or "").strip()[:120] or None,
    )
    invoice.paid_amount = invoice.paid_amount + amount
    _refresh_status(invoice)
    db.session.add(payment)
    return payment
