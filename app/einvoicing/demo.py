"""Demo data of issue 18: Chorus Pro service codes and one deposit batch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.billing.models import Invoice, InvoiceKind
from app.core.types import utcnow
from app.einvoicing.facturx import facturx_filename
from app.einvoicing.models import DEPOSITED, PENDING, ChorusBatch, ChorusDeposit


def demo_chorus(context: Any) -> None:
    """The invoiced collectivities give a Chorus Pro service code (and the first an engagement
    number); one batch is recorded: its first invoice deposited, the others to deposit."""
    collectivities = list(context.collectivities[:3])
    for index, collectivity in enumerate(collectivities):
        collectivity.chorus_service_code = f"SERV-FIN-{index + 1:02d}"
        if index == 0:
            collectivity.chorus_engagement_number = "EJ-2026-000123"
    invoices = list(
        context.session.scalars(
            select(Invoice)
            .where(
                Invoice.collectivity_id.in_([c.id for c in collectivities] or [0]),
                Invoice.kind == InvoiceKind.facture,
            )
            .order_by(Invoice.id)
            .limit(2)
        )
    )
    if not invoices:
        return
    batch = ChorusBatch(created_by="demo", sent=True, message=None)
    for index, invoice in enumerate(invoices):
        batch.deposits.append(
            ChorusDeposit(
                invoice_id=invoice.id,
                file_name=facturx_filename(invoice),
                status=DEPOSITED if index == 0 else PENDING,
                deposit_identifier="CPP-DEMO-0001" if index == 0 else None,
                deposited_at=utcnow() if index == 0 else None,
            )
        )
    context.session.add(batch)
    context.session.flush()
    context.summary["lots de dépôt Chorus Pro"] = 1
