"""The employer « Consultations » page over 3 months of plages: server time and SQL query count.

    .venv/bin/python benchmarks/planning_page.py [--plages 2000] [--repeat 20] [--statements]
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/planning_page.py

A fresh database (emptied first) gets one collectivity with a primary account, 60 agents with a
running contract, a neighbour collectivity, one office serving both, 8 doctors and P plages
spread over the next 3 months (working days, 08:00-16:00): reserved for the collectivity,
reserved for the neighbour (invisible to the employer), common, convocations and cancelled
ones; about a third of the plages the employer sees hold 1 to 3 of its appointments, and some
common plages hold the neighbour's. Measured through the Flask test client (server time, in
process) logged in as the employer: GET /portail/consultations/?du=..&au=.. over 3 months
(pages 1 and 2, 100 plages a page) and over 1 month. --statements prints the most repeated SQL
statements of each page (N+1 hunting).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sys
import time
from collections import Counter as Tally
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Counter, fresh_app, measure  # noqa: E402

SLOT_MINUTES = 20
HOURS = (8, 10, 12, 14)  # 2-hour plages: 6 units each
STATES = (  # (state, reserved for, weight)
    ("reservee", "mine", 35),
    ("reservee", "other", 10),
    ("commune", None, 35),
    ("convocation", "mine", 15),
    ("annulee", "mine", 5),
)


def seed(app: Any, plages: int, rng: random.Random) -> dict[str, Any]:
    from sqlalchemy import insert, select

    from app import roles
    from app.core.types import utcnow
    from app.extensions import db
    from app.planning.models import Appointment, AppointmentStatus, Plage, PlageNature, PlageState
    from app.referential.models import ContractType, VisitType
    from app.workforce.models import Contract, WorkPosition
    from tests.factories import make_collectivity, make_office, make_professional, make_user
    from tests.isolation import make_agent

    began = time.perf_counter()
    with app.app_context():
        session = db.session
        session.info["skip_audit"] = True
        contract_type = session.scalar(select(ContractType).where(ContractType.code == "titulaire"))
        visit_ids = list(session.scalars(select(VisitType.id).where(VisitType.is_active)))
        owners = {}
        agents: dict[str, list[int]] = {}
        for key, name, count in (("mine", "Commune du Planning", 60), ("other", "Voisine", 20)):
            collectivity = make_collectivity(session, name=name)
            owners[key] = collectivity
            positions = []
            for pcs, label in (("631a", "Jardinier"), ("545a", "Adjoint administratif")):
                position = WorkPosition(collectivity_id=collectivity.id, pcs_code=pcs)
                position.set_label(label)
                session.add(position)
                positions.append(position)
            session.flush()
            agents[key] = []
            for number in range(count):
                agent = make_agent(
                    session, collectivity, birth_name=f"{key.upper()}{number:03d}", first_name="Léa"
                )
                session.add(
                    Contract(
                        agent_id=agent.id,
                        collectivity_id=collectivity.id,
                        work_position_id=positions[number % 2].id,
                        contract_type_id=contract_type.id,
                        start_date=dt.date(2020, 1, 1),
                    )
                )
                agents[key].append(agent.id)
        make_user(
            session, roles.EMPLOYER_PRIMARY, collectivity=owners["mine"], username="bench-planning"
        )
        office = make_office(session, served=list(owners.values()), name="Cabinet du planning")
        doctors = [make_professional(session, last_name=f"DOCTEUR{n}") for n in range(8)]
        session.commit()

        first_day = dt.date.today() + dt.timedelta(days=1)
        last_day = first_day + dt.timedelta(days=90)
        days = [
            first_day + dt.timedelta(days=n)
            for n in range((last_day - first_day).days + 1)
            if (first_day + dt.timedelta(days=n)).weekday() < 5
        ]
        slots = [(day, hour, doctor.id) for day in days for hour in HOURS for doctor in doctors]
        if plages > len(slots):
            raise SystemExit(f"at most {len(slots)} plages fit in 3 months")
        chosen = sorted(rng.sample(slots, plages))
        weights = [weight for *_, weight in STATES]
        now = utcnow()
        plage_rows, appointment_rows = [], []
        next_appointment = 1
        for plage_id, (day, hour, doctor_id) in enumerate(chosen, start=1):
            state, owner, _ = rng.choices(STATES, weights)[0]
            starts_at = dt.datetime.combine(day, dt.time(hour, 0))
            plage_rows.append(
                {
                    "id": plage_id,
                    "office_id": office.id,
                    "professional_id": doctor_id,
                    "starts_at": starts_at,
                    "ends_at": starts_at + dt.timedelta(hours=2),
                    "appointment_minutes": SLOT_MINUTES,
                    "nature": PlageNature.medecin,
                    "state": PlageState[state],
                    "reserved_for_id": owners[owner].id if owner else None,
                    "lock_version": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if state == "annulee" or owner == "other":
                continue
            booked: list[tuple[str, int]] = []
            if rng.random() < 0.35:
                booked += [("mine", a) for a in rng.sample(agents["mine"], rng.randint(1, 3))]
            if state == "commune" and rng.random() < 0.3:
                booked += [("other", a) for a in rng.sample(agents["other"], rng.randint(1, 2))]
            for slot, (key, agent_id) in enumerate(booked):
                appointment_rows.append(
                    {
                        "id": next_appointment,
                        "plage_id": plage_id,
                        "slot_index": slot,
                        "agent_id": agent_id,
                        "collectivity_id": owners[key].id,
                        "starts_at": starts_at + dt.timedelta(minutes=SLOT_MINUTES * slot),
                        "visit_type_id": rng.choice(visit_ids),
                        "status": AppointmentStatus.convoquee
                        if state == "convocation"
                        else AppointmentStatus.reservee,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                next_appointment += 1
        with db.engine.begin() as connection:
            connection.execute(insert(Plage.__table__), plage_rows)
            connection.execute(insert(Appointment.__table__), appointment_rows)
            if connection.dialect.name == "postgresql":
                for table in ("plage", "appointment"):
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        db.session.remove()
    visible = sum(
        1
        for row in plage_rows
        if row["state"].name != "annulee" and (row["reserved_for_id"] in (None, owners["mine"].id))
    )
    return {
        "first_day": first_day,
        "last_day": last_day,
        "plages": len(plage_rows),
        "appointments": len(appointment_rows),
        "visible": visible,
        "seconds": time.perf_counter() - began,
    }


def shape(statement: str) -> str:
    """A statement without its literal values, to group the repeated ones."""
    text = " ".join(statement.split())
    text = re.sub(
        r"\(\s*(?:\?|%\(\w+\)s|\$\d+)(?:\s*,\s*(?:\?|%\(\w+\)s|\$\d+))*\s*\)", "(…)", text
    )
    return text[:140]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--statements", action="store_true")
    args = parser.parse_args()

    from sqlalchemy import event

    from app.extensions import db
    from tests.factories import PASSWORD

    app = fresh_app()
    world = seed(app, args.plages, random.Random(1))
    with app.app_context():
        engine = db.engine
    print(
        f"database: {engine.dialect.name}; {world['plages']} plages from "
        f"{world['first_day']:%d/%m/%Y} to {world['last_day']:%d/%m/%Y} "
        f"({world['visible']} visible to the employer), {world['appointments']} appointments; "
        f"seeded in {world['seconds']:.1f} s"
    )

    client = app.test_client()
    response = client.post("/login/", data={"username": "bench-planning", "password": PASSWORD})
    assert response.status_code == 302 and "/login" not in response.headers["Location"], (
        "login refused"
    )
    first = world["first_day"] - dt.timedelta(days=1)
    three_months = f"du={first:%d/%m/%Y}&au={world['last_day']:%d/%m/%Y}"
    one_month = f"du={first:%d/%m/%Y}&au={first + dt.timedelta(days=30):%d/%m/%Y}"
    pages = [
        ("3 months, page 1", f"/portail/consultations/?{three_months}"),
        ("3 months, page 2", f"/portail/consultations/?{three_months}&page=2"),
        ("1 month, page 1", f"/portail/consultations/?{one_month}"),
    ]
    print(
        f"{'page':<18} {'results':>8} {'rows':>5} {'queries':>8} {'median':>10} {'p95':>10} "
        f"{'max':>10}  url"
    )
    for label, url in pages:
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, (url, response.status_code)
        assert "OTHER0" not in body, f"{url} shows the neighbour's agents"
        total = re.search(r"(\d+) résultat\(s\)", body)
        rows = body.count("data-plage=")
        statements: list[str] = []

        def keep(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
            statements.append(statement)  # noqa: B023 - used within the iteration

        counter = Counter(engine)
        event.listen(engine, "before_cursor_execute", keep)
        client.get(url)
        event.remove(engine, "before_cursor_execute", keep)
        event.remove(engine, "before_cursor_execute", counter._count)
        figures = measure(lambda url=url: client.get(url), args.repeat)
        print(
            f"{label:<18} {total.group(1) if total else '?':>8} {rows:>5} {counter.count:>8} "
            f"{figures['median_ms']:>7.1f} ms {figures['p95_ms']:>7.1f} ms "
            f"{figures['max_ms']:>7.1f} ms  {url}"
        )
        if args.statements:
            for text, count in Tally(shape(s) for s in statements).most_common(6):
                print(f"      {count:>5} x {text}")


if __name__ == "__main__":
    main()
