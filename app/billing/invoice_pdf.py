"""The French PDF of an invoice or a credit note, and the call-for-contribution statement
(*bordereau d'appel à cotisation*) for contribution invoices (SPEC F7).

Same approach as the visit sheets (app/visits/sheets.py): fpdf2 in pure Python with the vendored
DejaVu Sans font, embedded (app/core/pdf.py, parsed once per process: about 15 ms per invoice),
never the network nor a system font. The page
shows the CDG (config ``CDG_*``), the billing address of the collectivity (falling back to its
main address), its SIRET, the lines with their source, the totals, the due date, the payment
instructions and the legal mentions of a public body; no VAT line unless ``INVOICE_VAT_RATE``
is configured.

Mass printing goes through ``render_invoices`` (the batch path): the same PDFs, rendered by a
pool of forked processes (2 by default) from picklable copies of the invoices
(benchmarks/invoice_pdfs.py: 5 000 PDFs, goal < 60 s). A single download renders in the
request's process with ``render_invoice``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from app.billing.models import Invoice, InvoiceKind, InvoiceLine
from app.core.pdf import FAMILY, new_pdf
from app.referential.models import Collectivity
from app.rules import billing as rules
from app.rules.formatting import format_date, format_money

CONTRIBUTION_PREFIX = "contributions:"


@dataclass(frozen=True)
class Creditor:
    """The CDG as printed on its invoices (from the configuration)."""

    name: str
    address: str
    siret: str
    iban: str
    bic: str
    payee: str
    vat_rate: Decimal | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Creditor:
        raw_rate = str(config.get("INVOICE_VAT_RATE") or "").strip().replace(",", ".")
        try:
            rate = Decimal(raw_rate) if raw_rate else None
        except InvalidOperation:
            rate = None
        return cls(
            name=config.get("CDG_NAME") or "Centre de gestion",
            address=config.get("CDG_ADDRESS") or "",
            siret=config.get("CDG_SIRET") or "",
            iban=config.get("CDG_IBAN") or "",
            bic=config.get("CDG_BIC") or "",
            payee=config.get("CDG_PAYEE") or "Comptable public",
            vat_rate=rate if rate and rate > 0 else None,
        )


def current_creditor() -> Creditor:
    from flask import current_app

    return Creditor.from_config(current_app.config)


def is_contribution(invoice: Invoice) -> bool:
    return bool(invoice.run_key and invoice.run_key.startswith(CONTRIBUTION_PREFIX))


def _unchanged(text: str) -> str:
    return text


def _cp1252(text: str) -> str:
    return text.replace("\u202f", "\u00a0").encode("cp1252", "replace").decode("cp1252")


def _amount(value: Decimal) -> str:
    return format_money(value)


def _quantity(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text.replace(".", ",")


def invoice_filename(invoice: Invoice) -> str:
    prefix = "avoir" if invoice.kind is InvoiceKind.avoir else "facture"
    return f"{prefix}-{invoice.number}.pdf"


class _Document:
    """One fpdf2 document with the fonts set up once."""

    def __init__(self, title: str, *, embedded_font: bool = True) -> None:
        from fpdf import FPDF

        pdf = new_pdf(format="A4") if embedded_font else FPDF(format="A4")
        pdf.set_title(title)
        pdf.set_creator("MédecinePrev")
        pdf.set_auto_page_break(True, margin=18)
        self.clean: Callable[[str], str]
        if embedded_font:
            self.family, self.clean = FAMILY, _unchanged
        else:
            # Bulk mode: the PDF standard font, not embedded (not PDF/A); Windows-1252 covers
            # French, € and dashes. The embedded font is fast enough for mass printing now.
            pdf.core_fonts_encoding = "windows-1252"
            self.family, self.clean = "Helvetica", _cp1252
        self.pdf = pdf

    def font(self, size: float, bold: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)

    def text(self, width: float, height: float, value: str, **kwargs: Any) -> None:
        self.pdf.cell(width, height, self.clean(value), **kwargs)

    def _measure(self) -> Callable[[str], float]:
        """The width of a text in the current font: the embedded font's width table summed
        directly (fpdf2's get_string_width goes through its text-layout machinery, a third of
        an invoice's rendering time when called word by word)."""
        from fpdf.fonts import TTFFont

        pdf = self.pdf
        font = pdf.current_font
        if not isinstance(font, TTFFont) or pdf.char_spacing or pdf.font_stretching != 100:
            return pdf.get_string_width  # type: ignore[no-any-return]
        widths, scale = font.cw, pdf.font_size * 0.001
        return lambda text: sum(widths[ord(char)] for char in text) * scale

    def line_break(self, value: str, height: float = 5, width: float = 0) -> None:
        """Wrapped text, one cell per line (fpdf2's multi_cell measures every prefix of a line
        again: far slower for thousands of documents)."""
        pdf = self.pdf
        x = pdf.get_x()
        width = width or (pdf.w - pdf.r_margin - x)
        measure = self._measure()
        space = measure(" ")
        for paragraph in self.clean(value).split("\n"):
            line, used = "", 0.0
            for word in paragraph.split(" "):
                size = measure(word)
                if line and used + space + size > width - 2:
                    pdf.set_x(x)
                    pdf.cell(width, height, line, new_x="LMARGIN", new_y="NEXT")
                    line, used = word, size
                elif line:
                    line, used = f"{line} {word}", used + space + size
                else:
                    line, used = word, size
            pdf.set_x(x)
            pdf.cell(width, height, line, new_x="LMARGIN", new_y="NEXT")


def _header(doc: _Document, creditor: Creditor, title: str, number: str) -> None:
    pdf = doc.pdf
    pdf.add_page()
    doc.font(13, bold=True)
    doc.text(110, 7, creditor.name)
    doc.font(16, bold=True)
    doc.text(0, 7, f"{title} n° {number}", align="R", new_x="LMARGIN", new_y="NEXT")
    doc.font(9)
    top = pdf.get_y()
    creditor_lines = [line for line in creditor.address.split("\n") if line.strip()]
    creditor_lines.append("Service de médecine préventive")
    if creditor.siret:
        creditor_lines.append(f"SIRET : {creditor.siret}")
    doc.line_break("\n".join(creditor_lines), height=4.5, width=100)
    pdf.set_y(max(pdf.get_y(), top) + 4)


def _addressee(doc: _Document, collectivity: Collectivity) -> None:
    pdf = doc.pdf
    y = pdf.get_y()
    pdf.set_xy(110, y)
    doc.font(10, bold=True)
    doc.text(0, 5, "Adresse de facturation", new_x="LEFT", new_y="NEXT")
    doc.font(10)
    for line in collectivity.address_lines("billing"):
        pdf.set_x(110)
        doc.text(0, 5, line, new_x="LEFT", new_y="NEXT")
    pdf.set_x(110)
    doc.text(0, 5, f"SIRET : {collectivity.siret}", new_x="LEFT", new_y="NEXT")
    if collectivity.membership_number:
        pdf.set_x(110)
        doc.text(
            0, 5, f"N° d'adhérent : {collectivity.membership_number}", new_x="LEFT", new_y="NEXT"
        )
    pdf.set_x(pdf.l_margin)
    pdf.ln(6)


def _facts(doc: _Document, invoice: Invoice, credited: Invoice | None) -> None:
    doc.font(10)
    facts = [("Date d'émission", format_date(invoice.issue_date))]
    if invoice.kind is InvoiceKind.facture:
        facts.append(("Date d'échéance", format_date(invoice.due_date)))
    elif credited is not None:
        facts.append(
            ("Facture d'origine", f"n° {credited.number} du {format_date(credited.issue_date)}")
        )
    facts.append(("Objet", invoice.label))
    if invoice.kind is InvoiceKind.avoir and invoice.reason:
        facts.append(("Motif", invoice.reason))
    for label, value in facts:
        doc.font(10, bold=True)
        doc.text(45, 6, label)
        doc.font(10)
        doc.line_break(value, height=6)
    doc.pdf.ln(4)


COLUMNS = (("Désignation", 88), ("Quantité", 22), ("Prix unitaire", 32), ("Montant", 38))


def _lines_table(doc: _Document, lines: Sequence[InvoiceLine]) -> None:
    pdf = doc.pdf
    doc.font(9, bold=True)
    pdf.set_fill_color(230, 230, 230)
    for index, (title, width) in enumerate(COLUMNS):
        doc.text(width, 7, title, border=1, fill=True, align="L" if index == 0 else "R")
    pdf.ln(7)
    for line in lines:
        doc.font(9)
        y = pdf.get_y()
        doc.line_break(line.label, height=5, width=COLUMNS[0][1])
        if line.source:
            pdf.set_text_color(90, 90, 90)
            doc.font(7.5)
            doc.line_break(line.source, height=4, width=COLUMNS[0][1])
            pdf.set_text_color(0, 0, 0)
        end = pdf.get_y()
        pdf.set_xy(pdf.l_margin + COLUMNS[0][1], y)
        doc.font(9)
        doc.text(COLUMNS[1][1], 5, _quantity(line.quantity), align="R")
        doc.text(COLUMNS[2][1], 5, _amount(line.unit_price), align="R")
        doc.text(COLUMNS[3][1], 5, _amount(line.amount), align="R")
        pdf.set_xy(pdf.l_margin, max(end, y + 5) + 1)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + 180, pdf.get_y())
        pdf.ln(1)


