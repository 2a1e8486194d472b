"""Booking under load through the web screens: 20 employer browser sessions against gunicorn.

    .venv/bin/python benchmarks/load_booking.py [--database-url postgresql+psycopg://...]
        [--collectivities 20] [--agents 40] [--plages 400] [--workers 2] [--think 1.0]
        [--duration 60] [--closed-duration 30]

The database (PostgreSQL by default: --database-url, else BENCH_DATABASE_URL, else
postgresql+psycopg://postgres@127.0.0.1:5432/h8bench, created if missing) is emptied, migrated
and seeded with roles, reference data and the world of ``booking_load.py``: N collectivities,
each with a primary (employer) account, one position and agents with a running contract, one
office serving them all, doctors and P plages of 6 units over the coming weeks (half reserved,
spread over the collectivities, half common). gunicorn (W sync workers, preloaded) serves the
application with CSRF on.

Each session is a ``requests.Session`` that logs in through the web form (/login/) and then
repeats what a secretary of the employer does: the « Consultations » page (GET
/portail/consultations/), the booking form of a plage (GET .../plage/<id>/reserver), the
confirmed booking (POST, confirm=1) and the appointment page it redirects to. Three bookings
out of four aim at the earliest common plages still free, which every session targets at the
same time (the contention the plage lock and the unique indexes must resolve).

1. Open loop: each session starts an action every --think seconds whatever the server's
   answer time (an action starts late only when the previous answer took longer than the think
   time; those are counted), for --duration seconds.
2. Closed loop: the same sessions with no think time, for --closed-duration seconds: the
   throughput of W workers on this machine.

For each phase: p50 / p95 / p99 latency of the booking POST and of the planning GET, requests/s,
errors (5xx, unexpected statuses, refusals other than « full »). Afterwards SQL counts double
bookings (a unit held twice, an agent twice on a plage, more appointments than units, a unit
index beyond the capacity, another collectivity's reserved plage): all must be 0, and the active
appointments must equal the bookings answered with a redirect. The machine's load average is
printed beside the figures. gunicorn is stopped on exit (normal end, error, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import argparse
import atexit
import html
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter as Tally
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from benchmarks.booking_load import (  # noqa: E402
    CAPACITY,
    FULL,
    World,
    double_bookings,
    percentile,
    seed,
    start_gunicorn,
    stop_gunicorn,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/h8bench"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
PLANNING = "/portail/consultations/"
FOUND_FULL: set[int] = set()  # plages some session was told are full


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def workers_cpu(master: int) -> float:
    """User + system CPU seconds of gunicorn's workers (the children of the master)."""
    total = 0.0
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return 0.0
    for child in children:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def ensure_database(url: str) -> None:
    """CREATE DATABASE when the PostgreSQL database of the URL does not exist yet."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        )
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


# ----------------------------------------------------------------------------------------------
# One employer session
# ----------------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    samples: dict[str, list[float]] = field(default_factory=dict)  # action -> ms
    statuses: Tally[str] = field(default_factory=Tally)  # "action status"
    outcomes: Tally[str] = field(default_factory=Tally)  # booked / full / refused / error
    examples: list[str] = field(default_factory=list)
    late: int = 0
    actions: int = 0

    def record(self, action: str, status: int, ms: float) -> None:
        with self.lock:
            self.samples.setdefault(action, []).append(ms)
            self.statuses[f"{action} {status}"] += 1
            self.actions += 1

    def outcome(self, kind: str, example: str = "") -> None:
        with self.lock:
            self.outcomes[kind] += 1
            if example and len(self.examples) < 8:
                self.examples.append(example)


class Employer:
    def __init__(
        self, base: str, username: str, agent_ids: list[int], plages: list[int], seed_value: int
    ):
        self.base = base
        self.username = username
        self.agent_ids = agent_ids
        self.own = [p for p in plages if p > 0]  # reserved for this collectivity
        self.common = [-p for p in plages if p < 0]
        self.full: set[int] = set()  # as the last planning page showed it
        self.taken: set[tuple[int, int]] = set()
        self.rng = random.Random(seed_value)
        self.http = requests.Session()
        self.csrf = ""

    def login(self) -> None:
        from tests.factories import PASSWORD

        page = self.http.get(f"{self.base}/login/", timeout=120)
        self.csrf = _csrf(page.text)
        done = self.http.post(
            f"{self.base}/login/",
            data={"username": self.username, "password": PASSWORD, "csrf_token": self.csrf},
            allow_redirects=False,
            timeout=120,
        )
        if done.status_code != 302 or "/login" in done.headers.get("Location", ""):
            raise SystemExit(f"web login of {self.username} failed: {done.status_code}")

    def _timed(self, phase: Phase, action: str, method: str, path: str, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            response = self.http.request(
                method, f"{self.base}{path}", allow_redirects=False, timeout=120, **kwargs
            )
        except requests.RequestException as error:
            phase.record(action, 0, (time.perf_counter() - began) * 1000)
            phase.outcome("error", f"{action}: {error!r}"[:200])
            return None
        phase.record(action, response.status_code, (time.perf_counter() - began) * 1000)
        if response.status_code >= 500:
            phase.outcome("error", f"{action} {response.status_code}")
        return response

    def _choose(self) -> tuple[int, int] | None:
        common = [p for p in self.common if p not in self.full]
        own = [p for p in self.own if p not in self.full]
        if not common and not own:
            return None
        # Three times out of four every session aims at the same earliest free common plages.
        aim = common[:3] if common and (self.rng.random() < 0.75 or not own) else own
        plage_id = self.rng.choice(aim)
        free = [a for a in self.agent_ids if (plage_id, a) not in self.taken]
        if not free:
            self.full.add(plage_id)
            return self._choose()
        return plage_id, self.rng.choice(free)

    def actions(self, phase: Phase) -> Any:
        """A generator: each ``next()`` runs one user action (one page or one form post)."""
        while True:
            self._timed(phase, "planning GET", "GET", PLANNING)
            # The page shows the free units: the plages found full by anyone are skipped.
            with phase.lock:
                self.full |= FOUND_FULL
            yield
            chosen = self._choose()
            if chosen is None:
                phase.outcome("nothing left to book")
                return
            plage_id, agent_id = chosen
            path = f"/portail/consultations/plage/{plage_id}/reserver"
            form = self._timed(phase, "form GET", "GET", path)
            if form is not None and form.status_code == 200:
                self.csrf = _csrf(form.text) or self.csrf
            yield
            booked = self._timed(
                phase,
                "booking POST",
                "POST",
                path,
                data={
                    "csrf_token": self.csrf,
                    "agent_id": str(agent_id),
                    "visit_type": "periodique",
                    "comment": "",
                    "confirm": "1",
                },
            )
            if booked is None:
                continue
            location = booked.headers.get("Location", "")
            text = html.unescape(booked.text)
            if booked.status_code == 302 and "/rendez-vous/" in location:
                phase.outcome("booked")
                self.taken.add((plage_id, agent_id))
                # The browser follows the redirect at once (no think time).
                self._timed(phase, "appointment GET", "GET", location.replace(self.base, ""))
            elif booked.status_code == 200 and FULL in text:
                phase.outcome("full")
                self.full.add(plage_id)
                with phase.lock:
                    FOUND_FULL.add(plage_id)
            elif booked.status_code == 200 and "a déjà un rendez-vous sur cette plage" in text:
                phase.outcome("agent already on the plage")
                self.taken.add((plage_id, agent_id))
            elif booked.status_code < 500:
                message = [
                    m.strip()
                    for m in re.findall(
                        r'class="[^"]*(?:help-block|alert)[^"]*"[^>]*>([^<]*)', text
                    )
                    if m.strip()
                ]
                phase.outcome(
                    "refused (other)",
                    f"POST {booked.status_code} {location} {message[:3]}"[:240],
                )
                self.full.add(plage_id)
            yield


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    return (found.group(1) or found.group(2)) if found else ""


def run_phase(phase: Phase, sessions: list[Employer], duration: float, think: float) -> float:
    """Every session in its own thread; ``think`` = 0 is the closed loop."""
    barrier = threading.Barrier(len(sessions) + 1)
    box = [0.0]

    def drive(session: Employer, offset: float) -> None:
        steps = session.actions(phase)
        barrier.wait()
        deadline = box[0] + duration
        next_at = box[0] + offset
        while True:
            now = time.monotonic()
            if now >= deadline:
                return
            if think and next_at > now:
                time.sleep(min(next_at - now, deadline - now))
                if time.monotonic() >= deadline:
                    return
            elif think and now - next_at > 0.05:
                with phase.lock:
                    phase.late += 1
            began = time.monotonic()
            try:
                next(steps)
            except StopIteration:
                return
            # Open loop: the next action is due one think time after this one was due (or
            # started, when it started late), whatever the answer time.
            next_at = max(next_at, began) + think

    threads = [
        threading.Thread(target=drive, args=(session, (index / len(sessions)) * think), daemon=True)
        for index, session in enumerate(sessions)
    ]
    for thread in threads:
        thread.start()
    box[0] = time.monotonic()
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join(timeout=duration + 300)
    return time.perf_counter() - started


def report(phase: Phase, elapsed: float, load_before: str, cpu: float) -> None:
    print(f"\n== {phase.name}: {elapsed:.1f} s; before: {load_before}; after: {load()}")
    print(
        f"   gunicorn workers' CPU {cpu:.1f} s = {cpu * 1000 / max(phase.actions, 1):.1f} ms "
        "per request (all actions; less sensitive to the machine's load than the latencies)"
    )
    print(f"   {'action':<16} {'count':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}")
    for action in ("booking POST", "planning GET", "form GET", "appointment GET"):
        values = phase.samples.get(action, [])
        if not values:
            continue
        print(
            f"   {action:<16} {len(values):>6} {percentile(values, 0.50):7.1f}ms "
            f"{percentile(values, 0.95):7.1f}ms {percentile(values, 0.99):7.1f}ms "
            f"{max(values):7.1f}ms"
        )
    print(
        f"   requests {phase.actions} = {phase.actions / elapsed:.1f} req/s; bookings "
        f"{phase.outcomes.get('booked', 0)} = {phase.outcomes.get('booked', 0) / elapsed:.1f}/s; "
        f"late action starts (answer slower than the think time) {phase.late}"
    )
    unexpected = {
        key: count
        for key, count in sorted(phase.statuses.items())
        if key
        not in {
            "planning GET 200",
            "form GET 200",
            "booking POST 302",
            "booking POST 200",
            "appointment GET 200",
        }
    }
    print(
        f"   outcomes {dict(sorted(phase.outcomes.items()))}; unexpected statuses {unexpected or 0}"
    )
    for example in phase.examples[:5]:
        print(f"     e.g. {example}")


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def visible_plages(world: World, collectivities: int) -> dict[str, list[int]]:
    """Plage ids each account may book, as ``booking_load.seed`` creates them: even indexes are
    reserved (for collectivity (index // 2) % N, positive here), odd ones common (negative)."""
    visible: dict[str, list[int]] = {name: [] for name in world.usernames}
    for index, plage_id in enumerate(world.plage_ids):
        if index % 2 == 0:
            visible[world.usernames[(index // 2) % collectivities]].append(plage_id)
        else:
            for name in world.usernames:
                visible[name].append(-plage_id)
    return visible


def _interrupted(*_: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--collectivities", type=int, default=20)
    parser.add_argument("--agents", type=int, default=40, help="agents per collectivity")
    parser.add_argument("--plages", type=int, default=400)
    parser.add_argument("--doctors", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--think", type=float, default=1.0, help="seconds between actions")
    parser.add_argument("--duration", type=float, default=60.0, help="open-loop seconds")
    parser.add_argument("--closed-duration", type=float, default=30.0, help="0: no closed loop")
    args = parser.parse_args()

    ensure_database(args.database_url)
    os.environ["BENCH_DATABASE_URL"] = args.database_url
    from benchmarks._common import fresh_app

    print(f"start: {load()}")
    began = time.perf_counter()
    app = fresh_app()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    world = seed(app, args.collectivities, args.plages, args.agents, args.doctors)
    print(
        f"database {url.split('@')[-1]}: seeded in {time.perf_counter() - began:.1f} s: "
        f"{args.collectivities} collectivities x {args.agents} agents, {args.plages} plages "
        f"({args.plages * CAPACITY} units) from {world.first_day:%d/%m/%Y} to "
        f"{world.last_day:%d/%m/%Y}"
    )

    workdir = Path(tempfile.mkdtemp(prefix="load-booking-"))
    process, base = start_gunicorn(url, args.workers, workdir)
    atexit.register(stop_gunicorn, process)
    # SIGTERM ends like Ctrl-C: the finally below (and atexit) stop gunicorn.
    signal.signal(signal.SIGTERM, _interrupted)
    booked = 0
    try:
        visible = visible_plages(world, args.collectivities)
        sessions = [
            Employer(base, name, world.agents[name], visible[name], index)
            for index, name in enumerate(world.usernames)
        ]
        for session in sessions:
            session.login()
        warm = Phase("warm-up")
        for session in sessions[: args.workers * 2]:  # templates compiled in every worker
            session._timed(warm, "planning GET", "GET", PLANNING)
        print(f"gunicorn {args.workers} sync workers; {len(sessions)} logged-in employer sessions")

        phases = [(Phase(f"open loop, {args.think:g} s think time"), args.duration, args.think)]
        if args.closed_duration > 0:
            phases.append((Phase("closed loop, no think time"), args.closed_duration, 0.0))
        for phase, duration, think in phases:
            before, cpu = load(), workers_cpu(process.pid)
            elapsed = run_phase(phase, sessions, duration, think)
            report(phase, elapsed, before, workers_cpu(process.pid) - cpu)
            booked += phase.outcomes.get("booked", 0)
            errors = phase.outcomes.get("error", 0) + phase.outcomes.get("refused (other)", 0)
            print(f"   errors {errors}")
    finally:
        stop_gunicorn(process)

    found = double_bookings(url)
    active = found.pop("active appointments")
    print(f"\nactive appointments in the database: {active} (bookings redirected: {booked})")
    for label, count in found.items():
        print(f"  {label:<52} {count}")
    problems = sum(found.values()) + (active != booked)
    print("double bookings: 0" if problems == 0 else f"DOUBLE BOOKINGS OR MISMATCH: {problems}")
    print(f"end: {load()}")
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
