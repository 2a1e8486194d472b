"""Visit requests (SPEC E1, E2): asked by an employer (or the staff) for one agent, handled by
the secretariat (scheduled into a plage, or refused with a reason), cancelled while pending."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.model import Base
from app.core.types import LabelledEnum, UTCDateTime, enum_column
from app.planning.models import Appointment
from app.referential.models import VisitType
from app.rules import visit_requests as rules
from app.tenancy import TenantMixin
from app.workforce.models import Agent


class VisitRequestState(LabelledEnum):
    en_attente = "En attente"
    traitee = "Traitée"
    refusee = "Refusée"
    annulee = "Annulée"


class VisitRequest(TenantMixin, Base):
    """A request for a visit of one agent (« Demande de rendez-vous »)."""

    __tablename__ = "visit_request"
    __tenant_agent__ = "agent_id"
    __tenant_parent__ = "agent"
    __table_args__ = (
        Index("ix_visit_request_collectivity_created", "collectivity_id", "created_at"),
        # The secretariat's work queue: pending first, most urgent, then oldest.
        Index("ix_visit_request_queue", "state", "urgency", "deadline_on", "created_at"),
        Index("ix_visit_request_agent", "agent_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    visit_type_id: Mapped[int] = mapped_column(ForeignKey("visit_type.id"))
    state: Mapped[VisitRequestState] = enum_column(
        VisitRequestState, default=VisitRequestState.en_attente
    )
    created_on: Mapped[dt.date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))
    situations: Mapped[list[str]] = mapped_column(JSON, default=list)
    other_exposure: Mapped[str | None] = mapped_column(String(250))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    information: Mapped[str | None] = mapped_column(Text)
    interpreter: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(250))
    urgency: Mapped[int] = mapped_column(Integer, default=rules.URGENCY_NORMAL)
    deadline_on: Mapped[dt.date | None] = mapped_column(Date)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL")
    )
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    processed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL")
    )

    agent: Mapped[Agent] = relationship(lazy="joined")
    visit_type: Mapped[VisitType] = relationship(lazy="joined")
    appointment: Mapped[Appointment | None] = relationship(lazy="select")

    @property
    def is_pending(self) -> bool:
        return self.state is VisitRequestState.en_attente

    @property
    def situation_labels(self) -> list[str]:
        labels = [rules.SITUATIONS.get(code, code) for code in self.situations or []]
        if self.other_exposure:
            labels = [
                f"{label} : {self.other_exposure}" if label == "Autre exposition" else label
                for label in labels
            ]
        return labels

    @property
    def detail_lines(self) -> list[tuple[str, str]]:
        return rules.describe_details(self.visit_type.code, self.details or {})

    def __str__(self) -> str:
        return f"Demande de visite {self.visit_type.label} – {self.agent}"
