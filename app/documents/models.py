"""Documents and prevention (SPEC E6, E8): what the employer deposits for the health team
(``EmployerDocument``), what the CDG publishes for a collectivity (``PublishedDocument``, in
folders), the health team's prevention actions outside visits and the prevention catalogue
(modules, sessions, registrations of agents). Files live under UPLOAD_DIR (app/core/files.py);
rows hold their relative path only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.model import Base
from app.core.types import LabelledEnum, enum_column
from app.referential.models import Collectivity, DocumentNature
from app.tenancy import Scope, TenantMixin, assigned_agent_ids
from app.workforce.models import Agent


def _now() -> dt.datetime:
    from app.core import clock

    return clock.now_local()


class EmployerDocument(TenantMixin, Base):
    """A PDF the employer deposited for the health team (SPEC E6), optionally about one agent.
    ``no_medical_data_*`` records who ticked « Ce document ne contient pas de données
    médicales » and when; once ``received_at`` is set the deposit is locked."""

    __tablename__ = "employer_document"
    __table_args__ = (
        Index("ix_employer_document_collectivity_uploaded", "collectivity_id", "uploaded_at"),
        Index("ix_employer_document_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agent.id", ondelete="CASCADE"), index=True
    )
    nature_id: Mapped[int] = mapped_column(ForeignKey("document_nature.id"))
    filename: Mapped[str] = mapped_column(String(120))
    stored_path: Mapped[str] = mapped_column(String(255), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL")
    )
    no_medical_data_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL")
    )
    no_medical_data_at: Mapped[dt.datetime] = mapped_column(DateTime)
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    received_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL")
    )

    collectivity: Mapped[Collectivity] = relationship(lazy="joined")
    agent: Mapped[Agent | None] = relationship(lazy="joined")
    nature: Mapped[DocumentNature] = relationship(lazy="joined")

    @property
    def locked(self) -> bool:
        return self.received_at is not None

    @property
    def state_label(self) -> str:
        return "Réception confirmée" if self.received_at else "Transmis, en attente de réception"

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        """A secondary account reads the deposits about its agents and its own deposits that
        name no agent."""
        criteria = cls.collectivity_id == scope.collectivity_id
        if scope.is_secondary:
            criteria = and_(
                criteria,
                or_(
                    cls.agent_id.in_(assigned_agent_ids(scope)),
                    and_(cls.agent_id.is_(None), cls.uploaded_by_id == scope.secondary_user_id),
                ),
            )
        return criteria


class DocumentFolder(LabelledEnum):
    """The folders (« Répertoires ») of « Mes documents »; visit sheets are not copied here:
    the « Fiches de visite » folder lists the released consultations themselves."""

    rapports_acfi = "Rapports d'inspection (ACFI)"
    rapports_annuels = "Rapports annuels"
    releves_factures = "Relevés de factures"
    prevention = "Prévention"
    autres = "Autres documents"


class PublishedDocument(TenantMixin, Base):
    """A PDF the CDG publishes for a collectivity (see app/documents/services.py ``publish``).
    A document about one agent is read by the secondary account that manages that agent; one
    about the collectivity as a whole by its primary account only."""

    __tablename__ = "published_document"
    __tenant_agent__ = "agent_id"
    __table_args__ = (
        Index("ix_published_document_collectivity_folder", "collectivity_id", "folder"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder: Mapped[DocumentFolder] = enum_column(DocumentFolder)
    title: Mapped[str] = mapped_column(String(200))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agent.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(120))
    stored_path: Mapped[str] = mapped_column(String(255), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    published_on: Mapped[dt.date] = mapped_column(Date, index=True)
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL")
    )

    agent: Mapped[Agent | None] = relationship(lazy="joined")


class PreventionKind(LabelledEnum):
    f3sct = "Réunion F3SCT / CHSCT"
    etude_poste = "Étude de poste"
    reunion_rh = "Réunion RH / DRH"
    visite_site = "Visite de site"
    sensibilisation = "Action de sensibilisation"
    autre = "Autre action"


class PreventionAction(TenantMixin, Base):
    """An action of the health team outside visits (SPEC E8), read by the employer."""

    __tablename__ = "prevention_action"
    __table_args__ = (
        Index("ix_prevention_action_collectivity_on", "collectivity_id", "action_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[PreventionKind] = enum_column(PreventionKind)
    action_on: Mapped[dt.date] = mapped_column(Date)
    participants: Mapped[str] = mapped_column(String(500))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str | None] = mapped_column(Text)
    report_filename: Mapped[str | None] = mapped_column(String(120))
    report_path: Mapped[str | None] = mapped_column(String(255), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL")
    )

    collectivity: Mapped[Collectivity] = relationship(lazy="joined")

    @property
    def duration_label(self) -> str:
        hours, minutes = divmod(self.duration_minutes, 60)
        if not hours:
            return f"{minutes} min"
        return f"{hours} h {minutes:02d}" if minutes else f"{hours} h"


class PreventionModule(Base):
    """A module of the prevention catalogue (CDG reference data, not a collectivity's)."""

    __tablename__ = "prevention_module"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    content: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(300))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    sessions: Mapped[list[PreventionSession]] = relationship(
        back_populates="module", order_by="PreventionSession.starts_at"
    )

    def __str__(self) -> str:
        return self.title


class PreventionSession(Base):
    """A dated session of a module, with its seats (``capacity``). Registrations are
    serialised on the row (``lock_version``) and each holds one seat, unique in the database,
    as appointments hold a unit of a plage."""

    __tablename__ = "prevention_session"
    __table_args__ = (Index("ix_prevention_session_starts", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("prevention_module.id"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime)
    place: Mapped[str] = mapped_column(String(300))
    capacity: Mapped[int] = mapped_column(Integer)
    registration_deadline: Mapped[dt.date] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)

    module: Mapped[PreventionModule] = relationship(back_populates="sessions", lazy="joined")


class RegistrationStatus(LabelledEnum):
    inscrit = "Inscrit"
    annule = "Annulé"


REGISTERED_SQL = "status = 'inscrit'"


class PreventionRegistration(TenantMixin, Base):
    """An agent registered to a session by his employer: one seat of its capacity."""

    __tablename__ = "prevention_registration"
    __tenant_agent__ = "agent_id"
    __tenant_parent__ = "agent"
    __table_args__ = (
        Index(
            "uq_prevention_registration_seat",
            "session_id",
            "seat_index",
            unique=True,
            postgresql_where=text(REGISTERED_SQL),
            sqlite_where=text(REGISTERED_SQL),
        ),
        Index(
            "uq_prevention_registration_agent",
            "session_id",
            "agent_id",
            unique=True,
            postgresql_where=text(REGISTERED_SQL),
            sqlite_where=text(REGISTERED_SQL),
        ),
        Index("ix_prevention_registration_collectivity", "collectivity_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("prevention_session.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), index=True)
    seat_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[RegistrationStatus] = enum_column(
        RegistrationStatus, default=RegistrationStatus.inscrit
    )
    attended: Mapped[bool | None] = mapped_column(Boolean)
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    registered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL")
    )

    session: Mapped[PreventionSession] = relationship(lazy="joined")
    agent: Mapped[Agent] = relationship(lazy="joined")
