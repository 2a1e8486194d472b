"""Agents of the collectivities (SPEC C2). Positions, careers and staged changes extend this."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.model import Base
from app.core.types import LabelledEnum, UTCDateTime, enum_column
from app.referential.models import Civility
from app.tenancy import TenantMixin


class AgentStatus(LabelledEnum):
    titulaire = "Titulaire"
    stagiaire = "Stagiaire"
    contractuel = "Contractuel"
    droit_prive = "Droit privé"
    apprenti = "Apprenti"


class Agent(TenantMixin, Base):
    """A person employed by a collectivity (an *agent*, a *salarié* in SSTRN's words)."""

    __tablename__ = "agent"
    __tenant_agent__ = "id"
    __table_args__ = (UniqueConstraint("collectivity_id", "ins"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    civility: Mapped[Civility] = enum_column(Civility)
    first_name: Mapped[str] = mapped_column(String(100))
    birth_name: Mapped[str] = mapped_column(String(100), index=True)
    usage_name: Mapped[str | None] = mapped_column(String(100), index=True)
    birth_date: Mapped[dt.date] = mapped_column(Date)
    ins: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[AgentStatus | None] = enum_column(AgentStatus)
    service: Mapped[str | None] = mapped_column(String(120))
    validated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by_employer: Mapped[bool] = mapped_column(default=False)

    collectivity = relationship("Collectivity", lazy="joined")
    assignments: Mapped[list[AgentAssignment]] = relationship(
        back_populates="agent", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def validated(self) -> bool:
        return self.validated_at is not None

    @property
    def secondary_account_ids(self) -> list[int]:
        return sorted(assignment.user_id for assignment in self.assignments)

    @property
    def full_name(self) -> str:
        name = self.usage_name or self.birth_name
        return f"{name.upper()} {self.first_name}"

    def __str__(self) -> str:
        return self.full_name


class AgentAssignment(TenantMixin, Base):
    """An agent managed by a secondary account (the primary account manages them all)."""

    __tablename__ = "agent_assignment"
    __table_args__ = (UniqueConstraint("agent_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)

    agent: Mapped[Agent] = relationship(back_populates="assignments")

    @classmethod
    def tenant_criteria(cls, scope):  # type: ignore[no-untyped-def]
        criteria = cls.collectivity_id == scope.collectivity_id
        if scope.is_secondary:
            from sqlalchemy import and_

            criteria = and_(criteria, cls.user_id == scope.secondary_user_id)
        return criteria
