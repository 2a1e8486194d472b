"""The visit sheet PDF (SPEC E5): identity, position, date, nature of the visit, outcome,
restrictions as worded for the employer, next visit, professional. Never any medical note.

fpdf2 writes the PDF in pure Python with the vendored DejaVu Sans font, embedded
(app/core/pdf.py): no system font, never the network. ``latin1`` makes a text safe for the PDF
core fonts (latin-1 only), for the documents that still use them (app/documents/demo.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.core import files
from app.rules.errors import DomainError, FieldError
from app.visits.consultation_models import Consultation

# What latin-1 lacks but French texts use: typographic quotes, dashes, the euro sign, œ.
LATIN1_REPLACEMENTS = {
    "\u2019": "'",
    "\u2018": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u20ac": "EUR",
    "\u0153": "oe",
    "\u0152": "OE",
    "\u202f": " ",
}


def latin1(text: str) -> str:
    for char, replacement in LATIN1_REPLACEMENTS.items():
        text = text.replace(char, replacement)
    return text.encode("latin-1", "replace").decode("latin-1")


def _unchanged(text: str) -> str:
    return text


def _date(value: dt.date | None) -> str:
    return f"{value:%d/%m/%Y}" if value else "—"


def sheet_lines(consultation: Consultation) -> list[tuple[str, str]]:
    """The (label, value) pairs of the sheet: what the employer may read, nothing medical."""
    agent = consultation.agent
    contract = agent.current_contract(consultation.visit_date)
    position = contract.work_position.label if contract is not None else "—"
    lines = [
        ("Agent", f"{agent.civility.label} {agent.full_name}"),
        ("Né(e) le", _date(agent.birth_date)),
        ("Collectivité", agent.collectivity.name),
        ("Poste occupé", position),
        ("Date de la visite", _date(consultation.visit_date)),
        ("Nature de la visite", consultation.visit_type.label),
        ("Avis", consultation.outcome.label),
    ]
    if consultation.restrictions:
        lines.append(("Restrictions / aménagements", consultation.restrictions))
    lines.append(("Prochaine visite", _date(consultation.next_visit_on)))
    lines.append(("Professionnel de santé", str(consultation.professional)))
    return lines


def render_sheet(consultation: Consultation) -> bytes:
    from app.core.pdf import FAMILY, new_pdf

    pdf = new_pdf(format="A4")
    pdf.set_title("Fiche de visite")
    pdf.set_creator("MédecinePrev")
    family, clean = FAMILY, _unchanged
    pdf.add_page()
    pdf.set_font(family, "B", 16)
    attestation = consultation.outcome.name == "attestation_suivi"
    title = "Attestation de suivi" if attestation else "Fiche de visite – avis"
    pdf.cell(0, 12, clean(title), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font(family, "", 10)
    pdf.cell(
        0,
        6,
        clean("Service de médecine préventive – Centre de gestion"),
        new_x="LMARGIN",
        new_y="NEXT",
        align="C",
    )
    pdf.ln(8)
    for label, value in sheet_lines(consultation):
        pdf.set_font(family, "B", 11)
        pdf.cell(60, 8, clean(label))
        pdf.set_font(family, "", 11)
        pdf.multi_cell(0, 8, clean(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    pdf.set_font(family, "", 9)
    pdf.multi_cell(
        0,
        5,
        clean(
            "Ce document ne contient aucune information médicale. Il est communiqué à "
            "l'employeur et à l'agent (articles R4624-14 et suivants du code du travail ; "
            "décret n° 85-603 du 10 juin 1985)."
        ),
    )
    return bytes(pdf.output())


SHEET_AREA = "fiches-de-visite"
SHEET_MAX_BYTES = files.PDF_MAX_BYTES


def uploaded_sheet(consultation: Consultation) -> bytes | None:
    """The uploaded sheet's bytes (files live outside the web root under UPLOAD_DIR)."""
    return files.read_stored(consultation.sheet_path)


def upload_sheet(consultation: Consultation, upload: Any) -> str | None:
    """Replace the generated sheet by an uploaded PDF (checked by content, 1 MB at most);
    returns the previous uploaded file's path, to delete once the change is committed."""
    if upload is None or not getattr(upload, "filename", ""):
        raise FieldError("Choisissez le fichier PDF de la fiche de visite.", "sheet")
    data = files.read_pdf(upload, SHEET_MAX_BYTES, "sheet")
    stored = files.store(data, SHEET_AREA, sheet_filename(consultation))
    previous = consultation.sheet_path
    consultation.sheet_path = stored.path
    return previous


def remove_uploaded_sheet(consultation: Consultation) -> str | None:
    """Back to the generated sheet; returns the uploaded file's path to delete after commit."""
    previous = consultation.sheet_path
    if previous is None:
        raise DomainError("La fiche de visite est déjà la fiche générée.")
    consultation.sheet_path = None
    return previous


def sheet_pdf(consultation: Consultation) -> bytes:
    return uploaded_sheet(consultation) or render_sheet(consultation)


def sheet_filename(consultation: Consultation) -> str:
    return f"fiche-de-visite-{consultation.visit_date:%Y%m%d}-{consultation.id}.pdf"
