"""Consultations (a recorded visit), their medical notes and the medical access log (SPEC E4,
E5, E7, J3).

An employer reads a consultation only once its sheet is released and never a confidential one:
both conditions are in its tenant criteria, so no screen, API, export or dropdown can show the
others. Medical notes and the access log are read by no employer scope at all (their criteria
are always false); which staff role reads them is the permission matrix's business.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.model import Base
from app.core.types import LabelledEnum, UTCDateTime, enum_column, utcnow
from app.referential.models import Office, Professional, VisitType
from app.tenancy import Scope, TenantMixin
from app.workforce.models import Agent


class Outcome(LabelledEnum):
    attestation_suivi = "Attestation de suivi"
    apte = "Apte"
    apte_restrictions = "Apte avec restrictions / aménagements"
    inapte_temporaire = "Inapte temporaire"
    inapte = "Inapte"
    avis_differe = "Avis différé"


def _today() -> dt.date:
    return clock.today()


class Consultation(TenantMixin, Base):
    """A visit that took place: its outcome for the employer and its visit sheet (SPEC E5)."""

    __tablename__ = "consultation"
    __tenant_agent__ = "agent_id"
    __tenant_parent__ = "agent"
    __table_args__ = (
        Index("ix_consultation_agent_date", "agent_id", "visit_date"),
        Index("ix_consultation_collectivity_available", "collectivity_id", "sheet_available_on"),
        Index("ix_consultation_professional_date", "professional_id", "visit_date"),
        # The consultations history, newest first across collectivities (staff).
        Index("ix_consultation_visit_date", "visit_date", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL"), unique=True
    )
    visit_date: Mapped[dt.date] = mapped_column(Date)
    visit_type_id: Mapped[int] = mapped_column(ForeignKey("visit_type.id"))
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"))
    # The office whose territory calendar counts the 8 working days (None: national calendar).
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="SET NULL"))
    outcome: Mapped[Outcome] = enum_column(Outcome)
    # Restrictions / arrangements as the doctor words them for the employer (no medical content).
    restrictions: Mapped[str | None] = mapped_column(Text)
    next_visit_on: Mapped[dt.date | None] = mapped_column(Date)
    is_smp: Mapped[bool] = mapped_column(Boolean, default=False)
    is_confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    sheet_released_on: Mapped[dt.date | None] = mapped_column(Date)
    sheet_available_on: Mapped[dt.date] = mapped_column(Date)
    # An uploaded sheet (relative to UPLOAD_DIR); None: the sheet is generated.
    sheet_path: Mapped[str | None] = mapped_column(String(255))
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL")
    )

    agent: Mapped[Agent] = relationship(lazy="joined")
    visit_type: Mapped[VisitType] = relationship(lazy="joined")
    professional: Mapped[Professional] = relationship(lazy="joined")
    office: Mapped[Office | None] = relationship(lazy="joined")

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        """The collectivity's (a secondary account: its agents') consultations whose sheet is
        released, never a confidential one (SPEC E5, E7). Today is read at each execution."""
        return and_(
            super().tenant_criteria(scope),
            cls.is_confidential.is_(False),
            cls.sheet_available_on <= bindparam("consultation_today", callable_=_today, type_=Date),
        )

    @property
    def date(self) -> dt.date:
        return self.visit_date

    def __str__(self) -> str:
        return f"{self.visit_date:%d/%m/%Y} – {self.agent}"


class MedicalNote(Base):
    """Free-text medical notes of a consultation: health roles only, every read logged (J3)."""

    __tablename__ = "medical_note"
    # The audit log records changed values: medical text stays out of it.
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))

    consultation: Mapped[Consultation] = relationship(lazy="joined")

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        """No employer scope ever reads a medical note."""
        return false()


class MedicalAccess(Base):
    """One read of medical content: who, when, which agent, what (SPEC J3)."""

    __tablename__ = "medical_access"
    __audited__ = False  # it is itself a log
    __table_args__ = (Index("ix_medical_access_accessed_at", "accessed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))
    # Kept for the log, denormalised: the account may be deleted, the agent erased (G5).
    username: Mapped[str] = mapped_column(String(100))
    accessed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agent.id", ondelete="SET NULL"), index=True
    )
    agent_label: Mapped[str] = mapped_column(String(250))
    consultation_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultation.id", ondelete="SET NULL")
    )
    what: Mapped[str] = mapped_column(String(200))

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        """No employer scope ever reads the medical access log."""
        return false()
