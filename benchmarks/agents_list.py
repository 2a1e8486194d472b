"""Loads N agents over C collectivities and reports the « Effectif » list times and query counts.

    .venv/bin/python benchmarks/agents_list.py [--agents 2000 200000] [--collectivities 40]
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/agents_list.py

Each agent has one running contract on one of a few positions of his collectivity. Rows are
written with Core executemany inserts in chunks (no ORM objects, no audit). Measured through the
Flask test client (server time, in process): the staff list « En activité », a staff name search,
and the same two pages for the primary account of one collectivity. With several --agents
sizes the data grows between measurements, which shows whether the query count stays constant.
--explain prints, for each page, its SQL statements by duration and EXPLAIN ANALYZE of the
slowest (PostgreSQL).

Targets: constant query count, median under 150 ms at 200 000 agents.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Counter, collectivities_with_positions, fresh_app, measure  # noqa: E402
from benchmarks.import_agents import person  # noqa: E402

CHUNK = 10_000
POSITIONS = [
    ("372d", "Agent d'entretien"),
    ("434b", "Éducatrice de jeunes enfants"),
    ("631a", "Jardinier"),
    ("545a", "Adjoint administratif"),
    ("636d", "Cuisinier"),
]
SEARCH = "DUP"


def load(app: Any, start: int, stop: int, collectivity_ids: list[int], rng: random.Random) -> float:
    """Insert agents ``start`` to ``stop - 1`` (explicit ids) and one running contract each."""
    from sqlalchemy import insert, select

    from app.core.types import utcnow
    from app.extensions import db
    from app.referential.models import Civility, ContractType
    from app.workforce.models import Agent, Contract, WorkPosition, refresh_list_keys

    began = time.perf_counter()
    with app.app_context():
        positions: dict[int, list[int]] = {}
        for position_id, collectivity_id in db.session.execute(
            select(WorkPosition.id, WorkPosition.collectivity_id)
        ):
            positions.setdefault(collectivity_id, []).append(position_id)
        contract_types = list(db.session.scalars(select(ContractType.id)))
        now = utcnow()
        with db.engine.begin() as connection:
            for chunk_start in range(start, stop, CHUNK):
                agents, contracts = [], []
                for index in range(chunk_start, min(chunk_start + CHUNK, stop)):
                    civility, first, last = person(index)
                    collectivity_id = rng.choice(collectivity_ids)
                    birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(40 * 365))
                    married = rng.random() < 0.2
                    agents.append(
                        {
                            "id": index + 1,
                            "collectivity_id": collectivity_id,
                            "civility": Civility.madame
                            if civility == "Madame"
                            else Civility.monsieur,
                            "first_name": first,
                            "birth_name": last.upper(),
                            "usage_name": person(index * 7 + 3)[2].upper() if married else None,
                            "birth_date": birth,
                            "ins": None,
                            "validated_at": now,
                            "created_by_employer": False,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                    contracts.append(
                        {
                            "id": index + 1,
                            "collectivity_id": collectivity_id,
                            "agent_id": index + 1,
                            "work_position_id": rng.choice(positions[collectivity_id]),
                            "contract_type_id": rng.choice(contract_types),
                            "start_date": dt.date(2010, 1, 1)
                            + dt.timedelta(days=rng.randrange(14 * 365)),
                            "end_date": None,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                connection.execute(insert(Agent.__table__), agents)
                connection.execute(insert(Contract.__table__), contracts)
                # The list's sort keys, as the nightly sync sets them after a Core import.
                refresh_list_keys(connection, [row["id"] for row in agents])
            if connection.dialect.name == "postgresql":
                for table in ("agent", "contract"):
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
        with db.engine.connect() as connection:
            # What autovacuum would do soon after such a load: fresh planner statistics.
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("ANALYZE agent")
                connection.exec_driver_sql("ANALYZE contract")
                connection.commit()
            else:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
    return time.perf_counter() - began


class Recorder:
    """Every SQL statement of a block, with its parameters and duration."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.engine = engine
        self.statements: list[tuple[float, str, Any]] = []
        self._started: dict[int, float] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        elapsed = (time.perf_counter() - self._started.pop(id(cursor))) * 1000
        self.statements.append((elapsed, statement, parameters))

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def explain(app: Any, client: Any, url: str) -> None:
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    recorder = Recorder(engine)
    client.get(url)
    recorder.close()
    print(f"    slowest of the {len(recorder.statements)} statements of {url}:")
    for elapsed, statement, _ in sorted(recorder.statements, key=lambda s: -s[0])[:3]:
        print(f"      {elapsed:8.1f} ms  {' '.join(statement.split())[:150]}")
    if engine.dialect.name != "postgresql":
        return
    elapsed, statement, parameters = max(recorder.statements, key=lambda s: s[0])
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
        ).all()
        connection.rollback()
    print(f"    EXPLAIN ANALYZE of the slowest ({elapsed:.1f} ms):")
    print(f"      {' '.join(statement.split())}")
    print(f"      parameters: {parameters}")
    for (line,) in plan:
        print(f"      | {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[200_000])
    parser.add_argument("--collectivities", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--sorts", action="store_true", help="also the staff list sorted by each sortable column"
    )
    args = parser.parse_args()

    from sqlalchemy import event

    from app import roles
    from app.extensions import db
    from tests.factories import PASSWORD, make_user

    app = fresh_app()
    rng = random.Random(1)
    with app.app_context():
        collectivities = collectivities_with_positions(
            db.session, args.collectivities, POSITIONS, 3, rng
        )
        make_user(db.session, roles.SECRETARIAT, username="bench-staff")
        make_user(
            db.session,
            roles.EMPLOYER_PRIMARY,
            collectivity=collectivities[0],
            username="bench-primary",
        )
        collectivity_ids = [c.id for c in collectivities]
        db.session.commit()
        engine = db.engine

    staff = app.test_client()
    staff.post("/login/", data={"username": "bench-staff", "password": PASSWORD})
    employer = app.test_client()
    employer.post("/login/", data={"username": "bench-primary", "password": PASSWORD})
    pages = [
        ("staff", staff, "/effectif/?onglet=actifs"),
        ("staff", staff, f"/effectif/?onglet=actifs&nom={SEARCH}"),
        ("employer", employer, "/effectif/?onglet=actifs"),
        ("employer", employer, f"/effectif/?onglet=actifs&nom={SEARCH}"),
    ]
    if args.sorts:
        for sort in ("naissance", "poste", "debut"):
            for order in ("", "&ordre=desc"):
                pages.append(("staff", staff, f"/effectif/?onglet=actifs&tri={sort}{order}"))
        pages.append(("employer", employer, "/effectif/?onglet=actifs&tri=poste"))
        pages.append(("employer", employer, "/effectif/?onglet=actifs&tri=debut"))

    print(f"database: {engine.dialect.name}, {args.collectivities} collectivities")
    loaded = 0
    for target in sorted(args.agents):
        seconds = load(app, loaded, target, collectivity_ids, rng)
        loaded = target
        print(f"loaded {target} agents and contracts ({seconds:.1f} s)")
        print(f"{'agents':>8}  {'who':<8} {'page':<36} {'queries':>7} {'median':>9} {'p95':>9}")
        for who, client, url in pages:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            assert "Aucun agent." not in response.get_data(as_text=True), url
            counter = Counter(engine)
            client.get(url)
            queries = counter.count
            event.remove(engine, "before_cursor_execute", counter._count)
            figures = measure(lambda client=client, url=url: client.get(url), args.repeat)
            print(
                f"{target:>8}  {who:<8} {url:<36} {queries:>7} "
                f"{figures['median_ms']:>6.1f} ms {figures['p95_ms']:>6.1f} ms"
            )
        if args.explain:
            for who, client, url in pages:
                print(f"  {who}:")
                explain(app, client, url)


if __name__ == "__main__":
    main()
