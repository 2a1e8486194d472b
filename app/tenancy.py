"""Tenant isolation in one place: who is asking, and the ORM filters and write guards it implies.

Every model that belongs to a collectivity declares ``tenant_criteria(scope)`` (usually through
``TenantMixin``). For an employer user, every ORM SELECT / UPDATE / DELETE of the session gets
those criteria (``with_loader_criteria``), so list, show, edit, delete, actions, dropdowns,
related views, charts, exports and the REST API are all filtered by the same rule. Writes are
stamped with the caller's collectivity and checked after the flush: a row or a reference that
the caller could not read is refused (``TenantViolation``) and the transaction rolls back.

Staff roles and trusted code (CLI, jobs, tests' set-up) are unrestricted; an unknown user or an
employer without a collectivity sees nothing (fail closed).

A secondary account sees only its agents, but the business rules that protect the collectivity
as a whole (appointments left on a plage, a position still held, duplicates) count every row of
the collectivity: services run them in ``collectivity_scope()``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from flask import g, has_request_context, session
from sqlalchemy import ForeignKey, Integer, and_, event, false, func, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import (
    Mapped,
    Mapper,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.orm.util import identity_key

from app import roles
from app.rules.errors import DomainError


class ScopeKind(enum.Enum):
    SYSTEM = "system"
    STAFF = "staff"
    EMPLOYER = "employer"
    NOBODY = "nobody"


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    user_id: int | None = None
    collectivity_id: int | None = None
    # Set for a secondary account: it sees only the agents assigned to it.
    secondary_user_id: int | None = None

    @property
    def unrestricted(self) -> bool:
        return self.kind in (ScopeKind.SYSTEM, ScopeKind.STAFF)

    @property
    def is_employer(self) -> bool:
        return self.kind is ScopeKind.EMPLOYER

    @property
    def is_secondary(self) -> bool:
        return self.secondary_user_id is not None


SYSTEM = Scope(ScopeKind.SYSTEM)
NOBODY = Scope(ScopeKind.NOBODY)

_override: ContextVar[Scope | None] = ContextVar("tenant_scope_override", default=None)
_resolving: ContextVar[bool] = ContextVar("tenant_scope_resolving", default=False)


class TenantViolation(DomainError):
    """A write that reaches outside the caller's collectivity (answered as 404 by the views)."""

    def __init__(self, message: str = "Enregistrement introuvable.") -> None:
        super().__init__(message)


@contextmanager
def scope_as(scope: Scope) -> Iterator[Scope]:
    """Run a block as a given scope (tests, jobs, services that checked rights themselves)."""
    token = _override.set(scope)
    try:
        yield scope
    finally:
        _override.reset(token)


def system_scope() -> Any:
    return scope_as(SYSTEM)


def collectivity_of(collectivity_id: int) -> Scope:
    """What a collectivity as a whole sees (its primary account's view): to check that a staff
    change leaves every row of that collectivity readable."""
    return Scope(ScopeKind.EMPLOYER, collectivity_id=collectivity_id)


@contextmanager
def collectivity_scope() -> Iterator[Scope]:
    """Run a business check in the caller's collectivity as a whole: a secondary account counts
    the rows of the whole collectivity (its primary's appointments, the contracts of agents it
    does not manage), as its primary would. Rules that protect the collectivity (« you still
    have appointments on this plage », « a present agent holds this position », duplicates) read
    in this scope; staff and trusted code keep theirs. For reads: writes stay checked against
    the collectivity, but what the secondary may change is decided before, in its own scope."""
    scope = current_scope()
    if scope.is_secondary:
        scope = replace(scope, secondary_user_id=None)
    with scope_as(scope) as widened:
        yield widened


def current_scope() -> Scope:
    """The scope of the code running now: an explicit override, the request's user, or SYSTEM."""
    override = _override.get()
    if override is not None:
        return override
    if not has_request_context():
        return SYSTEM
    cached = g.get("_tenant_scope")
    if cached is not None:
        return cached
    if _resolving.get():
        # Only unscoped tables (users, roles, memberships) are read while the user is resolved.
        return NOBODY
    token = _resolving.set(True)
    try:
        user = _request_user()
        scope = scope_for_user(user, session.get("collectivity_id")) if user else NOBODY
    finally:
        _resolving.reset(token)
    if user is not None:
        g._tenant_scope = scope
    return scope


