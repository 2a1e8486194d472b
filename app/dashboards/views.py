"""Dashboards (SPEC H1): Direction and Admin see every collectivity; an employer sees a
restricted version limited to its own collectivity (a secondary account: its agents). Each
chart is inline SVG drawn on the server, with the table of the same figures and its CSV/XLSX
export (``app.core.exports`` cells, ``app.core.spreadsheet`` files)."""

from __future__ import annotations

import datetime as dt
import decimal
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from markupsafe import Markup

from app import roles
from app.core import clock, files
from app.core.exports import csv_cells, requested_format, xlsx_cells
from app.core.formatting import format_decimal, format_money
from app.core.spreadsheet import XLSX_MIMETYPE, csv_response, xlsx_response
from app.core.views import READ
from app.dashboards import charts, queries
from app.dashboards.queries import Filters
from app.referential.models import TariffCategory
from app.rules.dates import parse_french_date
from app.rules.errors import DomainError
from app.rules.formatting import format_date
from app.security import register_resources
from app.tenancy import current_scope

DASHBOARD = "Dashboard"
MY_DASHBOARD = "MyDashboard"
register_resources(
    {
        DASHBOARD: {roles.DIRECTION: (READ,)},
        MY_DASHBOARD: {roles.EMPLOYER_PRIMARY: (READ,), roles.EMPLOYER_SECONDARY: (READ,)},
    }
)


@dataclass
class Figure:
    """One chart of a dashboard: its SVG, and the table (header, rows) it is drawn from."""

    key: str
    title: str
    svg: Markup
    header: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""
    # Indexes of the columns holding euro amounts (shown « 1 234,56 € » in the table).
    money: frozenset[int] = frozenset()

    def table(self) -> list[Markup]:
        """The rows of the page's table, each one ``<td>`` string built in Python (no template
        call per cell: a 1 000-collectivity table renders in a few milliseconds)."""
        money = self.money
        return [
            Markup(
                "".join(
                    f"<td>{html.escape(cell_text(value, index in money))}</td>"
                    for index, value in enumerate(row)
                )
            )
            for row in self.rows
        ]


def _date_arg(name: str, default: dt.date) -> dt.date:
    raw = request.args.get(name, "").strip()[:20]
    if not raw:
        return default
    try:
        return parse_french_date(raw)
    except DomainError as error:  # « Date impossible : 31/02/2026 … » or « Date invalide … »
        flash(f"{error.message} La date par défaut ({default:%d/%m/%Y}) est utilisée.", "warning")
        return default


def read_filters(collectivity_id: int | None = None) -> Filters:
    """The period (default: the last 12 whole months and this one), office and category."""
    today = clock.today()
    default_start = dt.date(today.year - 1, today.month, 1)
    start = _date_arg("du", default_start)
    end = _date_arg("au", today)
    if end < start:
        flash("La fin de la période précède son début : période par défaut.", "warning")
        start, end = default_start, today
    if (end - start).days > 366 * 5:
        flash("La période est limitée à 5 ans.", "warning")
        start = end - dt.timedelta(days=366 * 5)
    office = request.args.get("cabinet", "")
    category = TariffCategory.__members__.get(request.args.get("categorie", ""))
    return Filters(
        start=start,
        end=end,
        office_id=int(office) if office.isdigit() and len(office) < 10 else None,
        category=category if collectivity_id is None else None,
        collectivity_id=collectivity_id,
    )


def _percent(value: float) -> str:
    return f"{value:.1f} %".replace(".", ",")


def visits_figure(filters: Filters) -> Figure:
    rows = queries.visits_by_month(filters)
    months = queries.months_between(filters.start, filters.end)
    types = sorted({label for _, _, label, _ in rows})
    counts = {(y, m, label): n for y, m, label, n in rows}
    labels = [queries.month_label(y, m) for y, m in months]
    series = [
        charts.Series(label, [counts.get((y, m, label), 0) for y, m in months]) for label in types
    ]
    return Figure(
        "visites",
        "Visites par mois et par type",
        charts.bar_chart("Visites par mois et par type", labels, series),
        ["Année", "Mois", "Type de visite", "Visites"],
        [[y, m, label, n] for y, m, label, n in rows],
    )


