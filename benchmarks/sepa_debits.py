"""SEPA direct debit (issue 18): the pain.008 file of N due invoices, one per collectivity with a
signed mandate (half first debits FRST, half recurrent RCUR).

    .venv/bin/python benchmarks/sepa_debits.py [--invoices 5000]
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/sepa_debits.py

Prints the time, the peak Python memory, the SQL statements and the file size."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Counter, fresh_app, machine_load  # noqa: E402

CREDITOR = {
    "CDG_IBAN": "FR7630001007941234567890185",
    "CDG_BIC": "BDFEFRPPCCT",
    "SEPA_CREDITOR_ID": "FR78ZZZ123456",
}


def populate(count: int) -> None:
    from app.billing.models import Invoice
    from app.core.types import utcnow
    from app.extensions import db
    from app.payments.models import SepaMandate
    from app.referential.models import Collectivity

    now = utcnow()
    stamps = {"created_at": now, "updated_at": now}
    table = Collectivity.__table__
    ids = list(
        db.session.execute(
            table.insert().returning(table.c.id, sort_by_parameter_order=True),
            [
                {
                    "name": f"Collectivité {n:05d}",
                    "kind": "commune",
                    "siret": f"{n:014d}",
                    "siren": f"{n:09d}",
                    "category": "affiliee",
                    "regime": "public",
                    "has_own_cst": False,
                    "secretariat_mode": "cdg",
                    **stamps,
                }
                for n in range(1, count + 1)
            ],
        ).scalars()
    )
    db.session.execute(
        SepaMandate.__table__.insert(),
        [
            {
                "collectivity_id": cid,
                "umr": f"CDG-SEPA-{cid:06d}",
                "signed_on": dt.date(2025, 12, 1),
                "iban": "FR7630006000011234567890189",
                "bic": "AGRIFRPP",
                "debtor_name": f"Collectivité {n:05d}",
                "status": "signe",
                "first_debit_sent": n % 2 == 0,
                **stamps,
            }
            for n, cid in enumerate(ids)
        ],
    )
    db.session.execute(
        Invoice.__table__.insert(),
        [
            {
                "collectivity_id": cid,
                "number": f"26{n:06d}",
                "kind": "facture",
                "label": "Cotisations 2026",
                "issue_date": dt.date(2026, 1, 15),
                "due_date": dt.date(2026, 2, 14),
                "total": Decimal("1044.00"),
                "paid_amount": Decimal("0"),
                "credited_amount": Decimal("0"),
                "status": "emise",
                **stamps,
            }
            for n, cid in enumerate(ids)
        ],
    )
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=5000)
    args = parser.parse_args()
    app = fresh_app(**CREDITOR)
    from app.extensions import db
    from app.payments.service import build_debit_file
    from app.tenancy import system_scope

    with app.app_context():
        populate(args.invoices)
        counter = Counter(db.engine)
        with system_scope():
            tracemalloc.start()
            start = time.perf_counter()
            built = build_debit_file(
                dt.date(2026, 2, 20),
                today=dt.date(2026, 2, 1),
                created_by="bench",
                config=app.config,
            )
            db.session.commit()
            elapsed = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1] / 1e6
        print(
            f"pain.008 for {built.count} debits: {elapsed:.2f} s, peak {peak:.0f} MB, "
            f"{counter.count} SQL statements, {len(built.xml) / 1e6:.1f} MB, "
            f"total {built.total} EUR ({machine_load()})"
        )


if __name__ == "__main__":
    main()
