"""The annual activity report (SPEC H2) of each collectivity, due 31 March N+1: the figures of
year N (visits by type and outcome, absenteeism, statutory acts, headcounts, inspection days and
prevention actions) as a French PDF and an XLSX.

The job ``activity-report`` writes both files for every collectivity under
``UPLOAD_DIR/rapports-annuels/<year>/`` (batched; a dry run writes nothing) and publishes the PDF
in the collectivity's « Mes documents » (``app.documents.services.publish``). The files stay
downloadable from the dashboards. Figures never count a confidential visit.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.core import files
from app.core.exports import xlsx_cells
from app.dashboards import queries
from app.dashboards.queries import Filters
from app.extensions import db

AREA = "rapports-annuels"


@dataclass
class ReportData:
    year: int
    collectivity: str
    visits: list[tuple[str, str, int]] = field(default_factory=list)
    absenteeism: queries.AbsenteeismRow | None = None
    statutory: list[tuple[int, str, int]] = field(default_factory=list)
    headcount: queries.HeadcountRow | None = None
    acfi: tuple[decimal.Decimal, decimal.Decimal, decimal.Decimal] | None = None
    prevention: list[tuple[str, int]] = field(default_factory=list)

    @property
    def visits_total(self) -> int:
        return sum(n for _, _, n in self.visits)


def _prevention(filters: Filters) -> list[tuple[str, int]]:
    """Prevention actions by kind, when the documents package records them."""
    try:
        from app.documents.models import PreventionAction
    except ImportError:  # pragma: no cover - the table lands with the documents issue
        return []
    rows = db.session.execute(
        select(PreventionAction.kind, func.count(PreventionAction.id))
        .where(
            PreventionAction.action_on.between(filters.start, filters.end),
            PreventionAction.collectivity_id == filters.collectivity_id,
        )
        .group_by(PreventionAction.kind)
        .order_by(PreventionAction.kind)
    )
    return [(kind.label, int(n)) for kind, n in rows]


def collect(collectivity_id: int, name: str, year: int) -> ReportData:
    """The figures of one collectivity's year: a constant number of aggregates."""
    filters = Filters(
        start=dt.date(year, 1, 1), end=dt.date(year, 12, 31), collectivity_id=collectivity_id
    )
    absenteeism = queries.absenteeism(filters)
    headcounts = queries.headcounts(filters)
    return ReportData(
        year=year,
        collectivity=name,
        visits=[(t, o.label, n) for t, o, n in queries.visits_by_outcome(filters)],
        absenteeism=absenteeism[0] if absenteeism else None,
        statutory=queries.statutory_by_act(filters),
        headcount=headcounts[0] if headcounts else None,
        acfi=queries.acfi_days(filters),
        prevention=_prevention(filters),
    )


def _dec(value: decimal.Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",")


def sections(data: ReportData) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(title, header, rows) of each part of the report: the PDF and the XLSX say the same."""
    parts: list[tuple[str, list[str], list[list[Any]]]] = []
    parts.append(
        (
            "Visites par type et par avis",
            ["Type de visite", "Avis", "Visites"],
            [[t, o, n] for t, o, n in data.visits] + [["Total", "", data.visits_total]],
        )
    )
    a = data.absenteeism
    parts.append(
        (
            "Absentéisme (seuil 5 %)",
            ["Rendez-vous honorés", "Absences injustifiées", "Absences justifiées", "Taux (%)"],
            [[a.honoured, a.unjustified, a.justified, a.rate]] if a else [[0, 0, 0, 0.0]],
        )
    )
    parts.append(
        (
            "Médecine statutaire",
            ["Acte n°", "Acte", "Demandes"],
            [[number, label, n] for number, label, n in data.statutory],
        )
    )
    h = data.headcount
    parts.append(
        (
            "Effectifs déclarés",
            ["Année", "Effectif", "Effectif permanent"],
            [[h.year, h.headcount, h.permanent]] if h else [],
        )
    )
    if data.acfi is not None:
        volume, planned, done = data.acfi
        parts.append(
            (
                "Inspection (ACFI), en jours",
                ["Volume prévu", "Jours planifiés", "Jours réalisés"],
                [[volume, planned, done]],
            )
        )
    parts.append(
        (
            "Actions de prévention",
            ["Nature", "Actions"],
            [[kind, n] for kind, n in data.prevention],
        )
    )
    return parts


def _cell(value: Any) -> str:
    if isinstance(value, decimal.Decimal):
        return _dec(value)
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def render_pdf(data: ReportData) -> bytes:
    from app.core.pdf import FAMILY, new_pdf
    from app.visits.sheets import _unchanged

    pdf = new_pdf(format="A4")
    pdf.set_title(f"Rapport annuel d'activité {data.year}")
    pdf.set_creator("MédecinePrev")
    family, clean = FAMILY, _unchanged
    pdf.add_page()
    pdf.set_font(family, "B", 16)
    pdf.cell(0, 10, clean(f"Rapport annuel d'activité {data.year}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 11)
    pdf.cell(0, 7, clean(data.collectivity), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        0,
        6,
        clean("Service de médecine préventive – Centre de gestion"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for title, header, rows in sections(data):
        pdf.ln(4)
        pdf.set_font(family, "B", 12)
        pdf.cell(0, 8, clean(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 9)
        if not rows:
            pdf.cell(0, 6, clean("Aucune donnée pour l'année."), new_x="LMARGIN", new_y="NEXT")
            continue
        with pdf.table(text_align="LEFT", line_height=6) as table:
            heading = table.row()
            for label in header:
                heading.cell(clean(label))
            for values in rows:
                line = table.row()
                for value in values:
                    line.cell(clean(_cell(value)))
    pdf.ln(6)
    pdf.set_font(family, "", 8)
    pdf.multi_cell(
        0,
        5,
        clean(
            "Figures de l'année civile ; les visites demandées par l'agent lui-même "
            "(confidentielles) ne sont pas comptées. Taux d'absentéisme : absences "
            "injustifiées / (rendez-vous honorés + absences injustifiées)."
        ),
    )
    return bytes(pdf.output())


def render_xlsx(data: ReportData) -> bytes:
    """One sheet: each section's title, header and rows, one blank line between sections."""
    from app.core.spreadsheet import xlsx_bytes

    rows: list[list[Any]] = [[data.collectivity], []]
    for title, header, values in sections(data):
        rows.append([title])
        rows.append(list(header))
        rows.extend(xlsx_cells(r) for r in values)
        rows.append([])
    return xlsx_bytes(
        [f"Rapport annuel d'activité {data.year}"], rows, sheet_title=f"Rapport {data.year}"
    )


