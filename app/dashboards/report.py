"""The annual activity report (SPEC H2) of each collectivity, due 31 March N+1: the figures of
year N (visits by type and outcome, absenteeism, statutory acts, headcounts, inspection days and
prevention actions) as a French PDF and an XLSX.

The job ``activity-report`` writes both files for every collectivity under
``UPLOAD_DIR/rapports-annuels/<year>/`` (batched; a dry run writes nothing) and publishes the PDF
in the collectivity's « Mes documents » (``app.documents.services.publish``). The files stay
downloadable from the dashboards. Figures never count a confidential visit.

The same job writes the global report of the year (every collectivity together, for Direction
and Admin only: ``rapport-annuel-<year>-global.pdf|xlsx``): the same sections over every
collectivity, plus the amounts invoiced and paid by month, and in the XLSX one line per
collectivity. It is read with a constant number of aggregates (grouped by month or by
collectivity), whatever the number of collectivities; being the CDG's own, it counts every
visit, confidential ones included (no employer ever sees it).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
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
    # The global report only: amounts by month, and one line per collectivity (XLSX).
    billing: list[queries.BillingRow] | None = None
    summary: list[list[Any]] | None = None
    as_of: dt.date | None = None

    @property
    def is_global(self) -> bool:
        return self.summary is not None

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
            *queries._collectivity_filters(filters, PreventionAction.collectivity_id),
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


SUMMARY_HEADER = [
    "Collectivité",
    "Catégorie",
    "Visites",
    "Rendez-vous honorés",
    "Absences injustifiées",
    "Taux d'absentéisme (%)",
    "Demandes de médecine statutaire",
    "Effectif déclaré",
    "Net facturé (€)",
    "Encaissé (€)",
]


def collect_global(year: int, today: dt.date | None = None) -> ReportData:
    """The figures of the year over every collectivity: a constant number of aggregates (by
    month, type or collectivity), never one query per collectivity."""
    from app.core import clock

    filters = Filters(start=dt.date(year, 1, 1), end=dt.date(year, 12, 31))
    today = today or clock.today()
    absences = queries.absenteeism(filters)
    by_collectivity = {row.collectivity_id: row for row in absences}
    headcounts = queries.headcounts(filters)
    lines = queries.collectivity_summary(filters)
    summary = []
    for line in lines:
        a = by_collectivity.get(line.collectivity_id)
        summary.append(
            [
                line.name,
                line.category.label,
                line.visits,
                a.honoured if a else 0,
                a.unjustified if a else 0,
                a.rate if a else 0.0,
                line.statutory,
                "" if line.headcount is None else line.headcount,
                line.invoiced,
                line.paid,
            ]
        )
    return ReportData(
        year=year,
        collectivity=f"Toutes les collectivités ({len(lines)})",
        visits=[(t, o.label, n) for t, o, n in queries.visits_by_outcome(filters)],
        absenteeism=queries.AbsenteeismRow(
            0,
            "Toutes",
            sum(a.honoured for a in absences),
            sum(a.unjustified for a in absences),
            sum(a.justified for a in absences),
        ),
        statutory=queries.statutory_by_act(filters),
        headcount=headcounts[0] if headcounts else None,
        acfi=queries.acfi_days(filters),
        prevention=_prevention(filters),
        billing=queries.billing_by_month(filters, today),
        summary=summary,
        as_of=queries.overdue_as_of(filters, today),
    )


def _billing_section(data: ReportData) -> tuple[str, list[str], list[list[Any]]]:
    from app.rules.formatting import format_date

    rows: list[list[Any]] = []
    total = [queries.CENT * 0] * 4
    for r in data.billing or []:
        label = (
            queries.month_label(r.year, r.month)
            if r.year
            else f"Échéances avant le 01/01/{data.year}"
        )
        figures = [r.invoices, r.credit_notes, r.paid, r.overdue]
        rows.append([label, r.invoices, r.credit_notes, r.invoiced, r.paid, r.overdue])
        total = [t + f for t, f in zip(total, figures, strict=True)]
    rows.append(["Total", total[0], total[1], total[0] + total[1], total[2], total[3]])
    as_of = format_date(data.as_of) if data.as_of else f"31/12/{data.year}"
    return (
        "Montants facturés et encaissés",
        [
            "Mois",
            "Factures émises (€)",
            "Avoirs (€)",
            "Net facturé (€)",
            "Encaissé (€)",
            f"Échu non réglé au {as_of} (€)",
        ],
        rows,
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
    if data.billing is not None:
        parts.append(_billing_section(data))
    return parts


def _cell(value: Any, money: bool = False) -> str:
    if money and isinstance(value, decimal.Decimal):
        from app.rules.formatting import format_money

        return format_money(value)
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
            money = "(€)" in " ".join(header)
            for values in rows:
                line = table.row()
                for value in values:
                    line.cell(clean(_cell(value, money)))
    pdf.ln(6)
    pdf.set_font(family, "", 8)
    pdf.multi_cell(0, 5, clean(_footnote(data)))
    return bytes(pdf.output())


def _footnote(data: ReportData) -> str:
    rate = (
        "Taux d'absentéisme : absences injustifiées / (rendez-vous honorés + absences "
        "injustifiées)."
    )
    if not data.is_global:
        return (
            "Figures de l'année civile ; les visites demandées par l'agent lui-même "
            f"(confidentielles) ne sont pas comptées. {rate}"
        )
    return (
        "Figures de l'année civile, toutes collectivités confondues ; toutes les visites sont "
        "comptées, celles demandées par l'agent lui-même (confidentielles) comprises. "
        f"{rate} Net facturé : factures émises moins avoirs, par date d'émission ; encaissé : "
        "par date de règlement ; échu non réglé : reste à payer en fin d'année des factures "
        "échues, par mois d'échéance. Le détail par collectivité est dans le fichier Excel."
    )


def render_xlsx(data: ReportData) -> bytes:
    """One sheet: each section's title, header and rows, one blank line between sections."""
    from app.core.spreadsheet import xlsx_bytes

    rows: list[list[Any]] = [[data.collectivity], []]
    parts = sections(data)
    if data.summary is not None:
        parts.append(("Synthèse par collectivité", SUMMARY_HEADER, data.summary))
    for title, header, values in parts:
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


