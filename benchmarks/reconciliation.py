"""Payment reconciliation (issue 18): import a bank statement of N credits (the public
accountant's CSV) against N issued invoices, one per collectivity: 60 % exact payments, 20 %
partial, 10 % overpayments, 10 % citing no invoice.

    .venv/bin/python benchmarks/reconciliation.py [--lines 5000]
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/reconciliation.py

Prints the time, the peak Python memory and the SQL statements run (the candidate invoices are
loaded by number in one query and the lines written by one executemany; each payment goes
through ``record_payment``, which locks its invoice row)."""

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


def populate(count: int) -> None:
    from app.billing.models import Invoice
    from app.core.types import utcnow
    from app.extensions import db
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


def statement(count: int) -> bytes:
    rows = ["date;montant;référence;libellé"]
    for n in range(count):
        number = f"26{n:06d}"
        kind = n % 10
        if kind < 6:
            amount, ref = "1 044,00", number
        elif kind < 8:
            amount, ref = "500,00", f"FACT {number}"
        elif kind < 9:
            amount, ref = "1 100,00", number
        else:
            amount, ref = "75,00", "VIREMENT SANS REFERENCE"
        rows.append(f"31/01/2026;{amount};{ref};VIR COLLECTIVITE {n}")
    return ("\n".join(rows) + "\n").encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=5000)
    args = parser.parse_args()
    app = fresh_app()
    from app.extensions import db
    from app.payments.reconciliation import import_statement
    from app.tenancy import system_scope

    with app.app_context():
        populate(args.lines)
        data = statement(args.lines)
        counter = Counter(db.engine)
        with system_scope():
            tracemalloc.start()
            start = time.perf_counter()
            result = import_statement(data, "releve-bench.csv", imported_by="bench")
            db.session.commit()
            elapsed = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1] / 1e6
        s = result.statement
        print(
            f"statement of {s.line_count} lines against {args.lines} invoices: {elapsed:.2f} s, "
            f"peak {peak:.0f} MB, {counter.count} SQL statements, {s.matched_count} matched, "
            f"{s.unmatched_count} unmatched, {len(data) / 1e3:.0f} kB ({machine_load()})"
        )


if __name__ == "__main__":
    main()
