"""Imports an agents file of N lines (SPEC C5) through the service and reports time and memory.

    .venv/bin/python benchmarks/import_agents.py [--rows 10000]
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/import_agents.py

Targets (issue 9): 10 000 agents in under 5 s and under 200 MB. The file is a valid agents template
(CONTRACT.md §3): distinct names, valid INS keys, one existing position. The timed import runs
as the CLI does (system scope, audit on, one commit). A second import of the same file into a
second collectivity runs under tracemalloc to give the Python allocation peak of the call
(tracemalloc slows it down, so its time is printed apart).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Counter, fresh_app, machine_load  # noqa: E402

POSITION = ("372d", "Agent d'entretien des espaces publics")


def person(index: int) -> tuple[str, str, str]:
    """(civility, first name, birth name), distinct for every index below 249 900: the demo's
    first names x last names, then double-barrelled names (« Martin-Dupont »)."""
    from app.demo import FIRST_NAMES_F, FIRST_NAMES_M, LAST_NAMES

    first_names = [(name, "Madame") for name in FIRST_NAMES_F] + [
        (name, "Monsieur") for name in FIRST_NAMES_M
    ]
    pairs = len(LAST_NAMES) * len(first_names)
    last = LAST_NAMES[index % len(LAST_NAMES)]
    first, civility = first_names[(index // len(LAST_NAMES)) % len(first_names)]
    barrel = index // pairs
    if barrel:
        last = f"{last}-{LAST_NAMES[(barrel - 1) % len(LAST_NAMES)]}"
        if barrel > len(LAST_NAMES):
            last = f"{last}-{barrel}"
    return civility, first, last


def ins_for(index: int, civility: str, birth: dt.date) -> str:
    """A valid INS (N + NIR with its key), distinct for every index below 999 000."""
    sex = "2" if civility == "Madame" else "1"
    commune, serial = divmod(index, 1000)
    nir13 = f"{sex}{birth.year % 100:02d}{birth.month:02d}69{commune + 1:03d}{serial:03d}"
    return f"N{nir13}{97 - int(nir13) % 97:02d}"


def agents_file(rows: int, seed: int = 1) -> bytes:
    from app.workforce.importing import ImportKind, template_csv

    rng = random.Random(seed)
    lines = []
    for index in range(rows):
        civility, first, last = person(index)
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(40 * 365))
        entry = birth + dt.timedelta(days=rng.randrange(20 * 365, 25 * 365))
        entry = min(entry, dt.date(2024, 12, 31))
        lines.append(
            [
                civility,
                first,
                last,
                "",
                birth.strftime("%d/%m/%Y"),
                ins_for(index, civility, birth),
                entry.strftime("%d/%m/%Y"),
                "",
                POSITION[0],
                POSITION[1],
                rng.choice(["Titulaire", "CDI", "Contractuel", "stagiaire", "CDD"]),
            ]
        )
    return template_csv(ImportKind.agents, lines)


def max_rss_mb() -> float:
    # Linux reports ru_maxrss in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from app.extensions import db
    from app.workforce.importing import ImportKind, parse_agents, read_table
    from app.workforce.imports import run_import
    from app.workforce.models import Agent, Contract, WorkPosition
    from tests.factories import make_collectivity

    app = fresh_app()
    with app.app_context():
        collectivity_ids = []
        for name in ("Commune importée", "Commune importée (tracemalloc)"):
            collectivity = make_collectivity(db.session, name=name)
            position = WorkPosition(collectivity_id=collectivity.id, pcs_code=POSITION[0])
            position.set_label(POSITION[1])
            db.session.add(position)
            collectivity_ids.append(collectivity.id)
        db.session.commit()
        engine = db.engine

    content = agents_file(args.rows)
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}")
    print(f"machine load: {machine_load()}")
    print(f"file: {args.rows} lines, {len(content) / 1024 / 1024:.2f} MB")

    rss_before = max_rss_mb()
    with app.app_context():
        counter = Counter(engine)
        start = time.perf_counter()
        cpu_start = time.process_time()
        result = run_import(ImportKind.agents, content, "salaries.csv", collectivity_ids[0])
        db.session.commit()
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
        queries = counter.count
        rss_after = max_rss_mb()
        agents = db.session.scalar(
            select(func.count(Agent.id)).where(Agent.collectivity_id == collectivity_ids[0])
        )
        contracts = db.session.scalar(
            select(func.count(Contract.id)).where(Contract.collectivity_id == collectivity_ids[0])
        )
    assert result.count == agents == contracts == args.rows, (result.count, agents, contracts)

    with app.app_context():
        tracemalloc.start()
        start = time.perf_counter()
        run_import(ImportKind.agents, content, "salaries.csv", collectivity_ids[1])
        db.session.commit()
        traced_seconds = time.perf_counter() - start
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    # The file engine alone (read and check every line, no database), measured last so that it
    # does not weigh on the peak RSS above.
    start = time.perf_counter()
    parsed = parse_agents(read_table(content, "salaries.csv"), today=dt.date.today())
    parse_seconds = time.perf_counter() - start
    assert len(parsed) == args.rows
    load_after = machine_load()

    with app.app_context():
        from app.core.audit import AuditLog

        audit_rows = db.session.scalar(
            select(func.count(AuditLog.id)).where(AuditLog.collectivity_id == collectivity_ids[0])
        )
    print(f"rows imported:       {result.count}")
    print(f"audit entries:       {audit_rows}")
    print(f"file engine alone:   {parse_seconds:.2f} s (read + check every line, no database)")
    print(f"seconds (commit in): {seconds:.2f} s   ({queries} SQL statements)")
    print(f"rows/s:              {result.count / seconds:,.0f}")
    print(f"CPU of this process: {cpu_seconds:.2f} s (less sensitive to the machine's load)")
    print(f"peak RSS (process):  {rss_after:.0f} MB  (before the import: {rss_before:.0f} MB)")
    print(
        f"tracemalloc peak:    {traced_peak / 1024 / 1024:.0f} MB of Python allocations during "
        f"run_import + commit ({traced_seconds:.2f} s under tracing)"
    )
    print(f"machine load after:  {load_after}")
    print(
        "targets: under 5 s -> "
        + ("OK" if seconds < 5 else "MISSED")
        + ", under 200 MB -> "
        + ("OK" if rss_after < 200 else "MISSED")
    )


if __name__ == "__main__":
    main()
