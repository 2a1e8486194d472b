"""Visit requests (SPEC E1, E2): asked by an employer (or the staff) for one agent, handled by
the secretariat (scheduled into a plage, or refused with a reason), cancelled while pending."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, and_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.model import Base
from app.core.types import LabelledEnum, UTCDateTime, enum_column
from app.planning.models import Appointment
from app.referential.models import DocumentNature, VisitType
from app.rules import visit_requests as rules
from app.tenancy import Scope, TenantMixin
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
    # Asked by the agent himself (SPEC E7): recorded by the staff only, never shown to the employer.
    is_confidential: Mapped[bool] = mapped_column(Boolean, default=False)

    agent: Mapped[Agent] = relationship(lazy="joined")
    visit_type: Mapped[VisitType] = relationship(lazy="joined")
    appointment: Mapped[Appointment | None] = relationship(lazy="select")
    attachments: Mapped[list[VisitRequestAttachment]] = relationship(
        back_populates="visit_request",
        cascade="all, delete-orphan",
        lazy="select",
        order_by="VisitRequestAttachment.id",
    )

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        """The collectivity's (a secondary account: its agents') requests, never a confidential
        one (SPEC E7)."""
        return and_(super().tenant_criteria(scope), cls.is_confidential.is_(False))

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


class VisitRequestAttachment(TenantMixin, Base):
    """A PDF joined to a visit request, with its nature (SPEC E1: 5 at most, 1 MB each). The
    file lives under UPLOAD_DIR (``stored_path``, a random name); ``filename`` is the name the
    requester gave, made safe, shown and used for the download."""

    __tablename__ = "visit_request_attachment"
    __tenant_parent__ = "visit_request"
    __table_args__ = (Index("ix_visit_request_attachment_request", "visit_request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_request_id: Mapped[int] = mapped_column(
        ForeignKey("visit_request.id", ondelete="CASCADE")
    )
    nature_id: Mapped[int] = mapped_column(ForeignKey("document_nature.id"))
    filename: Mapped[str] = mapped_column(String(120))
    stored_path: Mapped[str] = mapped_column(String(255), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL")
    )

    visit_request: Mapped[VisitRequest] = relationship(back_populates="attachments")
    nature: Mapped[DocumentNature] = relationship(lazy="joined")

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        """The attachments of the requests the scope reads (whatever hides a request, such as
        a secondary account's other agents, hides its attachments too)."""
        return and_(
            super().tenant_criteria(scope),
            cls.visit_request_id.in_(
                select(VisitRequest.id).where(VisitRequest.tenant_criteria(scope))
            ),
        )

    def __str__(self) -> str:
        return f"{self.nature.label} – {self.filename}"
