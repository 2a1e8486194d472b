"""Agents of the collectivities (SPEC C2). Positions, careers and staged changes extend this."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    event,
    or_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.schema import CreateIndex

from app.core import clock
from app.core.model import Base
from app.core.types import Decimal as MoneyColumn
from app.core.types import LabelledEnum, UTCDateTime, enum_column
from app.referential.models import Civility, ContractType, Risk
from app.rules.formatting import fold
from app.rules.names import KEY_LENGTH, agent_name_keys
from app.tenancy import TenantMixin


class AgentStatus(LabelledEnum):
    titulaire = "Titulaire"
    stagiaire = "Stagiaire"
    contractuel = "Contractuel"
    droit_prive = "Droit privé"
    apprenti = "Apprenti"


# Name keys compare byte by byte: "C" on PostgreSQL whatever the database's locale (SQLite's
# default BINARY already does).
NAME_KEY = String(KEY_LENGTH).with_variant(String(KEY_LENGTH, collation="C"), "postgresql")


def _row_name_keys(context: Any) -> tuple[str, str | None]:
    row = context.get_current_parameters()
    return agent_name_keys(row.get("birth_name"), row.get("usage_name"), row.get("first_name"))


def _shown_name_key(context: Any) -> str:
    return _row_name_keys(context)[0]


def _alt_name_key(context: Any) -> str | None:
    return _row_name_keys(context)[1]


def sort_indexes() -> list[Index]:
    """The indexes of the « Effectif » sorts (``app.workforce.views.sorted_agents``); SQLite
    cannot say NULLS LAST in an index (``_sqlite_create_index``): its nulls sort first there."""
    from sqlalchemy import column, nulls_last

    indexes = []
    for key in ("birth_date", "list_position", "list_start"):
        for suffix, order in (("asc", column(key).asc()), ("desc", column(key).desc())):
            indexes.append(
                Index(f"ix_agent_{key}_{suffix}", nulls_last(order), "search_name", "id")
            )
    return indexes


@compiles(CreateIndex, "sqlite")
def _sqlite_create_index(create: Any, compiler: Any, **kw: Any) -> str:
    return str(compiler.visit_create_index(create, **kw)).replace(" NULLS LAST", "")


class Agent(TenantMixin, Base):
    """A person employed by a collectivity (an *agent*, a *salarié* in SSTRN's words)."""

    __tablename__ = "agent"
    __tenant_agent__ = "id"
    __table_args__ = (
        UniqueConstraint("collectivity_id", "ins"),
        # The name keys (rules.names) serve the prefix search and the sort of every agent list:
        # the whole base (staff), one collectivity (employers), the birth names hidden by a
        # usage name. They compare byte by byte (collation "C" on PostgreSQL, SQLite's BINARY),
        # so a range on the key is an index range and the index order is the list order.
        Index("ix_agent_search_name", "search_name", "id"),
        Index("ix_agent_collectivity_search_name", "collectivity_id", "search_name", "id"),
        # With the shown key: the hidden names' half of a search is sorted from the index alone.
        Index("ix_agent_search_alt_name", "search_alt_name", "search_name", "id"),
        # The « Effectif » sorts by birth date, position and start date (issue 10): walked in
        # order, each direction (key, then the name shown and the id ascending), nulls last.
        *sort_indexes(),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    civility: Mapped[Civility] = enum_column(Civility)
    first_name: Mapped[str] = mapped_column(String(100))
    birth_name: Mapped[str] = mapped_column(String(100))
    usage_name: Mapped[str | None] = mapped_column(String(100))
    # Kept by the model (flush events) and by Core inserts (the column defaults): never set.
    search_name: Mapped[str] = mapped_column(NAME_KEY, default=_shown_name_key)
    search_alt_name: Mapped[str | None] = mapped_column(NAME_KEY, default=_alt_name_key)
    birth_date: Mapped[dt.date] = mapped_column(Date)
    ins: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[AgentStatus | None] = enum_column(AgentStatus)
    service: Mapped[str | None] = mapped_column(String(120))
    validated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by_employer: Mapped[bool] = mapped_column(default=False)
    # Set by the retention job (SPEC G5): the identity above is then a placeholder.
    anonymised_on: Mapped[dt.date | None] = mapped_column(Date)
    # What the « Effectif » line shows of the shown contract, as sort keys (derived: kept by
    # ``refresh_list_keys``, at each flush of a contract and by the nightly ``sync``).
    list_position: Mapped[str | None] = mapped_column(String(200))
    list_start: Mapped[dt.date | None] = mapped_column(Date)

    collectivity = relationship("Collectivity", lazy="joined")
    assignments: Mapped[list[AgentAssignment]] = relationship(
        back_populates="agent", cascade="all, delete-orphan", lazy="selectin"
    )
    # Loaded on demand: the lists that show them load them for the whole page at once.
    contracts: Mapped[list[Contract]] = relationship(
        back_populates="agent",
        cascade="all, delete-orphan",
        order_by="Contract.start_date.desc()",
    )
    staged_changes: Mapped[list[StagedAgentChange]] = relationship(
        back_populates="agent", cascade="all, delete-orphan"
    )

    @property
    def validated(self) -> bool:
        return self.validated_at is not None

    def contracts_on(self, on: dt.date) -> list[Contract]:
        return [c for c in self.contracts if c.is_running(on)]

    def current_contract(self, on: dt.date | None = None) -> Contract | None:
        running = self.contracts_on(on or clock.today())
        return running[0] if running else None

    @property
    def current_position(self) -> WorkPosition | None:
        contract = self.current_contract()
        return contract.work_position if contract else None

    @property
    def pending_changes(self) -> list[StagedAgentChange]:
        return [c for c in self.staged_changes if c.status is ChangeStatus.en_attente]

    @property
    def state_label(self) -> str:
        if not self.validated:
            return "À valider par le CDG"
        if self.pending_changes:
            return "En attente de synchronisation"
        return "Validé"

    @property
    def row_class(self) -> str:
        if self.pending_changes:
            return "row-pending-sync"
        if self.current_position is None:
            return "row-no-position"
        return ""

    @property
    def secondary_account_ids(self) -> list[int]:
        return sorted(assignment.user_id for assignment in self.assignments)

    @property
    def full_name(self) -> str:
        name = self.usage_name or self.birth_name
        return f"{name.upper()} {self.first_name}"

    @property
    def search_label(self) -> str:
        """The name shown, with the birth name a usage name hides (« MARTIN Léa (née DUPONT) »)."""
        if self.search_alt_name is None or not self.usage_name:
            return self.full_name
        born = "née" if self.civility is Civility.madame else "né"
        return f"{self.full_name} ({born} {self.birth_name.upper()})"

    def refresh_name_keys(self) -> None:
        """Recompute the search and sort keys from the names (the flush does it by itself)."""
        self.search_name, self.search_alt_name = agent_name_keys(
            self.birth_name, self.usage_name, self.first_name
        )

    def __str__(self) -> str:
        return self.full_name


@event.listens_for(Agent, "before_insert")
@event.listens_for(Agent, "before_update")
def _keep_name_keys(mapper: Any, connection: Any, agent: Agent) -> None:
    agent.refresh_name_keys()


class AgentAssignment(TenantMixin, Base):
    """An agent managed by a secondary account (the primary account manages them all)."""

    __tablename__ = "agent_assignment"
    __tenant_user__ = "user_id"
    __tenant_parent__ = "agent"
    __table_args__ = (UniqueConstraint("agent_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)

    agent: Mapped[Agent] = relationship(back_populates="assignments")


class RadiationCategory(LabelledEnum):
    A = "Catégorie A"
    B = "Catégorie B"
    INB = "Demande d'aptitude INB"


class WorkPosition(TenantMixin, Base):
    """A work position of a collectivity with its particular risks (SPEC C1, SSTRN « Postes »)."""

    __tablename__ = "work_position"
    __table_args__ = (UniqueConstraint("collectivity_id", "pcs_code", "label_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    # The label folded (lower case, no accents): imports match positions on (PCS, label_key).
    label_key: Mapped[str] = mapped_column(String(200))
    pcs_code: Mapped[str] = mapped_column(String(4), index=True)
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)

    risk_links: Mapped[list[PositionRisk]] = relationship(
        back_populates="work_position", cascade="all, delete-orphan", lazy="selectin"
    )
    collectivity = relationship("Collectivity")

    @property
    def risk_codes(self) -> list[str]:
        return sorted(link.risk.code for link in self.risk_links)

    @property
    def risks(self) -> list[str]:
        """The risk codes (the REST API's ``risks``)."""
        return self.risk_codes

    @property
    def closed(self) -> bool:
        return self.is_closed

    @property
    def risks_summary(self) -> str:
        if not self.risk_links:
            return "Aucun risque"
        labels = [link.summary for link in sorted(self.risk_links, key=lambda r: r.risk.sort_order)]
        return "Risque(s) : " + ", ".join(labels)

    @property
    def follow_up(self) -> str:
        from app.workforce.positions import position_follow_up

        return position_follow_up(self).level.value

    @property
    def missing_precisions(self) -> list[str]:
        return [link.risk.short_label for link in self.risk_links if link.precision_missing]

    def set_label(self, label: str) -> None:
        self.label = " ".join(label.split())
        self.label_key = fold(self.label)

    def __str__(self) -> str:
        return f"{self.label} – {self.pcs_code}"


class PositionRisk(TenantMixin, Base):
    """A risk of a position, with the precision some risks require."""

    __tablename__ = "position_risk"
    __tenant_parent__ = "work_position"
    __table_args__ = (UniqueConstraint("work_position_id", "risk_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_position_id: Mapped[int] = mapped_column(
        ForeignKey("work_position.id", ondelete="CASCADE"), index=True
    )
    risk_id: Mapped[int] = mapped_column(ForeignKey("risk.id"))
    radiation_category: Mapped[RadiationCategory | None] = enum_column(RadiationCategory)
    caces_categories: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(250))

    work_position: Mapped[WorkPosition] = relationship(back_populates="risk_links")
    risk: Mapped[Risk] = relationship(lazy="joined")

    @property
    def precision_missing(self) -> bool:
        kind = self.risk.precision.name
        return (
            (kind == "categorie_radiation" and self.radiation_category is None)
            or (kind == "categories_caces" and not self.caces_categories)
            or (kind == "description" and not self.description)
        )

    @property
    def summary(self) -> str:
        detail = (
            self.radiation_category.label
            if self.radiation_category
            else self.caces_categories or self.description
        )
        return f"{self.risk.short_label} ({detail})" if detail else self.risk.short_label


class Contract(TenantMixin, Base):
    """A step of an agent's career: a position held under a contract type (SPEC C3)."""

    __tablename__ = "contract"
    __tenant_agent__ = "agent_id"
    __tenant_parent__ = "agent"
    __table_args__ = (
        Index("ix_contract_agent_dates", "agent_id", "start_date", "end_date"),
        # An employer's « En activité » count hashes his contracts from the index alone (issue 9).
        Index(
            "ix_contract_collectivity_agent_dates",
            "collectivity_id",
            "agent_id",
            "start_date",
            "end_date",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    work_position_id: Mapped[int] = mapped_column(ForeignKey("work_position.id"), index=True)
    contract_type_id: Mapped[int] = mapped_column(ForeignKey("contract_type.id"))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date, index=True)

    agent: Mapped[Agent] = relationship(back_populates="contracts")
    work_position: Mapped[WorkPosition] = relationship(lazy="joined")
    contract_type: Mapped[ContractType] = relationship(lazy="joined")

    def is_running(self, on: dt.date) -> bool:
        return self.start_date <= on and (self.end_date is None or self.end_date >= on)

    @classmethod
    def open_on(cls, on: dt.date) -> Any:
        """SQL: the contract has not ended on that date (running or future)."""
        return or_(cls.end_date.is_(None), cls.end_date >= on)

    @classmethod
    def running_on(cls, on: dt.date) -> Any:
        """SQL twin of ``is_running``."""
        return and_(cls.start_date <= on, cls.open_on(on))

    @property
    def position_label(self) -> str:
        return self.work_position.label

    @property
    def contract_type_code(self) -> str:
        return self.contract_type.code

    def __str__(self) -> str:
        return f"{self.work_position.label} ({self.contract_type.label})"


class ChangeStatus(LabelledEnum):
    en_attente = "En attente de synchronisation"
    appliquee = "Appliquée"
    conflit = "Conflit : modifiée entre-temps par le CDG"
    refusee = "Refusée"


class StagedAgentChange(TenantMixin, Base):
    """An employer's change to a validated agent, applied by the nightly sync (SPEC C2, G2)."""

    __tablename__ = "staged_agent_change"
    __tenant_agent__ = "agent_id"
    __tenant_parent__ = "agent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(30))
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[ChangeStatus] = enum_column(
        ChangeStatus, default=ChangeStatus.en_attente, index=True
    )
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL")
    )
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)

    agent: Mapped[Agent] = relationship(back_populates="staged_changes")

    FIELD_LABELS = {
        "first_name": "Prénom",
        "birth_name": "Nom de naissance",
        "usage_name": "Nom d'usage",
        "ins": "INS",
    }

    @property
    def field_label(self) -> str:
        return self.FIELD_LABELS.get(self.field, self.field)

    @property
    def agent_name(self) -> str:
        return self.agent.full_name


class Headcount(TenantMixin, Base):
    """A headcount declared for a year (SPEC C6 « Effectifs », F1)."""

    __tablename__ = "headcount"
    __table_args__ = (UniqueConstraint("collectivity_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    headcount: Mapped[int] = mapped_column(Integer)
    permanent_headcount: Mapped[int | None] = mapped_column(Integer)
    declared_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(250))
    # The annual declaration (SPEC F1, app.billing.declarations): payroll for statutory medicine,
    # validation (editable 7 days after, then locked) and the staff's reopening.
    payroll: Mapped[decimal.Decimal | None] = mapped_column(MoneyColumn(14, 2))
    validated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    validated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL")
    )
    reopened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reopened_reason: Mapped[str | None] = mapped_column(String(250))

    collectivity = relationship("Collectivity", lazy="joined")
    validated_by = relationship("User", foreign_keys=[validated_by_id])

    @property
    def validated_on(self) -> dt.date | None:
        """The validation date in Paris (CONTRACT.md §2 ``validated_on``): ``declared_on``."""
        return self.declared_on

    @property
    def lock_state(self) -> str:
        """« Modifiable jusqu'au JJ/MM/AAAA », « Verrouillée depuis le ... », « Rouverte »."""
        from app.rules.declarations import editable_until

        if self.reopened_at is not None:
            return "Rouverte par le centre de gestion"
        if self.declared_on is None:
            return ""
        until = editable_until(self.declared_on)
        if clock.today() <= until:
            return f"Modifiable jusqu'au {until:%d/%m/%Y}"
        return f"Verrouillée depuis le {until + dt.timedelta(days=1):%d/%m/%Y}"


class DeclarationReminder(TenantMixin, Base):
    """A declaration reminder sent to a collectivity for a year, once (SPEC G4)."""

    __tablename__ = "declaration_reminder"
    __audited__ = False
    __table_args__ = (UniqueConstraint("collectivity_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# ----------------------------------------------------------------------------------------------
# The « Effectif » sort keys (issue 10): what the line shows of the shown contract, on the agent
# ----------------------------------------------------------------------------------------------


def list_key_values(today: dt.date) -> tuple[Any, Any]:
    """Correlated SQL of ``Agent.list_start`` and ``Agent.list_position`` as of a day: the start
    of the running contract started last, else of the contract started last; the label key of
    the running contract started last (None without one) — as the line shows them."""
    from sqlalchemy import case, func, select

    running = Contract.running_on(today)
    start = (
        select(
            func.coalesce(
                func.max(case((running, Contract.start_date))), func.max(Contract.start_date)
            )
        )
        .where(Contract.agent_id == Agent.id)
        .scalar_subquery()
    )
    position = (
        select(WorkPosition.label_key)
        .join(Contract, Contract.work_position_id == WorkPosition.id)
        .where(Contract.agent_id == Agent.id, running)
        .order_by(Contract.start_date.desc(), WorkPosition.label_key.desc())
        .limit(1)
        .scalar_subquery()
    )
    return start, position


def refresh_list_keys(connection: Any, agent_ids: Any = None, today: dt.date | None = None) -> int:
    """Set the sort keys of those agents (None: every agent) as of ``today``, writing only the
    rows whose keys changed (Core: derived data, no audit). Returns the rows written."""
    from sqlalchemy import or_, update

    start, position = list_key_values(today or clock.today())
    statement = update(Agent.__table__).values(list_start=start, list_position=position)
    statement = statement.where(
        or_(
            Agent.__table__.c.list_start.is_distinct_from(start),
            Agent.__table__.c.list_position.is_distinct_from(position),
        )
    )
    if agent_ids is not None:
        ids = sorted(set(agent_ids))
        if not ids:
            return 0
        statement = statement.where(Agent.__table__.c.id.in_(ids))
    return int(connection.execute(statement).rowcount or 0)


@event.listens_for(Session, "after_flush")
def _refresh_list_keys_after_flush(session: Session, flush_context: Any) -> None:
    from sqlalchemy import inspect

    ids = {
        obj.agent_id or getattr(obj.agent, "id", None)
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, Contract)
    }
    ids.discard(None)
    renamed = [
        obj.id
        for obj in session.dirty
        if isinstance(obj, WorkPosition) and inspect(obj).attrs.label_key.history.has_changes()
    ]
    if renamed:
        from sqlalchemy import select

        on_renamed = select(Contract.agent_id).where(Contract.work_position_id.in_(renamed))
        ids.update(session.connection().execute(on_renamed).scalars())
    if ids:
        refresh_list_keys(session.connection(), ids)
