"""Dashboards (SPEC H1) and the annual activity report (H2): server-side SVG charts with their
tables and exports; an employer sees its own collectivity only, never a confidential visit."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app import roles
from app.billing.models import Invoice
from app.dashboards import queries
from app.dashboards.queries import Filters
from app.planning.models import Appointment, AppointmentStatus
from tests import factories, isolation
from tests.util import text

DASHBOARD = "/tableau-de-bord/"
# The test world's appointments are 30 days ahead: a period that holds them.
PERIOD = (
    f"?du={dt.date.today() - dt.timedelta(days=200):%d/%m/%Y}"
    f"&au={dt.date.today() + dt.timedelta(days=60):%d/%m/%Y}"
)
MY_DASHBOARD = "/portail/tableau-de-bord/"


@pytest.fixture(autouse=True)
def _no_report_left(app):
    # Annual reports are files named by collectivity id and year: a report written by an
    # earlier test of this worker would show in the picker of the next one (test databases
    # restart their ids). Each test starts from an empty report folder.
    shutil.rmtree(Path(app.config["UPLOAD_DIR"]) / "rapports-annuels", ignore_errors=True)


def _world(db_ctx):
    with db_ctx() as session:
        world = isolation.build_world(session)
        director = factories.make_user(session, roles.DIRECTION, username="direction-tdb")
        # A's appointments honoured, B's unjustified absences: absenteeism has figures.
        session.execute(
            update(Appointment)
            .where(Appointment.collectivity_id == world.a.id)
            .values(status=AppointmentStatus.honoree)
        )
        session.execute(
            update(Appointment)
            .where(Appointment.collectivity_id == world.b.id)
            .values(status=AppointmentStatus.absence_injustifiee)
        )
        session.commit()
        return world, director


def test_direction_sees_every_chart_with_its_table_and_no_external_resource(db_ctx, login):
    world, director = _world(db_ctx)
    page = login(director).get(DASHBOARD + PERIOD)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for key in ("visites", "remplissage", "absenteisme", "statutaire", "effectifs"):
        assert f'data-figure="{key}"' in body
    assert body.count("<svg") >= 5
    assert "Seuil 5" in body
    assert "Commune Alpha" in body and isolation.SECRET_B in body  # global: every collectivity
    # No chart library from a CDN: no script or stylesheet from another server.
    assert "googleapis" not in body and "cdn" not in body.lower()


def test_export_csv_and_xlsx_of_a_figure(db_ctx, login):
    world, director = _world(db_ctx)
    web = login(director)
    csv = web.get(DASHBOARD + "export/visites/csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "Type de visite" in csv.get_data(as_text=True)
    xlsx = web.get(DASHBOARD + "export/absenteisme/xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert web.get(DASHBOARD + "export/inconnu/csv").status_code == 404
    assert web.get(DASHBOARD + "export/visites/pdf").status_code == 404


def test_bad_dates_give_a_french_message_not_an_error(db_ctx, login):
    world, director = _world(db_ctx)
    page = login(director).get(DASHBOARD + "?du=31/02/2025&au=xx&cabinet=abc&categorie=zz")
    assert page.status_code == 200
    shown = text(page)
    # each bound says what is wrong with it and what the page used instead
    assert "Date impossible : « 31/02/2025 » n'existe pas au calendrier." in shown
    assert "Date invalide : « xx »." in shown
    today = dt.date.today()
    assert f"La date par défaut ({dt.date(today.year - 1, today.month, 1):%d/%m/%Y})" in shown
    assert f"La date par défaut ({today:%d/%m/%Y}) est utilisée." in shown


def test_employer_dashboard_is_limited_to_its_collectivity(db_ctx, login):
    world, _ = _world(db_ctx)
    page = login(world.primary_a).get(MY_DASHBOARD + PERIOD)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Commune Alpha" in body
    assert isolation.SECRET_B not in body
    assert 'data-figure="remplissage"' not in body  # the CDG's offices are not the employer's
    assert login(world.primary_a).get(DASHBOARD).status_code in (302, 403, 404)


def test_employer_figures_never_count_a_confidential_or_unreleased_visit(app, db_ctx):
    from app.tenancy import scope_as, system_scope

    with db_ctx() as session:
        world = isolation.build_world(session)
        today = dt.date.today()
        filters = Filters(today - dt.timedelta(days=400), today, collectivity_id=world.a.id)
        scope = isolation.scope_of(session, world.primary_a)
        with app.test_request_context(), scope_as(scope):
            employer = sum(n for *_, n in queries.visits_by_month(filters))
        with app.test_request_context(), system_scope():
            everything = sum(
                n for *_, n in queries.visits_by_month(Filters(filters.start, filters.end))
            )
        # A: one released + one of the hidden agent (primary sees both); not the confidential,
        # not the unreleased one; B's not at all.
        assert employer == 2
        assert everything == 5


def test_secondary_account_sees_its_agents_figures_only(app, db_ctx):
    from app.tenancy import scope_as

    with db_ctx() as session:
        world = isolation.build_world(session)
        today = dt.date.today()
        filters = Filters(today - dt.timedelta(days=400), today, collectivity_id=world.a.id)
        scope = isolation.scope_of(session, world.secondary_a)
        with app.test_request_context(), scope_as(scope):
            assert sum(n for *_, n in queries.visits_by_month(filters)) == 1


def test_absenteeism_rate_follows_domain_rule():
    row = queries.AbsenteeismRow(1, "C", honoured=19, unjustified=1, justified=7)
    assert row.rate == 5.0 and not row.above_threshold
    assert queries.AbsenteeismRow(1, "C", 18, 2, 0).above_threshold


def test_dashboard_runs_a_constant_number_of_statements(db_ctx, login, count_queries):
    world, director = _world(db_ctx)
    web = login(director)
    web.get(DASHBOARD)
    with count_queries() as small:
        assert web.get(DASHBOARD).status_code == 200
    with db_ctx() as session:
        for _ in range(3):
            factories.make_collectivity(session)
        session.commit()
    with count_queries() as large:
        assert web.get(DASHBOARD).status_code == 200
    assert small.count == large.count <= 11


def test_activity_report_pdf_and_xlsx(app, db_ctx, tmp_path):
    from app.dashboards import report
    from app.tenancy import system_scope

    with db_ctx() as session:
        world = isolation.build_world(session)
        with app.test_request_context(), system_scope():
            data = report.collect(world.a.id, "Commune Alpha", dt.date.today().year)
            pdf, xlsx = report.render_pdf(data), report.render_xlsx(data)
    assert pdf[:5] == b"%PDF-" and xlsx[:2] == b"PK"
    titles = [title for title, _, _ in report.sections(data)]
    assert "Visites par type et par avis" in titles and "Absentéisme (seuil 5 %)" in titles


def test_activity_report_job_dry_run_writes_nothing(app, db_ctx, cli):
    with db_ctx() as session:
        isolation.build_world(session)
        session.commit()
    result = cli.invoke(args=["jobs", "run", "activity-report", "--dry-run"])
    assert result.exit_code == 0, result.output


def test_activity_report_job_writes_every_collectivity_and_the_employer_gets_its_own(
    app, db_ctx, cli, login, monkeypatch
):
    from app.core import clock
    from app.dashboards import report

    year = dt.date.today().year
    monkeypatch.setattr(clock, "today", lambda: dt.date(year + 1, 1, 15))
    world, director = _world(db_ctx)
    result = cli.invoke(args=["jobs", "run", "activity-report", "--date", f"{year + 1}-01-15"])
    assert result.exit_code == 0, result.output
    with app.test_request_context():
        assert report.file_path(world.a.id, year, "pdf").is_file()
        assert report.file_path(world.b.id, year, "xlsx").is_file()
    own = login(world.primary_a).get(f"{MY_DASHBOARD}rapport/{year}/pdf?collectivite={world.b.id}")
    assert own.status_code == 200 and own.data[:5] == b"%PDF-"
    with app.test_request_context():
        assert own.data == report.file_path(world.a.id, year, "pdf").read_bytes()
    secondary_page = login(world.secondary_a).get(MY_DASHBOARD)
    assert secondary_page.status_code == 200
    # The report covers every agent of the collectivity: not for a secondary account, told so.
    assert "le compte principal les consulte" in text(secondary_page)
    assert f"Rapport {year} :" not in text(secondary_page)
    assert login(world.secondary_a).get(f"{MY_DASHBOARD}rapport/{year}/pdf").status_code == 404
    staff = login(director).get(f"{DASHBOARD}rapport/{year}/xlsx?collectivite={world.b.id}")
    assert staff.status_code == 200 and staff.data[:2] == b"PK"
    assert login(director).get(f"{DASHBOARD}rapport/1999/pdf").status_code == 404


def test_direction_picks_a_collectivity_report_by_name(app, db_ctx, cli, login, monkeypatch):
    from app.core import clock, files
    from app.dashboards import report
    from app.referential.models import Collectivity

    year = dt.date.today().year
    monkeypatch.setattr(clock, "today", lambda: dt.date(year + 1, 1, 15))
    world, director = _world(db_ctx)
    web = login(director)
    # No report yet: the picker says so instead of offering an empty list; the employer is
    # told when its report comes.
    assert "Aucun rapport annuel n'est encore disponible" in text(web.get(DASHBOARD))
    assert "publié en janvier de l'année suivante" in text(login(world.primary_a).get(MY_DASHBOARD))
    result = cli.invoke(args=["jobs", "run", "activity-report", "--date", f"{year + 1}-01-15"])
    assert result.exit_code == 0, result.output
    with db_ctx() as session:
        b_name = session.get(Collectivity, world.b.id).name
    page = web.get(DASHBOARD)
    picker = text(page).split("Rapport d'une collectivité", 1)[1]
    # by name, with the years generated; no bare « collectivité n° 12 » list
    assert b_name in picker and str(year) in picker and "collectivité n°" not in picker
    picked = web.get(
        f"{DASHBOARD}rapport-collectivite?collectivite={world.b.id}&annee={year}&format=xlsx"
    )
    assert picked.status_code == 200 and picked.data[:2] == b"PK"
    # named after the collectivity (accents folded), not its id
    expected = files.safe_filename(f"rapport-annuel-{year}-{b_name}.xlsx")
    assert "collectivite-" not in expected
    assert f"filename={expected}" in picked.headers["Content-Disposition"]
    with app.test_request_context():
        assert picked.data == report.file_path(world.b.id, year, "xlsx").read_bytes()
    # a year not generated, or a malformed choice: a French message back on the dashboard
    for query in (
        f"collectivite={world.b.id}&annee={year - 1}&format=pdf",
        "collectivite=abc&annee=20x5&format=docx",
        "",
    ):
        back = web.get(f"{DASHBOARD}rapport-collectivite?{query}", follow_redirects=True)
        assert back.status_code == 200, query
        assert "Aucun rapport annuel n'est disponible pour cette collectivité" in text(back)


def test_default_period_direction_sees_b_absences_employer_a_does_not(db_ctx, login):
    world, director = _world(db_ctx)
    assert isolation.SECRET_B in login(director).get(DASHBOARD).get_data(as_text=True)
    for user in (world.primary_a, world.secondary_a):
        assert isolation.SECRET_B not in login(user).get(MY_DASHBOARD).get_data(as_text=True)


# ----------------------------------------------------------------------------------------------
# Amounts invoiced, paid and overdue (issue 17)
# ----------------------------------------------------------------------------------------------

NBSP = "\u00a0"
YEAR = dt.date.today().year - 1
QUARTER = f"?du=01/01/{YEAR}&au=31/03/{YEAR}"


def _billing_world(db_ctx):
    """A (affiliated): two invoices 100,00 € and 250,50 €, a credit note of 50,00 € on the
    second, a partial payment of 80,00 € on the first in March and the 20,00 € left in April.
    B (a region): one unpaid invoice of 999,99 €. Invoices fall due 30 days after issue."""
    from decimal import Decimal

    from app.billing.invoices import LineInput, credit_note, issue_invoice, record_payment
    from app.referential.models import TariffCategory

    def invoice(collectivity, amount, day):
        line = LineInput(
            label="Visites", quantity=Decimal(1), unit_price=amount, amount=amount, source="t"
        )
        return issue_invoice(
            collectivity_id=collectivity.id, label="Visites", lines=[line], run_key=None,
            issue_date=day,
        )  # fmt: skip

    with db_ctx() as session:
        a = factories.make_collectivity(session, name="Commune Facturée")
        b = factories.make_collectivity(
            session, name="Région Autre", category=TariffCategory.region
        )
        first = invoice(a, Decimal("100.00"), dt.date(YEAR, 1, 10))  # due 09/02
        second = invoice(a, Decimal("250.50"), dt.date(YEAR, 2, 15))  # due 17/03
        credit_note(
            second.id, amount=Decimal("50.00"), reason="Erreur", issue_date=dt.date(YEAR, 2, 20)
        )
        record_payment(first.id, Decimal("80.00"), dt.date(YEAR, 3, 5), "VIR-1")
        record_payment(first.id, Decimal("20.00"), dt.date(YEAR, 4, 10), "VIR-2")
        invoice(b, Decimal("999.99"), dt.date(YEAR, 1, 10))  # due 09/02, never paid
        primary = factories.make_user(
            session, roles.EMPLOYER_PRIMARY, collectivity=a, username="primaire-factures"
        )
        secondary = factories.make_user(
            session, roles.EMPLOYER_SECONDARY, collectivity=a, primary=primary,
            username="secondaire-factures",
        )  # fmt: skip
        director = factories.make_user(session, roles.DIRECTION, username="direction-factures")
        session.commit()
        return a, b, primary, secondary, director


def _figures(rows):
    return {
        (r.year, r.month): (r.invoices, r.credit_notes, r.invoiced, r.paid, r.overdue) for r in rows
    }


def test_billing_figures_by_month_against_hand_computed_amounts(app, db_ctx):
    from decimal import Decimal as D

    from app.referential.models import TariffCategory
    from app.tenancy import scope_as, system_scope

    a, b, primary, _, _ = _billing_world(db_ctx)
    quarter = Filters(dt.date(YEAR, 1, 1), dt.date(YEAR, 3, 31))
    zero = D("0.00")
    with app.test_request_context(), system_scope():
        everything = _figures(queries.billing_by_month(quarter, dt.date.today()))
        affiliated = _figures(
            queries.billing_by_month(
                Filters(quarter.start, quarter.end, category=TariffCategory.affiliee),
                dt.date.today(),
            )
        )
    # Overdue on 31/03 (the period end): the first invoice's 20,00 € (paid in April only) by
    # its February due date, the second's 200,50 € by March, B's 999,99 € by February.
    assert everything == {
        (YEAR, 1): (D("1099.99"), zero, D("1099.99"), zero, zero),
        (YEAR, 2): (D("250.50"), D("-50.00"), D("200.50"), zero, D("1019.99")),
        (YEAR, 3): (zero, zero, zero, D("80.00"), D("200.50")),
    }
    own = {
        (YEAR, 1): (D("100.00"), zero, D("100.00"), zero, zero),
        (YEAR, 2): (D("250.50"), D("-50.00"), D("200.50"), zero, D("20.00")),
        (YEAR, 3): (zero, zero, zero, D("80.00"), D("200.50")),
    }
    assert affiliated == own  # the category filter leaves the region out
    with db_ctx() as session:
        scope = isolation.scope_of(session, primary)
        with app.test_request_context(), scope_as(scope):
            employer = Filters(quarter.start, quarter.end, collectivity_id=a.id)
            assert _figures(queries.billing_by_month(employer, dt.date.today())) == own
    # Read today instead of on 31/03: the first invoice is paid off, the second still due.
    with app.test_request_context(), system_scope():
        now = Filters(quarter.start, dt.date.today(), collectivity_id=a.id)
        overdue = {(y, m): amount for y, m, _, amount in queries.overdue_by_due_month(
            now, dt.date.today())}  # fmt: skip
    assert overdue == {(YEAR, 3): D("200.50")}


def test_overdue_before_the_period_comes_first_on_its_own_line(app, db_ctx, login):
    *_, director = _billing_world(db_ctx)
    page = login(director).get(f"{DASHBOARD}?du=01/03/{YEAR}&au=31/03/{YEAR}")
    body = text(page)
    # 20,00 € (A, due 09/02) + 999,99 € (B, due 09/02) before March; 200,50 € due in March.
    assert f"Échéances avant le 01/03/{YEAR}" in body
    assert f"1{NBSP}019,99{NBSP}€" in body and f"200,50{NBSP}€" in body
    assert f"en tout 1{NBSP}220,49{NBSP}€, dont 1{NBSP}019,99{NBSP}€ sur des échéances" in body
    assert f"reste à payer au 31/03/{YEAR}" in body


def test_billing_chart_table_and_exports(db_ctx, login):
    import io

    import openpyxl

    *_, director = _billing_world(db_ctx)
    web = login(director)
    page = web.get(DASHBOARD + QUARTER)
    body = page.get_data(as_text=True)
    assert 'data-figure="factures"' in body
    assert "Montants facturés, encaissés et échus" in body
    figure = body.split('data-figure="factures"')[1].split("</section>")[0]
    assert figure.count("<svg") == 1 and "Net facturé" in figure and "Échu non réglé" in figure
    plain = text(page)
    for amount in ("1 099,99 €", "-50,00 €", "200,50 €", "80,00 €", "1 019,99 €"):
        assert amount.replace(" ", NBSP) in plain
    assert "Le filtre de cabinet ne s'applique pas aux factures" in plain

    csv = web.get(f"{DASHBOARD}export/factures/csv{QUARTER}")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == (
        "Année;Mois;Factures émises (€);Avoirs (€);Net facturé (€);Encaissé (€);Échu non réglé (€)"
    )
    # A credit note's negative amount stays a number in the spreadsheet (no formula quote).
    assert lines[1:] == [
        f"{YEAR};1;1 099,99;0,00;1 099,99;0,00;0,00",
        f"{YEAR};2;250,50;-50,00;200,50;0,00;1 019,99",
        f"{YEAR};3;0,00;0,00;0,00;80,00;200,50",
    ]
    xlsx = web.get(f"{DASHBOARD}export/factures/xlsx{QUARTER}")
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][2] == "Factures émises (€)"
    assert [float(v) for v in rows[2][2:]] == [250.5, -50.0, 200.5, 0.0, 1019.99]


def test_employer_sees_its_own_amounts_and_a_secondary_account_none(db_ctx, login):
    a, b, primary, secondary, _ = _billing_world(db_ctx)
    web = login(primary)
    page = web.get(MY_DASHBOARD + QUARTER)
    plain = text(page)
    assert 'data-figure="factures"' in page.get_data(as_text=True)
    assert f"en tout 220,50{NBSP}€" in plain and f"100,00{NBSP}€" in plain
    assert "999,99" not in plain and "1 099,99".replace(" ", NBSP) not in plain  # B's invoice
    assert "Les factures sont celles de votre collectivité" in plain
    csv = web.get(f"{MY_DASHBOARD}export/factures/csv{QUARTER}").get_data(as_text=True)
    assert f"{YEAR};1;100,00;0,00;100,00;0,00;0,00" in csv and "999,99" not in csv
    # Invoices are the primary account's (the « Factures » screen): no figure, no export.
    other = login(secondary)
    page = other.get(MY_DASHBOARD + QUARTER)
    assert page.status_code == 200
    assert 'data-figure="factures"' not in page.get_data(as_text=True)
    assert "100,00" not in text(page)
    assert other.get(f"{MY_DASHBOARD}export/factures/csv{QUARTER}").status_code == 404
    assert other.get("/portail/factures/").status_code in (302, 403, 404)


def test_billing_figure_query_count_is_the_same_with_1_or_20_invoices(db_ctx, login, count_queries):
    from decimal import Decimal

    from app.billing.invoices import LineInput, issue_invoice, record_payment

    a, _, primary, _, director = _billing_world(db_ctx)
    counts = {}
    for who, user, url in (
        ("staff", director, DASHBOARD + QUARTER),
        ("employer", primary, MY_DASHBOARD + QUARTER),
    ):
        web = login(user)
        web.get(url)
        with count_queries() as counter:
            assert web.get(url).status_code == 200
        counts[who] = (web, url, counter.count)
    with db_ctx() as session:
        for n in range(19):
            amount = Decimal(10 + n)
            invoice = issue_invoice(
                collectivity_id=a.id, label="Visites", run_key=None,
                issue_date=dt.date(YEAR, 1 + n % 3, 1 + n),
                lines=[LineInput(label="V", quantity=Decimal(1), unit_price=amount,
                                 amount=amount, source="t")],
            )  # fmt: skip
            if n % 2:
                record_payment(invoice.id, Decimal("5.00"), dt.date(YEAR, 3, 28), "VIR")
        session.commit()
        assert session.scalar(select(func.count(Invoice.id))) == 23  # 20 of A, with the avoir
    for web, url, before in counts.values():
        with count_queries() as counter:
            page = web.get(url)
        assert page.status_code == 200
        assert counter.count == before


# ----------------------------------------------------------------------------------------------
# The global annual report (every collectivity together), Direction and Admin only
# ----------------------------------------------------------------------------------------------


def test_global_report_sums_every_collectivity_with_a_summary_line_each(app, db_ctx):
    import io
    from decimal import Decimal as D

    import openpyxl

    from app.dashboards import report
    from app.tenancy import system_scope

    a, b, *_ = _billing_world(db_ctx)
    with app.test_request_context(), system_scope():
        data = report.collect_global(YEAR, today=dt.date(YEAR + 1, 1, 15))
        pdf, xlsx = report.render_pdf(data), report.render_xlsx(data)
    assert pdf[:5] == b"%PDF-"
    from pypdf import PdfReader

    read = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Toutes les collectivités (2)" in read and "Montants facturés et encaissés" in read
    assert "1 300,49 €" in read.replace(NBSP, " ")  # net invoiced of the year
    titles = [title for title, _, _ in report.sections(data)]
    assert "Visites par type et par avis" in titles and "Montants facturés et encaissés" in titles
    _, header, rows = report.sections(data)[-1]
    assert header[-1] == f"Échu non réglé au 31/12/{YEAR} (€)"
    # Issued 1 350,50 € (A) + 999,99 € (B), a credit note of 50 €, paid 100 €; on 31/12 only
    # B's 999,99 € and A's second invoice (200,50 €) are still due.
    assert rows[-1] == ["Total", D("1350.49"), D("-50.00"), D("1300.49"), D("100.00"),
                        D("1200.49")]  # fmt: skip
    by_name = {line[0]: line for line in data.summary}
    assert by_name["Commune Facturée"][-2:] == [D("300.50"), D("100.00")]
    assert by_name["Région Autre"][1:2] == ["Région"]
    assert by_name["Région Autre"][-2:] == [D("999.99"), D("0.00")]
    sheet = [r for r in openpyxl.load_workbook(io.BytesIO(xlsx)).active.iter_rows(values_only=True)]
    start = [r[0] for r in sheet].index("Synthèse par collectivité")
    assert sheet[start + 1][0] == "Collectivité" and sheet[start + 1][-1] == "Encaissé (€)"
    names = [r[0] for r in sheet[start + 2 :] if r and r[0]]
    assert "Commune Facturée" in names and "Région Autre" in names


def test_global_report_runs_the_same_statements_for_2_or_20_collectivities(
    app, db_ctx, count_queries
):
    from app.dashboards import report
    from app.tenancy import system_scope

    _billing_world(db_ctx)
    counts = []
    for extra in (0, 18):
        with db_ctx() as session:
            for _ in range(extra):
                factories.make_collectivity(session)
        with app.test_request_context(), system_scope(), count_queries() as counter:
            data = report.collect_global(YEAR)
        counts.append((counter.count, len(data.summary)))
    assert counts[0][0] == counts[1][0] and counts[1][1] - counts[0][1] == 18


def test_activity_report_job_writes_the_global_report_for_direction_only(
    app, db_ctx, cli, login, monkeypatch
):
    from app.core import clock
    from app.dashboards import report

    monkeypatch.setattr(clock, "today", lambda: dt.date(YEAR + 1, 1, 15))
    a, b, primary, secondary, director = _billing_world(db_ctx)
    dry = cli.invoke(args=["jobs", "run", "activity-report", "--dry-run", "--date",
                           f"{YEAR + 1}-01-15"])  # fmt: skip
    assert dry.exit_code == 0 and "rapport global (simulation) : 1" in dry.output
    with app.test_request_context():
        assert not report.global_file_path(YEAR, "pdf").exists()
    result = cli.invoke(args=["jobs", "run", "activity-report", "--date", f"{YEAR + 1}-01-15"])
    assert result.exit_code == 0, result.output
    assert "rapport global généré : 1" in result.output
    web = login(director)
    page = web.get(DASHBOARD)
    assert f"Rapport global {YEAR}" in text(page)
    pdf = web.get(f"{DASHBOARD}rapport-global/{YEAR}/pdf")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"
    xlsx = web.get(f"{DASHBOARD}rapport-global/{YEAR}/xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    with app.test_request_context():
        assert xlsx.data == report.global_file_path(YEAR, "xlsx").read_bytes()
    assert web.get(f"{DASHBOARD}rapport-global/{YEAR - 1}/pdf").status_code == 404
    assert web.get(f"{DASHBOARD}rapport-global/{YEAR}/docx").status_code == 404
    for user in (primary, secondary):
        employer = login(user)
        assert employer.get(f"{DASHBOARD}rapport-global/{YEAR}/pdf").status_code in (302, 403)
        assert employer.get(f"{MY_DASHBOARD}rapport-global/{YEAR}/pdf").status_code == 404
        assert "Rapport global" not in text(employer.get(MY_DASHBOARD))


def test_demo_data_shows_invoiced_paid_and_overdue_amounts(app, db_ctx, login):
    from app.demo import load_demo
    from app.tenancy import system_scope

    with db_ctx() as session:
        load_demo(session, scale=20, seed=3)
        director = factories.make_user(session, roles.DIRECTION, username="direction-demo")
    today = dt.date.today()
    with app.test_request_context(), system_scope():
        rows = queries.billing_by_month(Filters(dt.date(today.year - 1, today.month, 1), today),
                                        today)  # fmt: skip
    assert sum(r.invoiced for r in rows) > 0
    assert sum(r.paid for r in rows) > 0
    assert sum(r.overdue for r in rows) > 0
    page = login(director).get(DASHBOARD)
    figure = page.get_data(as_text=True).split('data-figure="factures"')[1].split("</section>")[0]
    assert "Aucune donnée sur la période" not in figure


def test_demo_data_has_last_years_annual_reports(app, db_ctx, login):
    from app.demo import demo_job_runs, load_demo
    from app.referential.models import Collectivity

    with db_ctx() as session:
        load_demo(session, scale=20, seed=3)
        director = factories.make_user(session, roles.DIRECTION, username="direction-demo")
        name = session.scalars(select(Collectivity.name).order_by(Collectivity.id)).first()
    today = dt.date.today()
    with app.app_context():
        runs = demo_job_runs(today)
    assert runs[f"Rapports annuels d'activité {today.year - 1}"] == 1
    page = text(login(director).get(DASHBOARD))
    assert f"Rapport global {today.year - 1} :" in page
    picker = page.split("Rapport d'une collectivité", 1)[1]
    assert name in picker and str(today.year - 1) in picker