# ----------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------


def _folder(year: int) -> Path:
    return files.upload_root() / AREA / str(year)


def file_path(collectivity_id: int, year: int, fmt: str) -> Path:
    return _folder(year) / f"rapport-annuel-{year}-collectivite-{collectivity_id}.{fmt}"


def stored_file(collectivity_id: int | None, year: int, fmt: str) -> Path | None:
    """The stored report of a collectivity (None: the staff's list has none of its own)."""
    if collectivity_id is None:
        collectivity_id = _requested_collectivity()
    if collectivity_id is None or fmt not in ("pdf", "xlsx") or not 2000 <= year <= 2100:
        return None
    path = file_path(collectivity_id, year, fmt)
    return path if path.is_file() else None


def _requested_collectivity() -> int | None:
    from flask import request

    raw = request.args.get("collectivite", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def available(collectivity_id: int | None, limit: int = 200) -> list[tuple[int, int, str]]:
    """(year, collectivity id, collectivity name) of the stored reports: the employer's own
    (a primary account: the report covers the whole collectivity), or all for the staff.
    Read from the disk: no query."""
    from app.tenancy import current_scope

    scope = current_scope()
    if scope.is_secondary:
        return []
    root = files.upload_root() / AREA
    if not root.is_dir():
        return []
    found: list[tuple[int, int, str]] = []
    for year_dir in sorted(root.iterdir(), reverse=True):
        if not year_dir.name.isdigit():
            continue
        for pdf in sorted(year_dir.glob("rapport-annuel-*-collectivite-*.pdf")):
            cid = pdf.stem.rsplit("-", 1)[-1]
            if not cid.isdigit():
                continue
            if collectivity_id is not None and int(cid) != collectivity_id:
                continue
            found.append((int(year_dir.name), int(cid), ""))
            if len(found) >= limit:
                return found
    return found


def write_report(collectivity_id: int, name: str, year: int) -> tuple[bytes, bytes]:
    data = collect(collectivity_id, name, year)
    pdf, xlsx = render_pdf(data), render_xlsx(data)
    write_report_files(collectivity_id, year, pdf, xlsx)
    return pdf, xlsx


def _publish(collectivity_id: int, year: int, pdf: bytes) -> bool:
    """Into « Mes documents » › Rapports annuels, once per collectivity and year."""
    try:
        from app.documents.models import DocumentFolder, PublishedDocument
        from app.documents.services import publish
    except ImportError:  # pragma: no cover - the documents package is optional here
        return False
    title = f"Rapport annuel d'activité {year}"
    exists = db.session.scalar(
        select(func.count(PublishedDocument.id)).where(
            PublishedDocument.collectivity_id == collectivity_id,
            PublishedDocument.folder == DocumentFolder.rapports_annuels,
            PublishedDocument.title == title,
        )
    )
    if exists:
        return False
    publish(
        collectivity_id,
        DocumentFolder.rapports_annuels,
        title,
        pdf,
        filename=f"rapport-annuel-{year}.pdf",
    )
    return True


def run_activity_report(ctx: Any) -> None:
    """Job step: the report of last year (as of ``ctx.today``) for every collectivity."""
    from app.referential.models import Collectivity
    from app.tenancy import system_scope

    year = ctx.today.year - 1
    with system_scope():
        rows = list(
            db.session.execute(select(Collectivity.id, Collectivity.name).order_by(Collectivity.id))
        )
        names = dict(rows)
        for batch in ctx.batches([cid for cid, _ in rows]):
            for cid in batch:
                key = f"rapport-{year}-{cid}"
                if ctx.is_done(key):
                    continue
                data = collect(cid, names[cid], year)
                pdf, xlsx = render_pdf(data), render_xlsx(data)
                if ctx.dry_run:
                    ctx.counts["rapports (simulation)"] += 1
                    continue
                write_report_files(cid, year, pdf, xlsx)
                if _publish(cid, year, pdf):
                    ctx.counts["rapports publiés"] += 1
                ctx.counts["rapports générés"] += 1
                ctx.mark_done(key)


def write_report_files(collectivity_id: int, year: int, pdf: bytes, xlsx: bytes) -> None:
    folder = _folder(year)
    folder.mkdir(parents=True, exist_ok=True)
    file_path(collectivity_id, year, "pdf").write_bytes(pdf)
    file_path(collectivity_id, year, "xlsx").write_bytes(xlsx)