@contextmanager
def loading_user() -> Iterator[None]:
    """Load the request's user (users, roles, groups: unscoped tables) without resolving the
    request's scope, which would ask Flask-Login for that same user; tenant tables read meanwhile
    see nothing (fail closed)."""
    token = _resolving.set(True)
    try:
        yield
    finally:
        _resolving.reset(token)


def forget_cached_scope() -> None:
    """Drop the scope cached for this request (after a collectivity switch or a login)."""
    if has_request_context():
        g.pop("_tenant_scope", None)
        g.pop("_tenant_memberships", None)


def request_memberships(user_id: int | None) -> list[tuple[int, str]] | None:
    """The (collectivity id, name) pairs of the user, as read when this request's scope was
    resolved (None when they were not)."""
    cached = g.get("_tenant_memberships") if has_request_context() else None
    if cached is None or cached[0] != user_id:
        return None
    return list(cached[1])


def _request_user() -> Any:
    user = g.get("user")
    if user is not None and getattr(user, "is_authenticated", False):
        return getattr(user, "_get_current_object", lambda: user)()
    from flask_login import current_user

    if current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def scope_for_user(user: Any, selected_collectivity_id: int | None = None) -> Scope:
    """Staff roles are unrestricted; an employer works on one of his collectivities."""
    role_names = {role.name for role in user.roles}
    if role_names & roles.STAFF_ROLES:
        return Scope(ScopeKind.STAFF, user_id=user.id)
    if not role_names & roles.EMPLOYER_ROLES:
        return NOBODY
    from app.accounts.models import PortalMembership

    collectivity = sa_inspect(PortalMembership).relationships["collectivity"].mapper.class_
    with scope_as(SYSTEM):
        memberships = (
            _raw_session()
            .execute(
                select(
                    PortalMembership.collectivity_id,
                    PortalMembership.primary_user_id,
                    collectivity.name,
                )
                .join(collectivity, collectivity.id == PortalMembership.collectivity_id)
                .where(PortalMembership.user_id == user.id)
                .order_by(PortalMembership.id)
            )
            .all()
        )
    if has_request_context():
        # The portal's collectivity switcher shows them: read once per request.
        g._tenant_memberships = (user.id, [(m.collectivity_id, m.name) for m in memberships])
    if not memberships:
        return NOBODY
    chosen = next((m for m in memberships if m.collectivity_id == selected_collectivity_id), None)
    chosen = chosen or memberships[0]
    return Scope(
        ScopeKind.EMPLOYER,
        user_id=user.id,
        collectivity_id=chosen.collectivity_id,
        secondary_user_id=user.id if chosen.primary_user_id is not None else None,
    )


def _raw_session() -> Session:
    from app.extensions import db

    return db.session


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class TenantMixin:
    """A row owned by one collectivity. ``__tenant_agent__`` names the column holding the agent
    id when a secondary account may only reach the rows of its assigned agents;
    ``__tenant_user__`` the column holding the user id when it may only reach its own rows."""

    __tenant_agent__: ClassVar[str | None] = None
    __tenant_user__: ClassVar[str | None] = None

    @declared_attr
    def collectivity_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(
            Integer, ForeignKey("collectivity.id", ondelete="CASCADE"), nullable=False, index=True
        )

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        criteria = cls.collectivity_id == scope.collectivity_id  # type: ignore[attr-defined]
        if scope.is_secondary and cls.__tenant_agent__:
            agent_column = getattr(cls, cls.__tenant_agent__)
            criteria = and_(criteria, agent_column.in_(assigned_agent_ids(scope)))
        if scope.is_secondary and cls.__tenant_user__:
            user_column = getattr(cls, cls.__tenant_user__)
            criteria = and_(criteria, user_column == scope.secondary_user_id)
        return criteria


