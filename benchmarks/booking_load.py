"""Booking throughput and latency: concurrent employer sessions against gunicorn (SPEC D5).

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python benchmarks/booking_load.py [--collectivities 20] [--plages 200]
        [--agents 30] [--workers 4] [--duration 60] [--max-bookings 0]

A fresh database (emptied first) is seeded with N collectivities, each with a primary account,
one position and agents with a running contract, one office serving them all, a few doctors
and P plages of 6 units over the coming weeks: half reserved (spread over the collectivities),
half common. gunicorn serves the application with W sync workers. One client thread per
collectivity logs in through the API (JWT), lists the plages it can see (GET /api/v1/plage/,
free capacities included) and books its agents (POST /api/v1/plage/<id>/book) until the
duration is over or it sees no free unit. Three bookings out of four go to the earliest common
plages that still look free, which every client targets at the same time: the contention the
unique indexes and the plage lock must resolve. Afterwards SQL counts double bookings (two
active appointments on one unit, more active appointments than units, an agent twice in a
plage, a unit index beyond the capacity): all must be 0.

Without BENCH_DATABASE_URL the database is a SQLite file (the same code path, one writer at a
time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter as Tally
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import fresh_app  # noqa: E402

SLOT_MINUTES = 20
CAPACITY = 6
HOURS = (8, 10, 14, 16)  # four 2-hour plages per doctor and working day
FULL = "Plus aucune place n'est disponible sur cette plage : choisissez une autre plage."


# ----------------------------------------------------------------------------------------------
# Seeding
# ----------------------------------------------------------------------------------------------


@dataclass
class World:
    usernames: list[str]
    agents: dict[str, list[int]]  # username -> agent ids
    plage_ids: list[int]
    first_day: dt.date
    last_day: dt.date


def seed(app: Any, collectivities: int, plages: int, agents: int, doctors: int) -> World:
    from sqlalchemy import select

    from app import roles
    from app.extensions import db
    from app.planning.models import Plage, PlageNature, PlageState
    from app.referential.models import ContractType
    from app.workforce.models import Contract, WorkPosition
    from tests.factories import make_collectivity, make_office, make_professional, make_user
    from tests.isolation import make_agent

    with app.app_context():
        session = db.session
        session.info["skip_audit"] = True
        contract_type = session.scalar(select(ContractType).where(ContractType.code == "titulaire"))
        owners = []
        usernames: list[str] = []
        agent_ids: dict[str, list[int]] = {}
        for index in range(collectivities):
            collectivity = make_collectivity(session, name=f"Commune de Charge {index:02d}")
            username = f"rh.charge{index:02d}"
            make_user(session, roles.EMPLOYER_PRIMARY, collectivity=collectivity, username=username)
            position = WorkPosition(collectivity_id=collectivity.id, pcs_code="684a")
            position.set_label("Agent polyvalent")
            session.add(position)
            session.flush()
            ids = []
            for number in range(agents):
                agent = make_agent(
                    session,
                    collectivity,
                    birth_name=f"CHARGE{index:02d}X{number:03d}",
                    first_name="Agent",
                )
                session.add(
                    Contract(
                        agent_id=agent.id,
                        collectivity_id=collectivity.id,
                        work_position_id=position.id,
                        contract_type_id=contract_type.id,
                        start_date=dt.date(2020, 1, 1),
                    )
                )
                ids.append(agent.id)
            owners.append(collectivity)
            usernames.append(username)
            agent_ids[username] = ids
        office = make_office(session, served=owners, name="Cabinet de charge")
        professionals = [
            make_professional(session, last_name=f"DOCTEUR{n}") for n in range(doctors)
        ]
        day = dt.date.today() + dt.timedelta(days=3)
        created: list[Plage] = []
        while len(created) < plages:
            if day.weekday() < 5:
                for hour in HOURS:
                    for professional in professionals:
                        if len(created) == plages:
                            break
                        starts_at = dt.datetime.combine(day, dt.time(hour, 0))
                        reserved = len(created) % 2 == 0
                        owner = owners[(len(created) // 2) % len(owners)] if reserved else None
                        plage = Plage(
                            office_id=office.id,
                            professional_id=professional.id,
                            starts_at=starts_at,
                            ends_at=starts_at + dt.timedelta(minutes=SLOT_MINUTES * CAPACITY),
                            appointment_minutes=SLOT_MINUTES,
                            nature=PlageNature.medecin,
                            state=PlageState.reservee if reserved else PlageState.commune,
                            reserved_for_id=owner.id if owner else None,
                        )
                        session.add(plage)
                        created.append(plage)
            day += dt.timedelta(days=1)
        session.flush()
        world = World(
            usernames=usernames,
            agents=agent_ids,
            plage_ids=[p.id for p in created],
            first_day=created[0].starts_at.date(),
            last_day=created[-1].starts_at.date(),
        )
        session.commit()
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        db.session.remove()
        db.engine.dispose()
    return world


# ----------------------------------------------------------------------------------------------
# gunicorn
# ----------------------------------------------------------------------------------------------

WSGI = """
from app import create_app
from app.extensions import db

