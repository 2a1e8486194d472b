"""Procedures (démarches, SPEC I3, issue 16): a request of an employer account about a
collectivity, decided by its administrator (gestion) or by the CDG (the other kinds). A
procedure is scoped by its requester and by its target collectivity, not by the tenant filter."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.emails import email_column
from app.core.model import Base
from app.core.types import UTCDateTime
from app.procedures.machine import STATE_LABELS, ProcedureKind, ProcedureState

KIND_LABELS: dict[str, str] = {
    ProcedureKind.SYNCHRONISE: "Synchroniser votre adhérent",
    ProcedureKind.GESTION: "Demander la gestion d'un adhérent",
    ProcedureKind.ADMINISTRATEUR: "Modifier l'administrateur d'un compte adhérent",
    ProcedureKind.RACHAT: "Signaler un rachat de société ou un changement de dirigeant",
    ProcedureKind.FUSION: "Demander la fusion/absorption d'entreprises",
}


class Procedure(Base):
    """One « démarche » of one requester."""

    __tablename__ = "procedure"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    state: Mapped[str] = mapped_column(String(20), default=ProcedureState.EN_COURS, index=True)
    requester_id: Mapped[int] = mapped_column(
        ForeignKey("ab_user.id", ondelete="CASCADE"), index=True
    )
    # The target collectivity (gestion: the one asked for; fusion: the absorbing one).
    collectivity_id: Mapped[int | None] = mapped_column(
        ForeignKey("collectivity.id", ondelete="CASCADE"), index=True
    )
    # Fusion: the absorbed collectivity (it ends its membership when the CDG processes it).
    absorbed_collectivity_id: Mapped[int | None] = mapped_column(
        ForeignKey("collectivity.id", ondelete="SET NULL"), index=True
    )
    membership_number: Mapped[str | None] = mapped_column(String(20))
    # Gestion, administrateur, synchronise: the target's SIRET (SIREN for a synchronisation);
    # rachat: the former SIRET; fusion: the absorbed collectivity's SIRET.
    siret: Mapped[str | None] = mapped_column(String(14))
    # Rachat: the new SIRET, when the buy-out changed it (applied on acceptance).
    new_siret: Mapped[str | None] = mapped_column(String(14))
    former_admin_email: Mapped[str | None] = email_column()
    message: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(ProcedureState(self.state), self.state)
