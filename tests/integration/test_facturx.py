"""Factur-X (issue 18): EN 16931 CII XML from the invoice records, embedded in the PDF/A-3."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from facturx import get_xml_from_pdf, xml_check_xsd
from lxml import etree

from app.billing.invoices import LineInput, credit_note, issue_invoice, record_payment
from tests import factories

D = Decimal
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}


def _issue(collectivity_id: int, amount: str = "34632.00", on=dt.date(2026, 1, 15)):
    return issue_invoice(
        collectivity_id=collectivity_id,
        label="Cotisations 2026",
        lines=[
            LineInput(
                label="Cotisation médecine préventive 2026",
                quantity=D("333"),
                unit_price=D("104.00"),
                amount=D(amount),
                source="333 agents x 104,00 €",
            )
        ],
        run_key=None,
        issue_date=on,
    )


def _one(tree, path: str) -> str:
    found = tree.xpath(path, namespaces=NS)
    assert len(found) == 1, path
    return found[0].text if hasattr(found[0], "text") else str(found[0])


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _configure(app, monkeypatch, **settings):
    """Settings for one test only (the application is shared by the tests of a worker)."""
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)


def _facturx(app, invoice_id):
    from app.einvoicing.facturx import facturx_pdf

    with app.app_context():
        return facturx_pdf(invoice_id)


def test_invoice_facturx_is_valid_readable_and_agrees_with_the_printed_pdf(
    app, db_ctx, monkeypatch
):
    _configure(
        app,
        monkeypatch,
        CDG_NAME="Centre de gestion du Rhône",
        CDG_SIRET="28690001500019",
        CDG_ADDRESS="9 allée Alban Vistel, 69110 Sainte-Foy-lès-Lyon",
        CDG_IBAN="FR7630001007941234567890185",
        CDG_BIC="BDFEFRPPCCT",
    )
    with db_ctx() as session:
        collectivity = factories.make_collectivity(
            session, name="Commune de Tassin", siret="21690244800019"
        )
        collectivity.chorus_service_code = "SERVICE-FIN"
        collectivity.chorus_engagement_number = "EJ-2026-0042"
        invoice = _issue(collectivity.id)
        record_payment(invoice.id, D("1000.00"), dt.date(2026, 1, 30))
        invoice_id = invoice.id
    data, filename = _facturx(app, invoice_id)
    assert filename == "facture-26000001-facturx.pdf"
    xml_name, xml = get_xml_from_pdf(data, check_xsd=True)
    assert xml_name == "factur-x.xml"
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931")
    tree = etree.fromstring(xml)
    assert (
        _one(tree, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID")
        == "urn:cen.eu:en16931:2017"
    )
    assert _one(tree, "//rsm:ExchangedDocument/ram:ID") == "26000001"
    assert _one(tree, "//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert _one(tree, "//ram:IssueDateTime/udt:DateTimeString") == "20260115"
    assert _one(tree, "//ram:SellerTradeParty/ram:Name") == "Centre de gestion du Rhône"
    seller_id = tree.xpath("//ram:SellerTradeParty//ram:ID", namespaces=NS)[0]
    assert seller_id.text == "28690001500019" and seller_id.get("schemeID") == "0002"
    assert _one(tree, "//ram:SellerTradeParty//ram:PostcodeCode") == "69110"
    buyer_id = tree.xpath("//ram:BuyerTradeParty//ram:ID", namespaces=NS)[0]
    assert buyer_id.text == "21690244800019" and buyer_id.get("schemeID") == "0002"
    assert _one(tree, "//ram:BuyerReference") == "SERVICE-FIN"
    assert _one(tree, "//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == "EJ-2026-0042"
    assert _one(tree, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "58"
    assert _one(tree, "//ram:IBANID") == "FR7630001007941234567890185"
    assert _one(tree, "//ram:DueDateDateTime/udt:DateTimeString") == "20260214"
    assert (
        _one(tree, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode")
        == "O"
    )
    assert "256 B" in _one(tree, "//ram:ExemptionReason")
    assert _one(tree, "//ram:GrandTotalAmount") == "34632.00"
    assert _one(tree, "//ram:TaxTotalAmount") == "0.00"
    assert _one(tree, "//ram:TotalPrepaidAmount") == "1000.00"
    assert _one(tree, "//ram:DuePayableAmount") == "33632.00"
    assert _one(tree, "//ram:BilledQuantity") == "333.00"
    # The printed page of the Factur-X carries the same amounts.
    text = _pdf_text(data)
    assert "Facture n° 26000001" in text
    assert "Total à payer 34 632,00 €" in text and "Reste à payer 33 632,00 €" in text


def test_credit_note_is_type_381_with_positive_amounts_and_the_credited_invoice(app, db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        invoice = _issue(collectivity.id, amount="1000.00")
        note = credit_note(
            invoice.id,
            amount=D("400.00"),
            reason="Effectif corrigé",
            issue_date=dt.date(2026, 2, 1),
        )
        note_id = note.id
    data, filename = _facturx(app, note_id)
    assert filename.endswith("-facturx.pdf")
    _, xml = get_xml_from_pdf(data, check_xsd=True)
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931")
    tree = etree.fromstring(xml)
    assert _one(tree, "//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert _one(tree, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == "26000001"
    assert _one(tree, "//ram:GrandTotalAmount") == "400.00"
    assert (
        _one(
            tree,
            "//ram:LineTotalAmount[parent::ram:SpecifiedTradeSettlementHeaderMonetarySummation]",
        )
        == "400.00"
    )
    assert not tree.xpath("//ram:BuyerReference", namespaces=NS)  # no service code given
    assert "Effectif corrigé" in xml.decode()
    assert "Avoir n° 26000002" in _pdf_text(data)


def test_configured_vat_gives_a_standard_rate_with_matching_totals(app, db_ctx, monkeypatch):
    _configure(app, monkeypatch, INVOICE_VAT_RATE="20")
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        invoice_id = _issue(collectivity.id, amount="120.00").id
    _, xml = get_xml_from_pdf(_facturx(app, invoice_id)[0], check_xsd=True)
    tree = etree.fromstring(xml)
    assert (
        _one(tree, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode")
        == "S"
    )
    assert _one(tree, "//ram:TaxBasisTotalAmount") == "100.00"
    assert _one(tree, "//ram:TaxTotalAmount") == "20.00"
    assert _one(tree, "//ram:GrandTotalAmount") == "120.00"


def test_employer_downloads_only_its_own_facturx_and_accounting_sees_the_buttons(
    db_ctx, users, api_login, login
):
    with db_ctx():
        own = _issue(users.collectivity_a.id, amount="168.00").id
        other = _issue(users.collectivity_b.id, amount="84.00").id
    api = api_login(users.primary_a)
    response = api.get(f"/api/v1/invoice/{own}/facturx")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert "facturx.pdf" in response.headers["Content-Disposition"]
    _, xml = get_xml_from_pdf(response.data, check_xsd=True)
    assert b"<ram:GrandTotalAmount>168.00</ram:GrandTotalAmount>" in xml
    assert api.get(f"/api/v1/invoice/{other}/facturx").status_code == 404
    assert api.get("/api/v1/invoice/999999/facturx").status_code == 404
    web = login(users.primary_a)
    page = web.get("/portail/factures/").get_data(as_text=True)
    assert "Factur-X" in page
    assert web.get(f"/portail/factures-x/{own}").status_code == 200
    assert web.get(f"/portail/factures-x/{other}").status_code == 404
    assert web.get(f"/comptabilite/factures-x/{own}").status_code in (302, 403)
    assert web.get("/comptabilite/chorus/").status_code in (302, 403)