def _totals(doc: _Document, invoice: Invoice, creditor: Creditor) -> None:
    pdf = doc.pdf
    pdf.ln(2)
    rows: list[tuple[str, Decimal, bool]] = []
    if creditor.vat_rate is not None:
        rate = creditor.vat_rate
        excluding = rules.round_money(invoice.total * 100 / (100 + rate))
        rows.append(("Total HT", excluding, False))
        rows.append((f"TVA {_quantity(rate)} %", invoice.total - excluding, False))
        rows.append(("Total TTC", invoice.total, True))
    else:
        label = "Total de l'avoir" if invoice.kind is InvoiceKind.avoir else "Total à payer"
        rows.append((label, invoice.total, True))
    if invoice.kind is InvoiceKind.facture and (invoice.paid_amount or invoice.credited_amount):
        if invoice.credited_amount:
            rows.append(("Avoirs déduits", -invoice.credited_amount, False))
        if invoice.paid_amount:
            rows.append(("Déjà réglé", -invoice.paid_amount, False))
        rows.append(("Reste à payer", invoice.remaining, True))
    for label, value, bold in rows:
        doc.font(10, bold=bold)
        pdf.set_x(pdf.l_margin + 100)
        doc.text(42, 6, label, align="R")
        doc.text(38, 6, _amount(value), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _payment(doc: _Document, invoice: Invoice, creditor: Creditor) -> None:
    doc.font(10, bold=True)
    doc.line_break("Modalités de règlement")
    doc.font(9)
    if invoice.kind is InvoiceKind.avoir:
        doc.line_break(
            "Cet avoir vient en déduction de la facture d'origine ; le trop-perçu éventuel est "
            "remboursé par virement."
        )
    else:
        parts = [
            f"Paiement à réception et au plus tard le {format_date(invoice.due_date)}, par "
            f"virement à l'ordre de : {creditor.payee}.",
        ]
        if creditor.iban:
            bic = f" – BIC : {creditor.bic}" if creditor.bic else ""
            parts.append(f"IBAN : {creditor.iban}{bic}")
        parts.append(
            f"Merci de rappeler le numéro de facture {invoice.number} dans le libellé du virement."
        )
        doc.line_break("\n".join(parts))
    doc.pdf.ln(3)
    doc.font(7.5)
    mentions = [
        f"{creditor.name}, établissement public local à caractère administratif "
        "(loi n° 84-53 du 26 janvier 1984, code général de la fonction publique).",
    ]
    if creditor.vat_rate is None:
        mentions.append("TVA non applicable – article 256 B du code général des impôts.")
    mentions.append(
        "Recouvrement par le comptable public assignataire ; à défaut de paiement à l'échéance, "
        "un titre de recette exécutoire peut être émis (article L1617-5 du code général des "
        "collectivités territoriales)."
    )
    doc.line_break("\n".join(mentions), height=3.8)


def _statement(
    doc: _Document, invoice: Invoice, lines: Sequence[InvoiceLine], creditor: Creditor
) -> None:
    """The call-for-contribution statement: per line, headcount, unit cost and amount."""
    year = (invoice.run_key or "").split(":")[1] if is_contribution(invoice) else ""
    _header(doc, creditor, "Bordereau d'appel à cotisation", invoice.number)
    pdf = doc.pdf
    doc.font(10)
    collectivity = invoice.collectivity
    doc.line_break(
        f"Collectivité : {collectivity.name} – SIRET {collectivity.siret}\n"
        f"Exercice : {year or invoice.issue_date.year} – facture n° {invoice.number} du "
        f"{format_date(invoice.issue_date)}, échéance le {format_date(invoice.due_date)}",
        height=5.5,
    )
    pdf.ln(4)
    columns = (
        ("Cotisation", 80),
        ("Effectif / assiette", 34),
        ("Coût unitaire", 30),
        ("Montant", 36),
    )
    doc.font(9, bold=True)
    pdf.set_fill_color(230, 230, 230)
    for index, (title, width) in enumerate(columns):
        doc.text(width, 7, title, border=1, fill=True, align="L" if index == 0 else "R")
    pdf.ln(7)
    doc.font(9)
    for line in lines:
        y = pdf.get_y()
        doc.line_break(line.label, height=5, width=columns[0][1])
        end = pdf.get_y()
        pdf.set_xy(pdf.l_margin + columns[0][1], y)
        doc.text(columns[1][1], 5, _quantity(line.quantity), align="R")
        doc.text(columns[2][1], 5, _amount(line.unit_price), align="R")
        doc.text(columns[3][1], 5, _amount(line.amount), align="R")
        pdf.set_xy(pdf.l_margin, max(end, y + 5) + 1)
    pdf.ln(2)
    doc.font(10, bold=True)
    pdf.set_x(pdf.l_margin + 110)
    doc.text(34, 6, "Total appelé", align="R")
    doc.text(36, 6, _amount(invoice.total), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    doc.font(8)
    doc.line_break(
        "Montants calculés sur l'effectif déclaré au 1er janvier de l'exercice (déclaration "
        "annuelle obligatoire) et les tarifs votés par le conseil d'administration du centre de "
        "gestion, détaillés ligne par ligne sur la facture."
    )


def render_invoice(
    invoice: Invoice,
    lines: Sequence[InvoiceLine],
    *,
    credited: Invoice | None = None,
    creditor: Creditor | None = None,
    embedded_font: bool = True,
) -> bytes:
    """The PDF of an invoice or a credit note (``invoice.collectivity`` must be loaded).

    The vendored DejaVu font is embedded (PDF/A, Factur-X); ``embedded_font=False`` renders
    the same page with the PDF standard font instead (not embedded: not for PDF/A)."""
    creditor = creditor or current_creditor()
    title = "Avoir" if invoice.kind is InvoiceKind.avoir else "Facture"
    doc = _Document(f"{title} {invoice.number}", embedded_font=embedded_font)
    _header(doc, creditor, title, invoice.number)
    _addressee(doc, invoice.collectivity)
    _facts(doc, invoice, credited)
    _lines_table(doc, lines)
    _totals(doc, invoice, creditor)
    _payment(doc, invoice, creditor)
    if invoice.kind is InvoiceKind.facture and is_contribution(invoice):
        _statement(doc, invoice, lines, creditor)
    return bytes(doc.pdf.output())


# ----------------------------------------------------------------------------------------------
# The batch path (mass printing, deposits): the same PDFs rendered by a pool of processes
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CollectivityData:
    """What a PDF prints of a collectivity (a picklable copy: no session in a worker)."""

    name: str
    siret: str
    membership_number: str | None
    billing_lines: tuple[str, ...]

    def address_lines(self, _which: str) -> list[str]:
        return list(self.billing_lines)


@dataclass(frozen=True)
class _InvoiceData:
    kind: InvoiceKind
    number: str
    issue_date: Any
    due_date: Any
    label: str
    reason: str | None
    total: Decimal
    paid_amount: Decimal
    credited_amount: Decimal
    remaining: Decimal
    run_key: str | None
    collectivity: _CollectivityData


@dataclass(frozen=True)
class _LineData:
    label: str
    source: str | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


def _snapshot(invoice: Any, with_collectivity: bool = True) -> _InvoiceData:
    collectivity = invoice.collectivity if with_collectivity else None
    return _InvoiceData(
        kind=invoice.kind,
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        label=invoice.label,
        reason=invoice.reason,
        total=invoice.total,
        paid_amount=invoice.paid_amount,
        credited_amount=invoice.credited_amount,
        remaining=invoice.remaining,
        run_key=invoice.run_key,
        collectivity=_CollectivityData(
            name=collectivity.name,
            siret=collectivity.siret,
            membership_number=collectivity.membership_number,
            billing_lines=tuple(collectivity.address_lines("billing")),
        )
        if collectivity is not None
        else _CollectivityData("", "", None, ()),
    )


def _render_snapshot(job: tuple[Any, ...]) -> bytes:
    invoice, lines, credited, creditor, embedded = job
    return render_invoice(
        invoice, lines, credited=credited, creditor=creditor, embedded_font=embedded
    )


# Below this many PDFs a batch renders in the calling process (a fork costs more).
POOL_THRESHOLD = 40


def render_invoices(
    items: Sequence[tuple[Invoice, Sequence[InvoiceLine]]],
    *,
    credited: Mapping[int, Invoice] | None = None,
    creditor: Creditor | None = None,
    embedded_font: bool = True,
    processes: int = 2,
) -> list[bytes]:
    """The PDFs of a batch of invoices, in order: the same documents as ``render_invoice``
    (which renders each one), for mass printing. fpdf2 is pure Python, so a batch of
    ``POOL_THRESHOLD`` or more is rendered by ``processes`` forked workers (issue 14: 5 000
    PDFs in under 60 s on 2 cores). The workers get picklable copies of what is printed and
    never touch the database; the first PDF is rendered here first, so they inherit the parsed
    fonts and the cached subset. ``credited`` maps a credit note's ``credit_for_id`` to its
    invoice. Call it from a command or a job (a forked web worker would copy its threads'
    state), not from a request."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    creditor = creditor or current_creditor()
    credited = credited or {}
    jobs = []
    for invoice, lines in items:
        origin = credited.get(invoice.credit_for_id) if invoice.credit_for_id else None
        jobs.append(
            (
                _snapshot(invoice),
                [
                    _LineData(line.label, line.source, line.quantity, line.unit_price, line.amount)
                    for line in lines
                ],
                _snapshot(origin, with_collectivity=False) if origin is not None else None,
                creditor,
                embedded_font,
            )
        )
    if not jobs:
        return []
    first = _render_snapshot(jobs[0])
    if (
        processes < 2
        or len(jobs) < POOL_THRESHOLD
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return [first, *(_render_snapshot(job) for job in jobs[1:])]
    context = multiprocessing.get_context("fork")
    chunk = max(1, min(50, (len(jobs) - 1) // (processes * 4)))
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        return [first, *pool.map(_render_snapshot, jobs[1:], chunksize=chunk)]


def invoice_pdf(invoice_id: int) -> tuple[bytes, str] | None:
    """Load an invoice visible to the caller and render it; None when it is not visible."""
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
    return render_invoice(invoice, invoice.lines, credited=credited), invoice_filename(invoice)
