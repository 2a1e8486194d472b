"""Dashboards at scale (issue 17, SPEC H1): the Direction dashboard over a generated world.

    .venv/bin/python benchmarks/dashboards.py                                  # SQLite
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/h_dash \\
        .venv/bin/python benchmarks/dashboards.py --consultations 100000

The world (Core inserts): --collectivities collectivities, --agents agents, --consultations
consultations over 2016-2025 (benchmarks/consultations_export.py), plus --appointments past
appointments over --history-days days (88 % honoured, 6 % justified, 6 % unjustified) in
3-hour plages of 3 offices, a headcount per collectivity and year, and --invoice-months
monthly invoices per collectivity (paid in full 20 days later for 80 %, half paid for 10 %,
unpaid for 10 %; a credit note on one in 50). Measured through the Flask test client, signed in as Direction: the dashboard page
over the last 12 months and over 5 years (p50, p95, SQL statements), the CSV export of two
figures (absenteeism; amounts invoiced, paid and overdue), and the global annual report of
last year (every collectivity: its aggregates, PDF and XLSX), which the ``activity-report`` job
writes once besides the collectivities' own. With --report-job, the job itself for every
collectivity, then the dashboard again (its report picker lists every collectivity).

Goal: p50 < 300 ms; the same number of statements whatever the volume.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Counter, fresh_app, machine_load, measure  # noqa: E402
from benchmarks.consultations_export import build  # noqa: E402

CHUNK = 5000


def add_planning(app: Any, world: dict, appointments: int, rng: Any, days: int = 700) -> None:
    from sqlalchemy import insert, select

    from app.core.types import utcnow
    from app.extensions import db
    from app.planning.models import Appointment as Appt
    from app.planning.models import AppointmentStatus, Plage, PlageNature, PlageState
    from app.referential.models import VisitType
    from app.workforce.models import Headcount
    from tests.factories import make_office

    with app.app_context():
        offices = [make_office(db.session, name=f"Cabinet {n}") for n in range(3)]
        db.session.commit()
        office_ids = [o.id for o in offices]
        now = utcnow()
        today = dt.date.today()
        with db.engine.begin() as connection:
            types = list(connection.execute(select(VisitType.id)).scalars())
            plages = []
            per_plage = 9
            count = appointments // per_plage + 1
            for n in range(count):
                start = dt.datetime.combine(
                    today - dt.timedelta(days=1 + n % days), dt.time(8 + (n % 3) * 3, 0)
                )
                plages.append(
                    {
                        "id": n + 1,
                        "office_id": office_ids[n % 3],
                        "professional_id": 1000 + n % 30,
                        "starts_at": start,
                        "ends_at": start + dt.timedelta(hours=3),
                        "appointment_minutes": 20,
                        "nature": PlageNature.medecin,
                        "state": PlageState.convocation,
                        "lock_version": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            for start in range(0, len(plages), CHUNK):
                connection.execute(insert(Plage.__table__), plages[start : start + CHUNK])
            rows = []
            statuses = [
                AppointmentStatus.honoree,
                AppointmentStatus.absence_justifiee,
                AppointmentStatus.absence_injustifiee,
            ]
            agents = len(world["ids"]) and max(1, world["agents"])
            for n in range(appointments):
                plage = plages[n // per_plage]
                agent = n % agents
                rows.append(
                    {
                        "plage_id": plage["id"],
                        "slot_index": n % per_plage,
                        "agent_id": agent + 1,
                        "collectivity_id": world["ids"][agent % len(world["ids"])],
                        "starts_at": plage["starts_at"]
                        + dt.timedelta(minutes=20 * (n % per_plage)),
                        "visit_type_id": rng.choice(types),
                        "status": rng.choices(statuses, weights=[88, 6, 6])[0],
                        "is_confidential": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                if len(rows) == CHUNK:
                    connection.execute(insert(Appt.__table__), rows)
                    rows = []
            if rows:
                connection.execute(insert(Appt.__table__), rows)
            connection.execute(
                insert(Headcount.__table__),
                [
                    {
                        "collectivity_id": cid,
                        "year": year,
                        "headcount": 50 + cid % 100,
                        "permanent_headcount": 40 + cid % 80,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for cid in world["ids"]
                    for year in range(today.year - 4, today.year + 1)
                ],
            )
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('plage', 'id'), (SELECT max(id) FROM plage))"
                )
                connection.exec_driver_sql("ANALYZE")


def add_billing(app: Any, world: dict, months: int) -> int:
    """``months`` monthly invoices per collectivity up to this month (Core inserts): returns the
    number of invoices and credit notes written."""
    from decimal import Decimal

    from sqlalchemy import insert

    from app.billing.models import Invoice, InvoiceKind, InvoiceStatus, Payment
    from app.core.types import utcnow
    from app.extensions import db

    now = utcnow()
    today = dt.date.today()
    invoices: list[dict] = []
    payments: list[dict] = []
    for cid in world["ids"]:
        for back in range(months):
            year, month = today.year, today.month - back
            while month < 1:
                year, month = year - 1, month + 12
            issued = dt.date(year, month, 1 + cid % 20)
            if issued > today:
                continue
            total = Decimal(400 + (cid % 50) * 10) + Decimal("0.50")
            n = len(invoices) + 1
            paid_on = issued + dt.timedelta(days=20)
            share = n % 10
            paid = (
                total if share < 8 else (total / 2).quantize(Decimal("0.01")) if share == 8 else 0
            )
            if paid_on > today:
                paid = Decimal(0)
            credited = Decimal("50.00") if n % 50 == 0 else Decimal(0)
            status = (
                InvoiceStatus.payee
                if paid and paid + credited >= total
                else InvoiceStatus.partiellement_payee
                if paid
                else InvoiceStatus.emise
            )
            row = {
                "id": n, "number": f"{n:08d}", "kind": InvoiceKind.facture,
                "label": "Cotisation", "issue_date": issued,
                "due_date": issued + dt.timedelta(days=30), "total": total,
                "paid_amount": Decimal(paid), "credited_amount": credited, "status": status,
                "collectivity_id": cid, "created_at": now, "updated_at": now,
            }  # fmt: skip
            invoices.append(row)
            if paid:
                payments.append(
                    {"invoice_id": n, "paid_on": paid_on, "amount": Decimal(paid),
                     "collectivity_id": cid, "created_at": now, "updated_at": now}
                )  # fmt: skip
            if credited:
                invoices.append(
                    {**row, "id": n + 1, "number": f"A{n:07d}", "kind": InvoiceKind.avoir,
                     "total": -credited, "paid_amount": Decimal(0), "credited_amount": Decimal(0),
                     "status": InvoiceStatus.emise, "credit_for_id": n,
                     "issue_date": issued + dt.timedelta(days=5)}
                )  # fmt: skip
    # Every row carries the same keys (credit notes add credit_for_id).
    for row in invoices:
        row.setdefault("credit_for_id", None)
    with app.app_context(), db.engine.begin() as connection:
        for start in range(0, len(invoices), CHUNK):
            connection.execute(insert(Invoice.__table__), invoices[start : start + CHUNK])
        for start in range(0, len(payments), CHUNK):
            connection.execute(insert(Payment.__table__), payments[start : start + CHUNK])
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('invoice', 'id'), (SELECT max(id) FROM invoice))"
            )
            connection.exec_driver_sql("ANALYZE invoice")
            connection.exec_driver_sql("ANALYZE invoice_payment")
    return len(invoices)


def settle(engine: Any) -> None:
    """VACUUM ANALYZE on PostgreSQL: the state autovacuum leaves a table in after a bulk load
    (visibility map set, so that the index-only scans the dashboard relies on read no heap)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


