"""Two real gunicorn nodes over one PostgreSQL database and one Redis (issue 19).

The nodes are set up as docs/deployment.md §12 says, command for command: the documented
environment (one SECRET_KEY, DATABASE_URL, REDIS_URL, shared UPLOAD_DIR and OUTBOX_DIR,
TRUSTED_PROXIES=1...), ``flask db upgrade``, ``flask seed-roles``, ``flask seed-reference``, then
``.venv/bin/gunicorn -c gunicorn.conf.py`` (the configuration file of §3, read from the guide
itself) on two ports, ``run:app`` (the production entry point), and the load balancer's wait
for ``/readyz``. Every scenario goes over real HTTP. The client address of each scenario is an
``X-Forwarded-For`` of its own (what the load balancer sends): the login throttling counts per
client, in Redis, across both nodes.

The scenario is PostgreSQL + Redis whatever the suite's database: on the SQLite pass the nodes
run on a database created for them on the CI's PostgreSQL (127.0.0.1:5432), on the PostgreSQL
pass beside the test database (``<test database>_nodes``); it is dropped afterwards. Under
CI=true a PostgreSQL or Redis that does not answer fails the module; elsewhere it is skipped,
saying why. Each pytest-xdist worker has its own ports, database and Redis database number.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from tests import factories
from tests.util import (
    redis_answers,
    redis_db_number,
    require_redis_or_skip,
    scratch_postgres_database,
)

# Committing: the suite's session is never bound to a test transaction while the module builds
# its own application over the nodes' database.
pytestmark = pytest.mark.committing

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the project's .venv/bin
GUIDE = ROOT / "docs" / "deployment.md"
TIMEOUT = 30
FULL = "Plus aucune place n'est disponible sur cette plage : choisissez une autre plage."
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# docs/deployment.md §12, as written there ({port} and {run} filled in).
SETUP_COMMANDS = ["flask db upgrade", "flask seed-roles", "flask seed-reference"]
GUNICORN_COMMAND = (
    ".venv/bin/gunicorn -c {conf} --bind 127.0.0.1:{port} --workers 2"
    " --control-socket {run}/gunicorn.ctl run:app"
)
# The settings of §2 the nodes get (the same values on both, but the per-process directories).
DOCUMENTED_SETTINGS = [
    "DATABASE_URL",
    "SECRET_KEY",
    "PUBLIC_URL",
    "TRUSTED_PROXIES",
    "REDIS_URL",
    "UPLOAD_DIR",
    "OUTBOX_DIR",
    "LOG_FORMAT",
    "METRICS_TOKEN",
    "PROMETHEUS_MULTIPROC_DIR",
    "SCHEDULER_ENABLED",
]
# Settings of the developer's shell that would change what the nodes do.
CLEARED = {
    "TEST_DATABASE_URL",
    "RATELIMIT_STORAGE_URI",
    "SESSION_COOKIE_SECURE",
    "MAIL_SERVER",
    "HOST",
    "PORT",
    "CHORUS_API_URL",
    "CHORUS_API_TOKEN",
}


def documented_gunicorn_conf() -> str:
    """The gunicorn.conf.py of docs/deployment.md §3, verbatim."""
    found = re.search(
        r"`/srv/medprev/gunicorn\.conf\.py`:\s*```python\n(.*?)```", GUIDE.read_text(), re.S
    )
    assert found, "docs/deployment.md §3 shows no gunicorn.conf.py"
    return found.group(1)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _client_address() -> str:
    """A client address of its own (benchmarking range 198.18.0.0/15) for one scenario."""
    return f"198.{random.randint(18, 19)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


# ----------------------------------------------------------------------------------------------
# The cluster
# ----------------------------------------------------------------------------------------------


@dataclass
class Node:
    name: str
    base: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Cluster:
    a: Node
    b: Node
    url: str  # the nodes' database (SQLAlchemy URL)
    shared: Path
    engine: Engine
    world: dict[str, Any]
    schedulers: list[subprocess.Popen[str]]

    @property
    def nodes(self) -> list[Node]:
        return [self.a, self.b]


def _run_documented(command: str, env: dict[str, str]) -> None:
    completed = subprocess.run(
        [str(BIN / command.split()[0]), *command.split()[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, f"{command}:\n{completed.stdout}\n{completed.stderr}"


def _start_node(name: str, port: int, env: dict[str, str], workdir: Path) -> Node:
    run_dir = workdir / name
    conf = workdir / "gunicorn.conf.py"
    command = GUNICORN_COMMAND.format(conf=conf, port=port, run=run_dir).split()
    command[0] = str(BIN / "gunicorn")
    log = run_dir / "gunicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the finalizer kills it whole
        )
    return Node(name, f"http://127.0.0.1:{port}", env, process, log)


def _stop(*processes: subprocess.Popen[Any]) -> None:
    """Stop each process and its children (its process group): SIGINT first (gunicorn's quick
    shutdown), SIGKILL after 10 s."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_ready(node: Node, deadline: float) -> None:
    """What the load balancer does before sending traffic: wait for /readyz to answer 200."""
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            pytest.fail(f"gunicorn {node.name} exited:\n{node.log.read_text()[-3000:]}")
        try:
            if requests.get(f"{node.base}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn {node.name} not ready in time:\n{node.log.read_text()[-3000:]}")


