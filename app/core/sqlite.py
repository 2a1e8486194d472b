"""SQLite connections behave like PostgreSQL ones: real transactions, foreign keys enforced.

pysqlite opens transactions lazily and ignores SAVEPOINT semantics unless SQLAlchemy emits
BEGIN itself (SQLAlchemy "Serializable isolation / Savepoints / Transactional DDL" recipe);
foreign keys are off by default in SQLite; concurrent writers wait instead of failing at once.

Waiting needs more than ``busy_timeout``: a deferred transaction (``BEGIN``) that has read and
then writes must upgrade its read snapshot, and when another writer committed in between SQLite
answers SQLITE_BUSY at once ("database is locked"), whatever the timeout. So the transactions of
requests that may write (POST, PUT, PATCH, DELETE), and of connections marked
``connection.info["write_lock"] = True``, start with ``BEGIN IMMEDIATE``: they take the write lock
first, and a second writer waits for it (up to ``busy_timeout``). Reads (GET) stay deferred and
never wait (WAL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_writing: ContextVar[bool] = ContextVar("sqlite_writing", default=False)


@contextmanager
def write_transactions() -> Iterator[None]:
    """Every transaction begun inside the block takes the write lock first (jobs, CLI writers)."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def begin_statement(connection: Any = None) -> str:
    """``BEGIN IMMEDIATE`` for a transaction that may write, ``BEGIN`` for a read."""
    if connection is not None and connection.info.get("write_lock"):
        return "BEGIN IMMEDIATE"
    if _writing.get():
        return "BEGIN IMMEDIATE"
    if has_request_context() and request.method in WRITE_METHODS:
        return "BEGIN IMMEDIATE"
    return "BEGIN"


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Any) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(begin_statement(connection))
