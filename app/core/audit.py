"""Audit log (SPEC A5): every create / update / delete on business records, old and new values."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any

from flask import g, has_request_context
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import JSON, Integer, String, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.core.types import UTCDateTime, utcnow

# Values never copied into the log, and bookkeeping columns that change on every login.
MASKED_COLUMNS = frozenset({"password", "security_answer_hash", "token_hash"})
IGNORED_COLUMNS = frozenset(
    {"updated_at", "changed_on", "last_login", "login_count", "fail_login_count", "created_at"}
    # Derived from the names (rules.names): the names' own changes are logged.
    | {"search_name", "search_alt_name"}
)


class AuditLog(Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    table_name: Mapped[str] = mapped_column(String(64), index=True)
    row_id: Mapped[str] = mapped_column(String(64))
    collectivity_id: Mapped[int | None] = mapped_column(Integer, index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Shown by name in the log (one query per page, no foreign key: a log outlives its rows).
    collectivity: Mapped[Any] = relationship(
        "Collectivity",
        primaryjoin="foreign(AuditLog.collectivity_id) == Collectivity.id",
        viewonly=True,
        lazy="selectin",
    )

    ACTION_LABELS = {
        "create": "Création",
        "update": "Modification",
        "delete": "Suppression",
        "import": "Import",
        "erase": "Effacement des données personnelles",
        "export": "Export des données d'un agent",
    }

    @property
    def action_label(self) -> str:
        return self.ACTION_LABELS.get(self.action, self.action)

    @property
    def record_label(self) -> str:
        """What changed, in words: « Agent », « Poste de travail » (app/core/labels.py)."""
        from app.core.labels import model_label

        return model_label(self.table_name)

    @property
    def changes_text(self) -> str:
        from app.core.labels import declared_labels, field_label, model_for_table

        model = model_for_table(self.table_name)
        labels = declared_labels(model) if model is not None else {}
        lines = []
        for column, (old, new) in sorted(self.changes.items()):
            lines.append(f"{field_label(model, column, labels)} : {_show(old)} → {_show(new)}")
        return "\n".join(lines)


def _show(value: Any) -> str:
    return "∅" if value is None else str(value)


def is_audited(obj: Any) -> bool:
    return bool(getattr(type(obj), "__audited__", False)) or isinstance(obj, User)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.name
    return str(value)


def _column_changes(obj: Any, action: str) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in IGNORED_COLUMNS:
            continue
        history = state.attrs[key].history
        if action == "create":
            old, new = None, getattr(obj, key)
        elif action == "delete":
            old = history.deleted[0] if history.deleted else getattr(obj, key)
            new = None
        else:
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old == new:
                continue
        if old is None and new is None:
            continue
        if key in MASKED_COLUMNS:
            old, new = ("***" if old else None), ("***" if new else None)
        changes[key] = [_json_value(old), _json_value(new)]
    return changes


def _actor() -> tuple[int | None, str]:
    from app.tenancy import current_scope

    scope = current_scope()
    username = "système"
    if has_request_context():
        user = g.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            username = user.username
    return scope.user_id, username


@event.listens_for(Session, "after_flush")
def _write_audit(session: Session, flush_context: Any) -> None:
    if session.info.get("skip_audit"):
        return
    entries: list[dict[str, Any]] = []
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if not is_audited(obj):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = _column_changes(obj, action)
            if action == "update" and not changes:
                continue
            identity = inspect(obj).mapper.primary_key_from_instance(obj)
            entries.append(
                {
                    "table_name": obj.__tablename__,
                    "row_id": ",".join(str(v) for v in identity),
                    "action": action,
                    "collectivity_id": _collectivity_of(obj),
                    "changes": changes,
                }
            )
    if not entries:
        return
    user_id, username = _actor()
    now = utcnow()
    for entry in entries:
        entry.update(user_id=user_id, username=username, at=now)
    session.connection().execute(AuditLog.__table__.insert(), entries)


def log_import(
    *,
    table_name: str,
    collectivity_id: int,
    summary: str,
    row_id: str,
    details: dict[str, Any],
) -> None:
    """One audit entry for a whole import (« Import de 10000 agents »), with the file's digest
    and counts: its rows are written by Core bulk inserts, which the after-flush hook never sees,
    and one entry per row would cost more than the import itself (issue 9)."""
    from app.extensions import db

    user_id, username = _actor()
    changes = {"import": [None, summary], **{key: [None, value] for key, value in details.items()}}
    db.session.connection().execute(
        AuditLog.__table__.insert(),
        {
            "at": utcnow(),
            "user_id": user_id,
            "username": username,
            "action": "import",
            "table_name": table_name,
            "row_id": row_id[:64],
            "collectivity_id": collectivity_id,
            "changes": changes,
        },
    )


def log_event(
    *,
    action: str,
    table_name: str,
    row_id: str,
    collectivity_id: int | None,
    details: dict[str, Any],
) -> None:
    """One audit entry written directly (Core), for what no ORM flush shows: a retention run
    (counts, never the erased values), an export of an agent's data (who exported whom)."""
    from app.extensions import db

    user_id, username = _actor()
    db.session.connection().execute(
        AuditLog.__table__.insert(),
        {
            "at": utcnow(),
            "user_id": user_id,
            "username": username,
            "action": action,
            "table_name": table_name,
            "row_id": row_id[:64],
            "collectivity_id": collectivity_id,
            "changes": {key: [None, _json_value(value)] for key, value in details.items()},
        },
    )


def _collectivity_of(obj: Any) -> int | None:
    if obj.__tablename__ == "collectivity":
        return getattr(obj, "id", None)
    value = getattr(obj, "collectivity_id", None)
    return value if isinstance(value, int) else None


def log_updates(table_name: str, rows: list[tuple[Any, int | None, dict[str, Any]]]) -> None:
    """One "update" entry per row changed by a set-based UPDATE (Core statements never reach the
    after-flush hook), as the hook writes them: (row id, collectivity id, {column: (old, new)})."""
    from app.extensions import db

    if not rows:
        return
    user_id, username = _actor()
    now = utcnow()
    db.session.connection().execute(
        AuditLog.__table__.insert(),
        [
            {
                "at": now,
                "user_id": user_id,
                "username": username,
                "action": "update",
                "table_name": table_name,
                "row_id": str(row_id),
                "collectivity_id": collectivity_id,
                "changes": {
                    column: [_json_value(old), _json_value(new)]
                    for column, (old, new) in changes.items()
                },
            }
            for row_id, collectivity_id, changes in rows
        ],
    )