def assigned_agent_ids(scope: Scope) -> Any:
    """The ids of the agents a secondary account manages (a subquery)."""
    from app.workforce.models import AgentAssignment

    return select(AgentAssignment.agent_id).where(
        AgentAssignment.user_id == scope.secondary_user_id
    )


_TENANT_MODELS: list[type] | None = None


def tenant_models() -> list[type]:
    """Every mapped class that declares ``tenant_criteria`` (computed once)."""
    global _TENANT_MODELS
    if _TENANT_MODELS is None:
        from flask_appbuilder import Model

        _TENANT_MODELS = sorted(
            (
                mapper.class_
                for mapper in Model.registry.mappers
                if hasattr(mapper.class_, "tenant_criteria")
            ),
            key=lambda cls: cls.__name__,
        )
    return _TENANT_MODELS


def is_tenant_model(cls: type) -> bool:
    return hasattr(cls, "tenant_criteria")


def criteria_for(cls: type, scope: Scope) -> Any:
    if scope.kind is not ScopeKind.EMPLOYER or scope.collectivity_id is None:
        return false()
    return cls.tenant_criteria(scope)  # type: ignore[attr-defined]


# The loader options of a scope, built once per scope: ``Scope`` is frozen and holds every value
# the criteria depend on (collectivity, secondary account), so two scopes never share options.
# What a secondary account may see (its assignments) is a subquery run with each statement,
# never a cached value: an assignment change is seen at once.
_SCOPE_OPTIONS: dict[Scope, tuple[Any, ...]] = {}
_SCOPE_OPTIONS_MAX = 1024


def _scope_options(scope: Scope) -> tuple[Any, ...]:
    options = _SCOPE_OPTIONS.get(scope)
    if options is None:
        options = tuple(
            with_loader_criteria(cls, criteria_for(cls, scope), include_aliases=True)
            for cls in tenant_models()
        )
        if len(_SCOPE_OPTIONS) >= _SCOPE_OPTIONS_MAX:
            _SCOPE_OPTIONS.clear()
        _SCOPE_OPTIONS[scope] = options
    return options


# --------------------------------------------------------------------------------------------
# ORM hooks
# --------------------------------------------------------------------------------------------


@event.listens_for(Session, "do_orm_execute")
def _filter_statements(state: ORMExecuteState) -> None:
    if state.is_column_load:
        return
    if not (state.is_select or state.is_update or state.is_delete or state.is_insert):
        return
    scope = current_scope()
    if scope.unrestricted:
        return
    if state.is_insert:
        # Bulk INSERT bypasses the flush guard: only trusted code may use it on tenant tables.
        mapper = state.bind_mapper
        if mapper is not None and is_tenant_model(mapper.class_):
            raise TenantViolation("Écriture refusée.")
        return
    state.statement = state.statement.options(*_scope_options(scope))
    # The rows this statement loads were filtered for this scope (see _remember_scope).
    state.update_execution_options(**{_LOADED_FOR: scope})


# --------------------------------------------------------------------------------------------
# What this session has already proven visible
# --------------------------------------------------------------------------------------------
#
# A row loaded by a statement the hook filtered for a scope is visible to that scope: the
# instance keeps that scope in its state until it is refreshed from the database (a refresh of
# expired attributes is not filtered). The after-flush check then needs no SELECT to prove that
# a foreign key written by the scope points at a row it can read, when that row is such an
# instance. A new row whose criteria only read its own columns (``collectivity_id == 7``) is
# checked on its flushed values instead of being selected again. Rows changed by the flush are
# always selected again: the row lock taken by the UPDATE makes that check exact.

_LOADED_FOR = "tenant_loaded_for"


@event.listens_for(Mapper, "load")
def _remember_scope(target: Any, context: Any) -> None:
    scope = getattr(context, "execution_options", None) or {}
    scope = scope.get(_LOADED_FOR)
    if scope is not None:
        sa_inspect(target).info[_LOADED_FOR] = scope


