"""Factur-X (PDF/A-3 + CII XML, profile EN 16931) of an invoice or a credit note.

The XML is built from the same ``Invoice``/``InvoiceLine`` records as the printed PDF
(``app.billing.invoice_pdf.render_invoice``), so both agree on every amount."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lxml import etree

from app.billing.invoice_pdf import Creditor, current_creditor, invoice_filename, render_invoice
from app.billing.models import Invoice, InvoiceKind, InvoiceLine
from app.referential.models import Collectivity
from app.rules import billing as rules

PROFILE = "urn:cen.eu:en16931:2017"
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
TYPE_INVOICE = "380"
TYPE_CREDIT_NOTE = "381"
# UNTDID 4461 payment means.
MEANS_TRANSFER = "30"
MEANS_SEPA_TRANSFER = "58"
MEANS_SEPA_DEBIT = "59"
# VAT category « O » (not subject): a CDG acts as a public body (article 256 B du CGI).
NOT_SUBJECT_REASON = "TVA non applicable – article 256 B du code général des impôts"
SIRET_SCHEME = "0002"


@dataclass(frozen=True)
class PaymentMeans:
    code: str
    label: str
    creditor_iban: str = ""
    creditor_bic: str = ""
    debtor_iban: str = ""
    mandate_reference: str = ""
    creditor_identifier: str = ""


def payment_means_for(invoice: Invoice, creditor: Creditor) -> PaymentMeans:
    """How the invoice is paid: SEPA direct debit when the collectivity has a signed mandate
    (app.payments, helper D), otherwise a transfer to the CDG's IBAN."""
    mandate = _signed_mandate(invoice.collectivity_id)
    if mandate is not None:
        return mandate
    code = MEANS_SEPA_TRANSFER if creditor.iban else MEANS_TRANSFER
    return PaymentMeans(
        code=code, label="Virement", creditor_iban=creditor.iban, creditor_bic=creditor.bic
    )


def _signed_mandate(collectivity_id: int) -> PaymentMeans | None:
    """Hook for the SEPA mandates of app.payments (not available yet: always None)."""
    try:
        from app.payments import models as payments  # type: ignore[attr-defined]
    except ImportError:
        return None
    finder = getattr(payments, "signed_mandate_means", None)
    if finder is None:
        return None
    found = finder(collectivity_id)
    if found is None:
        return None
    return PaymentMeans(
        code=MEANS_SEPA_DEBIT,
        label="Prélèvement SEPA",
        debtor_iban=found.get("iban", ""),
        mandate_reference=found.get("umr", ""),
        creditor_identifier=found.get("ics", ""),
    )


def _amount(value: Decimal) -> str:
    return f"{rules.round_money(value):.2f}"


def _split_address(address: str, config: dict[str, Any] | None = None) -> tuple[str, str, str]:
    """(line, postcode, city) from the one-line CDG address « 1 rue X, 21000 Dijon »."""
    config = config or {}
    postcode = str(config.get("CDG_POSTCODE") or "")
    city = str(config.get("CDG_CITY") or "")
    line = address
    found = re.search(r"(\d{5})\s+([^,\n]+)\s*$", address or "")
    if found:
        postcode = postcode or found.group(1)
        city = city or found.group(2).strip()
        line = address[: found.start()].strip(" ,\n")
    return line, postcode, city