def fill_figure(filters: Filters) -> Figure:
    rows = queries.fill_rates(filters)
    offices: dict[str, list[int]] = {}
    for row in rows:
        total = offices.setdefault(row.office, [0, 0])
        total[0] += row.capacity
        total[1] += row.taken
    labels = list(offices)
    rates = [round(100.0 * t / c, 1) if c else 0.0 for c, t in offices.values()]
    return Figure(
        "remplissage",
        "Taux de remplissage des plages par cabinet",
        charts.bar_chart(
            "Taux de remplissage des plages par cabinet",
            labels,
            [charts.Series("Taux de remplissage", rates)],
            unit=" %",
        ),
        ["Cabinet", "Professionnel", "Plages", "Capacité", "Créneaux pris", "Taux (%)"],
        [[r.office, r.professional, r.plages, r.capacity, r.taken, r.rate] for r in rows],
        note="Par professionnel dans le tableau ; le filtre de catégorie ne s'applique pas aux "
        "plages (une plage commune sert plusieurs collectivités).",
    )


def absenteeism_figure(filters: Filters) -> Figure:
    rows = queries.absenteeism(filters)
    shown = sorted(rows, key=lambda r: (-r.rate, r.collectivity))[:15]
    title = "Taux d'absentéisme par collectivité (seuil 5 %)"
    return Figure(
        "absenteisme",
        title,
        charts.bar_chart(
            title,
            [r.collectivity for r in shown],
            [
                charts.Series(
                    "Absences injustifiées / (honorés + injustifiées)", [r.rate for r in shown]
                )
            ],
            unit=" %",
            threshold=queries.ABSENTEEISM_THRESHOLD,
        ),
        [
            "Collectivité",
            "Rendez-vous honorés",
            "Absences injustifiées",
            "Absences justifiées",
            "Taux (%)",
            "Au-delà du seuil",
        ],
        [
            [r.collectivity, r.honoured, r.unjustified, r.justified, r.rate, r.above_threshold]
            for r in rows
        ],
        note="Le graphique montre les 15 taux les plus élevés ; le tableau, toutes les "
        "collectivités."
        if len(rows) > 15
        else "",
    )


def statutory_figure(filters: Filters) -> Figure:
    rows = queries.statutory_by_month(filters)
    months = queries.months_between(filters.start, filters.end)
    by_month = {(r.year, r.month): r for r in rows}
    labels = [queries.month_label(y, m) for y, m in months]
    within = [
        float(by_month[k].requests - by_month[k].beyond) if k in by_month else 0.0 for k in months
    ]
    beyond = [float(by_month[k].beyond) if k in by_month else 0.0 for k in months]
    title = "Médecine statutaire : consommation du droit de tirage"
    return Figure(
        "statutaire",
        title,
        charts.bar_chart(
            title,
            labels,
            [charts.Series("Dans le quota", within), charts.Series("Au-delà du quota", beyond)],
        ),
        ["Année", "Mois", "Demandes", "Points consommés", "Au-delà du quota", "Montant au-delà"],
        [[r.year, r.month, r.requests, r.points, r.beyond, r.beyond_amount] for r in rows],
    )


def headcount_figure(filters: Filters) -> Figure:
    rows = queries.headcounts(filters)
    title = "Évolution des effectifs déclarés"
    return Figure(
        "effectifs",
        title,
        charts.line_chart(
            title,
            [str(r.year) for r in rows],
            [
                charts.Series("Effectif", [r.headcount for r in rows]),
                charts.Series("Effectif permanent", [r.permanent for r in rows]),
            ],
        ),
        ["Année", "Collectivités déclarantes", "Effectif", "Effectif permanent"],
        [[r.year, r.collectivities, r.headcount, r.permanent] for r in rows],
    )


BILLING_HEADER = [
    "Année",
    "Mois",
    "Factures émises (€)",
    "Avoirs (€)",
    "Net facturé (€)",
    "Encaissé (€)",
    "Échu non réglé (€)",
]


