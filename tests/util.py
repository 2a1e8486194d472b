"""Small helpers for assertions on pages, and for the services CI provides (PostgreSQL, Redis)."""

from __future__ import annotations

import html
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

# The CI's local services (.ci/run): PostgreSQL at 127.0.0.1:5432 (user postgres), Redis at
# 127.0.0.1:6379. Tests that need them fail under CI=true when they do not answer; on a
# developer's machine without them they are skipped with the reason.
CI_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def text(response: Any) -> str:
    """The page as a user reads it (HTML entities decoded)."""
    return html.unescape(response.get_data(as_text=True))


def in_ci() -> bool:
    """CI=true (any value but empty, 0, false, no, off): required services must answer."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no", "off"}


def require_or_skip(service: str, reason: str) -> NoReturn:
    """Under CI the missing service fails the test; elsewhere the test is skipped, saying why."""
    import pytest

    if in_ci():
        pytest.fail(f"{service} is required in CI: {reason}")
    pytest.skip(f"{service} unavailable: {reason}")


def redis_answers(host: str = REDIS_HOST, port: int = REDIS_PORT) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_redis_or_skip() -> None:
    """Redis at 127.0.0.1:6379 is part of CI (the brief): there its absence fails the test;
    on a developer's machine without Redis the test is skipped, like the browser tests."""
    require_or_skip("Redis", f"nothing answers PING on {REDIS_HOST}:{REDIS_PORT}")


def redis_db_number() -> int:
    """A Redis database of this pytest-xdist worker (10..15): parallel workers never share the
    keys of their rate limits."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = "".join(ch for ch in worker if ch.isdigit()) or "0"
    return 10 + int(digits) % 6


def _suite_postgres(suite_url: str | None) -> bool:
    return bool(suite_url) and str(suite_url).startswith("postgresql")


@contextmanager
def scratch_postgres_database(suite_url: str | None, suffix: str) -> Iterator[str]:
    """A PostgreSQL database of its own for one test (created empty, dropped afterwards), on the
    server of the PostgreSQL pass — named ``<test database>_<suffix>`` — or, on the SQLite
    pass, on the CI's server (CI_POSTGRES_URL) — named ``medprev_<pid>_<suffix>``, one per
    worker process. Fails under CI, skips elsewhere, when the server does not answer."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    if _suite_postgres(suite_url):
        base = make_url(str(suite_url))
        name = f"{base.database}_{suffix}"
    else:
        base = make_url(CI_POSTGRES_URL)
        name = f"medprev_{os.getpid()}_{suffix}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        admin.dispose()
        require_or_skip(
            "PostgreSQL", f"{base.host}:{base.port or 5432} refused ({type(error).__name__})"
        )
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
