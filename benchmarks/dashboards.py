"""Dashboards at scale (issue 17, SPEC H1): the Direction dashboard over a generated world.

    .venv/bin/python benchmarks/dashboards.py                                  # SQLite
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/h_dash \\
        .venv/bin/python benchmarks/dashboards.py --consultations 100000

The world (Core inserts): --collectivities collectivities, --agents agents, --consultations
consultations over 2016-2025 (benchmarks/consultations_export.py), plus --appointments past
appointments (88 % honoured, 6 % justified, 6 % unjustified) in 3-hour plages of 3 offices, and
a headcount per collectivity and year. Measured through the Flask test client, signed in as
Direction: the dashboard page over the last 12 months and over 5 years (p50, p95, SQL
statements), and the CSV export of one figure.

Goal: p50 < 300 ms; the same number of statements whatever the volume.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Counter, fresh_app, machine_load, measure  # noqa: E402
from benchmarks.consultations_export import build  # noqa: E402

CHUNK = 5000


def add_planning(app: Any, world: dict, appointments: int, rng: Any) -> None:
    from sqlalchemy import insert, select

    from app.core.types import utcnow
    from app.extensions import db
    from app.planning.models import Appointment as Appt
    from app.planning.models import AppointmentStatus, Plage, PlageNature, PlageState
    from app.referential.models import VisitType
    from app.workforce.models import Headcount
    from tests.factories import make_office

    with app.app_context():
        offices = [make_office(db.session, name=f"Cabinet {n}") for n in range(3)]
        db.session.commit()
        office_ids = [o.id for o in offices]
        now = utcnow()
        today = dt.date.today()
        with db.engine.begin() as connection:
            types = list(connection.execute(select(VisitType.id)).scalars())
            plages = []
            per_plage = 9
            count = appointments // per_plage + 1
            for n in range(count):
                start = dt.datetime.combine(
                    today - dt.timedelta(days=1 + n % 700), dt.time(8 + (n % 3) * 3, 0)
                )
                plages.append(
                    {
                        "id": n + 1,
                        "office_id": office_ids[n % 3],
                        "professional_id": 1000 + n % 30,
                        "starts_at": start,
                        "ends_at": start + dt.timedelta(hours=3),
                        "appointment_minutes": 20,
                        "nature": PlageNature.medecin,
                        "state": PlageState.convocation,
                        "lock_version": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            for start in range(0, len(plages), CHUNK):
                connection.execute(insert(Plage.__table__), plages[start : start + CHUNK])
            rows = []
            statuses = [
                AppointmentStatus.honoree,
                AppointmentStatus.absence_justifiee,
                AppointmentStatus.absence_injustifiee,
            ]
            agents = len(world["ids"]) and max(1, world["agents"])
            for n in range(appointments):
                plage = plages[n // per_plage]
                agent = n % agents
                rows.append(
                    {
                        "plage_id": plage["id"],
                        "slot_index": n % per_plage,
                        "agent_id": agent + 1,
                        "collectivity_id": world["ids"][agent % len(world["ids"])],
                        "starts_at": plage["starts_at"]
                        + dt.timedelta(minutes=20 * (n % per_plage)),
                        "visit_type_id": rng.choice(types),
                        "status": rng.choices(statuses, weights=[88, 6, 6])[0],
                        "is_confidential": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                if len(rows) == CHUNK:
                    connection.execute(insert(Appt.__table__), rows)
                    rows = []
            if rows:
                connection.execute(insert(Appt.__table__), rows)
            connection.execute(
                insert(Headcount.__table__),
                [
                    {
                        "collectivity_id": cid,
                        "year": year,
                        "headcount": 50 + cid % 100,
                        "permanent_headcount": 40 + cid % 80,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for cid in world["ids"]
                    for year in range(today.year - 4, today.year + 1)
                ],
            )
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('plage', 'id'), (SELECT max(id) FROM plage))"
                )
                connection.exec_driver_sql("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--collectivities", type=int, default=200)
    parser.add_argument("--agents", type=int, default=20000)
    parser.add_argument("--consultations", type=int, default=100000)
    parser.add_argument("--appointments", type=int, default=100000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    from app import roles
    from app.extensions import db
    from tests.factories import PASSWORD, make_user

    rng = random.Random(17)
    app = fresh_app()
    world = build(app, args.collectivities, args.agents, args.consultations, rng)
    world["agents"] = args.agents
    add_planning(app, world, args.appointments, rng)
    with app.app_context():
        make_user(db.session, roles.DIRECTION, username="bench-direction")
        db.session.commit()
    client = app.test_client()
    client.post("/login/", data={"username": "bench-direction", "password": PASSWORD})
    today = dt.date.today()
    five_years = f"?du={today.replace(year=today.year - 5) + dt.timedelta(days=1):%d/%m/%Y}"
    print(f"# dashboards: {args.collectivities} collectivities, {args.agents} agents, "
          f"{args.consultations} consultations, {args.appointments} appointments")  # fmt: skip
    print(f"# {machine_load()} ; {world['engine'].dialect.name}")
    for label, url in (
        ("12 months", "/tableau-de-bord/"),
        ("5 years", "/tableau-de-bord/" + five_years),
        ("CSV absenteeism", "/tableau-de-bord/export/absenteisme/csv"),
    ):
        assert client.get(url).status_code == 200, url
        counter = Counter(world["engine"])
        client.get(url)
        statements = counter.count
        timing = measure(lambda url=url: client.get(url).get_data(), repeat=args.repeat)
        print(
            f"{label:18} p50 {timing['median_ms']:7.1f} ms  p95 {timing['p95_ms']:7.1f} ms  "
            f"{statements} statements"
        )


if __name__ == "__main__":
    main()
