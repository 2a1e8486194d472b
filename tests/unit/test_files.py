"""The file store's checks (app/core/files.py): names, size caps, PDF by content."""

from __future__ import annotations

import io

import pytest

from app.core import files


def make_pdf(text: str = "Attestation de suivi") -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(text=text)
    return bytes(pdf.output())


def test_a_real_pdf_is_accepted():
    assert files.is_pdf(make_pdf())


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00\x03" + b"\x00" * 2000,  # a Windows executable renamed .pdf
        b"%PDF-1.4\n" + b"\x00" * 2000,  # the magic bytes and nothing PDF after them
        b"Bonjour, ceci est un texte.",
        b"",
    ],
    ids=["renamed-exe", "magic-only", "text", "empty"],
)
def test_what_is_not_a_pdf_is_refused_whatever_its_name(data):
    assert not files.is_pdf(data)


def test_a_truncated_pdf_is_refused():
    assert not files.is_pdf(make_pdf()[:300])


def test_reading_stops_as_soon_as_the_cap_is_passed():
    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, size=-1):
            chunk = super().read(size)
            Counting.read_bytes += len(chunk)
            return chunk

    stream = Counting(b"x" * (5 * files.MB))
    with pytest.raises(files.FileRefused, match="dépasse 1 Mo"):
        files.read_capped(stream, files.MB, "gros.pdf")
    assert Counting.read_bytes <= files.MB + files.CHUNK


def test_a_file_at_the_limit_is_read_whole():
    assert len(files.read_capped(io.BytesIO(b"x" * files.MB), files.MB, "juste.pdf")) == files.MB


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("Attestation de suivi.pdf", "Attestation_de_suivi.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\léa\\Fiche été.pdf", "Fiche_ete.pdf"),
        ('a"b;c\r\n.pdf', "a_b_c_.pdf"),
        ("", "document.pdf"),
        ("...", "document.pdf"),
        ("x" * 300 + ".pdf", "x" * 96 + ".pdf"),
    ],
)
def test_file_names_are_made_safe_for_headers_and_screens(name, safe):
    assert files.safe_filename(name) == safe


def test_sizes_read_in_french():
    assert files.human_size(files.MB) == "1 Mo"
    assert files.human_size(1258291) == "1,2 Mo"
    assert files.human_size(512 * 1024) == "512 Ko"