@event.listens_for(Mapper, "refresh")
def _refresh_scope(target: Any, context: Any, attrs: Any) -> None:
    # Reloaded by a filtered statement (``populate_existing``): visible to its scope; by an
    # unfiltered one (expired attributes): proven for nobody.
    scope = getattr(context, "execution_options", None) or {}
    scope = scope.get(_LOADED_FOR)
    info = sa_inspect(target).info
    if scope is not None:
        info[_LOADED_FOR] = scope
    else:
        info.pop(_LOADED_FOR, None)


def _loaded_for(session: Session, cls: type, pk: Any, scope: Scope) -> bool:
    obj = session.identity_map.get(identity_key(cls, pk))
    if obj is None or obj in session.deleted:
        return False
    return bool(sa_inspect(obj).info.get(_LOADED_FOR) == scope)


_EVALUATORS: dict[tuple[type, Scope], Any] = {}


def _evaluates_visible(obj: Any, scope: Scope) -> bool:
    """The scope's criteria, evaluated on the object's own values (False when they cannot be:
    a subquery, another table)."""
    key = (type(obj), scope)
    if key not in _EVALUATORS:
        try:
            from sqlalchemy.orm.evaluator import _EvaluatorCompiler

            evaluator: Any = _EvaluatorCompiler(type(obj)).process(criteria_for(type(obj), scope))
        except Exception:  # UnevaluatableError, or an SQLAlchemy without the evaluator
            evaluator = None
        if len(_EVALUATORS) >= _SCOPE_OPTIONS_MAX:
            _EVALUATORS.clear()
        _EVALUATORS[key] = evaluator
    evaluator = _EVALUATORS[key]
    return evaluator is not None and evaluator(obj) is True


def _owner_of(obj: Any) -> int | None:
    """The collectivity of a row: its own column, its parent's (``__tenant_parent__``), or the
    ``collectivity`` relationship set by a form."""
    value = getattr(obj, "collectivity_id", None)
    if value is not None:
        return value
    parent_name = getattr(type(obj), "__tenant_parent__", None)
    parent = getattr(obj, parent_name, None) if parent_name else None
    if parent is not None:
        return _owner_of(parent)
    collectivity = getattr(obj, "collectivity", None)
    if collectivity is not None and type(collectivity).__name__ == "Collectivity":
        return collectivity.id
    return None


