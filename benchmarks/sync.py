"""The nightly sync (SPEC G2) of N staged employer changes: time and peak memory.

    .venv/bin/python benchmarks/sync.py [--changes 100000] [--collectivities 100]
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/sync.py

Targets: 100 000 changes in under 60 s and under 300 MB. N validated agents spread over the
collectivities (each with a convocation contact), one staged first-name change each (1 in 50 a
conflict); then ``claim_and_run("sync")`` as the scheduler runs it: batches of 500 committed,
audit on, one digest e-mail per collectivity. Memory is the process's resident set, sampled
every 20 ms during the run (peak and growth over the set-up). The CPU time of the process and
the load average are printed too: on a shared machine the wall time is not the job's alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 1e6


class PeakRss:
    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def populate(changes: int, collectivities: int) -> None:
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.referential.models import (
        Civility,
        Collectivity,
        CollectivityKind,
        Contact,
        ContactFunction,
        TariffCategory,
    )
    from app.workforce.models import Agent, StagedAgentChange

    ids = []
    for index in range(collectivities):
        collectivity = Collectivity(
            name=f"Commune {index:04d}",
            kind=CollectivityKind.commune,
            siret=f"{index:014d}",
            siren=f"{index:09d}",
            category=TariffCategory.affiliee,
            membership_number=f"B{index:05d}",
            main_line1="1 place de la Mairie",
            main_postcode="69000",
            main_city="Lyon",
        )
        db.session.add(collectivity)
        db.session.flush()
        db.session.add(
            Contact(
                collectivity_id=collectivity.id,
                function=ContactFunction.convocation,
                last_name="RH",
                first_name="Service",
                email=f"rh{index}@commune.fr",
            )
        )
        ids.append(collectivity.id)
    db.session.commit()
    validated = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    chunk = 5000
    for start in range(0, changes, chunk):
        rows = [
            {
                "collectivity_id": ids[n % collectivities],
                "civility": Civility.madame,
                "first_name": "Ancien",
                "birth_name": f"BENCH{n:07d}",
                "birth_date": dt.date(1980, 1, 1) + dt.timedelta(days=n % 9000),
                "validated_at": validated,
            }
            for n in range(start, min(start + chunk, changes))
        ]
        db.session.execute(insert(Agent), rows)
        db.session.commit()
    agent_rows = db.session.execute(
        select(Agent.id, Agent.collectivity_id).order_by(Agent.id)
    ).all()
    for start in range(0, len(agent_rows), chunk):
        db.session.execute(
            insert(StagedAgentChange),
            [
                {
                    "agent_id": agent_id,
                    "collectivity_id": collectivity_id,
                    "field": "first_name",
                    "old_value": "Autre" if agent_id % 50 == 0 else "Ancien",
                    "new_value": f"Nouveau{agent_id}",
                }
                for agent_id, collectivity_id in agent_rows[start : start + chunk]
            ],
        )
        db.session.commit()
    db.session.expunge_all()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--collectivities", type=int, default=100)
    args = parser.parse_args()
    app = fresh_app()
    from app.extensions import db
    from app.scheduling.models import RunTrigger
    from app.scheduling.services import claim_and_run

    with app.app_context():
        started = time.perf_counter()
        populate(args.changes, args.collectivities)
        print(f"set-up: {args.changes} staged changes in {time.perf_counter() - started:.1f} s")
        db.session.remove()
    with app.app_context():
        before = rss_mb()
        with PeakRss() as memory:
            start = time.perf_counter()
            cpu = time.process_time()
            outcome = claim_and_run(
                "sync", today=dt.date(2026, 3, 2), trigger=RunTrigger.planificateur
            )
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu
        print(f"{db.engine.dialect.name}: {outcome.message}")
        print(
            f"{db.engine.dialect.name}: sync of {args.changes} changes in {elapsed:.1f} s "
            f"(goal < 60 s; this process's CPU {cpu:.1f} s, load average {os.getloadavg()[0]:.1f}); "
            f"resident memory {before:.0f} MB before, peak {memory.peak:.0f} MB "
            f"(+{memory.peak - before:.0f} MB; goal < 300 MB)"
        )


if __name__ == "__main__":
    main()
