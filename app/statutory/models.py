"""Statutory medicine (SPEC I1, F5): requests for one of the 17 acts, their deadlines and quota
consumption, the approved doctor's medical report (health roles only); inspection days (I2)."""

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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.model import Base
from app.core.types import Decimal, LabelledEnum, Money, enum_column
from app.planning.models import Appointment
from app.referential.models import ActKind, Office, StatutoryAct
from app.tenancy import Scope, TenantMixin
from app.workforce.models import Agent


class StatutoryStatus(LabelledEnum):
    en_attente = "En attente"
    planifiee = "Planifiée"
    realisee = "Réalisée"
    # The agent did not come and the absence was not signalled 48 hours before (coefficient 1).
    absence_injustifiee = "Absence injustifiée"
    annulee = "Annulée"


# The statuses that count in the quota (a cancelled request consumes nothing).
COUNTED = (
    StatutoryStatus.en_attente,
    StatutoryStatus.planifiee,
    StatutoryStatus.realisee,
    StatutoryStatus.absence_injustifiee,
)
OPEN = (StatutoryStatus.en_attente, StatutoryStatus.planifiee)


class StatutoryRequest(TenantMixin, Base):
    """A request for a statutory-medicine act for one agent (« Médecine statutaire »)."""

    __tablename__ = "statutory_request"
    __tenant_agent__ = "agent_id"
    __tenant_parent__ = "agent"
    __table_args__ = (
        Index("ix_statutory_request_collectivity_requested", "collectivity_id", "requested_on"),
        # Quota consumption of a collectivity's year, in date order.
        Index("ix_statutory_request_consumption", "collectivity_id", "consumed_on", "id"),
        # The secretariat's queue: open requests, mandatory first, then by deadline.
        Index("ix_statutory_request_queue", "status", "mandatory", "deadline_on", "id"),
        Index("ix_statutory_request_agent", "agent_id"),
        # The dashboard's period filter over all collectivities.
        Index("ix_statutory_request_consumed", "consumed_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    act_id: Mapped[int] = mapped_column(ForeignKey("statutory_act.id"))
    # Copied from the act when the request is made (the request keeps what it was filed as).
    kind: Mapped[ActKind] = enum_column(ActKind)
    mandatory: Mapped[bool] = mapped_column(Boolean)
    rpi_ati: Mapped[bool] = mapped_column(Boolean, default=False)
    written_report: Mapped[bool] = mapped_column(Boolean, default=False)
    coefficient: Mapped[decimal.Decimal] = mapped_column(Decimal(5, 2))
    information: Mapped[str | None] = mapped_column(Text)
    requested_on: Mapped[dt.date] = mapped_column(Date)
    # The office whose territory calendar counts the working days (None: national calendar).
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="SET NULL"))
    deadline_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[StatutoryStatus] = enum_column(
        StatutoryStatus, default=StatutoryStatus.en_attente
    )
    planned_on: Mapped[dt.date | None] = mapped_column(Date)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL")
    )
    done_on: Mapped[dt.date | None] = mapped_column(Date)
    # The opinion (control, 2 working days) or the expertise report (20 working days).
    restitution_due_on: Mapped[dt.date | None] = mapped_column(Date)
    restitution_sent_on: Mapped[dt.date | None] = mapped_column(Date)
    # Quota: the date the request consumes on (done, else planned, else requested), whether it
    # is within the year's quota, the points it consumes and the price billed beyond it.
    consumed_on: Mapped[dt.date] = mapped_column(Date)
    within_quota: Mapped[bool] = mapped_column(Boolean, default=True)
    points: Mapped[decimal.Decimal] = mapped_column(Decimal(5, 2), default=0)
    price: Mapped[decimal.Decimal] = mapped_column(Money(), default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))
    cancel_reason: Mapped[str | None] = mapped_column(String(250))

    agent: Mapped[Agent] = relationship(lazy="joined")
    act: Mapped[StatutoryAct] = relationship(lazy="joined")
    office: Mapped[Office | None] = relationship(lazy="select")
    appointment: Mapped[Appointment | None] = relationship(lazy="select")

    @property
    def act_number(self) -> int:
        return self.act.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def is_expertise(self) -> bool:
        return self.kind is ActKind.expertise

    @property
    def restitution_label(self) -> str:
        return "Rapport d'expertise" if self.is_expertise else "Avis"

    def __str__(self) -> str:
        return f"Acte n° {self.act.number} – {self.agent}"


class StatutoryReport(Base):
    """The approved doctor's medical report of a request: health roles only, every read logged,
    never shown to an employer nor written to the audit log (SPEC J3)."""

    __tablename__ = "statutory_report"
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("statutory_request.id", ondelete="CASCADE"), unique=True
    )
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))

    request: Mapped[StatutoryRequest] = relationship(lazy="joined")

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        """No employer scope ever reads a medical report."""
        return false()


# ----------------------------------------------------------------------------------------------
# Inspection (ACFI, SPEC I2)
# ----------------------------------------------------------------------------------------------


class AcfiNature(LabelledEnum):
    visite = "Inspection des lieux et activités de travail"
    rapport = "Préparation, rapport et analyse des suites"
    cst = "Réunion du CST ou de la formation spécialisée"
    autre = "Autre intervention"


class AcfiDayStatus(LabelledEnum):
    planifie = "Planifié"
    realise = "Réalisé"
    annule = "Annulé"


class AcfiPlan(TenantMixin, Base):
    """A collectivity's inspection year: the days planned by the headcount table (or set by the
    convention above 350 agents and for non-affiliated collectivities), and the amendment that
    allows days beyond +20 %."""

    __tablename__ = "acfi_plan"
    __table_args__ = (
        UniqueConstraint("collectivity_id", "year"),
        Index("ix_acfi_plan_year", "year"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    # The yearly volume in days (0 in the off years of the small bands).
    volume_days: Mapped[decimal.Decimal] = mapped_column(Decimal(5, 1))
    headcount: Mapped[int | None] = mapped_column(Integer)
    affiliated: Mapped[bool] = mapped_column(Boolean, default=True)
    amendment_reference: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)

    collectivity = relationship("Collectivity", lazy="joined")
    days: Mapped[list[AcfiDay]] = relationship(
        back_populates="plan", order_by="AcfiDay.day_on", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return f"Inspection {self.year} – {self.collectivity}"


class AcfiDay(TenantMixin, Base):
    """A day (or half-day) of the inspector at a collectivity, planned then done."""

    __tablename__ = "acfi_day"
    __tenant_parent__ = "plan"
    __table_args__ = (Index("ix_acfi_day_plan_day", "plan_id", "day_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("acfi_plan.id", ondelete="CASCADE"))
    day_on: Mapped[dt.date] = mapped_column(Date)
    days: Mapped[decimal.Decimal] = mapped_column(Decimal(3, 1))
    nature: Mapped[AcfiNature] = enum_column(AcfiNature, default=AcfiNature.visite)
    status: Mapped[AcfiDayStatus] = enum_column(AcfiDayStatus, default=AcfiDayStatus.planifie)
    inspector: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)

    plan: Mapped[AcfiPlan] = relationship(back_populates="days", lazy="joined")