def global_file_path(year: int, fmt: str) -> Path:
    return _folder(year) / f"rapport-annuel-{year}-global.{fmt}"


def stored_global_file(year: int, fmt: str) -> Path | None:
    if fmt not in ("pdf", "xlsx") or not 2000 <= year <= 2100:
        return None
    path = global_file_path(year, fmt)
    return path if path.is_file() else None


def _stored_years(has_report: Callable[[Path], bool]) -> list[int]:
    """The years whose folder holds a report ``has_report`` recognises, newest first (the
    disk: no query)."""
    root = files.upload_root() / AREA
    if not root.is_dir():
        return []
    return [
        int(folder.name)
        for folder in sorted(root.iterdir(), reverse=True)
        if folder.name.isdigit() and has_report(folder)
    ]


def global_available() -> list[int]:
    """The years whose global report is stored."""
    return _stored_years(lambda folder: global_file_path(int(folder.name), "pdf").is_file())


def collectivity_report_years() -> list[int]:
    """The years with at least one collectivity's report stored."""
    return _stored_years(
        lambda folder: next(folder.glob("rapport-annuel-*-collectivite-*.pdf"), None) is not None
    )


def write_global_report(year: int, today: dt.date | None = None) -> tuple[bytes, bytes]:
    data = collect_global(year, today)
    pdf, xlsx = render_pdf(data), render_xlsx(data)
    folder = _folder(year)
    folder.mkdir(parents=True, exist_ok=True)
    global_file_path(year, "pdf").write_bytes(pdf)
    global_file_path(year, "xlsx").write_bytes(xlsx)
    return pdf, xlsx


def stored_file(collectivity_id: int | None, year: int, fmt: str) -> Path | None:
    """The stored report of a collectivity (None: the staff's list has none of its own; a
    secondary account has none either, as in ``available``: the report covers every agent)."""
    from app.tenancy import current_scope

    if current_scope().is_secondary:
        return None
    if collectivity_id is None:
        collectivity_id = requested_collectivity()
    if collectivity_id is None or fmt not in ("pdf", "xlsx") or not 2000 <= year <= 2100:
        return None
    path = file_path(collectivity_id, year, fmt)
    return path if path.is_file() else None


def requested_collectivity() -> int | None:
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
        _run_global_report(ctx, year)
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


def _run_global_report(ctx: Any, year: int) -> None:
    """The global report of the year: one file pair, its figures read in a constant number of
    aggregates whatever the number of collectivities."""
    key = f"rapport-{year}-global"
    if ctx.is_done(key):
        return
    if ctx.dry_run:
        data = collect_global(year, ctx.today)
        render_pdf(data), render_xlsx(data)
        ctx.counts["rapport global (simulation)"] += 1
        return
    write_global_report(year, ctx.today)
    ctx.counts["rapport global généré"] += 1
    ctx.mark_done(key)


def write_report_files(collectivity_id: int, year: int, pdf: bytes, xlsx: bytes) -> None:
    folder = _folder(year)
    folder.mkdir(parents=True, exist_ok=True)
    file_path(collectivity_id, year, "pdf").write_bytes(pdf)
    file_path(collectivity_id, year, "xlsx").write_bytes(xlsx)
