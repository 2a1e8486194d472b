"""Dashboards (SPEC H1) and the annual activity report (H2): server-side SVG charts with their
tables and exports; an employer sees its own collectivity only, never a confidential visit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from app import roles
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
    assert "Date invalide" in text(page)


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
    assert small.count == large.count <= 8


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
    assert login(world.secondary_a).get(MY_DASHBOARD).status_code == 200
    staff = login(director).get(f"{DASHBOARD}rapport/{year}/xlsx?collectivite={world.b.id}")
    assert staff.status_code == 200 and staff.data[:2] == b"PK"
    assert login(director).get(f"{DASHBOARD}rapport/1999/pdf").status_code == 404


def test_default_period_direction_sees_b_absences_employer_a_does_not(db_ctx, login):
    world, director = _world(db_ctx)
    assert isolation.SECRET_B in login(director).get(DASHBOARD).get_data(as_text=True)
    for user in (world.primary_a, world.secondary_a):
        assert isolation.SECRET_B not in login(user).get(MY_DASHBOARD).get_data(as_text=True)
