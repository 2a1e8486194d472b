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