@event.listens_for(Session, "before_flush")
def _stamp_and_check_deletes(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.new:
        if (
            is_tenant_model(type(obj))
            and hasattr(obj, "collectivity_id")
            and obj.collectivity_id is None
        ):
            obj.collectivity_id = _owner_of(obj)
    scope = current_scope()
    if scope.unrestricted:
        return
    if scope.kind is not ScopeKind.EMPLOYER:
        for obj in (*session.new, *session.dirty, *session.deleted):
            if is_tenant_model(type(obj)):
                raise TenantViolation("Écriture refusée.")
        return
    for obj in session.new:
        if is_tenant_model(type(obj)) and hasattr(obj, "collectivity_id"):
            if obj.collectivity_id is None:
                obj.collectivity_id = scope.collectivity_id
            elif obj.collectivity_id != scope.collectivity_id:
                raise TenantViolation()
    deleted = [obj for obj in session.deleted if is_tenant_model(type(obj))]
    with session.no_autoflush:
        _check_visible(session, scope, deleted)


@event.listens_for(Session, "after_flush")
def _check_writes(session: Session, flush_context: Any) -> None:
    scope = current_scope()
    if scope.unrestricted or scope.kind is not ScopeKind.EMPLOYER:
        return
    # A row this flush deleted (an orphan removed from its parent's list, such as a position's
    # risk) is dirty but gone: it was loaded through the caller's scope, its parent is checked.
    deleted = {
        id(state.obj())
        for state, (is_delete, _) in getattr(flush_context, "states", {}).items()
        if is_delete
    }
    written = [
        obj
        for obj in (*session.new, *session.dirty)
        if is_tenant_model(type(obj)) and id(obj) not in deleted
    ]
    if not written:
        return
    created = set(map(id, session.new))
    _check_visible(
        session,
        scope,
        [obj for obj in written if id(obj) not in created or not _evaluates_visible(obj, scope)],
    )
    _check_references(session, scope, written)


def _check_visible(session: Session, scope: Scope, objects: list[Any]) -> None:
    """Every object must be readable by the scope (criteria are added by the hook above)."""
    by_class: dict[type, set[Any]] = {}
    for obj in objects:
        pk = _pk(obj)
        if pk is not None:
            by_class.setdefault(type(obj), set()).add(pk)
    for cls, ids in by_class.items():
        if _visible_ids(session, cls, ids) != ids:
            raise TenantViolation()


def _check_references(session: Session, scope: Scope, objects: list[Any]) -> None:
    """Every foreign key from a written row to a tenant table must point at a visible row."""
    targets: dict[type, set[Any]] = {}
    tables = {cls.__table__: cls for cls in tenant_models()}  # type: ignore[attr-defined]
    for obj in objects:
        for column in type(obj).__table__.columns:
            for fk in column.foreign_keys:
                target_cls = tables.get(fk.column.table)
                if target_cls is None:
                    continue
                value = getattr(obj, _attribute_name(type(obj), column.key), None)
                if value is not None and not _loaded_for(session, target_cls, value, scope):
                    targets.setdefault(target_cls, set()).add(value)
    for cls, ids in targets.items():
        if _visible_ids(session, cls, ids) != ids:
            raise TenantViolation()


def _visible_ids(session: Session, cls: Any, ids: set[Any]) -> set[Any]:
    # The mapped attribute, not the table's column: a Core ``select(column)`` names no ORM
    # entity, and the loader criteria of the hook would not reach it.
    mapper = cls.__mapper__
    pk_column = getattr(cls, mapper.get_property_by_column(mapper.primary_key[0]).key)
    found: set[Any] = set()
    id_list = sorted(ids)
    for start in range(0, len(id_list), 500):
        chunk = id_list[start : start + 500]
        found.update(session.execute(select(pk_column).where(pk_column.in_(chunk))).scalars().all())
    return found


# --------------------------------------------------------------------------------------------
# Bulk writes (imports)
# --------------------------------------------------------------------------------------------
#
# Core INSERTs bypass both ORM hooks above (no loader criteria, no flush guard): the ORM-enabled
# bulk INSERT is refused to employers for that reason. The imports write through ``bulk_insert``
# instead, which re-establishes the guard's promises itself: the caller's scope may write into
# the collectivity, every row is stamped with it, and every foreign key to a tenant table
# points at a row of that collectivity.


def check_bulk_write(collectivity_id: int | None) -> None:
    """Refuse (TenantViolation) a scope that may not write into ``collectivity_id``: staff and
    trusted code write anywhere, an employer only into the collectivity of his scope."""
    scope = current_scope()
    if scope.unrestricted and collectivity_id is not None:
        return
    if not scope.is_employer or collectivity_id is None or collectivity_id != scope.collectivity_id:
        raise TenantViolation()


def bulk_insert(
    session: Session, cls: Any, rows: list[dict[str, Any]], collectivity_id: int
) -> list[int]:
    """Insert ``rows`` into a tenant table in one executemany, stamped with ``collectivity_id``;
    return their ids in the order of ``rows``. The caller flushes and commits. A secondary
    account never writes in bulk: the rows would not be among its assigned agents."""
    check_bulk_write(collectivity_id)
    if current_scope().is_secondary:
        raise TenantViolation()
    if not rows:
        return []
    table = cls.__table__
    for row in rows:
        row["collectivity_id"] = collectivity_id
    tables = {model.__table__: model for model in tenant_models()}  # type: ignore[attr-defined]
    for column in table.columns:
        for fk in column.foreign_keys:
            target = tables.get(fk.column.table)
            if target is None or column.key == "collectivity_id":
                continue
            if "collectivity_id" not in target.__table__.c:
                raise TenantViolation()  # fail closed: no rule to check this reference with
            ids = {row[column.key] for row in rows if row.get(column.key) is not None}
            ids -= _bulk_written(session, target, collectivity_id)
            if ids and _ids_in_collectivity(session, target, ids, collectivity_id) != ids:
                raise TenantViolation()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        ids = _copy_rows(connection, table, rows)
    elif connection.dialect.name == "sqlite":
        ids = _sqlite_rows(connection, table, rows)
    else:
        statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        ids = list(connection.execute(statement, rows).scalars())
    _bulk_written(session, cls, collectivity_id).update(ids)
    return ids


# The rows ``bulk_insert`` wrote in this transaction, by (table, collectivity): a later bulk
# insert referencing them (an agent's contracts) needs no SELECT to know they are in it.
_BULK_WRITTEN = "tenancy_bulk_written"


def _bulk_written(session: Session, cls: Any, collectivity_id: int) -> set[Any]:
    written: dict[tuple[str, int], set[Any]] = session.info.setdefault(_BULK_WRITTEN, {})
    return written.setdefault((cls.__table__.name, collectivity_id), set())


@event.listens_for(Session, "after_transaction_end")
def _forget_bulk_written(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_BULK_WRITTEN, None)


def _sqlite_rows(connection: Any, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """SQLite: one ``executemany`` (RETURNING in parameter order would insert row by row). The
    transaction holds the database's write lock from its first write, so the rows get
    consecutive ids ending at ``last_insert_rowid()``; checked before they are handed back."""
    connection.execute(table.insert(), rows)
    last = int(connection.exec_driver_sql("SELECT last_insert_rowid()").scalar())
    first = last - len(rows) + 1
    written = connection.execute(
        select(func.count()).select_from(table).where(table.c.id.between(first, last))
    ).scalar()
    if written != len(rows):
        raise RuntimeError(f"bulk_insert: ids of {table.name} are not consecutive")
    return list(range(first, last + 1))


class _RowContext:
    """What a column default reads of the row being inserted (``get_current_parameters``)."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def get_current_parameters(self, isolate_multiinsert_groups: bool = True) -> dict[str, Any]:
        return self.row


def _copy_rows(connection: Any, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """PostgreSQL: ids drawn from the table's sequence, then one ``COPY``: a multi-row INSERT of
    10 000 rows spends most of its time having its placeholders parsed by the driver. Column
    defaults (timestamps, the name keys of ``Agent``) and the types' bind processing are applied
    here as an INSERT would."""
    dialect = connection.dialect
    ids = list(
        connection.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": len(rows)},
        ).scalars()
    )
    # The columns given or with a Python default; the others keep the database's own default.
    given = set().union(*rows) | {"id"}
    columns = [c for c in table.columns if c.key in given or c.default is not None]
    processors = [column.type._cached_bind_processor(dialect) for column in columns]
    values: list[tuple[Any, ...]] = []
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
        for column in columns:
            if column.key not in row:
                row[column.key] = _default_value(column, row)
        values.append(
            tuple(
                process(row[column.key]) if process else row[column.key]
                for column, process in zip(columns, processors, strict=True)
            )
        )
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(column.name) for column in columns)
    raw = connection.connection.dbapi_connection
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy,
    ):
        for value in values:
            copy.write_row(value)
    return ids


def _default_value(column: Any, row: dict[str, Any]) -> Any:
    default = column.default
    if default is None:  # a column another row gives
        return None
    if default.is_callable:
        return default.arg(_RowContext(row))
    if default.is_scalar:
        return default.arg
    raise NotImplementedError(f"bulk_insert: SQL default of {column} not supported")


def _ids_in_collectivity(
    session: Session, cls: Any, ids: set[Any], collectivity_id: int
) -> set[Any]:
    table = cls.__table__
    found: set[Any] = set()
    id_list = sorted(ids)
    for start in range(0, len(id_list), 500):
        chunk = id_list[start : start + 500]
        found.update(
            session.connection()
            .execute(
                select(table.c.id).where(
                    table.c.id.in_(chunk), table.c.collectivity_id == collectivity_id
                )
            )
            .scalars()
        )
    return found


def _pk(obj: Any) -> Any:
    identity = obj.__mapper__.primary_key_from_instance(obj)
    return identity[0] if identity and identity[0] is not None else None


def _attribute_name(cls: Any, column_key: str) -> str:
    prop = cls.__mapper__.get_property_by_column(cls.__table__.columns[column_key])
    return str(prop.key)
