"""SQLite connections behave like PostgreSQL ones: real transactions, foreign keys enforced.

pysqlite opens transactions lazily and ignores SAVEPOINT semantics unless SQLAlchemy emits
BEGIN itself (SQLAlchemy "Serializable isolation / Savepoints / Transactional DDL" recipe);
foreign keys are off by default in SQLite; concurrent writers wait instead of failing at once.
"""

from __future__ import annotations

from typing import Any

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


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Any) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            "BEGIN IMMEDIATE" if connection.info.get("write_lock") else "BEGIN"
        )