def _seed_world(url: str, shared: Path) -> dict[str, Any]:
    """The accounts, plages and staged changes of the scenarios, written in the nodes' database
    by an application of this process (the factories of the suite)."""
    from app import create_app, roles
    from app.extensions import db
    from app.planning.models import Plage, PlageNature, PlageState
    from config import TestConfig
    from tests.integration.test_jobs import _collectivity, _staged
    from tests.integration.test_workforce import _contract, _position
    from tests.isolation import make_agent

    seeder = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url,
        OUTBOX_DIR=str(shared / "outbox"),
        UPLOAD_DIR=str(shared / "uploads"),
    )
    try:
        with seeder.app_context():
            session = db.session
            world: dict[str, Any] = {}
            for key in ("served", "locked", "revoked"):
                world[key] = factories.make_user(
                    session, roles.SECRETARIAT, username=f"secretariat.{key}"
                ).username
            factories.make_collectivity(session, name="Commune Partagée")
            commune = factories.make_collectivity(session, name="Commune des Deux Nœuds")
            world["employer"] = factories.make_user(
                session, roles.EMPLOYER_PRIMARY, collectivity=commune, username="rh.deuxnoeuds"
            ).username
            office = factories.make_office(session, served=[commune])
            doctor = factories.make_professional(session)
            position = _position(session, commune, "AGENT POLYVALENT", "684a")
            agents = []
            for index in range(50):
                agent = make_agent(session, commune, birth_name=f"NOEUD{index:02d}")
                _contract(session, agent, position)
                agents.append(agent.id)
            world["agents"] = agents
            start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=10), dt.time(9, 0))
            plages = []
            for hour in (0, 2):  # two plages of three 20-minute units
                plage = Plage(
                    office_id=office.id,
                    professional_id=doctor.id,
                    starts_at=start + dt.timedelta(hours=hour),
                    ends_at=start + dt.timedelta(hours=hour, minutes=60),
                    appointment_minutes=20,
                    nature=PlageNature.medecin,
                    state=PlageState.reservee,
                    reserved_for_id=commune.id,
                )
                session.add(plage)
                plages.append(plage)
            session.flush()
            world["plages"] = [plage.id for plage in plages]
            synced = _collectivity(session, "Commune Synchronisée", "rh@synchronisee.fr")
            world["staged"] = len(_staged(session, synced, 200))
            session.commit()
            db.session.remove()
        return world
    finally:
        with seeder.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def cluster(app: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not redis_answers():
        require_redis_or_skip()
    workdir = tmp_path_factory.mktemp("two-nodes")
    shared = workdir / "shared"  # the NFS mount of §10
    for directory in (shared / "uploads", shared / "outbox", workdir / "a", workdir / "b"):
        directory.mkdir(parents=True)
    (workdir / "gunicorn.conf.py").write_text(documented_gunicorn_conf())
    with scratch_postgres_database(app.config["SQLALCHEMY_DATABASE_URI"], "nodes") as url:
        port_a, port_b = _free_ports(2)
        common = {key: value for key, value in os.environ.items() if key not in CLEARED}
        common.update(
            FLASK_APP="run.py",
            # The libpq form of the guide; config.py adds the psycopg driver.
            DATABASE_URL=url.replace("postgresql+psycopg://", "postgresql://", 1),
            SECRET_KEY=secrets.token_hex(32),
            PUBLIC_URL=f"http://127.0.0.1:{port_a}",  # the load balancer's address
            TRUSTED_PROXIES="1",
            REDIS_URL=f"redis://127.0.0.1:6379/{redis_db_number()}",
            UPLOAD_DIR=str(shared / "uploads"),
            OUTBOX_DIR=str(shared / "outbox"),
            LOG_FORMAT="json",
            METRICS_TOKEN=secrets.token_hex(16),
            SCHEDULER_ENABLED="false",
        )

        def node_env(name: str) -> dict[str, str]:
            return {**common, "PROMETHEUS_MULTIPROC_DIR": str(workdir / name / "metrics")}

        for command in SETUP_COMMANDS:
            _run_documented(command, common)
        a = _start_node("a", port_a, node_env("a"), workdir)
        b = _start_node("b", port_b, node_env("b"), workdir)
        # Two scheduler processes configured as node A, one as node B: they load the app now
        # and wait for the instant to fire (test_three_schedulers_on_two_nodes_run_a_job_once).
        schedulers = [_start_scheduler(node.env) for node in (a, a, b)]
        engine = create_engine(url)
        try:
            world = _seed_world(url, shared)  # while the nodes start
            deadline = time.monotonic() + 90
            _wait_ready(a, deadline)
            _wait_ready(b, deadline)
            yield Cluster(a, b, url, shared, engine, world, schedulers)
        finally:
            _stop(a.process, b.process, *schedulers)
            for process in schedulers:
                for stream in (process.stdin, process.stdout, process.stderr):
                    if stream is not None:
                        stream.close()
            engine.dispose()


# ----------------------------------------------------------------------------------------------
# HTTP clients
# ----------------------------------------------------------------------------------------------


class Browser:
    """A browser behind the load balancer: its own cookies and client address."""

    def __init__(self, address: str | None = None) -> None:
        self.http = requests.Session()
        self.http.headers["X-Forwarded-For"] = address or _client_address()

    def close(self) -> None:
        self.http.close()

    def login(self, node: Node, username: str, password: str = factories.PASSWORD) -> Any:
        page = self.http.get(f"{node.base}/login/", timeout=TIMEOUT)
        token = CSRF_RE.search(page.text)
        assert token, f"no CSRF token on {node.name}'s login page ({page.status_code})"
        return self.http.post(
            f"{node.base}/login/",
            data={"username": username, "password": password, "csrf_token": token.group(1)},
            allow_redirects=False,
            timeout=TIMEOUT,
        )

    def get(self, node: Node, path: str) -> Any:
        return self.http.get(f"{node.base}{path}", allow_redirects=False, timeout=TIMEOUT)


@pytest.fixture
def browsers() -> Iterator[Any]:
    opened: list[Browser] = []

    def _open(address: str | None = None) -> Browser:
        browser = Browser(address)
        opened.append(browser)
        return browser

    yield _open
    for browser in opened:
        browser.close()


def api_login(
    node: Node, username: str, password: str = factories.PASSWORD, address: str | None = None
) -> Any:
    return requests.post(
        f"{node.base}/api/v1/security/login",
        json={"username": username, "password": password, "provider": "db"},
        headers={"X-Forwarded-For": address or _client_address()},
        timeout=TIMEOUT,
    )


def api_get(node: Node, path: str, token: str) -> Any:
    return requests.get(
        f"{node.base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    )


def _signed_in(response: Any) -> bool:
    return response.status_code == 302 and "/login" not in response.headers.get("Location", "")


# ----------------------------------------------------------------------------------------------
# Scenarios
# ----------------------------------------------------------------------------------------------


def test_the_deployment_guide_shows_the_commands_and_settings_used_here():
    guide = GUIDE.read_text()
    for command in SETUP_COMMANDS:
        assert f".venv/bin/{command}" in guide, command
    for port, node in ((8101, "a"), (8102, "b")):
        shown = GUNICORN_COMMAND.format(
            conf="/tmp/medprev/gunicorn.conf.py", port=port, run=f"/tmp/medprev/{node}"
        )
        assert shown in guide, shown
    for setting in DOCUMENTED_SETTINGS:
        assert f"`{setting}`" in guide, setting


def test_a_user_signed_in_on_node_a_is_served_on_node_b(cluster, browsers):
    on_a = browsers()
    assert _signed_in(on_a.login(cluster.a, cluster.world["served"]))
    on_b = browsers()
    on_b.http.cookies.set("session", on_a.http.cookies.get("session"))
    page = on_b.get(cluster.b, "/effectif/")
    assert page.status_code == 200, "node B reads node A's session"
    assert "Effectif" in page.text
    stranger = browsers()
    assert stranger.get(cluster.b, "/effectif/").status_code == 302, "no cookie: to the login"


def _lock_state(cluster: Cluster, username: str) -> tuple[int, Any]:
    with cluster.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT ab_user.fail_login_count, account_security.locked_until FROM ab_user"
                " LEFT JOIN account_security ON account_security.user_id = ab_user.id"
                " WHERE ab_user.username = :username"
            ),
            {"username": username},
        ).one()
    return int(row[0] or 0), row[1]


