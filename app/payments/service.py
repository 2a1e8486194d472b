"""The pain.008 direct-debit file of due invoices (issue 18): which invoices can be collected,
the sequence type of each (FRST for a mandate never debited, RCUR afterwards) and the record of
each debit so an invoice is never collected twice."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import joinedload

from app.billing.models import Invoice, InvoiceKind, InvoiceStatus
from app.core.types import utcnow
from app.extensions import db
from app.payments.models import MandateStatus, SepaDebit, SepaMandate, SequenceType
from app.rules.errors import DomainError

COLLECTABLE = (InvoiceStatus.emise, InvoiceStatus.partiellement_payee)
SCHEMA = "pain.008.001.02"
MAX_DEBITS = 10_000


class SepaFileError(DomainError):
    """The file cannot be produced (settings, date, nothing to collect): French message."""


@dataclass(frozen=True)
class Candidate:
    invoice: Invoice
    mandate: SepaMandate
    amount: Decimal
    sequence: SequenceType


@dataclass(frozen=True)
class Blocked:
    number: str
    collectivity: str
    amount: Decimal
    reason: str


@dataclass
class Selection:
    ready: list[Candidate]
    blocked: list[Blocked]

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.ready), Decimal("0.00"))


def _block_reason(mandate: SepaMandate) -> str | None:
    if mandate.status is MandateStatus.revoque:
        return "mandat révoqué : à régler par virement"
    if mandate.status is MandateStatus.en_attente:
        return "mandat en attente de signature"
    if mandate.signed_on is None:
        return "mandat sans date de signature"
    return None


def select_invoices(collection_date: dt.date) -> Selection:
    """Issued, unpaid invoices due on or before the collection date, of collectivities having a
    mandate, not debited yet. Invoices of a mandate that cannot be used are listed as blocked."""
    debited = select(SepaDebit.invoice_id)
    rows = db.session.execute(
        select(Invoice, SepaMandate)
        .join(SepaMandate, SepaMandate.collectivity_id == Invoice.collectivity_id)
        .where(
            Invoice.kind == InvoiceKind.facture,
            Invoice.status.in_(COLLECTABLE),
            Invoice.due_date <= collection_date,
            Invoice.id.not_in(debited),
        )
        .options(joinedload(SepaMandate.collectivity))
        .order_by(SepaMandate.id, Invoice.due_date, Invoice.id)
        .limit(MAX_DEBITS)
    ).all()
    ready: list[Candidate] = []
    blocked: list[Blocked] = []
    for invoice, mandate in rows:
        amount = invoice.remaining
        if amount <= 0:
            continue
        reason = _block_reason(mandate)
        if reason is not None:
            blocked.append(Blocked(invoice.number, mandate.collectivity.name, amount, reason))
            continue
        ready.append(Candidate(invoice, mandate, amount, mandate.next_sequence))
    return Selection(ready, blocked)


def _creditor(config: Mapping[str, Any]) -> dict[str, Any]:
    missing = [
        key
        for key in ("SEPA_CREDITOR_ID", "CDG_IBAN", "CDG_BIC", "CDG_NAME")
        if not config.get(key)
    ]
    if missing:
        raise SepaFileError(
            "Paramètres du créancier manquants : " + ", ".join(missing) + " (configuration du CDG)."
        )
    return {
        "name": str(config["CDG_NAME"])[:70],
        "IBAN": str(config["CDG_IBAN"]).replace(" ", "").upper(),
        "BIC": str(config["CDG_BIC"]).replace(" ", "").upper(),
        "batch": True,
        "creditor_id": str(config["SEPA_CREDITOR_ID"]).replace(" ", "").upper(),
        "currency": "EUR",
        "instrument": "CORE",
    }


@functools.cache
def _schema() -> Any:
    """sepaxml's bundled pain.008.001.02 XSD, compiled once by lxml. sepaxml's own check
    (``export(validate=True)``, pure-Python xmlschema) took 34 s for 5 000 debits; lxml checks the
    same XSD in 0.07 s."""
    from pathlib import Path

    import sepaxml
    from lxml import etree

    path = Path(sepaxml.__file__).parent / "schemas" / f"{SCHEMA}.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def _check_schema(xml: bytes) -> None:
    from lxml import etree

    schema = _schema()
    if not schema.validate(etree.fromstring(xml)):
        first = schema.error_log.last_error
        raise SepaFileError(f"Fichier pain.008 non conforme au schéma : {first.message}")


@dataclass(frozen=True)
class DebitFile:
    batch_id: str
    xml: bytes
    count: int
    total: Decimal
    blocked: list[Blocked]

    @property
    def filename(self) -> str:
        return f"{self.batch_id}.xml"


def build_debit_file(
    collection_date: dt.date,
    *,
    today: dt.date,
    created_by: str,
    config: Mapping[str, Any],
) -> DebitFile:
    """Build the XSD-checked pain.008 file and record one ``SepaDebit`` per invoice (flush only:
    the caller commits, or rolls back when anything fails)."""
    from sepaxml import SepaDD

    if collection_date < today:
        raise SepaFileError("La date de prélèvement ne peut pas être dans le passé.")
    creditor = _creditor(config)
    selection = select_invoices(collection_date)
    if not selection.ready:
        raise SepaFileError("Aucune facture à prélever à cette date.")
    sepa = SepaDD(creditor, schema=SCHEMA)
    # The message id written in the header by sepaxml (timestamp and random part).
    batch_id = str(sepa.msg_id)[:35]
    for candidate in selection.ready:
        mandate = candidate.mandate
        assert mandate.signed_on is not None
        sepa.add_payment(
            {
                "name": mandate.debtor_name[:70],
                "IBAN": mandate.iban,
                "BIC": mandate.bic,
                "amount": int((candidate.amount * 100).to_integral_value()),
                "type": candidate.sequence.name,
                "collection_date": collection_date,
                "mandate_id": mandate.umr,
                "mandate_date": mandate.signed_on,
                "description": f"Facture {candidate.invoice.number} - {candidate.invoice.label}",
                "endtoend_id": candidate.invoice.number,
            }
        )
    xml = sepa.export(validate=False)
    _check_schema(xml)
    # One executemany for the debit rows (5 000 invoices: one statement, not 5 000).
    db.session.execute(
        insert(SepaDebit),
        [
            {
                "invoice_id": candidate.invoice.id,
                "mandate_id": candidate.mandate.id,
                "collectivity_id": candidate.invoice.collectivity_id,
                "batch_id": batch_id,
                "collection_date": collection_date,
                "amount": candidate.amount,
                "sequence": candidate.sequence,
                "created_by": created_by,
            }
            for candidate in selection.ready
        ],
    )
    first = {c.mandate.id for c in selection.ready if not c.mandate.first_debit_sent}
    if first:
        # One statement for the mandates now debited once (their next debits are RCUR).
        db.session.execute(
            update(SepaMandate)
            .where(SepaMandate.id.in_(sorted(first)))
            .values(first_debit_sent=True, updated_at=utcnow()),
            execution_options={"synchronize_session": "fetch"},
        )
    db.session.flush()
    return DebitFile(batch_id, xml, len(selection.ready), selection.total, selection.blocked)