application = create_app(
    "config.TestConfig",
    SQLALCHEMY_DATABASE_URI={url!r},
    SECRET_KEY={secret!r},
    WTF_CSRF_ENABLED=True,
    OUTBOX_DIR={outbox!r},
    UPLOAD_DIR={uploads!r},
)
# Preloaded in the master: no connection may be shared with the forked workers.
with application.app_context():
    db.engine.dispose()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(url: str, workers: int, workdir: Path) -> tuple[subprocess.Popen, str]:
    # One SECRET_KEY for every worker (config.TestConfig draws a random one per process): a JWT
    # issued by one worker must be accepted by the others.
    (workdir / "bench_wsgi.py").write_text(
        textwrap.dedent(
            WSGI.format(
                url=url,
                secret=secrets.token_hex(32),
                outbox=str(workdir / "outbox"),
                uploads=str(workdir / "uploads"),
            )
        )
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--pythonpath",
            f"{workdir},{ROOT}",
            "--chdir",
            str(ROOT),
            "--preload",
            "--timeout",
            "120",
            "--log-level",
            "warning",
            "bench_wsgi:application",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "SCHEDULER_ENABLED": "0"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{(workdir / 'gunicorn.log').read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/login/", timeout=5) as response:
                if response.status == 200:
                    return process, base
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    stop_gunicorn(process)
    raise SystemExit(f"gunicorn did not answer:\n{(workdir / 'gunicorn.log').read_text()}")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# ----------------------------------------------------------------------------------------------
# Clients
# ----------------------------------------------------------------------------------------------


def call(
    method: str, url: str, payload: Any = None, token: str | None = None
) -> tuple[int, Any, float]:
    """One HTTP request -> (status, JSON body, latency in ms)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    began = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    elapsed = (time.perf_counter() - began) * 1000
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {"raw": raw[:200].decode(errors="replace")}
    return status, body, elapsed


def login(base: str, username: str) -> str:
    from tests.factories import PASSWORD

    status, body, _ = call(
        "POST",
        f"{base}/api/v1/security/login",
        {"username": username, "password": PASSWORD, "provider": "db"},
    )
    if status != 200:
        raise SystemExit(f"API login of {username} failed: {status} {body}")
    return str(body["access_token"])


@dataclass
class Results:
    lock: threading.Lock = field(default_factory=threading.Lock)
    bookings: list[tuple[int, float]] = field(default_factory=list)  # (status, ms)
    listings: list[tuple[int, float]] = field(default_factory=list)
    other_bodies: list[Any] = field(default_factory=list)
    full_messages: set[str] = field(default_factory=set)


def client(
    base: str,
    token: str,
    agent_ids: list[int],
    results: Results,
    start: threading.Barrier,
    deadline_box: list[float],
    budget: list[int],
    seed_value: int,
) -> None:
    rng = random.Random(seed_value)
    taken: set[tuple[int, int]] = set()  # (plage, agent) booked by this client
    start.wait()
    deadline = deadline_box[0]

    def listing() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for page in range(100):
            query = urllib.parse.quote(
                f"(order_column:starts_at,order_direction:asc,page:{page},page_size:100)"
            )
            status, body, ms = call("GET", f"{base}/api/v1/plage/?q={query}", token=token)
            with results.lock:
                results.listings.append((status, ms))
            if status != 200:
                return rows
            rows.extend(body.get("result", []))
            if len(rows) >= body.get("count", 0) or not body.get("result"):
                return rows
        return rows

    rows = listing()
    since_listing = 0
    while time.monotonic() < deadline:
        if since_listing >= 5:
            rows, since_listing = listing(), 0
        candidates = [
            row
            for row in rows
            if row["state"] in ("reservee", "commune") and (row.get("free_capacity") or 0) > 0
        ]
        if not candidates:
            rows = listing()
            if not any(
                row["state"] in ("reservee", "commune") and (row.get("free_capacity") or 0) > 0
                for row in rows
            ):
                return  # nothing left to book for this collectivity
            continue
        common = [row for row in candidates if row["state"] == "commune"]
        # Three times out of four every client aims at the same earliest free common plages.
        aim = common[:3] if common and rng.random() < 0.75 else candidates
        row = rng.choice(aim)
        free_agents = [a for a in agent_ids if (row["id"], a) not in taken]
        if not free_agents:
            row["free_capacity"] = 0
            continue
        agent_id = rng.choice(free_agents)
        with results.lock:
            if budget[0] == 0:
                return
            budget[0] -= 1
        status, body, ms = call(
            "POST",
            f"{base}/api/v1/plage/{row['id']}/book",
            {"agent_id": agent_id, "visit_type": "periodique"},
            token=token,
        )
        since_listing += 1
        with results.lock:
            results.bookings.append((status, ms))
            if status == 409:
                results.full_messages.add(str(body.get("message")))
            elif status != 201 and len(results.other_bodies) < 10:
                results.other_bodies.append((status, body))
        if status == 201:
            taken.add((row["id"], agent_id))
            row["free_capacity"] -= 1
        elif status == 409:
            row["free_capacity"] = 0  # full: look elsewhere until the next listing


def baseline(base: str, token: str, agent_ids: list[int], repeat: int) -> dict[str, Any]:
    """One client alone, sequential requests: the server time without queueing. The bookings
    go to the collectivity's own reserved plages."""
    query = urllib.parse.quote("(order_column:starts_at,order_direction:asc,page:0,page_size:100)")
    listing_ms, booking_ms, statuses = [], [], Tally()
    rows: list[dict[str, Any]] = []
    for _ in range(repeat):
        status, body, ms = call("GET", f"{base}/api/v1/plage/?q={query}", token=token)
        listing_ms.append(ms)
        rows = body.get("result", [])
    own = [row for row in rows if row["state"] == "reservee"]
    for index in range(repeat):
        row = own[index % len(own)]
        status, _, ms = call(
            "POST",
            f"{base}/api/v1/plage/{row['id']}/book",
            {"agent_id": agent_ids[index // len(own)], "visit_type": "periodique"},
            token=token,
        )
        booking_ms.append(ms)
        statuses[status] += 1
    return {"listing": listing_ms, "booking": booking_ms, "statuses": statuses}


# ----------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------


def double_bookings(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    from app.planning.models import ACTIVE_SQL

    active = ACTIVE_SQL
    checks = {
        "units held twice (plage_id, slot_index)": f"""
            SELECT count(*) FROM (
                SELECT plage_id, slot_index FROM appointment WHERE {active}
                GROUP BY plage_id, slot_index HAVING count(*) > 1) AS dup""",
        "plages above capacity": f"""
            SELECT plage.id, plage.starts_at, plage.ends_at, plage.appointment_minutes, held.n
            FROM plage JOIN (
                SELECT plage_id, count(*) AS n FROM appointment WHERE {active}
                GROUP BY plage_id) AS held ON held.plage_id = plage.id""",
        "agents twice in a plage": f"""
            SELECT count(*) FROM (
                SELECT plage_id, agent_id FROM appointment WHERE {active}
                GROUP BY plage_id, agent_id HAVING count(*) > 1) AS dup""",
        "unit index beyond capacity": f"""
            SELECT plage.id, plage.starts_at, plage.ends_at, plage.appointment_minutes,
                   appointment.slot_index
            FROM appointment JOIN plage ON plage.id = appointment.plage_id
            WHERE appointment.{active}""",
        "bookings of another collectivity's reserved plage": f"""
            SELECT count(*) FROM appointment JOIN plage ON plage.id = appointment.plage_id
            WHERE appointment.{active} AND plage.state = 'reservee'
              AND plage.reserved_for_id <> appointment.collectivity_id""",
    }
    engine = create_engine(url)
    found: dict[str, int] = {}

    def capacity(starts: Any, ends: Any, minutes: int) -> int:
        if isinstance(starts, str):
            starts, ends = dt.datetime.fromisoformat(starts), dt.datetime.fromisoformat(ends)
        return int((ends - starts).total_seconds() // 60 // minutes)

    with engine.connect() as connection:
        for label, sql in checks.items():
            rows = connection.execute(text(sql)).all()
            if label == "plages above capacity":
                found[label] = sum(1 for _, s, e, m, n in rows if n > capacity(s, e, m))
            elif label == "unit index beyond capacity":
                found[label] = sum(1 for _, s, e, m, i in rows if i >= capacity(s, e, m))
            else:
                found[label] = int(rows[0][0])
        found["active appointments"] = int(
            connection.execute(text(f"SELECT count(*) FROM appointment WHERE {active}")).scalar()
        )
    engine.dispose()
    return found


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * fraction + 0.5) - 1)] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collectivities", type=int, default=20)
    parser.add_argument("--plages", type=int, default=200)
    parser.add_argument("--agents", type=int, default=30, help="agents per collectivity")
    parser.add_argument("--doctors", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds at most")
    parser.add_argument(
        "--max-bookings", type=int, default=0, help="stop after this many booking requests"
    )
    parser.add_argument(
        "--baseline", type=int, default=10, help="sequential requests of one client first"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="booking-load-"))
    began = time.perf_counter()
    app = fresh_app()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    world = seed(app, args.collectivities, args.plages, args.agents, args.doctors)
    units = args.plages * CAPACITY
    print(
        f"database: {url.split(':')[0]}; seeded in {time.perf_counter() - began:.1f} s: "
        f"{args.collectivities} collectivities x {args.agents} agents, {args.plages} plages "
        f"({units} units: {(args.plages + 1) // 2} reserved, {args.plages // 2} common) "
        f"from {world.first_day:%d/%m/%Y} to {world.last_day:%d/%m/%Y}"
    )

    process, base = start_gunicorn(url, args.workers, workdir)
    try:
        tokens = {username: login(base, username) for username in world.usernames}
        first = world.usernames[0]
        alone = baseline(base, tokens[first], world.agents[first], args.baseline)
        results = Results()
        barrier = threading.Barrier(len(tokens) + 1)
        deadline_box = [0.0]
        budget = [args.max_bookings if args.max_bookings > 0 else -1]
        threads = [
            threading.Thread(
                target=client,
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
            for index, (username, token) in enumerate(tokens.items())
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
        stop_gunicorn(process)

    if args.baseline:
        print(
            f"one client alone, sequential: list (page of 100) median "
            f"{statistics.median(alone['listing']):.1f} ms, p95 "
            f"{percentile(alone['listing'], 0.95):.1f} ms; booking median "
            f"{statistics.median(alone['booking']):.1f} ms, p95 "
            f"{percentile(alone['booking'], 0.95):.1f} ms {dict(alone['statuses'])}"
        )
    baseline_booked = alone["statuses"].get(201, 0) if args.baseline else 0
    bookings = results.bookings
    statuses = Tally(status for status, _ in bookings)
    booking_ms = [ms for _, ms in bookings]
    listing_ms = [ms for _, ms in results.listings]
    listing_statuses = Tally(status for status, _ in results.listings)
    others = {s: n for s, n in sorted(statuses.items()) if s not in (201, 409)}
    total_requests = len(bookings) + len(results.listings)
    print(
        f"gunicorn: {args.workers} sync workers; {len(tokens)} concurrent employer clients; "
        f"{elapsed:.1f} s of load"
    )
    print(f"booking requests   {len(bookings):>7}")
    print(f"  201 booked       {statuses.get(201, 0):>7}")
    print(f"  409 full         {statuses.get(409, 0):>7}")
    print(f"  other statuses   {sum(others.values()):>7}  {others or ''}")
    for status, body in results.other_bodies[:5]:
        print(f"    e.g. {status}: {json.dumps(body, ensure_ascii=False)[:200]}")
    if results.full_messages - {FULL}:
        print(f"  unexpected 409 messages: {results.full_messages - {FULL}}")
    print(
        f"booking throughput {len(bookings) / elapsed:>7.1f} req/s "
        f"({statuses.get(201, 0) / elapsed:.1f} bookings/s)"
    )
    if booking_ms:
        print(
            f"booking latency    median {statistics.median(booking_ms):.1f} ms, "
            f"p95 {percentile(booking_ms, 0.95):.1f} ms, max {max(booking_ms):.1f} ms"
        )
    print(
        f"list requests      {len(results.listings):>7}  statuses {dict(listing_statuses)}; "
        f"median {statistics.median(listing_ms) if listing_ms else 0:.1f} ms, "
        f"p95 {percentile(listing_ms, 0.95):.1f} ms"
    )
    print(f"all requests       {total_requests:>7}  {total_requests / elapsed:.1f} req/s")

    found = double_bookings(url)
    active = found.pop("active appointments")
    booked = statuses.get(201, 0) + baseline_booked
    print(f"active appointments in the database: {active} (201 answers: {booked}, units: {units})")
    for label, count in found.items():
        print(f"  {label:<52} {count}")
    problems = sum(found.values()) + (active != booked)
    print("double bookings: 0" if problems == 0 else f"DOUBLE BOOKINGS OR MISMATCH: {problems}")
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