class _Builder:
    def __init__(self) -> None:
        self.root = etree.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice", nsmap=NS)

    @staticmethod
    def sub(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
        prefix, name = tag.split(":")
        element = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", **attrs)
        if text is not None:
            element.text = text
        return element

    def date(self, parent: Any, tag: str, value: dt.date, prefix: str = "udt") -> None:
        holder = self.sub(parent, tag)
        self.sub(holder, f"{prefix}:DateTimeString", value.strftime("%Y%m%d"), format="102")


def _party(
    b: _Builder,
    parent: Any,
    tag: str,
    *,
    name: str,
    siret: str,
    line1: str,
    line2: str,
    postcode: str,
    city: str,
    vat_number: str = "",
) -> None:
    party = b.sub(parent, tag)
    b.sub(party, "ram:Name", name)
    if siret:
        legal = b.sub(party, "ram:SpecifiedLegalOrganization")
        b.sub(legal, "ram:ID", siret, schemeID=SIRET_SCHEME)
    address = b.sub(party, "ram:PostalTradeAddress")
    if postcode:
        b.sub(address, "ram:PostcodeCode", postcode)
    if line1:
        b.sub(address, "ram:LineOne", line1)
    if line2:
        b.sub(address, "ram:LineTwo", line2)
    if city:
        b.sub(address, "ram:CityName", city)
    b.sub(address, "ram:CountryID", "FR")
    if vat_number:
        registration = b.sub(party, "ram:SpecifiedTaxRegistration")
        b.sub(registration, "ram:ID", vat_number, schemeID="VA")


def build_cii_xml(
    invoice: Invoice,
    lines: Sequence[InvoiceLine],
    *,
    collectivity: Collectivity,
    creditor: Creditor,
    credited: Invoice | None = None,
    config: dict[str, Any] | None = None,
    means: PaymentMeans | None = None,
) -> bytes:
    """The CII XML (EN 16931) of an invoice (TypeCode 380) or a credit note (381).

    A credit note is stored with negative amounts; in CII it carries positive amounts and its
    TypeCode says it is a credit."""
    config = config or {}
    credit = invoice.kind is InvoiceKind.avoir
    sign = Decimal(-1) if credit else Decimal(1)
    means = means or PaymentMeans(
        code=MEANS_SEPA_TRANSFER if creditor.iban else MEANS_TRANSFER,
        label="Virement",
        creditor_iban=creditor.iban,
        creditor_bic=creditor.bic,
    )
    rate = creditor.vat_rate
    b = _Builder()
    context = b.sub(b.root, "rsm:ExchangedDocumentContext")
    guideline = b.sub(context, "ram:GuidelineSpecifiedDocumentContextParameter")
    b.sub(guideline, "ram:ID", PROFILE)

    document = b.sub(b.root, "rsm:ExchangedDocument")
    b.sub(document, "ram:ID", invoice.number)
    b.sub(document, "ram:TypeCode", TYPE_CREDIT_NOTE if credit else TYPE_INVOICE)
    b.date(document, "ram:IssueDateTime", invoice.issue_date)
    note = b.sub(document, "ram:IncludedNote")
    b.sub(note, "ram:Content", invoice.label)
    if credit and invoice.reason:
        note = b.sub(document, "ram:IncludedNote")
        b.sub(note, "ram:Content", f"Motif de l'avoir : {invoice.reason}")

    transaction = b.sub(b.root, "rsm:SupplyChainTradeTransaction")
    category = "S" if rate is not None else "O"
    line_total = Decimal("0")
    for index, line in enumerate(lines, start=1):
        amount = line.amount * sign
        unit_price = line.unit_price * sign if line.unit_price * sign >= 0 else -line.unit_price
        quantity = abs(line.quantity)
        if rate is not None:
            amount = rules.round_money(amount * 100 / (100 + rate))
            unit_price = rules.round_money(unit_price * 100 / (100 + rate))
        line_total += amount
        item = b.sub(transaction, "ram:IncludedSupplyChainTradeLineItem")
        doc_line = b.sub(item, "ram:AssociatedDocumentLineDocument")
        b.sub(doc_line, "ram:LineID", str(index))
        product = b.sub(item, "ram:SpecifiedTradeProduct")
        b.sub(product, "ram:Name", line.label)
        agreement = b.sub(item, "ram:SpecifiedLineTradeAgreement")
        price = b.sub(agreement, "ram:NetPriceProductTradePrice")
        b.sub(price, "ram:ChargeAmount", _amount(unit_price))
        delivery = b.sub(item, "ram:SpecifiedLineTradeDelivery")
        b.sub(delivery, "ram:BilledQuantity", f"{quantity:.2f}", unitCode="C62")
        settlement = b.sub(item, "ram:SpecifiedLineTradeSettlement")
        tax = b.sub(settlement, "ram:ApplicableTradeTax")
        b.sub(tax, "ram:TypeCode", "VAT")
        b.sub(tax, "ram:CategoryCode", category)
        if rate is not None:
            b.sub(tax, "ram:RateApplicablePercent", f"{rate:.2f}")
        summation = b.sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        b.sub(summation, "ram:LineTotalAmount", _amount(amount))

    agreement = b.sub(transaction, "ram:ApplicableHeaderTradeAgreement")
    if collectivity.chorus_service_code:
        b.sub(agreement, "ram:BuyerReference", collectivity.chorus_service_code)
    seller_line, seller_postcode, seller_city = _split_address(creditor.address, config)
    _party(
        b,
        agreement,
        "ram:SellerTradeParty",
        name=creditor.name,
        siret=creditor.siret,
        line1=seller_line,
        line2="",
        postcode=seller_postcode,
        city=seller_city,
        vat_number=str(config.get("CDG_VAT_NUMBER") or "") if rate is not None else "",
    )
    own_billing = bool(collectivity.billing_line1)
    prefix = "billing" if own_billing else "main"
    _party(
        b,
        agreement,
        "ram:BuyerTradeParty",
        name=collectivity.name,
        siret=collectivity.siret,
        line1=getattr(collectivity, f"{prefix}_line1") or "",
        line2=getattr(collectivity, f"{prefix}_line2") or "",
        postcode=getattr(collectivity, f"{prefix}_postcode") or "",
        city=getattr(collectivity, f"{prefix}_city") or "",
    )
    if collectivity.chorus_engagement_number:
        order = b.sub(agreement, "ram:BuyerOrderReferencedDocument")
        b.sub(order, "ram:IssuerAssignedID", collectivity.chorus_engagement_number)

    b.sub(transaction, "ram:ApplicableHeaderTradeDelivery")

    settlement = b.sub(transaction, "ram:ApplicableHeaderTradeSettlement")
    if means.creditor_identifier:
        b.sub(settlement, "ram:CreditorReferenceID", means.creditor_identifier)
    b.sub(settlement, "ram:PaymentReference", invoice.number)
    b.sub(settlement, "ram:InvoiceCurrencyCode", "EUR")
    if not credit:
        payment = b.sub(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        b.sub(payment, "ram:TypeCode", means.code)
        b.sub(payment, "ram:Information", means.label)
        if means.debtor_iban:
            debtor = b.sub(payment, "ram:PayerPartyDebtorFinancialAccount")
            b.sub(debtor, "ram:IBANID", means.debtor_iban)
        if means.creditor_iban:
            account = b.sub(payment, "ram:PayeePartyCreditorFinancialAccount")
            b.sub(account, "ram:IBANID", means.creditor_iban.replace(" ", ""))
        if means.creditor_bic:
            bank = b.sub(payment, "ram:PayeeSpecifiedCreditorFinancialInstitution")
            b.sub(bank, "ram:BICID", means.creditor_bic)
    grand_total = invoice.total * sign
    tax_total = grand_total - line_total
    tax = b.sub(settlement, "ram:ApplicableTradeTax")
    b.sub(tax, "ram:CalculatedAmount", _amount(tax_total))
    b.sub(tax, "ram:TypeCode", "VAT")
    if rate is None:
        b.sub(tax, "ram:ExemptionReason", NOT_SUBJECT_REASON)
    b.sub(tax, "ram:BasisAmount", _amount(line_total))
    b.sub(tax, "ram:CategoryCode", category)
    if rate is None:
        b.sub(tax, "ram:ExemptionReasonCode", "VATEX-EU-O")
    else:
        b.sub(tax, "ram:RateApplicablePercent", f"{rate:.2f}")
    terms = b.sub(settlement, "ram:SpecifiedTradePaymentTerms")
    if credit:
        b.sub(terms, "ram:Description", "Avoir à déduire de la facture d'origine")
    else:
        b.sub(terms, "ram:Description", f"Paiement au plus tard le {invoice.due_date:%d/%m/%Y}")
    b.date(terms, "ram:DueDateDateTime", invoice.due_date)
    if means.mandate_reference:
        b.sub(terms, "ram:DirectDebitMandateID", means.mandate_reference)
    summation = b.sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    b.sub(summation, "ram:LineTotalAmount", _amount(line_total))
    b.sub(summation, "ram:TaxBasisTotalAmount", _amount(line_total))
    b.sub(summation, "ram:TaxTotalAmount", _amount(tax_total), currencyID="EUR")
    b.sub(summation, "ram:GrandTotalAmount", _amount(grand_total))
    paid = Decimal("0") if credit else invoice.paid_amount + invoice.credited_amount
    if paid:
        b.sub(summation, "ram:TotalPrepaidAmount", _amount(paid))
    b.sub(summation, "ram:DuePayableAmount", _amount(grand_total - paid))
    if credited is not None:
        referenced = b.sub(settlement, "ram:InvoiceReferencedDocument")
        b.sub(referenced, "ram:IssuerAssignedID", credited.number)
        b.date(referenced, "ram:FormattedIssueDateTime", credited.issue_date, "qdt")
    return etree.tostring(b.root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def facturx_filename(invoice: Invoice) -> str:
    return invoice_filename(invoice).removesuffix(".pdf") + "-facturx.pdf"


def render_facturx(
    invoice: Invoice,
    lines: Sequence[InvoiceLine],
    *,
    credited: Invoice | None = None,
    creditor: Creditor | None = None,
    config: dict[str, Any] | None = None,
) -> bytes:
    """The Factur-X PDF/A-3: the printed invoice with its CII XML embedded."""
    from facturx import generate_from_binary

    creditor = creditor or current_creditor()
    if config is None:
        from flask import current_app

        config = dict(current_app.config)
    pdf = render_invoice(invoice, lines, credited=credited, creditor=creditor)
    xml = build_cii_xml(
        invoice,
        lines,
        collectivity=invoice.collectivity,
        creditor=creditor,
        credited=credited,
        config=config,
        means=payment_means_for(invoice, creditor),
    )
    title = "Avoir" if invoice.kind is InvoiceKind.avoir else "Facture"
    return generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        pdf_metadata={
            "author": creditor.name,
            "keywords": "Factur-X",
            "title": f"{title} {invoice.number}",
            "subject": f"{title} {invoice.number} – {invoice.collectivity.name}",
        },
        lang="fr-FR",
    )


def load_invoice(invoice_id: int) -> tuple[Invoice, Invoice | None] | None:
    """The invoice visible to the caller (tenant scope applies) and the invoice it credits."""
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload, selectinload

    from app.extensions import db

    invoice = db.session.scalar(
        select(Invoice)
        .where(Invoice.id == invoice_id)
        .options(joinedload(Invoice.collectivity), selectinload(Invoice.lines))
    )
    if invoice is None:
        return None
    credited = None
    if invoice.credit_for_id is not None:
        credited = db.session.scalar(select(Invoice).where(Invoice.id == invoice.credit_for_id))
    return invoice, credited


def facturx_pdf(invoice_id: int) -> tuple[bytes, str] | None:
    """Load an invoice visible to the caller and render its Factur-X; None when not visible."""
    loaded = load_invoice(invoice_id)
    if loaded is None:
        return None
    invoice, credited = loaded
    return render_facturx(invoice, invoice.lines, credited=credited), facturx_filename(invoice)
