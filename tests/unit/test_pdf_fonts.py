"""The one PDF loader (app/core/pdf.py): the vendored DejaVu fonts, embedded in every PDF (PDF/A,
Factur-X), parsed once per process, the embedded subsets cached; no system font anywhere."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader

from app.core import pdf as core_pdf

ROOT = Path(__file__).resolve().parents[2]


def _render(text: str) -> bytes:
    document = core_pdf.new_pdf(format="A4")
    document.add_page()
    document.set_font(core_pdf.FAMILY, "", 11)
    document.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    document.set_font(core_pdf.FAMILY, "B", 11)
    document.cell(0, 6, "Total à régler : 10 440,00 €", new_x="LMARGIN", new_y="NEXT")
    return bytes(document.output())


def _fonts(data: bytes) -> list[tuple[str, bool]]:
    page = PdfReader(io.BytesIO(data)).pages[0]
    result = []
    for ref in page["/Resources"]["/Font"].values():
        font = ref.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        result.append((str(font["/BaseFont"]), "/FontFile2" in descriptor))
    return sorted(result)


def test_the_fonts_and_their_licence_are_vendored():
    for path in core_pdf.FONT_FILES.values():
        assert path.is_file() and path.parent == ROOT / "app" / "core" / "fonts"
    licence = (ROOT / "app" / "core" / "fonts" / "LICENSE").read_text()
    assert "Bitstream" in licence and "Permission is hereby granted" in licence


def test_no_pdf_module_reads_the_system_fonts():
    for module in (
        "app/visits/sheets.py",
        "app/billing/invoice_pdf.py",
        "app/dashboards/report.py",
    ):
        source = (ROOT / module).read_text()
        assert "/usr/share/fonts" not in source and "add_font(" not in source, module
        assert "new_pdf(" in source, module


def test_french_text_is_embedded_and_reads_back():
    data = _render("333 agents déclarés au 01/01/2026 x 104,00 € — « Œuvre » ; Łódź ≥ ✓ ☐")
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "333 agents déclarés au 01/01/2026 x 104,00 € — « Œuvre » ; Łódź ≥ ✓ ☐" in text
    assert "Total à régler : 10 440,00 €" in text
    fonts = _fonts(data)
    assert [embedded for _, embedded in fonts] == [True, True]
    assert all("DejaVuSans" in name for name, _ in fonts)


def test_documents_with_common_text_share_one_cached_subset():
    first = _render("Cotisation médecine préventive 2026")
    cached = dict(core_pdf._subsets)
    second = _render("Participation médecine statutaire 2026")
    assert dict(core_pdf._subsets) == cached  # nothing new subset for the second document
    assert len(first) == len(second) or abs(len(first) - len(second)) < 200
    assert "Participation médecine statutaire 2026" in (
        PdfReader(io.BytesIO(second)).pages[0].extract_text()
    )


def test_another_font_added_the_fpdf2_way_still_works_beside_the_shim():
    from fpdf import FPDF

    core_pdf.new_pdf()  # the shim is installed
    document = FPDF()
    document.add_font("Autre", "", str(core_pdf.FONT_FILES[""]))
    document.add_page()
    document.set_font("Autre", "", 12)
    document.cell(0, 6, "Fiche de visite – avis")
    data = bytes(document.output())
    assert "Fiche de visite – avis" in PdfReader(io.BytesIO(data)).pages[0].extract_text()
