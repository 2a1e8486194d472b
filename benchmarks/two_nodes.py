"""Booking load on one gunicorn node, then spread over two nodes (issue 19).

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_two_nodes \\
        .venv/bin/python benchmarks/two_nodes.py [--collectivities 20] [--plages 200]
        [--agents 30] [--workers 2] [--duration 20]

The load of ``booking_load.py`` (its seeding, its API clients and its double-booking checks):
N employer clients log in through the API (JWT), list the plages they can see and book their
agents, three bookings out of four aiming at the same earliest free common plages. Two phases,
each on a freshly emptied and seeded PostgreSQL database (default
postgresql+psycopg://postgres@127.0.0.1:5432/medprev_bench_two_nodes, created if missing):

1. one node: every client on node A;
2. two nodes: clients alternate between node A and node B (a load balancer spreading the
   connections), both over the same database and Redis.

The nodes are started as docs/deployment.md §12 says (the production entry point ``run:app``,
the guide's ``gunicorn.conf.py``, the same SECRET_KEY, REDIS_URL, shared directories,
TRUSTED_PROXIES=1 with a client address of its own per client), W sync workers each. Printed
per phase: booking requests/s and bookings/s, booking p50/p95, listing p95, other statuses, and
the SQL double-booking counts (all 0, active appointments = 201 answers). On one machine the two
nodes share its CPUs: the figure shows what the second node adds here, not on a second host.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter as Tally
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import booking_load  # noqa: E402
from benchmarks._common import fresh_app, machine_load  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/medprev_bench_two_nodes"


def ensure_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def start_nodes(url: str, count: int, workers: int, workdir: Path) -> list[tuple[Any, str]]:
    """``count`` gunicorn nodes as docs/deployment.md §12 starts them; waits for /readyz."""
    from tests.integration.test_two_gunicorn_nodes import (
        GUNICORN_COMMAND,
        documented_gunicorn_conf,
    )
    from tests.util import redis_answers

    if not redis_answers():
        raise SystemExit("Redis must answer on 127.0.0.1:6379 (REDIS_URL of the nodes)")
    conf = workdir / "gunicorn.conf.py"
    conf.write_text(documented_gunicorn_conf())
    shared = workdir / "shared"
    for name in ("uploads", "outbox"):
        (shared / name).mkdir(parents=True, exist_ok=True)
    ports = [booking_load.free_port() for _ in range(count)]
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_URL", "MAIL_SERVER"}},
        "FLASK_APP": "run.py",
        "DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://", 1),
        "SECRET_KEY": secrets.token_hex(32),
        "PUBLIC_URL": f"http://127.0.0.1:{ports[0]}",
        "TRUSTED_PROXIES": "1",
        "REDIS_URL": "redis://127.0.0.1:6379/9",
        "UPLOAD_DIR": str(shared / "uploads"),
        "OUTBOX_DIR": str(shared / "outbox"),
        "LOG_FORMAT": "json",
        "SCHEDULER_ENABLED": "false",
    }
    nodes = []
    for index, port in enumerate(ports):
        run = workdir / f"node{index}"
        run.mkdir(exist_ok=True)
        command = GUNICORN_COMMAND.format(conf=conf, port=port, run=run).split()
        command[0] = str(ROOT / ".venv" / "bin" / "gunicorn")
        command[command.index("--workers") + 1] = str(workers)
        with (run / "gunicorn.log").open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**env, "PROMETHEUS_MULTIPROC_DIR": str(run / "metrics")},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        nodes.append((process, f"http://127.0.0.1:{port}"))
    deadline = time.monotonic() + 120
    for process, base in nodes:
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_nodes(nodes)
                raise SystemExit(f"node {base} did not start: see {workdir}")
            status, _, _ = _get(f"{base}/readyz")
            if status == 200:
                break
            time.sleep(0.2)
    return nodes


def _get(url: str) -> tuple[int, Any, float]:
    try:
        return booking_load.call("GET", url)
    except OSError:
        return 0, None, 0.0


def stop_nodes(nodes: list[tuple[Any, str]]) -> None:
    for process, _ in nodes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
    for process, _ in nodes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def api_login(base: str, username: str) -> str:
    """booking_load.login, with the client address of its own the load balancer passes on."""
    import json
    import urllib.request

    from tests.factories import PASSWORD

    address = f"198.18.{random.randint(0, 255)}.{random.randint(1, 254)}"
    request = urllib.request.Request(
        f"{base}/api/v1/security/login",
        data=json.dumps({"username": username, "password": PASSWORD, "provider": "db"}).encode(),
        headers={"Content-Type": "application/json", "X-Forwarded-For": address},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return str(json.loads(response.read())["access_token"])


def phase(label: str, node_count: int, args: argparse.Namespace) -> dict[str, Any]:
    app = fresh_app()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
    world = booking_load.seed(app, args.collectivities, args.plages, args.agents, args.doctors)
    workdir = Path(tempfile.mkdtemp(prefix="two-nodes-"))
    nodes = start_nodes(url, node_count, args.workers, workdir)
    load_before = machine_load()
    try:
        bases = [base for _, base in nodes]
        clients = [
            (bases[index % len(bases)], username) for index, username in enumerate(world.usernames)
        ]
        tokens = [(base, username, api_login(base, username)) for base, username in clients]
        results = booking_load.Results()
        barrier = threading.Barrier(len(tokens) + 1)
        deadline_box = [0.0]
        budget = [-1]
        threads = [
            threading.Thread(
                target=booking_load.client,
                args=(
                    base,
                    token,
                    world.agents[username],
                    results,
                    barrier,
                    deadline_box,
                    budget,
                    index,
                ),
                daemon=True,
            )
            for index, (base, username, token) in enumerate(tokens)
        ]
        for thread in threads:
            thread.start()
        deadline_box[0] = time.monotonic() + args.duration
        started = time.perf_counter()
        barrier.wait()
        for thread in threads:
            thread.join(timeout=args.duration + 180)
        elapsed = time.perf_counter() - started
    finally:
        stop_nodes(nodes)
    found = booking_load.double_bookings(url)
    statuses = Tally(status for status, _ in results.bookings)
    booking_ms = [ms for _, ms in results.bookings]
    listing_ms = [ms for _, ms in results.listings]
    active = found.pop("active appointments")
    return {
        "label": label,
        "elapsed": elapsed,
        "requests": len(results.bookings),
        "booked": statuses.get(201, 0),
        "full": statuses.get(409, 0),
        "other": {s: n for s, n in sorted(statuses.items()) if s not in (201, 409)},
        "p50": statistics.median(booking_ms) if booking_ms else 0.0,
        "p95": booking_load.percentile(booking_ms, 0.95),
        "listing_p95": booking_load.percentile(listing_ms, 0.95),
        "all_requests": len(results.bookings) + len(results.listings),
        "double": sum(found.values()) + (active != statuses.get(201, 0)),
        "checks": found,
        "active": active,
        "load": load_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collectivities", type=int, default=20)
    parser.add_argument("--plages", type=int, default=200)
    parser.add_argument("--agents", type=int, default=30, help="agents per collectivity")
    parser.add_argument("--doctors", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="sync workers per node")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load per phase")
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if not url.startswith("postgres"):
        raise SystemExit("two nodes need PostgreSQL: set BENCH_DATABASE_URL=postgresql+psycopg://…")
    ensure_database(url)
    os.environ["BENCH_DATABASE_URL"] = url
    print(
        f"{args.collectivities} employer clients, {args.plages} plages x {booking_load.CAPACITY} "
        f"units, {args.workers} sync workers per node, {args.duration:.0f} s per phase"
    )
    rows = [phase("one node", 1, args), phase("two nodes", 2, args)]
    print()
    print(
        f"{'':<10} {'book req/s':>10} {'booked/s':>9} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'list p95':>9} {'all req/s':>10} {'other':>6} {'double':>7}"
    )
    for row in rows:
        print(
            f"{row['label']:<10} {row['requests'] / row['elapsed']:>10.1f} "
            f"{row['booked'] / row['elapsed']:>9.1f} {row['p50']:>8.1f} {row['p95']:>8.1f} "
            f"{row['listing_p95']:>9.1f} {row['all_requests'] / row['elapsed']:>10.1f} "
            f"{sum(row['other'].values()):>6} {row['double']:>7}"
        )
    for row in rows:
        print(
            f"{row['label']}: {row['requests']} booking requests in {row['elapsed']:.1f} s, "
            f"{row['booked']} booked, {row['full']} full, other {row['other'] or 'none'}; "
            f"{row['active']} active appointments; checks {row['checks']}; {row['load']}"
        )
    ratio = (rows[1]["requests"] / rows[1]["elapsed"]) / max(
        rows[0]["requests"] / rows[0]["elapsed"], 1e-9
    )
    print(f"throughput two nodes / one node: {ratio:.2f}")
    problems = sum(row["double"] for row in rows)
    print("double bookings: 0" if problems == 0 else f"DOUBLE BOOKINGS OR MISMATCH: {problems}")
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