def billing_figure(filters: Filters) -> Figure:
    """Amounts invoiced (net of credit notes, by issue month), paid (by payment date) and
    overdue (what is still due on the reference day on the invoices past due, by month of due
    date): three aggregates."""
    today = clock.today()
    as_of = queries.overdue_as_of(filters, today)
    rows = queries.billing_by_month(filters, today)
    months = queries.months_between(filters.start, filters.end)
    by_month = {(r.year, r.month): r for r in rows}
    empty = queries.BillingRow(0, 0)
    shown = [by_month.get(key, empty) for key in months]
    title = "Montants facturés, encaissés et échus"
    earlier = by_month.get((0, 0), empty).overdue
    total_overdue = sum((r.overdue for r in rows), queries.CENT * 0)
    note = (
        "Net facturé : factures émises moins avoirs, par mois d'émission. Encaissé : "
        "règlements reçus, par date de règlement. Échu non réglé : reste à payer au "
        f"{format_date(as_of)} des factures dont l'échéance est passée à cette date, par mois "
        f"d'échéance ; en tout {format_money(total_overdue)}"
        + (
            f", dont {format_money(earlier)} sur des échéances antérieures à la période"
            if earlier
            else ""
        )
        + "."
    )
    if filters.employer:
        note += " Les factures sont celles de votre collectivité."
    else:
        note += (
            " Le filtre de cabinet ne s'applique pas aux factures (elles sont établies par "
            "collectivité) ; celui de catégorie, oui."
        )
    return Figure(
        "factures",
        title,
        charts.bar_chart(
            title,
            [queries.month_label(y, m) for y, m in months],
            [
                # A month with more credit notes than invoices draws no bar (the table says).
                charts.Series("Net facturé", [max(float(r.invoiced), 0.0) for r in shown]),
                charts.Series("Encaissé", [float(r.paid) for r in shown]),
                charts.Series("Échu non réglé", [float(r.overdue) for r in shown]),
            ],
            stacked=False,
            unit=" €",
            decimals=2,
        ),
        BILLING_HEADER,
        [
            [
                r.year or f"Échéances avant le {format_date(filters.start)}",
                r.month or "",
                r.invoices,
                r.credit_notes,
                r.invoiced,
                r.paid,
                r.overdue,
            ]
            for r in rows
        ],
        note=note,
        money=frozenset({2, 3, 4, 5, 6}),
    )


STAFF_FIGURES: dict[str, Callable[[Filters], Figure]] = {
    "visites": visits_figure,
    "remplissage": fill_figure,
    "absenteisme": absenteeism_figure,
    "statutaire": statutory_figure,
    "effectifs": headcount_figure,
    "factures": billing_figure,
}
# The employer's restricted version: no plage fill rate (the CDG's offices and professionals).
EMPLOYER_FIGURES = {k: v for k, v in STAFF_FIGURES.items() if k != "remplissage"}
# Invoices are the primary account's business (« Factures », ``app.billing.models``): a
# secondary account's dashboard has no billing figure, as it has no « Factures » screen.
SECONDARY_FIGURES = {k: v for k, v in EMPLOYER_FIGURES.items() if k != "factures"}


def cell_text(value: Any, money: bool = False) -> str:
    """A table cell as the page shows it (``money``: « 1 234,56 € »)."""
    if type(value) is int or type(value) is str:
        return str(value)
    if money and isinstance(value, decimal.Decimal):
        return format_money(value)
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, float):
        return (
            str(int(value)) if value.is_integer() else format_decimal(decimal.Decimal(str(value)))
        )
    if isinstance(value, dt.date):
        return format_date(value)
    return str(csv_cells([value])[0])


def export_figure(figure: Figure, fmt: str, filters: Filters) -> Any:
    fmt = requested_format(fmt)
    name = f"{figure.key}_{filters.start:%Y%m%d}_{filters.end:%Y%m%d}.{fmt}"
    if fmt == "csv":
        return csv_response(name, figure.header, (csv_cells(r) for r in figure.rows))
    return xlsx_response(name, figure.header, (xlsx_cells(r) for r in figure.rows))


def _send_report(path: Any, name: str | None = None) -> Any:
    """A stored annual report (PDF or XLSX, by its suffix) as a download named ``name``."""
    mimetype = "application/pdf" if path.suffix == ".pdf" else XLSX_MIMETYPE
    return files.download_response(path.read_bytes(), name or path.name, mimetype)


