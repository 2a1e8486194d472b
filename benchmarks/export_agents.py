"""CSV and XLSX export of « Effectif » at scale: time, statements and peak memory (issue 10).

    .venv/bin/python benchmarks/export_agents.py --agents 20000 200000           # SQLite
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/h6bench \\
        .venv/bin/python benchmarks/export_agents.py --agents 20000 200000

Agents are loaded as in ``agents_list.py`` (Core inserts, one running contract each, over
--collectivities collectivities). The staff export of the « Tous » tab (every agent) is
downloaded through the Flask test client without buffering, the body counted block by block
and thrown away, as a browser saving the file would. Measured for each size and format:

- the wall time of the whole download (server side, in process: SQL, ORM, formatting, file);
- the SQL statements run (constant per chunk of ``app.core.exports.CHUNK`` rows);
- the peak resident memory above the level before the download (RSS sampled every 5 ms), and
  with --tracemalloc the peak of Python allocations (slower: tracemalloc traces every object).

Goal: memory bounded (the same peak for 20 000 and 200 000 agents), no query per row.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Counter, collectivities_with_positions, fresh_app  # noqa: E402
from benchmarks.agents_list import POSITIONS, load  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class PeakRss:
    """The highest resident set size seen while the block runs (sampled in a thread)."""

    def __init__(self) -> None:
        self.base = rss()
        self.peak = self.base
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, rss())
            time.sleep(0.005)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *args: Any) -> None:
        self._running = False
        self._thread.join()
        self.peak = max(self.peak, rss())


def download(client: Any, url: str) -> tuple[int, int]:
    response = client.get(url, buffered=False)
    size = 0
    for block in response.response:
        size += len(block)
    response.close()
    return response.status_code, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--collectivities", type=int, default=40)
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()

    from app import roles
    from app.extensions import db
    from tests.factories import PASSWORD, make_user

    app = fresh_app()
    rng = random.Random(1)
    with app.app_context():
        collectivities = collectivities_with_positions(
            db.session, args.collectivities, POSITIONS, 3, rng
        )
        make_user(db.session, roles.SECRETARIAT, username="bench-export")
        db.session.commit()
        ids = [c.id for c in collectivities]
        engine = db.engine
        dialect = engine.dialect.name
    client = app.test_client()
    response = client.post("/login/", data={"username": "bench-export", "password": PASSWORD})
    assert response.status_code == 302, response.status_code

    loaded = 0
    print(f"database: {dialect}")
    print(
        f"{'agents':>8} {'format':>6} {'time s':>8} {'rows/s':>9} {'MB':>7} "
        f"{'statements':>10} {'peak RSS +MB':>13} {'tracemalloc MB':>15}"
    )
    for total in args.agents:
        load(app, loaded, total, ids, rng)
        loaded = total
        for fmt in ("csv", "xlsx"):
            url = f"/effectif/export/{fmt}?onglet=tous"
            download(client, url.replace("onglet=tous", "onglet=tous&nom=ZZZZ"))  # warm up
            counter = Counter(engine)
            with PeakRss() as memory:
                began = time.perf_counter()
                status, size = download(client, url)
                elapsed = time.perf_counter() - began
            from sqlalchemy import event

            event.remove(engine, "before_cursor_execute", counter._count)
            traced = ""
            if args.tracemalloc:
                tracemalloc.start()
                download(client, url)
                traced = f"{tracemalloc.get_traced_memory()[1] / 1e6:15.1f}"
                tracemalloc.stop()
            assert status == 200, status
            print(
                f"{total:>8} {fmt:>6} {elapsed:8.2f} {total / elapsed:9.0f} {size / 1e6:7.1f} "
                f"{counter.count:>10} {(memory.peak - memory.base) / 1e6:13.1f} {traced:>15}"
            )


if __name__ == "__main__":
    main()
