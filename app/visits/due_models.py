"""Periodicity rules as dated reference data and the stored due dates of the agents (SPEC E3).

A ``due_date`` row is derived data: one per agent and kind, recomputed by ``app.visits.due``
(nightly ``sync`` step, and before the commit of any change that moves it). It is tenant-scoped
like the agent it belongs to (a secondary account reads only its agents' rows). Its explanation
names facts only (a date, an entry date, the doctor's date) and never the nature, professional
or outcome of a visit: a confidential visit counts, but nothing on the row tells it apart.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.model import Base
from app.core.types import LabelledEnum, UTCDateTime, enum_column
from app.referential.models import Regime
from app.rules import periodicity as rules
from app.tenancy import TenantMixin
from app.workforce.models import Agent


class Population(LabelledEnum):
    tous = "Tous les agents"
    smp = "Surveillance médicale particulière (SMP)"
    SI = "SI – Suivi individuel simple"
    SIA = "SIA – Suivi individuel adapté"
    SIR = "SIR – Suivi individuel renforcé"
    certificat = "Attestation de non contre-indication (CACES, habilitation électrique)"
    mi_carriere = "Visite de mi-carrière (année des 45 ans, régime privé)"


class DueKind(LabelledEnum):
    periodique = "Visite périodique"
    intermediaire = "Visite intermédiaire"
    certificat = "Renouvellement de l'attestation (CACES, habilitation électrique)"
    medecin = "Visite occasionnelle à la demande du médecin"
    mi_carriere = "Visite de mi-carrière"


class PeriodicityRuleRecord(Base):
    """The maximum interval between periodic visits of a population during a period, with its
    legal reference (DOMAIN.md §5): edited by Admin, looked up by date."""

    __tablename__ = "periodicity_rule"
    __table_args__ = (UniqueConstraint("regime", "population", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    regime: Mapped[Regime] = enum_column(Regime)
    population: Mapped[Population] = enum_column(Population)
    months: Mapped[int] = mapped_column(Integer)
    intermediate_months: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    legal_reference: Mapped[str] = mapped_column(String(250))

    def as_rule(self) -> rules.PeriodicityRule:
        return rules.PeriodicityRule(
            regime=self.regime.name,
            population=self.population.name,
            months=self.months,
            intermediate_months=self.intermediate_months,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            legal_reference=self.legal_reference,
        )

    @property
    def description(self) -> str:
        return rules.describe_rule(self.as_rule())

    def __str__(self) -> str:
        return f"{self.regime.label} – {self.population.label}"


class DueDate(TenantMixin, Base):
    """When an agent's next visit of a kind falls due, why, and under which rule (SPEC E3)."""

    __tablename__ = "due_date"
    __tenant_agent__ = "agent_id"
    __tenant_parent__ = "agent"
    # Derived data, rewritten in bulk: the audit log would only repeat the computation.
    __audited__ = False
    __table_args__ = (
        UniqueConstraint("agent_id", "kind"),
        # The due list: one collectivity (employers), or all of them (secretariat), by date.
        Index("ix_due_date_collectivity_due_on", "collectivity_id", "due_on", "id"),
        Index("ix_due_date_due_on", "due_on", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    kind: Mapped[DueKind] = enum_column(DueKind)
    due_on: Mapped[dt.date] = mapped_column(Date)
    legal_reference: Mapped[str] = mapped_column(String(250))
    explanation: Mapped[str] = mapped_column(String(500))
    computed_on: Mapped[dt.date] = mapped_column(Date)

    agent: Mapped[Agent] = relationship(lazy="joined")

    def __str__(self) -> str:
        return f"{self.kind.label} – {self.agent} – {self.due_on:%d/%m/%Y}"


class DueRecomputeRequest(Base):
    """A rule edit's « recompute every agent » (SPEC E3): recorded by the edit, done by the next
    ``sync`` job (app.visits.due.recompute_step), which sets ``done_at``. Admin's request never
    recomputes 100 000 agents itself."""

    __tablename__ = "due_recompute_request"
    # Bookkeeping of derived data: the rule edit that caused it is audited.
    __audited__ = False
    __table_args__ = (Index("ix_due_recompute_request_done_at", "done_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(String(250))
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __str__(self) -> str:
        return self.reason
