"""Invoice PDFs (SPEC F7): generates N invoice PDFs from the database and reports time and memory.

    .venv/bin/python benchmarks/invoice_pdfs.py [--invoices 5000] [--batch 500] [--bulk] [--profile]
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/invoice_pdfs.py

Target (issue 14): 5 000 PDFs in under 60 s. N collectivities get one contribution invoice each
(issued in one batch through ``issue_invoices``, timed, two lines with their sources, so every PDF has its call-for-
contribution statement page). The PDFs are then rendered batch by batch as a mass printing would
(one query for the invoices with their collectivity, one for their lines, per batch) through
``render_invoices``, the batch path (a pool of ``--processes`` forked workers, 2 by default;
``--processes 1`` renders in this process, as each download does), with the
embedded vendored DejaVu font (app/core/pdf.py: parsed once per process, cached subsets), as
every download and the Factur-X PDF/A are; ``--bulk`` renders with the PDF standard font (not
embedded) instead, ``--profile`` prints the cProfile top 25 of the rendering. Reported: wall and CPU time, PDFs per second, total bytes, peak Python memory
(``--tracemalloc``, which slows Python down several times) and the process's maximum resident
size before and after the rendering.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import resource
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app, machine_load  # noqa: E402


def populate(count: int) -> list[int]:
    import random

    from app.billing.invoices import InvoiceInput, LineInput, issue_invoices
    from app.demo import fake_siret
    from app.extensions import db
    from app.referential.models import Collectivity, CollectivityKind, TariffCategory

    rng = random.Random(14)
    sirets: set[str] = set()
    collectivities = []
    for index in range(count):
        siret = fake_siret(rng)
        while siret in sirets:
            siret = fake_siret(rng)
        sirets.add(siret)
        collectivities.append(
            Collectivity(
                name=f"Commune de Banc-d'Essai {index}",
                kind=CollectivityKind.commune,
                siret=siret,
                siren=siret[:9],
                category=TariffCategory.non_affiliee_moins_800,
                membership_number=f"B{index:06d}",
                main_line1=f"{index} place de la Mairie",
                main_postcode="69000",
                main_city="Lyon",
            )
        )
    db.session.add_all(collectivities)
    db.session.flush()
    items = []
    for collectivity in collectivities:
        headcount = 10 + collectivity.id % 700
        contribution = Decimal(headcount) * Decimal("104.00")
        payroll = Decimal(headcount) * Decimal("30000.00")
        participation = (payroll * Decimal("0.0545") / 100).quantize(Decimal("0.01"))
        items.append(
            InvoiceInput(
                collectivity_id=collectivity.id,
                label="Cotisations – année 2026",
                lines=[
                    LineInput(
                        label="Cotisation médecine préventive 2026",
                        quantity=Decimal(headcount),
                        unit_price=Decimal("104.00"),
                        amount=contribution,
                        source=f"{headcount} agents déclarés au 01/01/2026 x 104,00 € — tarif "
                        "MEDPREV 2025-2027 non affiliée < 800",
                    ),
                    LineInput(
                        label="Participation médecine statutaire 2026",
                        quantity=Decimal(1),
                        unit_price=participation,
                        amount=participation,
                        source=f"Masse salariale déclarée {payroll} € x 0,0545 % — convention MSC "
                        "2025-2027",
                    ),
                ],
                run_key=f"contributions:2026:{collectivity.id}",
            )
        )
    start = time.perf_counter()
    ids = [invoice.id for invoice in issue_invoices(items, issue_date=dt.date(2026, 3, 2))]
    db.session.commit()
    print(f"issue_invoices: {len(ids)} invoices in {time.perf_counter() - start:.1f} s")
    return ids


def render_all(ids: list[int], batch: int, embedded: bool, processes: int = 2) -> tuple[int, int]:
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload, selectinload

    from app.billing.invoice_pdf import current_creditor, render_invoices
    from app.billing.models import Invoice
    from app.extensions import db

    creditor = current_creditor()
    total_bytes = 0
    rendered = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        invoices = db.session.scalars(
            select(Invoice)
            .where(Invoice.id.in_(chunk))
            .options(joinedload(Invoice.collectivity), selectinload(Invoice.lines))
        ).all()
        pdfs = render_invoices(
            [(invoice, invoice.lines) for invoice in invoices],
            creditor=creditor,
            embedded_font=embedded,
            processes=processes,
        )
        total_bytes += sum(len(data) for data in pdfs)
        rendered += len(pdfs)
        db.session.expunge_all()
    return rendered, total_bytes


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--bulk", action="store_true", help="PDF standard font, not embedded")
    parser.add_argument("--profile", action="store_true", help="cProfile of the rendering")
    parser.add_argument(
        "--processes", type=int, default=2, help="render_invoices' pool (1: one process)"
    )
    parser.add_argument("--tracemalloc", action="store_true", help="peak Python memory (slower)")
    args = parser.parse_args()

    app = fresh_app(
        CDG_NAME="Centre de gestion du Rhône", CDG_IBAN="FR76 3000 1000 0000 0000 0000 000"
    )
    with app.app_context():
        start = time.perf_counter()
        ids = populate(args.invoices)
        print(f"{len(ids)} invoices issued in {time.perf_counter() - start:.1f} s")
        if args.tracemalloc:
            tracemalloc.start()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        profile = cProfile.Profile() if args.profile else None
        wall, cpu = time.perf_counter(), _cpu()
        if profile is not None:
            profile.enable()
        rendered, size = render_all(ids, args.batch, not args.bulk, args.processes)
        if profile is not None:
            profile.disable()
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else 0
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    mode = "bulk (standard font)" if args.bulk else "embedded DejaVu"
    mode += f", {args.processes} process{'es' if args.processes > 1 else ''}"
    print(
        f"{rendered} PDFs ({mode}) in {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"({rendered / wall:.0f} PDF/s), {size / 1e6:.1f} MB in total; "
        f"peak Python memory {peak / 1e6:.1f} MB (--tracemalloc), max RSS {rss_before:.0f} MB "
        f"before rendering, {rss:.0f} MB after; {machine_load()}"
    )
    print("goal: < 60 s for 5 000 PDFs:", "OK" if wall < 60 * rendered / 5000 else "NOT MET")


if __name__ == "__main__":
    main()
