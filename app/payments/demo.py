"""Demo data of issue 18 (SEPA, reconciliation): one signed mandate (the first collectivity,
whose employer account is in the demo accounts file) and one awaiting signature; one imported
bank statement (the public accountant's CSV) built from issued invoices: one exact payment, one
partial payment and one line left unmatched for « Rapprochement bancaire ».

The CDG's own bank details are settings, not data: give ``CDG_IBAN``, ``CDG_BIC`` (and
``SEPA_CREDITOR_ID``) in the environment to produce pain.008 files (README)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.payments.models import MandateStatus, SepaMandate

DEMO_MANDATES = (
    ("FR7630006000011234567890189", "AGRIFRPP", MandateStatus.signe),
    ("FR7610107001011234567890129", "BREDFRPP", MandateStatus.en_attente),
)


def demo_sepa(context: Any) -> None:
    collectivities = list(context.collectivities[:2])
    for collectivity, (number, bic, status) in zip(collectivities, DEMO_MANDATES, strict=False):
        context.session.add(
            SepaMandate(
                collectivity_id=collectivity.id,
                umr=f"CDG-SEPA-{collectivity.id:06d}",
                signed_on=dt.date(2025, 12, 1) if status is MandateStatus.signe else None,
                iban=number,
                bic=bic,
                debtor_name=collectivity.name[:70],
                status=status,
            )
        )
    context.session.flush()
    context.summary["mandats SEPA"] = len(collectivities)
    demo_statement(context)


def demo_statement(context: Any) -> None:
    """Import one CSV statement paying two issued invoices (one in full, one in part) with a
    third line that cites no invoice."""
    from app.billing.models import Invoice, InvoiceKind, InvoiceStatus
    from app.payments.reconciliation import import_statement

    invoices = list(
        context.session.scalars(
            select(Invoice)
            .where(
                Invoice.kind == InvoiceKind.facture,
                Invoice.status.in_((InvoiceStatus.emise, InvoiceStatus.partiellement_payee)),
                Invoice.total > Invoice.paid_amount + Invoice.credited_amount,
            )
            # The latest invoices: the overdue ones stay overdue on the dashboards.
            .order_by(Invoice.due_date.desc(), Invoice.id.desc())
            .limit(2)
        )
    )
    if len(invoices) < 2:
        return
    on = (context.today - dt.timedelta(days=2)).strftime("%d/%m/%Y")
    exact, partial = invoices
    half = (partial.remaining / 2).quantize(Decimal("0.01"))
    rows = [
        "date;montant;référence;libellé",
        f"{on};{_french(exact.remaining)};{exact.number};VIR TRESORERIE COLLECTIVITE",
        f"{on};{_french(half)};FACT {partial.number};ACOMPTE",
        f"{on};150,00;VIREMENT SANS REFERENCE;MANDAT ADMINISTRATIF",
    ]
    data = ("\n".join(rows) + "\n").encode("utf-8")
    import_statement(data, "releve-demo.csv", imported_by="démonstration")
    context.summary["relevés bancaires"] = 1


def _french(amount: Any) -> str:
    return f"{amount:.2f}".replace(".", ",")