def test_five_failed_logins_spread_over_both_nodes_lock_the_account(cluster, browsers):
    username = cluster.world["locked"]
    browser = browsers()
    for attempt in range(5):
        node = cluster.nodes[attempt % 2]
        if attempt % 2:  # node B: the API
            assert api_login(node, username, "Mauvais-Pass1").status_code == 401
        else:  # node A: the login form
            refused = browser.login(node, username, "Mauvais-Pass1")
            assert refused.status_code == 302 and "/login" in refused.headers["Location"]
        if attempt == 3:
            assert _lock_state(cluster, username) == (4, None), "four failures, two per node"
    failures, locked_until = _lock_state(cluster, username)
    assert locked_until is not None, "the fifth failure, on the other node, locks the account"
    # The right password is now refused on both nodes, by the form and by the API.
    for node in cluster.nodes:
        assert api_login(node, username).status_code == 401
        fresh = browsers()
        assert not _signed_in(fresh.login(node, username))
        assert fresh.get(node, "/effectif/").status_code == 302
        assert "la connexion est suspendue" in fresh.get(node, "/login/").text


def test_a_token_revoked_on_node_a_is_refused_on_node_b(cluster, browsers):
    username = cluster.world["revoked"]
    token = api_login(cluster.a, username).json()["access_token"]
    assert api_get(cluster.b, "/api/v1/collectivity/", token).status_code == 200
    on_a = browsers()
    assert _signed_in(on_a.login(cluster.a, username))
    on_b = browsers()
    on_b.http.cookies.set("session", on_a.http.cookies.get("session"))
    assert on_b.get(cluster.b, "/effectif/").status_code == 200

    on_a.get(cluster.a, "/logout/")  # the logout on A rotates the account's security stamp

    refused = api_get(cluster.b, "/api/v1/collectivity/", token)
    assert refused.status_code == 401
    assert "reconnectez-vous" in refused.json()["message"]
    assert api_get(cluster.a, "/api/v1/collectivity/", token).status_code == 401
    assert on_b.get(cluster.b, "/effectif/").status_code == 302, "the copied session died too"


