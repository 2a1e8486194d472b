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
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.types import UTCDateTime, utcnow

# Values never copied into the log, and bookkeeping columns that change on every login.
MASKED_COLUMNS = frozenset({"password", "security_answer_hash", "token_hash"})
IGNORED_COLUMNS = frozenset(
    {"updated_at", "changed_on", "last_login", "login_count", "fail_login_count", "created_at"}
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

    ACTION_LABELS = {"create": "Création", "update": "Modification", "delete": "Suppression"}

    @property
    def action_label(self) -> str:
        return self.ACTION_LABELS.get(self.action, self.action)

    @property
    def changes_text(self) -> str:
        lines = []
        for column, (old, new) in sorted(self.changes.items()):
            lines.append(f"{column} : {_show(old)} → {_show(new)}")
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


def _collectivity_of(obj: Any) -> int | None:
    if obj.__tablename__ == "collectivity":
        return getattr(obj, "id", None)
    value = getattr(obj, "collectivity_id", None)
    return value if isinstance(value, int) else None
