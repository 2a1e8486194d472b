"""Due dates (SPEC E3): recompute for N agents (time, peak memory) and the « Demandes à
planifier » page and export (statements, p50 / p95).

    .venv/bin/python benchmarks/due_dates.py [--agents 100000] [--collectivities 100]
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/due_dates.py

Targets: the recompute of 100 000 agents under 10 s with bounded memory; a page under 100 ms.
N agents spread over the collectivities, each with a running contract on a position (1 in 5
with a risk: night work, CACES, asbestos), 2 in 3 with an honoured visit (some by a nurse, some
with a next visit set by the doctor). The recompute runs twice: the first writes every row,
the second (nothing changed: the nightly case) only reads and compares.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Counter, fresh_app, measure  # noqa: E402
from benchmarks.sync import PeakRss, rss_mb  # noqa: E402

RISKS = [None, None, None, None, "nuit", None, "caces", None, None, "amiante"]


def populate(agents: int, collectivities: int, rng: random.Random) -> list[int]:
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.referential.models import (
        Civility,
        Collectivity,
        CollectivityKind,
        ContractType,
        Professional,
        ProfessionalRole,
        Risk,
        TariffCategory,
        VisitType,
    )
    from app.visits.consultation_models import Consultation, Outcome
    from app.workforce.models import Agent, Contract, PositionRisk, WorkPosition

    session = db.session
    ids = []
    for index in range(collectivities):
        collectivity = Collectivity(
            name=f"Commune {index:04d}",
            kind=CollectivityKind.commune,
            siret=f"{index:014d}",
            siren=f"{index:09d}",
            category=TariffCategory.affiliee,
            membership_number=f"B{index:05d}",
        )
        session.add(collectivity)
        session.flush()
        ids.append(collectivity.id)
    risks = {r.code: r.id for r in session.scalars(select(Risk))}
    positions: dict[tuple[int, str | None], int] = {}
    for cid in ids:
        for code in set(RISKS):
            position = WorkPosition(collectivity_id=cid, pcs_code="372d")
            position.set_label(f"Poste {code or 'sans risque'}")
            session.add(position)
            session.flush()
            if code:
                session.add(
                    PositionRisk(
                        collectivity_id=cid,
                        work_position_id=position.id,
                        risk_id=risks[code],
                        caces_categories="R489" if code == "caces" else None,
                    )
                )
            positions[(cid, code)] = position.id
    doctor = Professional(role=ProfessionalRole.medecin, last_name="MEDECIN", first_name="Paul")
    nurse = Professional(role=ProfessionalRole.infirmier, last_name="INFIRMIER", first_name="Léa")
    session.add_all([doctor, nurse])
    session.flush()
    contract_type = session.scalar(select(ContractType.id).where(ContractType.code == "titulaire"))
    visit_type = session.scalar(select(VisitType.id).where(VisitType.code == "periodique"))
    session.commit()
    session.info["due_dates_listener_off"] = True  # Core inserts: the listener sees nothing anyway
    chunk = 5000
    for start in range(0, agents, chunk):
        rows = [
            {
                "collectivity_id": ids[n % collectivities],
                "civility": Civility.madame,
                "first_name": "Léa",
                "birth_name": f"BENCH{n:07d}",
                "birth_date": dt.date(1970, 1, 1) + dt.timedelta(days=n % 12000),
            }
            for n in range(start, min(start + chunk, agents))
        ]
        session.execute(insert(Agent), rows)
        session.commit()
    agent_rows = session.execute(select(Agent.id, Agent.collectivity_id).order_by(Agent.id)).all()
    for start in range(0, len(agent_rows), chunk):
        contracts, visits = [], []
        for agent_id, cid in agent_rows[start : start + chunk]:
            code = RISKS[agent_id % len(RISKS)]
            contracts.append(
                {
                    "agent_id": agent_id,
                    "collectivity_id": cid,
                    "work_position_id": positions[(cid, code)],
                    "contract_type_id": contract_type,
                    "start_date": dt.date(2010, 1, 1) + dt.timedelta(days=agent_id % 5000),
                }
            )
            if agent_id % 3:
                day = dt.date(2021, 1, 1) + dt.timedelta(days=rng.randrange(2100))
                visits.append(
                    {
                        "agent_id": agent_id,
                        "collectivity_id": cid,
                        "visit_date": day,
                        "visit_type_id": visit_type,
                        "professional_id": nurse.id if agent_id % 7 == 0 else doctor.id,
                        "outcome": Outcome.apte,
                        "next_visit_on": day + dt.timedelta(days=400)
                        if agent_id % 11 == 0
                        else None,
                        "is_smp": False,
                        "is_confidential": agent_id % 13 == 0,
                        "sheet_available_on": day,
                    }
                )
        session.execute(insert(Contract), contracts)
        if visits:
            session.execute(insert(Consultation), visits)
        session.commit()
    session.info.pop("due_dates_listener_off", None)
    session.expunge_all()
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--collectivities", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    app = fresh_app()
    from sqlalchemy import event, func, select, text

    from app import roles
    from app.extensions import db
    from app.visits import due
    from app.visits.due_models import DueDate
    from tests.factories import PASSWORD, make_user

    rng = random.Random(1)
    with app.app_context():
        started = time.perf_counter()
        ids = populate(args.agents, args.collectivities, rng)
        print(f"set-up: {args.agents} agents in {time.perf_counter() - started:.1f} s")
        make_user(db.session, roles.SECRETARIAT, username="bench-staff")
        from app.referential.models import Collectivity

        first = db.session.get(Collectivity, ids[0])
        make_user(db.session, roles.EMPLOYER_PRIMARY, collectivity=first, username="bench-primary")
        db.session.commit()
        db.session.remove()
    name = ""
    with app.app_context():
        name = db.engine.dialect.name
        for label in ("first run (every row written)", "second run (nothing changed)"):
            before = rss_mb()
            with PeakRss() as memory:
                start = time.perf_counter()
                cpu = time.process_time()
                result = due.recompute()
                db.session.commit()
                elapsed = time.perf_counter() - start
                cpu = time.process_time() - cpu
            rows = db.session.scalar(select(func.count(DueDate.id)))
            print(
                f"{name}: recompute of {result.agents} agents, {label}: {elapsed:.1f} s "
                f"(goal < 10 s; CPU {cpu:.1f} s, load {os.getloadavg()[0]:.1f}); "
                f"{result.written} rows written, {rows} stored; resident memory "
                f"{before:.0f} MB before, peak {memory.peak:.0f} MB (+{memory.peak - before:.0f} MB)"
            )
        engine = db.engine
        if name == "postgresql":
            db.session.commit()
            db.session.execute(text("ANALYZE"))  # what autovacuum does after a bulk load
            db.session.commit()
        db.session.remove()

    staff = app.test_client()
    staff.post("/login/", data={"username": "bench-staff", "password": PASSWORD})
    employer = app.test_client()
    employer.post("/login/", data={"username": "bench-primary", "password": PASSWORD})
    pages = [
        ("employer", employer, "/portail/demandes-a-planifier/"),
        ("employer", employer, "/portail/demandes-a-planifier/?echeance=12&nom=bench0000"),
        ("staff", staff, "/demandes-a-planifier/"),
        ("staff", staff, "/demandes-a-planifier/?echeance=12&page=40"),
        ("staff", staff, f"/demandes-a-planifier/?collectivity_id={ids[1]}"),
        ("staff", staff, "/demandes-a-planifier/?nom=bench0001"),
    ]
    print(f"{'who':<8} {'page':<58} {'rows':>4} {'queries':>7} {'median':>9} {'p95':>9}")
    for who, client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        shown = response.get_data(as_text=True).count("data-due=")
        assert shown or "nom=" in url, f"{url}: no row shown"
        counter = Counter(engine)
        client.get(url)
        queries = counter.count
        event.remove(engine, "before_cursor_execute", counter._count)
        figures = measure(lambda client=client, url=url: client.get(url), args.repeat)
        print(
            f"{who:<8} {url:<58} {shown:>4} {queries:>7} "
            f"{figures['median_ms']:>6.1f} ms {figures['p95_ms']:>6.1f} ms"
        )
    for who, client, url in (
        ("staff", staff, "/demandes-a-planifier/export/csv?echeance=retard"),
        ("employer", employer, "/portail/demandes-a-planifier/export/xlsx?echeance=12"),
    ):
        start = time.perf_counter()
        response = client.get(url)
        size = len(response.get_data())
        print(f"{who:<8} {url:<58} {size / 1e6:.1f} MB in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