def test_the_login_throttling_of_one_client_is_counted_over_both_nodes(cluster):
    address = _client_address()
    statuses = [
        api_login(cluster.nodes[attempt % 2], "inconnu", "Mauvais-Pass1", address).status_code
        for attempt in range(11)
    ]
    assert statuses[:10] == [401] * 10, statuses  # AUTH_RATE_LIMIT: 10 per 20 seconds
    assert statuses[10] == 429, "the eleventh attempt is refused, on whichever node"
    other = api_login(cluster.a, "inconnu", "Mauvais-Pass1", _client_address())
    assert other.status_code == 401, "another client is not throttled"


def test_fifty_concurrent_bookings_over_both_nodes_never_book_a_unit_twice(cluster):
    world = cluster.world
    tokens = {
        node.name: api_login(node, world["employer"]).json()["access_token"]
        for node in cluster.nodes
    }
    barrier = threading.Barrier(len(world["agents"]))
    results: list[tuple[str, int, int, dict[str, Any]]] = []
    lock = threading.Lock()

    def book(index: int, agent_id: int) -> None:
        node = cluster.nodes[index % 2]
        plage_id = world["plages"][(index // 2) % 2]  # each plage is asked on both nodes
        barrier.wait()
        response = requests.post(
            f"{node.base}/api/v1/plage/{plage_id}/book",
            json={"agent_id": agent_id, "visit_type": "periodique"},
            headers={"Authorization": f"Bearer {tokens[node.name]}"},
            timeout=120,
        )
        with lock:
            results.append((node.name, plage_id, response.status_code, response.json()))

    threads = [
        threading.Thread(target=book, args=(index, agent_id))
        for index, agent_id in enumerate(world["agents"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    assert len(results) == 50
    assert {node for node, *_ in results} == {"a", "b"}
    statuses = sorted(status for _, _, status, _ in results)
    assert statuses.count(201) == 6, statuses  # 2 plages x 3 units
    assert statuses.count(409) == 44, statuses
    assert {body["message"] for *_, status, body in results if status == 409} == {FULL}
    for plage_id in world["plages"]:
        assert [s for _, p, s, _ in results if p == plage_id].count(201) == 3
    with cluster.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT plage_id, slot_index, agent_id FROM appointment"
                " WHERE plage_id = ANY(:ids) ORDER BY plage_id, slot_index"
            ),
            {"ids": list(world["plages"])},
        ).all()
    for plage_id in world["plages"]:
        held = [row for row in rows if row[0] == plage_id]
        assert [row[1] for row in held] == [0, 1, 2], "each unit once, none beyond capacity"
        assert len({row[2] for row in held}) == 3


# Three schedulers (two processes configured as node A, one as node B): each is APScheduler
# with the scheduler's own fire function (app/scheduling/scheduler.py) on the production
# entry point, firing `sync` at the same instant.
SCHEDULER = r"""
import datetime as dt, json, sys
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.date import DateTrigger

from run import app
from app.core.clock import PARIS
from app.scheduling import scheduler as scheduling, services

real = services.claim_and_run

def recorded(*args, **kwargs):
    outcome = real(*args, **kwargs)
    print(json.dumps({"ran": outcome.ran, "message": outcome.message}), flush=True)
    return outcome

services.claim_and_run = recorded
print("prêt", flush=True)
at = dt.datetime.fromtimestamp(float(sys.stdin.readline()), PARIS)
scheduler = BlockingScheduler(timezone=PARIS, job_defaults=scheduling.JOB_DEFAULTS)
trigger = DateTrigger(run_date=at)
scheduler.add_job(scheduling.fire, trigger, args=(app, "sync", trigger))
scheduler.add_listener(
    lambda event: scheduler.shutdown(wait=False),
    EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED,
)
scheduler.start()
"""


def _start_scheduler(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SCHEDULER],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_three_schedulers_on_two_nodes_run_a_job_once(cluster):
    processes = cluster.schedulers
    for process in processes:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line == "prêt", f"{line}\n{process.stderr.read() if process.stderr else ''}"
    at = time.time() + 1.0  # the same instant for the three
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(f"{at}\n")
        process.stdin.flush()
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=90)
        assert process.returncode == 0, err
        outputs.append((out, err))

    outcomes = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert [o["ran"] for o in outcomes].count(True) == 1, outcomes
    assert all("déjà exécutée" in o["message"] for o in outcomes if not o["ran"]), outcomes
    with cluster.engine.connect() as connection:
        runs = connection.execute(
            text("SELECT status, trigger FROM job_run WHERE job = 'sync'")
        ).all()
        applied = connection.execute(
            text("SELECT count(*) FROM staged_agent_change WHERE status = 'appliquee'")
        ).scalar()
    assert [(str(status), str(trigger)) for status, trigger in runs] == [
        ("reussi", "planificateur")
    ]
    assert applied == cluster.world["staged"], "each change applied once"
    mails = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in (cluster.shared / "outbox").glob("*.eml")
    ]
    digests = [mail for mail in mails if mail["To"] == "rh@synchronisee.fr"]
    assert len(digests) == 1, "one digest in the shared outbox"
    assert str(digests[0]["Subject"]).startswith("Synchronisation du ")


def _terminate_and_rename(cluster: Cluster, old: str, new: str) -> None:
    """Cut the nodes' connections and rename their database (retried while a node reconnects)."""
    admin = create_engine(
        make_url(cluster.url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            for _ in range(50):
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": old},
                )
                try:
                    connection.execute(text(f'ALTER DATABASE "{old}" RENAME TO "{new}"'))
                    return
                except Exception:  # still accessed by other users: a node reconnected
                    time.sleep(0.05)
        pytest.fail(f"could not rename {old}")
    finally:
        admin.dispose()


def test_readyz_reflects_a_stopped_database_at_the_next_request(cluster):
    name = make_url(cluster.url).database
    assert name
    for node in cluster.nodes:
        assert requests.get(f"{node.base}/readyz", timeout=TIMEOUT).status_code == 200
    cluster.engine.dispose()
    _terminate_and_rename(cluster, name, f"{name}_off")
    try:
        for node in cluster.nodes:
            down = requests.get(f"{node.base}/readyz", timeout=TIMEOUT)
            assert (down.status_code, down.text) == (503, "not ready\n"), node.name
            assert requests.get(f"{node.base}/healthz", timeout=TIMEOUT).status_code == 200
    finally:
        _terminate_and_rename(cluster, f"{name}_off", name)
    for node in cluster.nodes:
        assert requests.get(f"{node.base}/readyz", timeout=TIMEOUT).status_code == 200
