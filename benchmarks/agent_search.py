"""Agent name search and sorted lists at scale: p50/p95 and EXPLAIN (ANALYZE, BUFFERS) (issue 9, 10).

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/h3bench \\
        .venv/bin/python benchmarks/agent_search.py --agents 1000000 --explain
    .venv/bin/python benchmarks/agent_search.py --agents 200000          # SQLite

The database is emptied, migrated, then filled with N agents (one collectivity of --target
agents, the others spread over --collectivities - 1) and one contract each (10 % ended). On
PostgreSQL the rows are written with COPY, indexes dropped during the load and rebuilt after;
on SQLite with Core executemany (the column defaults compute the name keys, as for an import).

Measured, for the staff (all agents) and the primary account of the --target collectivity:
the « Effectif » list « En activité », first page, and the searches ``DUP`` and ``gerard``.

- ``before``: the statements as main built them before the name keys (``birth_name LIKE 'DUP%'
  OR usage_name LIKE 'DUP%'``, ordered by birth name; the old prefix indexes are created for
  them), run under the same tenant scope;
- ``after``: the statements of the view, built by the same service code
  (``agents.capped_count`` and ``agents.page_statement``), SQL time of the count + the page;
- ``request``: the whole GET through the Flask test client (every statement, templates).

Goal (issue 9): p50 < 50 ms for the staff and employer list and name search at 1 000 000 agents.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import io
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app, measure  # noqa: E402

POSITIONS = [
    ("372d", "Agent d'entretien"),
    ("631a", "Jardinier"),
    ("545a", "Adjoint administratif"),
]
EXTRA_LAST_NAMES = ["Dupuis", "Dupré", "Günther", "Gérardin", "Le Gall", "N'Diaye", "Œuvray"]
SEARCHES = ["DUP", "gerard"]
# « jardin » matches one of the employer's three positions, « plombier » none of them.
POSITION_SEARCHES = ["jardin", "plombier"]
CHUNK = 20_000


def _names() -> tuple[list[str], list[tuple[str, str]]]:
    from app.demo import FIRST_NAMES_F, FIRST_NAMES_M, LAST_NAMES

    first = [(name, "madame") for name in FIRST_NAMES_F] + [
        (name, "monsieur") for name in FIRST_NAMES_M
    ]
    return [*LAST_NAMES, *EXTRA_LAST_NAMES], first


def _rows(count: int, target_id: int, other_ids: list[int], target: int, rng: random.Random):
    """(agent, contract) value tuples, ids from 1; the first ``target`` agents are spread through
    the id range so that the target collectivity is not one contiguous block."""
    from app.rules.names import name_key

    # rules.names.agent_name_keys, composed from the keys of each part (cached: a few thousand
    # distinct parts), which it equals for non-empty parts; SQLite's load lets the columns'
    # defaults call the rule itself.
    key = functools.lru_cache(maxsize=None)(name_key)

    def keys(birth: str, usage: str | None, first: str) -> tuple[str, str | None]:
        shown = f"{key(usage or birth)} {key(first)}"
        if not usage or key(usage) == key(birth):
            return shown, None
        return shown, f"{key(birth)} {key(first)}"

    last_names, first_names = _names()
    target_every = max(1, count // max(1, target))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    today = dt.date.today()
    for index in range(1, count + 1):
        collectivity_id = target_id if index % target_every == 0 else rng.choice(other_ids)
        last = rng.choice(last_names)
        if rng.random() < 0.05:
            last = f"{last}-{rng.choice(last_names)}"
        first, civility = rng.choice(first_names)
        birth = last.upper()
        usage = (
            rng.choice(last_names).upper() if civility == "madame" and rng.random() < 0.3 else None
        )
        shown, hidden = keys(birth, usage, first)
        agent = (
            index,
            collectivity_id,
            civility,
            first,
            birth,
            usage,
            dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(40 * 365)),
            now,
            False,
            now,
            now,
            shown,
            hidden,
        )
        start = dt.date(2005, 1, 1) + dt.timedelta(days=rng.randrange(18 * 365))
        end = today - dt.timedelta(days=rng.randrange(1, 300)) if rng.random() < 0.1 else None
        yield agent, (index, index, collectivity_id, start, end, now, now)


AGENT_COLUMNS = (
    "id, collectivity_id, civility, first_name, birth_name, usage_name, birth_date, validated_at, "
    "created_by_employer, created_at, updated_at, search_name, search_alt_name"
)
CONTRACT_COLUMNS = "id, agent_id, collectivity_id, start_date, end_date, created_at, updated_at"


def load(app: Any, count: int, target: int, rng: random.Random) -> float:
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.referential.models import Collectivity, ContractType
    from app.workforce.models import Agent, Contract, WorkPosition

    began = time.perf_counter()
    with app.app_context():
        collectivity_ids = list(
            db.session.scalars(select(Collectivity.id).order_by(Collectivity.id))
        )
        positions: dict[int, list[int]] = {}
        for position_id, collectivity_id in db.session.execute(
            select(WorkPosition.id, WorkPosition.collectivity_id)
        ):
            positions.setdefault(collectivity_id, []).append(position_id)
        contract_type_id = db.session.scalar(select(ContractType.id).limit(1))
        rows = _rows(count, collectivity_ids[0], collectivity_ids[1:], target, rng)
        # No transaction left open: VACUUM must see the new rows as visible to all (index-only
        # scans of the contracts need the visibility map).
        db.session.commit()
        engine = db.engine
        if engine.dialect.name == "postgresql":
            _copy(engine, rows, positions, contract_type_id, rng)
        else:
            agent_keys = [c.strip() for c in AGENT_COLUMNS.split(",")]
            contract_keys = [c.strip() for c in CONTRACT_COLUMNS.split(",")]
            with engine.begin() as connection:
                agents: list[dict[str, Any]] = []
                contracts: list[dict[str, Any]] = []
                for agent, contract in rows:
                    values = dict(zip(agent_keys, agent, strict=True))
                    values["validated_at"] = values["validated_at"].replace(tzinfo=dt.UTC)
                    for key in ("created_at", "updated_at"):
                        values[key] = values[key].replace(tzinfo=dt.UTC)
                    # The name keys are left to the column defaults, as for a Core import.
                    del values["search_name"], values["search_alt_name"]
                    agents.append(values)
                    contract_values = dict(zip(contract_keys, contract, strict=True))
                    for key in ("created_at", "updated_at"):
                        contract_values[key] = contract_values[key].replace(tzinfo=dt.UTC)
                    contract_values["work_position_id"] = rng.choice(
                        positions[contract_values["collectivity_id"]]
                    )
                    contract_values["contract_type_id"] = contract_type_id
                    contracts.append(contract_values)
                    if len(agents) >= CHUNK:
                        connection.execute(insert(Agent.__table__), agents)
                        connection.execute(insert(Contract.__table__), contracts)
                        agents, contracts = [], []
                if agents:
                    connection.execute(insert(Agent.__table__), agents)
                    connection.execute(insert(Contract.__table__), contracts)
                connection.exec_driver_sql("ANALYZE")
    return time.perf_counter() - began


def _copy(engine: Any, rows: Any, positions: dict[int, list[int]], type_id: int, rng: Any) -> None:
    """COPY both tables with their secondary indexes dropped, then rebuild them and ANALYZE."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('agent', 'contract') "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        agent_out, contract_out = io.StringIO(), io.StringIO()

        def flush() -> None:
            for table, columns, buffer in (
                ("agent", AGENT_COLUMNS, agent_out),
                (
                    "contract",
                    CONTRACT_COLUMNS + ", work_position_id, contract_type_id",
                    contract_out,
                ),
            ):
                buffer.seek(0)
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()

        def line(values: tuple[Any, ...]) -> str:
            return "\t".join(r"\N" if v is None else str(v) for v in values) + "\n"

        for done, (agent, contract) in enumerate(rows, start=1):
            agent_out.write(line(agent))
            contract_out.write(line((*contract, rng.choice(positions[contract[2]]), type_id)))
            if done % CHUNK == 0:
                flush()
        flush()
        for _name, definition in indexes:
            cursor.execute(definition)
        for table in ("agent", "contract"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        raw.commit()
        raw.driver_connection.autocommit = True
        cursor.execute("VACUUM ANALYZE agent")
        cursor.execute("VACUUM ANALYZE contract")
    finally:
        raw.close()


# ----------------------------------------------------------------------------------------------
# The statements
# ----------------------------------------------------------------------------------------------


def legacy_statements(name: str, position: str, today: dt.date) -> list[Any]:
    """What main ran before the name keys: capped count, then the page (25 rows)."""
    from sqlalchemy import and_, func, or_, select

    from app.workforce import agents as agent_services
    from app.workforce.models import Agent

    query = select(Agent).where(agent_services.active_clause(today))
    if name:
        words = name.split()
        term = words[0].upper() + "%"
        clause = or_(Agent.birth_name.like(term), Agent.usage_name.like(term))
        for word in words[1:]:
            clause = and_(clause, func.lower(Agent.first_name).like(word.lower() + "%"))
        query = query.where(clause)
    limited = (
        query.with_only_columns(Agent.id)
        .order_by(None)
        .limit(agent_services.COUNT_CAP + 1)
        .subquery()
    )
    return [
        select(func.count()).select_from(limited),
        query.order_by(Agent.birth_name, Agent.first_name, Agent.id).limit(25),
    ]


def before_statements(name: str, position: str, today: dt.date) -> list[Any]:
    """The view's statements before this work on the counts and the position search: the
    « En activité » EXISTS and the position EXISTS as they were, counted up to 5 001 rows."""
    from sqlalchemy import and_, exists, func, select

    from app.rules.formatting import fold
    from app.workforce import agents as agent_services
    from app.workforce.models import Agent, Contract, WorkPosition

    active = exists().where(Contract.agent_id == Agent.id, Contract.running_on(today))
    active._medprev_active_on = today  # type: ignore[attr-defined]  # agents._walkable
    query = select(Agent).where(active)
    if name:
        query = query.where(agent_services.name_clause(name))
    if position:
        query = query.where(
            exists().where(
                and_(
                    Contract.agent_id == Agent.id,
                    Contract.work_position_id == WorkPosition.id,
                    WorkPosition.label_key.contains(fold(position)),
                )
            )
        )
    limited = query.with_only_columns(Agent.id).order_by(None).limit(5001).subquery()
    return [
        select(func.count()).select_from(limited),
        agent_services.page_statement(query, name, 0, 25),
    ]


def current_statements(name: str, position: str, today: dt.date) -> list[Any]:
    """The view's statements (AgentsView._list_query / index): the count, then the page."""
    from sqlalchemy import select

    from app.rules.formatting import fold
    from app.workforce import agents as agent_services
    from app.workforce.models import Agent

    query = select(Agent).where(agent_services.active_clause(today))
    if name:
        query = query.where(agent_services.name_clause(name))
    if position:
        query = query.where(agent_services.position_clause(fold(position)))
    cap = agent_services.count_cap(bool(name or position))
    return [
        agent_services.count_statement(query, name, cap),
        agent_services.page_statement(query, name, 0, 25),
    ]


def _jit(executor: Any, dialect: str, build: Any) -> None:
    """The statements of main run as main ran them: with PostgreSQL's JIT (the app now
    connects with ``jit=off``, app.core.postgres). ``executor``: a session or a connection."""
    from sqlalchemy import text

    if getattr(build, "with_jit", False) and dialect == "postgresql":
        executor.execute(text("SET LOCAL jit = on"))


before_statements.with_jit = True  # type: ignore[attr-defined]
legacy_statements.with_jit = True  # type: ignore[attr-defined]


class Recorder:
    """The SQL text and parameters of the statements run on an engine."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.engine = engine
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        self.statements.append((statement, parameters))

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)


def run_statements(app: Any, scope: Any, build: Any, name: str, position: str) -> list[Any]:
    from app.extensions import db
    from app.tenancy import scope_as

    with app.app_context(), scope_as(scope):
        count_statement, page_statement = build(name, position, dt.date.today())
        _jit(db.session, db.engine.dialect.name, build)
        count = db.session.execute(count_statement).scalar()
        page = db.session.scalars(page_statement).all()
        db.session.rollback()
        return [count, page]


def explain(app: Any, scope: Any, build: Any, name: str, position: str) -> None:
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    recorder = Recorder(engine)
    run_statements(app, scope, build, name, position)
    recorder.close()
    for statement, parameters in recorder.statements:
        if not statement.startswith("SELECT") or statement.startswith("SELECT agent_assignment"):
            continue  # BEGIN, and the assignments the page loads by primary key (selectin)
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                _jit(connection, "postgresql", build)
                plan = connection.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                ).all()
            else:
                plan = connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, parameters
                ).all()
            connection.rollback()
        print(f"      SQL: {' '.join(statement.split())}")
        print(f"      parameters: {parameters}")
        for row in plan:
            print(f"        | {row[-1]}")


def _other_positions(app: Any, target_id: int) -> None:
    """A « Plombier » position in every collectivity but the employer's, held by one contract
    in seven (as in issue 9: 142 338 contracts of other collectivities match, none of his)."""
    from sqlalchemy import select, text

    from app.extensions import db
    from app.referential.models import Collectivity
    from app.workforce.models import WorkPosition

    with app.app_context():
        if db.session.scalar(select(WorkPosition.id).where(WorkPosition.label_key == "plombier")):
            return
        db.session.info["skip_audit"] = True
        for collectivity_id in db.session.scalars(
            select(Collectivity.id).where(Collectivity.id != target_id)
        ):
            position = WorkPosition(collectivity_id=collectivity_id, pcs_code="634a")
            position.set_label("Plombier")
            db.session.add(position)
        db.session.flush()
        db.session.execute(
            text(
                "UPDATE contract SET work_position_id = p.id FROM work_position p "
                "WHERE p.collectivity_id = contract.collectivity_id AND p.label_key = 'plombier' "
                "AND contract.id % 7 = 0"
            )
        )
        db.session.commit()
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE contract" if db.engine.dialect.name == "postgresql" else "ANALYZE"
            )


def reused_app(agents: int) -> Any:
    """The app on the benchmark database when it already holds ``agents`` agents (loading
    1 000 000 takes minutes), migrated to head; None when it must be built afresh."""
    import flask_migrate
    from sqlalchemy import create_engine, inspect, text

    from app import create_app
    from config import TestConfig, database_url

    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        return None
    url = database_url(url, url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("agent"):
                return None
            count = connection.execute(text("SELECT count(*) FROM agent")).scalar()
            users = connection.execute(
                text(
                    "SELECT count(*) FROM ab_user WHERE username IN ('bench-staff', 'bench-primary')"
                )
            ).scalar()
    finally:
        engine.dispose()
    if count != agents or users != 2:
        return None
    import tempfile

    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url,
        OUTBOX_DIR=tempfile.mkdtemp(),
        WTF_CSRF_ENABLED=False,
    )
    with app.app_context():
        flask_migrate.upgrade()
    return app


def machine_load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load: unknown"
    return f"load average {one:.2f} / {five:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1_000_000)
    parser.add_argument("--target", type=int, default=5_000, help="agents of the employer")
    parser.add_argument("--collectivities", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--legacy", action="store_true", help="also main's statements before the name keys"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the benchmark database when it already holds --agents agents (migrated to head)",
    )
    parser.add_argument("--load-only", action="store_true")
    args = parser.parse_args()

    from flask_appbuilder.security.sqla.models import User
    from sqlalchemy import func, select

    from app import roles
    from app.extensions import db
    from app.referential.models import Collectivity
    from app.tenancy import Scope, ScopeKind
    from app.workforce.models import Agent, WorkPosition
    from tests.factories import PASSWORD, make_collectivity, make_user

    app = reused_app(args.agents) if args.reuse else None
    reused = app is not None
    app = app or fresh_app()
    rng = random.Random(7)
    with app.app_context():
        db.session.info["skip_audit"] = True
        if not reused:
            collectivities = [
                make_collectivity(db.session, name=f"Commune {index:02d}")
                for index in range(args.collectivities)
            ]
            for collectivity in collectivities:
                for pcs, label in POSITIONS:
                    position = WorkPosition(collectivity_id=collectivity.id, pcs_code=pcs)
                    position.set_label(label)
                    db.session.add(position)
            make_user(db.session, roles.SECRETARIAT, username="bench-staff")
            make_user(
                db.session,
                roles.EMPLOYER_PRIMARY,
                collectivity=collectivities[0],
                username="bench-primary",
            )
            db.session.commit()
        staff_user = db.session.scalar(select(User).where(User.username == "bench-staff"))
        employer_user = db.session.scalar(select(User).where(User.username == "bench-primary"))
        target_id = db.session.scalar(select(func.min(Collectivity.id)))
        staff_scope = Scope(kind=ScopeKind.STAFF, user_id=staff_user.id)
        employer_scope = Scope(
            kind=ScopeKind.EMPLOYER, user_id=employer_user.id, collectivity_id=target_id
        )
        engine = db.engine

    print(f"database: {engine.dialect.name}; {machine_load()}")
    if reused:
        print("reused the benchmark database (migrated to head, data kept)")
    else:
        seconds = load(app, args.agents, args.target, rng)
        print(f"loaded {args.agents} agents and contracts in {seconds:.1f} s")
    with app.app_context():
        in_target = db.session.scalar(
            select(func.count()).select_from(Agent).where(Agent.collectivity_id == target_id)
        )
    print(f"{in_target} agents in the employer's collectivity")
    _other_positions(app, target_id)
    if args.load_only:
        return
    if args.legacy:
        with engine.begin() as connection:  # the indexes main had for the « legacy » statements
            ops = " varchar_pattern_ops" if engine.dialect.name == "postgresql" else ""
            for sql in (
                f"CREATE INDEX IF NOT EXISTS legacy_birth_name_prefix ON agent (birth_name{ops})",
                f"CREATE INDEX IF NOT EXISTS legacy_usage_name_prefix ON agent (usage_name{ops})",
                "CREATE INDEX IF NOT EXISTS legacy_birth_name ON agent (birth_name)",
                "CREATE INDEX IF NOT EXISTS legacy_usage_name ON agent (usage_name)",
                "CREATE INDEX IF NOT EXISTS legacy_collectivity_names "
                "ON agent (collectivity_id, birth_name, first_name)",
                "ANALYZE agent",
            ):
                connection.exec_driver_sql(sql)
    else:
        with engine.begin() as connection:  # a reused database may keep them from a legacy run
            for name in (
                "legacy_birth_name_prefix",
                "legacy_usage_name_prefix",
                "legacy_birth_name",
                "legacy_usage_name",
                "legacy_collectivity_names",
            ):
                connection.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")

    staff = app.test_client()
    staff.post("/login/", data={"username": "bench-staff", "password": PASSWORD})
    employer = app.test_client()
    employer.post("/login/", data={"username": "bench-primary", "password": PASSWORD})
    cases = [
        (who, scope, client, name, "")
        for who, scope, client in (
            ("staff", staff_scope, staff),
            ("employer", employer_scope, employer),
        )
        for name in ("", *SEARCHES)
    ]
    cases += [
        ("employer", employer_scope, employer, "", position) for position in POSITION_SEARCHES
    ]
    variants = [("before", before_statements), ("after", current_statements)]
    if args.legacy:
        variants.insert(0, ("legacy", legacy_statements))
    print(f"{'who':<9}{'search':<18}{'variant':<9}{'rows':>6}{'count':>7}{'p50':>10}{'p95':>10}")
    for who, scope, client, name, position in cases:
        label = f"nom={name}" if name else f"poste={position}" if position else "-"
        for variant, build in variants:
            if variant == "legacy" and position:
                continue
            count, page = run_statements(app, scope, build, name, position)
            figures = measure(
                lambda b=build, s=scope, n=name, p=position: run_statements(app, s, b, n, p),
                args.repeat,
            )
            print(
                f"{who:<9}{label:<18}{variant:<9}{len(page):>6}{count:>7}"
                f"{figures['median_ms']:>7.1f} ms{figures['p95_ms']:>7.1f} ms"
            )
        url = f"/effectif/?onglet=actifs&nom={name}&poste={position}"
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        figures = measure(lambda c=client, u=url: c.get(u), args.repeat)
        print(
            f"{who:<9}{label:<18}{'request':<9}{'':>6}{'':>7}"
            f"{figures['median_ms']:>7.1f} ms{figures['p95_ms']:>7.1f} ms   GET {url}"
        )
    if args.explain:
        for who, scope, _client, name, position in cases:
            label = f"nom={name}" if name else f"poste={position}" if position else "-"
            for variant, build in variants:
                if variant == "legacy" and position:
                    continue
                print(f"\n  EXPLAIN {who} {label} ({variant}):")
                explain(app, scope, build, name, position)
    print(f"\n{machine_load()}")


if __name__ == "__main__":
    main()
