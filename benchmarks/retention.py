"""Retention (SPEC G5): erases a collectivity of N agents with their records and reports the time.

    .venv/bin/python benchmarks/retention.py [--agents 10000] [--batch-size 500]
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/retention.py

Target (issue 11): 10 000 agents and their records in under 30 s. Each agent has a contract, an
appointment with a comment, a staged change and an audit entry holding his names; the outbox
holds 300 messages, a third of them naming an agent. A dry run is timed first, then the real
run (the job step as `flask jobs run retention` calls it: system scope, one commit per batch).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app  # noqa: E402


def populate(agents: int) -> int:
    from sqlalchemy import select

    from app.core.audit import AuditLog
    from app.core.mail import build_message, deliver
    from app.core.types import utcnow
    from app.extensions import db
    from app.planning.models import Appointment, Plage
    from app.referential.models import (
        Collectivity,
        CollectivityKind,
        ContractType,
        Office,
        OfficeKind,
        Professional,
        ProfessionalRole,
        TariffCategory,
        VisitType,
    )
    from app.rules.names import agent_name_keys
    from app.workforce.models import Agent, Contract, StagedAgentChange, WorkPosition
    from benchmarks.import_agents import person

    now = utcnow()
    stamps = {"created_at": now, "updated_at": now}
    collectivity = Collectivity(
        name="Commune sortante",
        kind=CollectivityKind.commune,
        siret="21690123400019",
        siren="216901234",
        category=TariffCategory.affiliee,
        membership_end=dt.date(2026, 1, 31),
    )
    office = Office(name="Cabinet de Lyon", kind=OfficeKind.cdg, city="Lyon")
    professional = Professional(
        role=ProfessionalRole.medecin, last_name="MEDECIN", first_name="Paul"
    )
    db.session.add_all([collectivity, office, professional])
    db.session.flush()
    position = WorkPosition(collectivity_id=collectivity.id, pcs_code="372d")
    position.set_label("Agent d'entretien")
    db.session.add(position)
    db.session.flush()
    cid = collectivity.id
    cdi = db.session.scalar(select(ContractType.id).where(ContractType.code == "cdi"))
    visit = db.session.scalar(select(VisitType.id).where(VisitType.code == "periodique"))

    rows = []
    for index in range(agents):
        civility, first, last = person(index)
        search, alt = agent_name_keys(last, None, first)
        rows.append(
            {
                "collectivity_id": cid,
                "civility": "madame" if civility == "Madame" else "monsieur",
                "first_name": first,
                "birth_name": last,
                "search_name": search,
                "search_alt_name": alt,
                "birth_date": dt.date(1960, 1, 1) + dt.timedelta(days=index % 14000),
                "ins": f"N{index:014d}",
                "service": "Voirie",
                "created_by_employer": False,
                **stamps,
            }
        )
    table = Agent.__table__
    ids = list(
        db.session.connection()
        .execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
        .scalars()
    )
    connection = db.session.connection()
    connection.execute(
        Contract.__table__.insert(),
        [
            {
                "collectivity_id": cid,
                "agent_id": agent_id,
                "work_position_id": position.id,
                "contract_type_id": cdi,
                "start_date": dt.date(2015, 1, 1),
                **stamps,
            }
            for agent_id in ids
        ],
    )
    connection.execute(
        StagedAgentChange.__table__.insert(),
        [
            {
                "collectivity_id": cid,
                "agent_id": agent_id,
                "field": "usage_name",
                "old_value": None,
                "new_value": f"{row['birth_name']}-NOUVEAU",
                "status": "en_attente",
                **stamps,
            }
            for agent_id, row in zip(ids, rows, strict=True)
        ],
    )
    per_plage = 100
    plage_ids = []
    for number in range((agents + per_plage - 1) // per_plage):
        starts = dt.datetime(2025, 1, 6, 8, 0) + dt.timedelta(days=number)
        plage = Plage(
            office_id=office.id,
            professional_id=professional.id,
            starts_at=starts,
            ends_at=starts + dt.timedelta(minutes=10 * per_plage),
            appointment_minutes=10,
            nature="medecin",
            state="convocation",
        )
        db.session.add(plage)
        db.session.flush()
        plage_ids.append((plage.id, starts))
    connection.execute(
        Appointment.__table__.insert(),
        [
            {
                "collectivity_id": cid,
                "plage_id": plage_ids[i // per_plage][0],
                "slot_index": i % per_plage,
                "agent_id": agent_id,
                "starts_at": plage_ids[i // per_plage][1]
                + dt.timedelta(minutes=10 * (i % per_plage)),
                "visit_type_id": visit,
                "comment": f"Prévenir {rows[i]['birth_name']}",
                "status": "honoree",
                **stamps,
            }
            for i, agent_id in enumerate(ids)
        ],
    )
    connection.execute(
        AuditLog.__table__.insert(),
        [
            {
                "at": now,
                "user_id": None,
                "username": "système",
                "action": "create",
                "table_name": "agent",
                "row_id": str(agent_id),
                "collectivity_id": cid,
                "changes": {
                    "first_name": [None, row["first_name"]],
                    "birth_name": [None, row["birth_name"]],
                    "ins": [None, row["ins"]],
                },
            }
            for agent_id, row in zip(ids, rows, strict=True)
        ],
    )
    db.session.commit()
    for n in range(300):
        row = rows[(n * 37) % agents]
        body = (
            f"- 09:00 : Madame {row['birth_name'].upper()} {row['first_name']} – visite"
            if n % 3 == 0
            else f"Message {n} sans nom d'agent."
        )
        deliver(build_message("secretariat@cdg.example.fr", f"Message {n}", body))
    return cid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()

    from app.extensions import db
    from app.jobs import JobContext
    from app.retention.services import run_retention

    app = fresh_app()
    with app.app_context():
        start = time.perf_counter()
        populate(args.agents)
        print(f"données : {args.agents} agents en {time.perf_counter() - start:.1f} s")
        if db.engine.dialect.name == "postgresql":
            # A production database has statistics; freshly bulk-loaded tables do not yet.
            from sqlalchemy import text

            db.session.execute(text("ANALYZE"))
            db.session.commit()
        db.session.remove()
    today = dt.date(2026, 9, 1)
    for dry_run in (True, False):
        with app.app_context():
            ctx = JobContext(today=today, dry_run=dry_run, batch_size=args.batch_size)
            start = time.perf_counter()
            run_retention(ctx)
            elapsed = time.perf_counter() - start
            if dry_run:
                db.session.rollback()
            db.session.remove()
        label = "simulation" if dry_run else "effacement"
        totals = {k: v for k, v in sorted(ctx.counts.items()) if " – " not in k}
        print(f"{label} : {elapsed:.2f} s (objectif < 30 s) — {totals}")
    with app.app_context():
        from sqlalchemy import func, select

        from app.workforce.models import Agent

        left = db.session.scalar(select(func.count(Agent.id)).where(Agent.anonymised_on.is_(None)))
        print(f"agents encore identifiables : {left}")
        db.session.remove()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"mémoire maximale du processus : {peak:.0f} Mo")
    print(f"base : {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}")


if __name__ == "__main__":
    main()
