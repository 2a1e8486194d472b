"""The overhead of a job run's claim (SPEC G1): a job that does nothing, run for 100 slots.

    .venv/bin/python benchmarks/jobs_claim.py [--runs 100]
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/jobs_claim.py

Each run is a full ``claim_and_run``: the claim INSERT committed on its own, the (empty) job, the
run row updated to « réussie ». Then the same slots again: the refused claims (« déjà
exécutée »). Prints the median, p95 and max in milliseconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    app = fresh_app()
    from app.extensions import db
    from app.jobs import JOBS, Job, JobContext
    from app.scheduling.services import claim_and_run

    def nothing(ctx: JobContext) -> None:
        ctx.counts["rien"] += 0

    JOBS["bench-noop"] = Job(name="bench-noop", label="Tâche vide", cron={"hour": 4}, run=nothing)
    first = dt.date(2026, 1, 1)
    with app.app_context():
        claim_and_run("bench-noop", today=first - dt.timedelta(days=1))  # warm-up
        for label, expect_run in (("claim + run", True), ("refused claim", False)):
            durations = []
            for index in range(args.runs):
                start = time.perf_counter()
                outcome = claim_and_run("bench-noop", today=first + dt.timedelta(days=index))
                durations.append((time.perf_counter() - start) * 1000)
                assert outcome.ran is expect_run, outcome.message
            durations.sort()
            print(
                f"{db.engine.dialect.name:10} {label:14} {args.runs} runs: "
                f"median {statistics.median(durations):.2f} ms, "
                f"p95 {durations[int(len(durations) * 0.95) - 1]:.2f} ms, "
                f"max {durations[-1]:.2f} ms"
            )


if __name__ == "__main__":
    main()
