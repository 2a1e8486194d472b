"""The per-request floor: CPU time and SQL statements of four typical requests (issue 9).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/perf_p1 \\
        .venv/bin/python benchmarks/request_floor.py [--runs 15] [--agents 50] [--only sqlite]

For PostgreSQL (``DATABASE_URL``, emptied first) and SQLite (a temporary file), a fresh database
holds one collectivity with AGENTS agents (each with a running contract) and contacts, one office
and one bookable plage per run. The script then times, in-process with the test client:

- an employer booking POST (``/portail/consultations/plage/<id>/reserver``, confirmed);
- a staff list page (``/effectif/`` as the secretariat);
- an employer list page (``/portail/contacts/list/`` as the collectivity's primary account);
- an API list (``GET /api/v1/agent/`` with the primary account's token).

Each figure is the median over RUNS requests (after two warm-up requests) of the CPU time of the
process (``time.process_time``, so the database server's own time is not counted) and of the
number of SQL statements; the machine load (``os.getloadavg``) is printed beside them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import Counter, fresh_app  # noqa: E402

STAFF = "secretaire-bench"
EMPLOYER = "rh-bench"


def seed(app: Any, agents: int, plages: int) -> dict[str, Any]:
    from sqlalchemy import select

    from app import roles
    from app.extensions import db
    from app.planning.models import Plage, PlageNature, PlageState
    from app.referential.models import ContractType
    from app.workforce.models import Contract, WorkPosition
    from tests import factories
    from tests.isolation import make_agent

    with app.app_context():
        session = db.session
        session.info["skip_audit"] = True
        collectivity = factories.make_collectivity(session, name="Commune du banc")
        factories.make_user(
            session, roles.EMPLOYER_PRIMARY, collectivity=collectivity, username=EMPLOYER
        )
        factories.make_user(session, roles.SECRETARIAT, username=STAFF)
        for _ in range(agents):
            factories.make_contact(session, collectivity)
        position = WorkPosition(collectivity_id=collectivity.id, pcs_code="684a")
        position.set_label("Agent polyvalent")
        session.add(position)
        session.flush()
        contract_type = session.scalar(select(ContractType).where(ContractType.code == "titulaire"))
        agent_ids = []
        for number in range(agents):
            agent = make_agent(session, collectivity, birth_name=f"BANC{number:04d}")
            session.add(
                Contract(
                    agent_id=agent.id,
                    collectivity_id=collectivity.id,
                    work_position_id=position.id,
                    contract_type_id=contract_type.id,
                    start_date=dt.date(2020, 1, 1),
                )
            )
            agent_ids.append(agent.id)
        office = factories.make_office(session, served=[collectivity], name="Cabinet du banc")
        professional = factories.make_professional(session)
        day = dt.date.today() + dt.timedelta(days=14)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        plage_ids = []
        for index in range(plages):
            starts = dt.datetime.combine(day, dt.time(8, 0)) + dt.timedelta(minutes=20 * index)
            plage = Plage(
                office_id=office.id,
                professional_id=professional.id,
                starts_at=starts,
                ends_at=starts + dt.timedelta(minutes=20),
                appointment_minutes=20,
                nature=PlageNature.medecin,
                state=PlageState.reservee,
                reserved_for_id=collectivity.id,
            )
            session.add(plage)
            session.flush()
            plage_ids.append(plage.id)
        session.commit()
        db.session.remove()
    return {"agents": agent_ids, "plages": plage_ids}


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run(label: str, runs: int, agents: int) -> list[tuple[str, float, float, str]]:
    from app.extensions import db
    from tests.factories import PASSWORD

    app = fresh_app()
    warm = 2
    world = seed(app, agents, runs + warm)
    with app.app_context():
        engine = db.engine
    counter = Counter(engine)

    staff = app.test_client()
    employer = app.test_client()
    for client, username in ((staff, STAFF), (employer, EMPLOYER)):
        response = client.post("/login/", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, (username, response.status_code)
    api = app.test_client()
    token = api.post(
        "/api/v1/security/login",
        json={"username": EMPLOYER, "password": PASSWORD, "provider": "db"},
    ).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    bookings = iter(zip(world["plages"], world["agents"], strict=False))

    def book() -> Any:
        plage_id, agent_id = next(bookings)
        return employer.post(
            f"/portail/consultations/plage/{plage_id}/reserver",
            data={"agent_id": agent_id, "visit_type": "periodique", "comment": "", "confirm": "1"},
        )

    requests: list[tuple[str, Callable[[], Any], int]] = [
        ("employer booking POST", book, 302),
        ("staff list /effectif/", lambda: staff.get("/effectif/"), 200),
        (
            "employer list /portail/contacts/list/",
            lambda: employer.get("/portail/contacts/list/"),
            200,
        ),
        ("API list /api/v1/agent/", lambda: api.get("/api/v1/agent/", headers=headers), 200),
    ]
    rows = []
    for name, call, expected in requests:
        cpu: list[float] = []
        statements: list[float] = []
        for index in range(runs + warm):
            before = counter.count
            start = time.process_time()
            response = call()
            elapsed = (time.process_time() - start) * 1000
            assert response.status_code == expected, (name, response.status_code)
            if index >= warm:
                cpu.append(elapsed)
                statements.append(counter.count - before)
        load = "/".join(f"{value:.2f}" for value in os.getloadavg())
        rows.append((name, _median(cpu), _median(statements), load))
    with app.app_context():
        db.engine.dispose()
    print(f"\n{label} ({runs} runs, {agents} agents)")
    print(f"{'request':42} {'CPU ms':>8} {'SQL':>5}  load 1/5/15 min")
    for name, cpu_ms, count, load in rows:
        print(f"{name:42} {cpu_ms:8.1f} {count:5.0f}  {load}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--only", choices=("postgresql", "sqlite"))
    args = parser.parse_args()
    postgres = os.environ.get("DATABASE_URL", "")
    if args.only != "sqlite":
        if postgres.startswith("postgres"):
            os.environ["BENCH_DATABASE_URL"] = postgres
            run("PostgreSQL", args.runs, args.agents)
        else:
            print("PostgreSQL skipped: DATABASE_URL is not a postgresql URL")
    if args.only != "postgresql":
        os.environ.pop("BENCH_DATABASE_URL", None)
        run("SQLite", args.runs, args.agents)


if __name__ == "__main__":
    main()