def measure_global_report(app: Any, engine: Any, repeat: int) -> None:
    """The global part of the annual report job: collect, PDF and XLSX of last year."""
    from app.dashboards import report
    from app.tenancy import system_scope

    year = dt.date.today().year - 1
    with app.test_request_context(), system_scope():
        data = report.collect_global(year)
        counter = Counter(engine)
        report.collect_global(year)
        statements = counter.count
        collect = measure(lambda: report.collect_global(year), repeat=max(3, repeat // 3))
        files = measure(
            lambda: (report.render_pdf(data), report.render_xlsx(data)), repeat=max(3, repeat // 3)
        )
    print(
        f"{'global report':18} p50 {collect['median_ms']:7.1f} ms  (PDF + XLSX "
        f"{files['median_ms']:.1f} ms)  {statements} statements  {len(data.summary or [])} "
        "collectivity lines"
    )


def measure_report_job(app: Any, client: Any, engine: Any, repeat: int) -> None:
    """The ``activity-report`` job for every collectivity (its PDF, XLSX and « Mes documents »
    entry, plus the global report), then the dashboard again: its report picker now lists the
    1 000 collectivities."""
    import time

    from app.dashboards import report

    year = dt.date.today().year - 1
    start = time.perf_counter()
    result = app.test_cli_runner().invoke(args=["jobs", "run", "activity-report"])
    seconds = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    with app.app_context():
        pdfs = len(list(report.file_path(0, year, "pdf").parent.glob("*-collectivite-*.pdf")))
    print(
        f"{'report job':18} {seconds:7.1f} s for {pdfs} collectivities "
        f"({1000 * seconds / max(pdfs, 1):.0f} ms each, PDF + XLSX + publication)"
    )
    counter = Counter(engine)
    client.get("/tableau-de-bord/")
    statements = counter.count
    timing = measure(lambda: client.get("/tableau-de-bord/").get_data(), repeat=repeat)
    print(
        f"{'12 months + picker':18} p50 {timing['median_ms']:7.1f} ms  p95 "
        f"{timing['p95_ms']:7.1f} ms  {statements} statements"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--collectivities", type=int, default=200)
    parser.add_argument("--agents", type=int, default=20000)
    parser.add_argument("--consultations", type=int, default=100000)
    parser.add_argument("--appointments", type=int, default=100000)
    parser.add_argument("--invoice-months", type=int, default=24)
    parser.add_argument(
        "--history-days",
        type=int,
        default=700,
        help="days of past plages the appointments spread over (700: half of them in the "
        "last 12 months; 1826: five years, about 100 000 a year, one visit every two years "
        "for 200 000 agents)",
    )
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--report-job",
        action="store_true",
        help="also run the annual report job for every collectivity (minutes at 1 000)",
    )
    args = parser.parse_args()
    from app import roles
    from app.extensions import db
    from tests.factories import PASSWORD, make_user

    rng = random.Random(17)
    app = fresh_app(UPLOAD_DIR=tempfile.mkdtemp())  # the report job writes 2 000 files
    world = build(app, args.collectivities, args.agents, args.consultations, rng)
    world["agents"] = args.agents
    add_planning(app, world, args.appointments, rng, args.history_days)
    invoices = add_billing(app, world, args.invoice_months)
    settle(world["engine"])
    with app.app_context():
        make_user(db.session, roles.DIRECTION, username="bench-direction")
        db.session.commit()
    client = app.test_client()
    client.post("/login/", data={"username": "bench-direction", "password": PASSWORD})
    today = dt.date.today()
    five_years = f"?du={today.replace(year=today.year - 5) + dt.timedelta(days=1):%d/%m/%Y}"
    print(f"# dashboards: {args.collectivities} collectivities, {args.agents} agents, "
          f"{args.consultations} consultations, {args.appointments} appointments over "
          f"{args.history_days} days, {invoices} invoices and credit notes")  # fmt: skip
    print(f"# {machine_load()} ; {world['engine'].dialect.name}")
    for label, url in (
        ("12 months", "/tableau-de-bord/"),
        ("5 years", "/tableau-de-bord/" + five_years),
        ("CSV absenteeism", "/tableau-de-bord/export/absenteisme/csv"),
        ("CSV amounts", "/tableau-de-bord/export/factures/csv"),
    ):
        assert client.get(url).status_code == 200, url
        counter = Counter(world["engine"])
        client.get(url)
        statements = counter.count
        timing = measure(lambda url=url: client.get(url).get_data(), repeat=args.repeat)
        print(
            f"{label:18} p50 {timing['median_ms']:7.1f} ms  p95 {timing['p95_ms']:7.1f} ms  "
            f"{statements} statements"
        )
    measure_global_report(app, world["engine"], args.repeat)
    if args.report_job:
        measure_report_job(app, client, world["engine"], args.repeat)


if __name__ == "__main__":
    main()
