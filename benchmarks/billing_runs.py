"""Billing runs (issue 14, SPEC F8): the yearly contribution run for N collectivities.

    .venv/bin/python benchmarks/billing_runs.py [--collectivities 5000]
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/billing_runs.py

Goal: dry run and real run under 10 s for 5 000 collectivities. Each collectivity has a validated
declaration for 2025; one in five has a statutory-medicine convention (a second line: the MSC
participation), one in fifty has no declaration (blocked). The dry run and the real run go
through the jobs framework as `flask jobs run billing-contributions --date 2025-04-01
[--dry-run]` does; the screen's dry run (runs.compute) is timed too. SQL statements are counted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Counter, fresh_app, machine_load  # noqa: E402


def populate(count: int) -> None:
    from sqlalchemy import select

    from app.core.types import utcnow
    from app.extensions import db
    from app.referential.models import (
        Collectivity,
        CollectivityKind,
        Convention,
        Mission,
        TariffCategory,
    )
    from app.workforce.models import Headcount

    now = utcnow()
    stamps = {"created_at": now, "updated_at": now}
    categories = [TariffCategory.affiliee] * 6 + [
        TariffCategory.non_affiliee_moins_800,
        TariffCategory.non_affiliee_800_plus,
        TariffCategory.region,
        TariffCategory.affiliee,
    ]
    rows = [
        {
            "name": f"Collectivité {n:05d}",
            "kind": CollectivityKind.commune.name,
            "siret": f"{n:014d}",
            "siren": f"{n:09d}",
            "category": categories[n % len(categories)].name,
            "regime": "public",
            "has_own_cst": n % 2 == 0,
            "secretariat_mode": "cdg",
            **stamps,
        }
        for n in range(1, count + 1)
    ]
    table = Collectivity.__table__
    ids = list(
        db.session.execute(
            table.insert().returning(table.c.id, sort_by_parameter_order=True), rows
        ).scalars()
    )
    headcounts = [
        {
            "collectivity_id": cid,
            "year": 2025,
            "headcount": 20 + (n * 37) % 1200,
            "permanent_headcount": 15 + (n * 29) % 900,
            "payroll": Decimal(500_000 + (n * 7919) % 5_000_000),
            "declared_on": dt.date(2025, 2, 1),
            "validated_at": now,
            **stamps,
        }
        for n, cid in enumerate(ids)
        if n % 50 != 49
    ]
    db.session.execute(Headcount.__table__.insert(), headcounts)
    msc = db.session.scalar(select(Mission.id).where(Mission.code == "msc"))
    conventions = [
        {
            "collectivity_id": cid,
            "mission_id": msc,
            "number": f"MSC-{cid}",
            "start_date": dt.date(2025, 1, 1),
            "end_date": dt.date(2027, 12, 31),
            "tacit_renewal": True,
            "renewed": False,
            **stamps,
        }
        for n, cid in enumerate(ids)
        if n % 5 == 0
    ]
    db.session.execute(Convention.__table__.insert(), conventions)
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--collectivities", type=int, default=5000)
    args = parser.parse_args()
    app = fresh_app()
    from sqlalchemy import func, select

    from app.billing import runs
    from app.billing.models import Invoice
    from app.extensions import db
    from app.scheduling.services import claim_and_run
    from app.tenancy import system_scope

    with app.app_context():
        start = time.perf_counter()
        populate(args.collectivities)
        print(
            f"set-up: {args.collectivities} collectivities in {time.perf_counter() - start:.1f} s"
        )
        counter = Counter(db.engine)
        day = dt.date(2025, 4, 1)

        with system_scope():
            counter.count, start = 0, time.perf_counter()
            plan = runs.compute("contributions", runs.year_period(2025))
            print(
                f"screen dry run (compute): {time.perf_counter() - start:.2f} s, "
                f"{counter.count} SQL statements, {len(plan.to_issue)} to issue, "
                f"total {plan.total} EUR"
            )
        db.session.rollback()
        for label, dry in (("dry run", True), ("real run", False)):
            counter.count, start = 0, time.perf_counter()
            outcome = claim_and_run("billing-contributions", today=day, dry_run=dry)
            elapsed = time.perf_counter() - start
            print(f"{label}: {elapsed:.2f} s, {counter.count} SQL statements — {outcome.message}")
        counter.count, start = 0, time.perf_counter()
        again = claim_and_run("billing-contributions", today=day + dt.timedelta(days=1))
        print(
            f"second real run (another day): {time.perf_counter() - start:.2f} s, "
            f"{counter.count} SQL statements — {again.message}"
        )
        issued = db.session.scalar(select(func.count()).select_from(Invoice))
        print(f"invoices in the database: {issued}")
        print(machine_load())


if __name__ == "__main__":
    main()
