"""The batch path of the invoice PDFs (issue 14: 5 000 PDFs in under 60 s): ``render_invoices``
renders with a pool of processes and gives the same documents as ``render_invoice``."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

from pypdf import PdfReader

from app.billing.invoice_pdf import POOL_THRESHOLD, Creditor, render_invoice, render_invoices
from app.billing.models import Invoice, InvoiceKind, InvoiceLine
from app.referential.models import Collectivity, CollectivityKind, TariffCategory

CREDITOR = Creditor(
    name="Centre de gestion du Rhône",
    address="9 allée Alban Vistel\n69110 Sainte-Foy-lès-Lyon",
    siret="28690001500012",
    iban="FR76 3000 1000 0000 0000 0000 000",
    bic="BDFEFRPPXXX",
    payee="Payeur départemental du Rhône",
    vat_rate=None,
)


def _invoice(index: int, kind: InvoiceKind = InvoiceKind.facture) -> tuple[Invoice, list]:
    collectivity = Collectivity(
        name=f"Commune de Lot-d'Impression {index}",
        kind=CollectivityKind.commune,
        siret="21690123400019",
        category=TariffCategory.non_affiliee_moins_800,
        membership_number=f"L{index:06d}",
        main_line1=f"{index} place de la Mairie",
        main_postcode="69000",
        main_city="Lyon",
    )
    headcount = 10 + index
    amount = Decimal(headcount) * Decimal("104.00")
    invoice = Invoice(
        id=index + 1,
        number=f"26{index + 1:06d}",
        kind=kind,
        issue_date=dt.date(2026, 3, 2),
        due_date=dt.date(2026, 4, 1),
        label="Cotisations – année 2026"
        if kind is InvoiceKind.facture
        else "Avoir sur cotisations",
        reason="Effectif corrigé" if kind is InvoiceKind.avoir else None,
        total=amount,
        paid_amount=Decimal("10.00") if index % 3 == 0 else Decimal(0),
        credited_amount=Decimal(0),
        run_key=f"contributions:2026:{index}" if kind is InvoiceKind.facture else None,
        credit_for_id=1 if kind is InvoiceKind.avoir else None,
    )
    invoice.collectivity = collectivity
    lines = [
        InvoiceLine(
            label="Cotisation médecine préventive 2026",
            quantity=Decimal(headcount),
            unit_price=Decimal("104.00"),
            amount=amount,
            source=f"{headcount} agents déclarés au 01/01/2026 × 104,00 € — tarif MEDPREV "
            "2025-2027 non affiliée < 800 (ŒUVRE Ÿ ½ ≤ ✓)",
        )
    ]
    return invoice, lines


def _same(data: bytes) -> bytes:
    """The document without its creation time and the file identifier derived from it."""
    data = re.sub(rb"/CreationDate \(D:[^)]*\)", b"", data)
    return re.sub(rb"/ID \[<[0-9A-F]+><[0-9A-F]+>\]", b"", data)


def test_the_pool_renders_the_same_pdfs_in_order_as_one_at_a_time():
    items = [_invoice(i) for i in range(POOL_THRESHOLD + 5)]
    credit_note = _invoice(99, InvoiceKind.avoir)
    items.append(credit_note)
    credited = {1: items[0][0]}
    pooled = render_invoices(items, credited=credited, creditor=CREDITOR, processes=2)
    alone = render_invoices(items, credited=credited, creditor=CREDITOR, processes=1)
    assert len(pooled) == len(items) == len(alone)
    for (invoice, lines), pdf, serial in zip(items, pooled, alone, strict=True):
        origin = credited[1] if invoice.credit_for_id else None
        expected = render_invoice(invoice, lines, credited=origin, creditor=CREDITOR)
        assert _same(pdf) == _same(expected) == _same(serial)
    reader = PdfReader(io.BytesIO(pooled[7]))
    page = reader.pages[0].extract_text()
    assert "Facture n° 26000008" in page and "Commune de Lot-d'Impression 7" in page
    assert "Bordereau d'appel à cotisation" in reader.pages[-1].extract_text()
    note = PdfReader(io.BytesIO(pooled[-1])).pages[0].extract_text()
    assert "Avoir n° 26000100" in note and "n° 26000001 du 02/03/2026" in note


def test_a_small_batch_renders_here_and_an_empty_one_gives_nothing():
    assert render_invoices([], creditor=CREDITOR) == []
    [pdf] = render_invoices([_invoice(3)], creditor=CREDITOR)
    assert _same(pdf) == _same(render_invoice(*_invoice(3), creditor=CREDITOR))
