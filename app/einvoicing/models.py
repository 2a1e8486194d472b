"""Chorus Pro deposit batches and the deposit of each invoice (issue 18). Staff only."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.billing.models import Invoice
from app.core.model import Base
from app.core.types import UTCDateTime

# Deposit statuses (« Statut » on « Dépôts Chorus Pro »).
PENDING = "a_deposer"
DEPOSITED = "deposee"
FAILED = "echec"
STATUS_LABELS = {PENDING: "À déposer", DEPOSITED: "Déposée", FAILED: "Échec du dépôt"}


class ChorusBatch(Base):
    """A deposit batch: the Factur-X files of selected invoices and their manifest."""

    __tablename__ = "chorus_batch"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    # Whether it was sent through the Chorus Pro API (False: download only).
    sent: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str | None] = mapped_column(Text)

    deposits: Mapped[list[ChorusDeposit]] = relationship(
        back_populates="batch",
        cascade="all, delete-orphan",
        order_by="ChorusDeposit.id",
        lazy="raise_on_sql",
    )

    def __str__(self) -> str:
        return f"Lot {self.id}"


class ChorusDeposit(Base):
    """One invoice of a batch, with the Chorus Pro deposit identifier once sent."""

    __tablename__ = "chorus_deposit"
    __table_args__ = (
        Index("ix_chorus_deposit_invoice", "invoice_id"),
        Index("ix_chorus_deposit_batch", "batch_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("chorus_batch.id", ondelete="CASCADE"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="RESTRICT"))
    file_name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    deposit_identifier: Mapped[str | None] = mapped_column(String(80))
    message: Mapped[str | None] = mapped_column(Text)
    deposited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    batch: Mapped[ChorusBatch] = relationship(back_populates="deposits", lazy="raise_on_sql")
    invoice: Mapped[Invoice] = relationship(Invoice, lazy="raise_on_sql")

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)
