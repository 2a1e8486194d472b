"""Shared set-up of the benchmark scripts: a fresh migrated database and a timing helper."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, event, text


def fresh_app(**overrides: Any) -> Any:
    import flask_migrate

    from app import create_app
    from app.cli import seed_roles
    from app.extensions import db
    from app.referential.reference_data import seed_reference_data
    from config import TestConfig, database_url

    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        url = database_url(url, url)
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url,
        OUTBOX_DIR=tempfile.mkdtemp(),
        WTF_CSRF_ENABLED=False,
        **overrides,
    )
    with app.app_context():
        flask_migrate.upgrade()
        seed_roles()
        seed_reference_data(db.session)
        db.session.commit()
    return app


class Counter:
    def __init__(self, engine: Any) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args: Any) -> None:
        self.count += 1


def measure(function: Callable[[], Any], repeat: int = 20) -> dict[str, float]:
    durations = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        durations.append((time.perf_counter() - start) * 1000)
    durations.sort()
    return {
        "median_ms": statistics.median(durations),
        "p95_ms": durations[int(len(durations) * 0.95) - 1],
        "max_ms": durations[-1],
    }


def machine_load() -> str:
    """The load average printed beside every figure: on a busy machine the figures are higher."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs"


def collectivities_with_positions(
    session: Any, count: int, positions: list[tuple[str, str]], per_collectivity: int, rng: Any
) -> list[Any]:
    """``count`` collectivities « Commune NN », each with ``per_collectivity`` of ``positions``
    (PCS code, label) drawn by ``rng``: the world the agent benchmarks load agents into."""
    from app.workforce.models import WorkPosition
    from tests.factories import make_collectivity

    session.info["skip_audit"] = True
    collectivities = [
        make_collectivity(session, name=f"Commune {index:02d}") for index in range(count)
    ]
    for collectivity in collectivities:
        for pcs, label in rng.sample(positions, per_collectivity):
            position = WorkPosition(collectivity_id=collectivity.id, pcs_code=pcs)
            position.set_label(label)
            session.add(position)
    return collectivities
