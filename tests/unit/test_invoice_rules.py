"""Invoice rules without a database: status after payments and credit notes, remaining amount,
the creditor settings and the French PDF text (SPEC F7, DOMAIN.md §7)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

import app.models  # noqa: F401 - maps every class
from app.billing.invoice_pdf import Creditor, invoice_filename, render_invoice
from app.billing.invoices import LineInput, _check_lines, _refresh_status
from app.billing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from app.referential.models import Collectivity
from app.rules.errors import DomainError

D = Decimal


def _invoice(total: str = "1000.00", paid: str = "0", credited: str = "0", **kw) -> Invoice:
    values = dict(
        number="26000007",
        kind=InvoiceKind.facture,
        label="Prestations adhérent",
        issue_date=dt.date(2026, 5, 25),
        due_date=dt.date(2026, 6, 24),
        total=D(total),
        paid_amount=D(paid),
        credited_amount=D(credited),
        status=InvoiceStatus.emise,
    )
    values.update(kw)
    return Invoice(**values)


@pytest.mark.parametrize(
    ("paid", "credited", "status", "remaining"),
    [
        ("0", "0", InvoiceStatus.emise, "1000.00"),
        ("400.00", "0", InvoiceStatus.partiellement_payee, "600.00"),
        ("400.00", "600.00", InvoiceStatus.payee, "0.00"),
        ("1000.00", "0", InvoiceStatus.payee, "0.00"),
        ("0", "1000.00", InvoiceStatus.annulee, "0.00"),
        ("0", "300.00", InvoiceStatus.emise, "700.00"),
    ],
)
def test_status_and_remaining_after_payments_and_credit_notes(paid, credited, status, remaining):
    invoice = _invoice(paid=paid, credited=credited)
    _refresh_status(invoice)
    assert invoice.status is status
    assert invoice.remaining == D(remaining)


def test_a_credit_note_has_nothing_remaining():
    assert _invoice(total="-100.00", kind=InvoiceKind.avoir).remaining == D("0.00")


def test_lines_must_exist_have_a_label_and_be_rounded_to_the_cent():
    with pytest.raises(DomainError, match="au moins une ligne"):
        _check_lines([])
    with pytest.raises(DomainError, match="libellé"):
        _check_lines([LineInput(" ", D(1), D(1), D(1), "")])
    with pytest.raises(DomainError, match="arrondi au centime"):
        _check_lines([LineInput("Visite", D(1), D("1.005"), D("1.005"), "")])


def test_creditor_settings_no_vat_unless_configured():
    assert Creditor.from_config({}).vat_rate is None
    assert Creditor.from_config({"INVOICE_VAT_RATE": "abc"}).vat_rate is None
    assert Creditor.from_config({"INVOICE_VAT_RATE": "20,0"}).vat_rate == D("20.0")


def test_filenames():
    assert invoice_filename(_invoice()) == "facture-26000007.pdf"
    assert invoice_filename(_invoice(kind=InvoiceKind.avoir)) == "avoir-26000007.pdf"


@pytest.mark.parametrize("embedded", [False, True])
def test_pdf_text_is_french_in_both_font_modes(embedded):
    invoice = _invoice(paid="400.00")
    invoice.collectivity = Collectivity(
        name="Commune d'Œuilly",
        siret="21690244800019",
        main_line1="1 place de l'Église",
        main_postcode="69160",
        main_city="Tassin-la-Demi-Lune",
    )
    lines = [
        InvoiceLine(
            position=1,
            label="Visites médicales",
            quantity=D(2),
            unit_price=D("84.00"),
            amount=D("168.00"),
            source="2 visites réalisées — tarif à l'acte",
        )
    ]
    creditor = Creditor(
        "CDG du Rhône",
        "9 allée Alban Vistel\n69110 Sainte-Foy",
        "",
        "FR76 1",
        "",
        "Paierie départementale",
        None,
    )
    data = render_invoice(invoice, lines, creditor=creditor, embedded_font=embedded)
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())
    assert "Facture n° 26000007" in text
    assert "Commune d'Œuilly" in text and "1 place de l'Église" in text
    assert "2 visites réalisées — tarif à l'acte" in text
    assert "Déjà réglé -400,00 €" in text and "Reste à payer 600,00 €" in text
    assert "IBAN : FR76 1" in text and "Paierie départementale" in text
    assert "Bordereau" not in text  # not a contribution invoice
