"""Membership applications (SPEC I3, issue 16): a prospective member's 5-step wizard draft,
stored server side (one JSON payload per step), then the CDG's decision. The application
belongs to no collectivity until it is validated: it is scoped by its applicant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.model import Base
from app.core.types import UTCDateTime

DRAFT = "brouillon"
SUBMITTED = "soumise"
VALIDATED = "validee"
REFUSED = "refusee"

STATUS_LABELS = {
    DRAFT: "Brouillon",
    SUBMITTED: "Soumise",
    VALIDATED: "Validée",
    REFUSED: "Refusée",
}


class MembershipApplication(Base):
    """One « Votre adhésion » application of one applicant account."""

    __tablename__ = "membership_application"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_user_id: Mapped[int] = mapped_column(
        ForeignKey("ab_user.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=DRAFT, index=True)
    current_step: Mapped[int] = mapped_column(Integer, default=1)
    siret: Mapped[str | None] = mapped_column(String(14), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    # The applicant's function typed at self-registration (« Fonction »), shown to the CDG.
    applicant_function: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    conditions_version: Mapped[str | None] = mapped_column(String(40))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    collectivity_id: Mapped[int | None] = mapped_column(
        ForeignKey("collectivity.id", ondelete="SET NULL")
    )

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def step(self, number: int) -> dict[str, Any]:
        return dict((self.payload or {}).get(str(number)) or {})
