"""Plages (SPEC D1) and appointments (D2-D6). Plage and appointment times are wall-clock
Europe/Paris (naive datetimes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.model import Base
from app.core.types import LabelledEnum, UTCDateTime, enum_column
from app.referential.models import (
    Collectivity,
    Office,
    Professional,
    VisitType,
    office_collectivity,
)
from app.rules import planning as rules
from app.tenancy import Scope, TenantMixin
from app.workforce.models import Agent


class PlageNature(LabelledEnum):
    medecin = "Médecin"
    infirmier = "Infirmier(ère)"
    # The approved doctor's plages (statutory medicine, issue 13); a short code keeps the column.
    agree = "Médecin agréé"


class PlageState(LabelledEnum):
    reservee = "Réservée"
    commune = "Commune"
    convocation = "Convocation"
    annulee = "Annulée"

    @property
    def rule(self) -> rules.PlageState:
        return rules.PlageState(self.name)


class AppointmentStatus(LabelledEnum):
    reservee = "Réservé"
    convoquee = "Convoqué"
    honoree = "Honoré"
    absence_justifiee = "Absence justifiée"
    absence_injustifiee = "Absence injustifiée"
    annulee = "Annulé"


# The statuses that hold a unit of capacity (a cancelled or absent appointment frees it).
ACTIVE_STATUSES = (
    AppointmentStatus.reservee,
    AppointmentStatus.convoquee,
    AppointmentStatus.honoree,
)
ACTIVE_NAMES = tuple(status.name for status in ACTIVE_STATUSES)
CANCELLED_ABSENCES = frozenset(
    {AppointmentStatus.absence_justifiee, AppointmentStatus.absence_injustifiee}
)
ACTIVE_SQL = "status IN (" + ", ".join(f"'{name}'" for name in ACTIVE_NAMES) + ")"


class Plage(Base):
    """A time range of a professional in an office, cut into appointments (SPEC D1)."""

    __tablename__ = "plage"
    __table_args__ = (
        Index("ix_plage_starts_at", "starts_at"),
        Index("ix_plage_office_starts", "office_id", "starts_at"),
        Index("ix_plage_professional_starts", "professional_id", "starts_at"),
        Index("ix_plage_reserved_starts", "reserved_for_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime)
    appointment_minutes: Mapped[int] = mapped_column(Integer)
    nature: Mapped[PlageNature] = enum_column(PlageNature)
    state: Mapped[PlageState] = enum_column(PlageState)
    reserved_for_id: Mapped[int | None] = mapped_column(
        ForeignKey("collectivity.id", ondelete="SET NULL")
    )
    # Bumped by every booking: the UPDATE takes the row lock (PostgreSQL) / write lock (SQLite)
    # that serialises the bookings of a plage.
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(250))
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    office: Mapped[Office] = relationship(lazy="joined")
    professional: Mapped[Professional] = relationship(lazy="joined")
    reserved_for: Mapped[Collectivity | None] = relationship(lazy="joined")
    appointments: Mapped[list[Appointment]] = relationship(
        back_populates="plage", order_by="Appointment.slot_index"
    )

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> object:
        """Reserved plages of the collectivity, common plages of the offices serving it,
        convocations where it is reserved or has an appointment (CDG69-PORTAIL), and cancelled
        plages where it has an appointment (its page shows the cancellation)."""
        served = select(office_collectivity.c.office_id).where(
            office_collectivity.c.collectivity_id == scope.collectivity_id
        )
        # A confidential appointment never makes a plage visible (SPEC E7).
        with_mine = select(Appointment.plage_id).where(
            Appointment.collectivity_id == scope.collectivity_id,
            Appointment.is_confidential.is_(False),
        )
        return or_(
            and_(cls.state == PlageState.reservee, cls.reserved_for_id == scope.collectivity_id),
            and_(cls.state == PlageState.commune, cls.office_id.in_(served)),
            and_(
                cls.state == PlageState.convocation,
                or_(cls.reserved_for_id == scope.collectivity_id, cls.id.in_(with_mine)),
            ),
            and_(cls.state == PlageState.annulee, cls.id.in_(with_mine)),
        )

    @property
    def capacity(self) -> int:
        return rules.capacity(self.starts_at, self.ends_at, self.appointment_minutes)

    @property
    def day(self) -> dt.date:
        return self.starts_at.date()

    def __str__(self) -> str:
        return f"{self.starts_at:%d/%m/%Y %H:%M}-{self.ends_at:%H:%M} – {self.office}"


class Appointment(TenantMixin, Base):
    """An agent's appointment in a plage: one unit of its capacity (SPEC D2, D5, D6)."""

    __tablename__ = "appointment"
    __tenant_agent__ = "agent_id"
    __tenant_parent__ = "agent"
    __table_args__ = (
        # No double booking: one active appointment per unit of capacity, enforced by the
        # database whatever the concurrency (SPEC D5), and one per agent and plage.
        Index(
            "uq_appointment_active_slot",
            "plage_id",
            "slot_index",
            unique=True,
            postgresql_where=text(ACTIVE_SQL),
            sqlite_where=text(ACTIVE_SQL),
        ),
        Index(
            "uq_appointment_active_agent",
            "plage_id",
            "agent_id",
            unique=True,
            postgresql_where=text(ACTIVE_SQL),
            sqlite_where=text(ACTIVE_SQL),
        ),
        Index("ix_appointment_agent_starts", "agent_id", "starts_at"),
        Index("ix_appointment_collectivity_starts", "collectivity_id", "starts_at"),
        # The dashboard's period filter over all collectivities; on PostgreSQL it also carries
        # what the absenteeism figure counts, read by an index-only scan.
        Index(
            "ix_appointment_starts",
            "starts_at",
            postgresql_include=["collectivity_id", "status", "is_confidential"],
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plage_id: Mapped[int] = mapped_column(ForeignKey("plage.id"), index=True)
    slot_index: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime)
    visit_type_id: Mapped[int] = mapped_column(ForeignKey("visit_type.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[AppointmentStatus] = enum_column(
        AppointmentStatus, default=AppointmentStatus.reservee
    )
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    convocation_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attendance_recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # A visit the agent asked for himself (SPEC E7): booked by the staff only, it never reaches
    # the employer (no line, no e-mail); its unit is held, counted as taken and shown to no one.
    is_confidential: Mapped[bool] = mapped_column(Boolean, default=False)

    plage: Mapped[Plage] = relationship(back_populates="appointments", lazy="joined")
    agent: Mapped[Agent] = relationship(lazy="joined")
    visit_type: Mapped[VisitType] = relationship(lazy="joined")

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        """The collectivity's (a secondary account: its agents') appointments, never a
        confidential one (SPEC E7): no screen, API, export, count or dropdown shows it."""
        return and_(super().tenant_criteria(scope), cls.is_confidential.is_(False))

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def status_label(self) -> str:
        """The state as the screens and e-mails say it: an employer's cancellation reads
        « Annulé (absence justifiée) » / « Annulé (absence injustifiée) » (DOMAIN.md §2)."""
        if self.cancelled_at is not None and self.status in CANCELLED_ABSENCES:
            return f"Annulé ({self.status.label.lower()})"
        return self.status.label

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.plage.appointment_minutes)

    def __str__(self) -> str:
        return f"{self.starts_at:%d/%m/%Y %H:%M} – {self.agent}"


class PlageRefusal(TenantMixin, Base):
    """An employer refused (or cancelled) a plage, with the reason sent to the secretariat (D3)."""

    __tablename__ = "plage_refusal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plage_id: Mapped[int] = mapped_column(ForeignKey("plage.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    refused_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))
    was_reserved: Mapped[bool] = mapped_column(default=False)

    plage: Mapped[Plage] = relationship(lazy="joined")
    collectivity = relationship("Collectivity", lazy="joined")
