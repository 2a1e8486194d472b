"""Invoices and credit notes (SPEC F7, DOMAIN.md §7): lines tracing their inputs, payments and
the yearly gapless number sequence. An issued invoice is never edited nor deleted: it is
cancelled in whole or in part by a credit note (``kind = avoir``, ``credit_for_id``)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.model import Base
from app.core.types import LabelledEnum, Money, enum_column
from app.referential.models import Collectivity
from app.tenancy import Scope, TenantMixin


def _billing_criteria(cls: Any, scope: Scope) -> Any:
    """Invoices are the primary account's business: a secondary account sees none (the accounts
    model has no grant for invoices)."""
    if scope.is_secondary:
        return false()
    return cls.collectivity_id == scope.collectivity_id


class InvoiceKind(LabelledEnum):
    facture = "Facture"
    avoir = "Avoir"


class InvoiceStatus(LabelledEnum):
    emise = "Émise"
    partiellement_payee = "Partiellement payée"
    payee = "Payée"
    annulee = "Annulée"


class Invoice(TenantMixin, Base):
    """An invoice or a credit note of a collectivity (« Factures »)."""

    __tablename__ = "invoice"
    __table_args__ = (
        # The employer's list and the accounting list: newest first.
        Index("ix_invoice_collectivity_issue", "collectivity_id", "issue_date", "id"),
        Index("ix_invoice_status_due", "status", "due_date"),
        Index("ix_invoice_issue_date", "issue_date", "id"),
        Index("ix_invoice_credit_for", "credit_for_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(8), unique=True)
    kind: Mapped[InvoiceKind] = enum_column(InvoiceKind, default=InvoiceKind.facture)
    label: Mapped[str] = mapped_column(String(250))
    issue_date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    # Positive for an invoice, negative for a credit note.
    total: Mapped[decimal.Decimal] = mapped_column(Money())
    # Payments received so far, and the total of the credit notes issued on this invoice.
    paid_amount: Mapped[decimal.Decimal] = mapped_column(Money(), default=decimal.Decimal("0"))
    credited_amount: Mapped[decimal.Decimal] = mapped_column(Money(), default=decimal.Decimal("0"))
    status: Mapped[InvoiceStatus] = enum_column(InvoiceStatus, default=InvoiceStatus.emise)
    # One invoice per collectivity, run kind and period (« contributions:2026:42 »).
    run_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    credit_for_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="RESTRICT"))
    # Why a credit note was issued.
    reason: Mapped[str | None] = mapped_column(Text)

    collectivity: Mapped[Collectivity] = relationship(Collectivity, lazy="raise_on_sql")
    credit_for: Mapped[Invoice | None] = relationship(
        "Invoice", remote_side=[id], lazy="raise_on_sql"
    )
    lines: Mapped[list[InvoiceLine]] = relationship(
        "InvoiceLine",
        back_populates="invoice",
        order_by="InvoiceLine.position",
        lazy="raise_on_sql",
        cascade="all, delete-orphan",
    )

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        return _billing_criteria(cls, scope)

    @property
    def remaining(self) -> decimal.Decimal:
        """What is still to pay (invoice) once payments and credit notes are deducted."""
        if self.kind is InvoiceKind.avoir:
            return decimal.Decimal("0.00")
        return self.total - self.paid_amount - self.credited_amount

    def __repr__(self) -> str:
        return f"{self.kind.label} {self.number}"


class InvoiceLine(TenantMixin, Base):
    """A line of an invoice with the trace of its inputs (``source``)."""

    __tablename__ = "invoice_line"
    # Lines are written once with their invoice (whose creation is audited) and never changed.
    __audited__ = False
    __tenant_parent__ = "invoice"
    __table_args__ = (Index("ix_invoice_line_invoice", "invoice_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(250))
    quantity: Mapped[decimal.Decimal] = mapped_column(Money())
    unit_price: Mapped[decimal.Decimal] = mapped_column(Money())
    amount: Mapped[decimal.Decimal] = mapped_column(Money())
    source: Mapped[str] = mapped_column(Text, default="")

    invoice: Mapped[Invoice] = relationship(Invoice, back_populates="lines", lazy="raise_on_sql")

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        return _billing_criteria(cls, scope)


class Payment(TenantMixin, Base):
    """A payment received for an invoice (partial payments allowed)."""

    __tablename__ = "invoice_payment"
    __tenant_parent__ = "invoice"
    __table_args__ = (
        Index("ix_invoice_payment_invoice", "invoice_id"),
        # The dashboards' « encaissé » by month of payment.
        Index("ix_invoice_payment_paid_on", "paid_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"))
    paid_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[decimal.Decimal] = mapped_column(Money())
    reference: Mapped[str | None] = mapped_column(String(120))

    invoice: Mapped[Invoice] = relationship(Invoice, lazy="raise_on_sql")

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        return _billing_criteria(cls, scope)


class InvoiceSequence(Base):
    """The last number drawn in a year: the row is locked while a number is taken (gapless)."""

    __tablename__ = "invoice_sequence"
    __audited__ = False

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
