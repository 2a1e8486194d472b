"""« Historique des consultations » at scale: XLSX (and CSV) export of 50 000 consultations, and
the import of a 10 000-line history file (issue 12, SPEC E4).

    .venv/bin/python benchmarks/consultations_export.py                       # SQLite
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/h_hist \\
        .venv/bin/python benchmarks/consultations_export.py

The world is written with Core inserts: --collectivities collectivities, --agents agents (each
with an INS), 30 professionals, --consultations consultations spread over 2016-2025. Measured
through the Flask test client, signed in as the secretariat:

- the export of every row (no filter), downloaded without buffering, the body counted block by
  block and thrown away as a browser saving the file would: wall time, SQL statements, peak
  resident memory above the level before the download (RSS sampled every 5 ms);
- the page itself (25 rows, newest first, then searched by name): statements and time;
- the web import (« Importer ») of --lines history lines (visits of 2010-2015, none recorded
  yet): wall time of the whole request (reading, checks, bulk insert, commit).

Goal: the XLSX export of 50 000 consultations under 200 MB of peak memory; a constant number of
statements per page.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Counter, fresh_app, machine_load, measure  # noqa: E402
from benchmarks.export_agents import PeakRss, download  # noqa: E402

CHUNK = 5000
FIRST_NAMES = ["Hélène", "Émile", "Léa", "Jérôme", "Zoé", "François", "Anaïs", "Loïc", "Inès"]
LAST_NAMES = ["DURAND", "GÉRARD", "LEFÈVRE", "MARTIN", "BERNARD", "ROUSSEAU", "FAURE", "LÉGER"]


def ins(index: int) -> str:
    """A valid INS (N + 13-digit NIR + key) unique for ``index``."""
    nir = f"{1 + index % 2}{80 + index % 20:02d}{1 + index % 12:02d}69{index % 1_000_000:06d}"
    return f"N{nir}{97 - int(nir) % 97:02d}"


def build(app: Any, collectivities: int, agents: int, consultations: int, rng: Any) -> dict:
    from sqlalchemy import insert, select

    from app import roles
    from app.core.types import utcnow
    from app.extensions import db
    from app.referential.models import (
        Civility,
        Collectivity,
        Professional,
        ProfessionalRole,
        VisitType,
    )
    from app.rules.consultations import sheet_available_on
    from app.visits.consultation_models import Consultation, Outcome
    from app.workforce.models import Agent
    from tests.factories import make_collectivity, make_user

    with app.app_context():
        db.session.info["skip_audit"] = True
        made = [
            make_collectivity(db.session, name=f"Commune {i:02d}") for i in range(collectivities)
        ]
        make_user(db.session, roles.SECRETARIAT, username="bench-history")
        db.session.commit()
        ids = [c.id for c in made]
        now = utcnow()
        with db.engine.begin() as connection:
            connection.execute(
                insert(Professional.__table__),
                [
                    {
                        "id": 1000 + n,
                        "role": ProfessionalRole.medecin if n % 3 else ProfessionalRole.infirmier,
                        "last_name": f"{LAST_NAMES[n % len(LAST_NAMES)]}{n}",
                        "first_name": FIRST_NAMES[n % len(FIRST_NAMES)],
                        "is_active": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(30)
                ],
            )
            people = []
            for index in range(agents):
                people.append(
                    {
                        "id": index + 1,
                        "collectivity_id": ids[index % len(ids)],
                        "civility": Civility.madame if index % 2 else Civility.monsieur,
                        "first_name": FIRST_NAMES[index % len(FIRST_NAMES)],
                        "birth_name": f"{LAST_NAMES[index % len(LAST_NAMES)]}{index}",
                        "usage_name": None,
                        "birth_date": dt.date(1965, 1, 1) + dt.timedelta(days=index % 12000),
                        "ins": ins(index),
                        "validated_at": now,
                        "created_by_employer": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            for start in range(0, len(people), CHUNK):
                connection.execute(insert(Agent.__table__), people[start : start + CHUNK])
            types = list(connection.execute(select(VisitType.id)).scalars())
            rows = []
            outcomes = list(Outcome)
            for n in range(consultations):
                agent = n % agents
                day = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randrange(3650))
                rows.append(
                    {
                        "agent_id": agent + 1,
                        "collectivity_id": ids[agent % len(ids)],
                        "visit_date": day,
                        "visit_type_id": rng.choice(types),
                        "professional_id": 1000 + rng.randrange(30),
                        "outcome": rng.choice(outcomes),
                        "is_smp": False,
                        "is_confidential": rng.random() < 0.02,
                        "sheet_available_on": sheet_available_on(day),
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                if len(rows) == CHUNK:
                    connection.execute(insert(Consultation.__table__), rows)
                    rows = []
            if rows:
                connection.execute(insert(Consultation.__table__), rows)
            if connection.dialect.name == "postgresql":
                for table in ("agent", "professional", "consultation"):
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                connection.exec_driver_sql("ANALYZE")
        sirets = dict(db.session.execute(select(Collectivity.id, Collectivity.siret)).all())
        labels = list(db.session.execute(select(VisitType.label)).scalars())
        return {"ids": ids, "sirets": sirets, "labels": labels, "engine": db.engine}


def history_file(world: dict, agents: int, lines: int) -> bytes:
    from app.visits.history_import import HEADERS

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    ids = world["ids"]
    for n in range(lines):
        agent = n % agents
        day = dt.date(2010, 1, 1) + dt.timedelta(days=n // agents * 30 + n % 300)
        professional = 1000 + n % 30
        writer.writerow(
            [
                world["sirets"][ids[agent % len(ids)]],
                ins(agent),
                day.strftime("%d/%m/%Y"),
                world["labels"][n % len(world["labels"])],
                f"{LAST_NAMES[professional % 1000 % len(LAST_NAMES)]}{professional - 1000} "
                f"{FIRST_NAMES[(professional - 1000) % len(FIRST_NAMES)]}",
                ["Apte", "apte avec restrictions / aménagements", "Avis différé"][n % 3],
                "Non" if n % 50 else "oui",
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collectivities", type=int, default=40)
    parser.add_argument("--agents", type=int, default=20_000)
    parser.add_argument("--consultations", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=10_000)
    args = parser.parse_args()

    from sqlalchemy import event

    from tests.factories import PASSWORD

    app = fresh_app()
    rng = random.Random(12)
    began = time.perf_counter()
    world = build(app, args.collectivities, args.agents, args.consultations, rng)
    engine = world["engine"]
    # The list sorts by ix_consultation_visit_date (migration d0f3a6b19dca); fresh statistics.
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    print(f"database: {engine.dialect.name}")
    print(
        f"loaded {args.consultations} consultations of {args.agents} agents "
        f"in {time.perf_counter() - began:.1f} s"
    )
    client = app.test_client()
    response = client.post("/login/", data={"username": "bench-history", "password": PASSWORD})
    assert response.status_code == 302, response.status_code

    base = "/consultations/historique/"
    print(machine_load())
    pages = (
        ("page (newest first)", base),
        ("page, name search", base + "?agent=durand1"),
        ("page, one year", base + "?du=01/01/2020&au=31/12/2020"),
        ("page, sorted by agent", base + "?tri=agent"),
    )
    for label, url in pages:
        counter = Counter(engine)
        status = client.get(url).status_code
        event.remove(engine, "before_cursor_execute", counter._count)
        assert status == 200, status
        timing = measure(lambda url=url: client.get(url), repeat=20)
        print(
            f"{label:<24} p50 {timing['median_ms']:7.1f} ms  p95 {timing['p95_ms']:7.1f} ms "
            f"{counter.count:>3} statements"
        )

    print(
        f"{'format':>6} {'rows':>7} {'time s':>8} {'rows/s':>9} {'MB':>7} {'statements':>10} "
        f"{'peak RSS +MB':>13}"
    )
    for fmt in ("xlsx", "csv"):
        url = f"{base}export/{fmt}"
        download(client, url + "?agent=zzzz")  # warm up (openpyxl import, caches)
        counter = Counter(engine)
        with PeakRss() as memory:
            started = time.perf_counter()
            status, size = download(client, url)
            elapsed = time.perf_counter() - started
        event.remove(engine, "before_cursor_execute", counter._count)
        assert status == 200, status
        total = args.consultations
        print(
            f"{fmt:>6} {total:>7} {elapsed:8.2f} {total / elapsed:9.0f} {size / 1e6:7.1f} "
            f"{counter.count:>10} {(memory.peak - memory.base) / 1e6:13.1f}"
        )

    data = history_file(world, args.agents, args.lines)
    page = client.get(base + "import/")
    assert page.status_code == 200
    for action in ("verifier", "importer"):
        counter = Counter(engine)
        started = time.perf_counter()
        response = client.post(
            base + "import/",
            data={"action": action, "file": (io.BytesIO(data), "historique.csv")},
            content_type="multipart/form-data",
        )
        elapsed = time.perf_counter() - started
        event.remove(engine, "before_cursor_execute", counter._count)
        body = response.get_data(as_text=True)
        ok = "Import réussi" in body if action == "importer" else "aucune erreur" in body
        assert response.status_code == 200 and ok, body[-3000:]
        print(
            f"import {args.lines} lines ({action}): {elapsed:.2f} s, "
            f"{args.lines / elapsed:.0f} lines/s, {counter.count} statements"
        )


if __name__ == "__main__":
    main()