class _Dashboard(BaseView):
    default_view = "index"
    method_permission_name = {
        "index": READ,
        "export": READ,
        "report": READ,
        "global_report": READ,
        "collectivity_report": READ,
    }
    figures: dict[str, Callable[[Filters], Figure]] = STAFF_FIGURES
    template = "dashboards/dashboard.html"
    title = "Tableau de bord"

    def _collectivity(self) -> int | None:
        return None

    def _figures(self) -> dict[str, Callable[[Filters], Figure]]:
        return self.figures

    def _render(self) -> Any:
        filters = read_filters(self._collectivity())
        figures = [build(filters) for build in self._figures().values()]
        report_years = self._report_years()
        return self.render_template(
            self.template,
            title=self.title,
            filters=filters,
            figures=figures,
            offices=queries.offices() if self._collectivity() is None else [],
            categories=list(TariffCategory) if self._collectivity() is None else [],
            employer=self._collectivity() is not None,
            secondary=current_scope().is_secondary,
            format_date=format_date,
            reports=self._reports(),
            global_reports=self._global_reports(),
            report_years=report_years,
            collectivities=self._report_collectivities() if report_years else [],
            endpoint=f"{type(self).__name__}",
        )

    def _reports(self) -> list[Any]:
        from app.dashboards import report

        return report.available(self._collectivity())

    def _global_reports(self) -> list[int]:
        """The years of the global report (every collectivity): Direction and Admin only."""
        return []

    def _report_years(self) -> list[int]:
        """Staff: the years whose collectivity reports are stored (the picker's years)."""
        return []

    def _report_collectivities(self) -> list[tuple[int, str]]:
        """Staff: every collectivity by name, for the report picker (one query)."""
        return []

    def _export(self, key: str, fmt: str) -> Any:
        build = self._figures().get(key)
        if build is None:
            abort(404)
        filters = read_filters(self._collectivity())
        return export_figure(build(filters), fmt, filters)

    def _report(self, year: int, fmt: str) -> Any:
        from app.dashboards import report

        path = report.stored_file(self._collectivity(), year, fmt)
        if path is None:
            abort(404)
        return _send_report(path)


class DashboardView(_Dashboard):
    """« Tableau de bord » of Direction and Admin: every collectivity."""

    route_base = "/tableau-de-bord"
    class_permission_name = DASHBOARD

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._render()

    @expose("/export/<key>/<fmt>")
    @has_access
    def export(self, key: str, fmt: str) -> Any:
        return self._export(key, fmt)

    @expose("/rapport/<int:year>/<fmt>")
    @has_access
    def report(self, year: int, fmt: str) -> Any:
        return self._report(year, fmt)

    @expose("/rapport-global/<int:year>/<fmt>")
    @has_access
    def global_report(self, year: int, fmt: str) -> Any:
        """The global annual report (every collectivity together)."""
        from app.dashboards import report

        path = report.stored_global_file(year, fmt)
        if path is None:
            abort(404)
        return _send_report(path)

    @expose("/rapport-collectivite")
    @has_access
    def collectivity_report(self) -> Any:
        """The picker's download: ``?collectivite=<id>&annee=<year>&format=pdf|xlsx``. A
        report not generated (yet) gets a French message back on the dashboard, not a 404."""
        from app.dashboards import report

        year_arg = request.args.get("annee", "")
        fmt = request.args.get("format", "pdf")
        year = int(year_arg) if year_arg.isdigit() and len(year_arg) == 4 else 0
        path = report.stored_file(None, year, fmt)
        if path is not None:
            # Named after the collectivity: Direction downloads several and files them.
            name = queries.collectivity_name(report.requested_collectivity() or 0)
            return _send_report(path, f"rapport-annuel-{year}-{name}{path.suffix}")
        flash(
            "Aucun rapport annuel n'est disponible pour cette collectivité et cette année "
            "(la tâche « Rapport annuel d'activité » les génère pour les collectivités "
            "adhérentes l'année du rapport).",
            "warning",
        )
        return redirect(url_for(f"{type(self).__name__}.index", _anchor="rapports"))

    def _reports(self) -> list[Any]:
        return []  # the staff choose one in the picker (``collectivity_report``)

    def _global_reports(self) -> list[int]:
        from app.dashboards import report

        return report.global_available()

    def _report_years(self) -> list[int]:
        from app.dashboards import report

        return report.collectivity_report_years()

    def _report_collectivities(self) -> list[tuple[int, str]]:
        return queries.collectivity_names()


class MyDashboardView(_Dashboard):
    """« Tableau de bord » of an employer: its collectivity only."""

    route_base = "/portail/tableau-de-bord"
    class_permission_name = MY_DASHBOARD
    needs_collectivity = True
    figures = EMPLOYER_FIGURES
    title = "Mon tableau de bord"

    def _collectivity(self) -> int | None:
        collectivity_id = current_scope().collectivity_id
        if collectivity_id is None:
            abort(404)
        return collectivity_id

    def _figures(self) -> dict[str, Callable[[Filters], Figure]]:
        return SECONDARY_FIGURES if current_scope().is_secondary else self.figures

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._render()

    @expose("/export/<key>/<fmt>")
    @has_access
    def export(self, key: str, fmt: str) -> Any:
        return self._export(key, fmt)

    @expose("/rapport/<int:year>/<fmt>")
    @has_access
    def report(self, year: int, fmt: str) -> Any:
        return self._report(year, fmt)
