"""SEPA mandates of the collectivities and the direct debits of invoices (issue 18)."""

from __future__ import annotations

import decimal
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, false, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.billing.models import Invoice
from app.core.model import Base
from app.core.types import LabelledEnum, Money, UTCDateTime, enum_column, utcnow
from app.referential.models import Collectivity
from app.tenancy import Scope, TenantMixin


class MandateStatus(LabelledEnum):
    en_attente = "En attente de signature"
    signe = "Signé"
    revoque = "Révoqué"


class SequenceType(LabelledEnum):
    FRST = "Premier prélèvement"
    RCUR = "Prélèvement récurrent"


def _primary_only(cls: Any, scope: Scope) -> Any:
    """Like invoices: the primary account's business; a secondary account sees none."""
    if scope.is_secondary:
        return false()
    return cls.collectivity_id == scope.collectivity_id


class SepaMandate(TenantMixin, Base):
    """The direct-debit mandate a collectivity signed for the CDG (one per collectivity)."""

    __tablename__ = "sepa_mandate"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # One mandate per collectivity (overrides the mixin's indexed column).
    collectivity_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("collectivity.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    # Unique mandate reference (RUM / UMR).
    umr: Mapped[str] = mapped_column(String(35), unique=True)
    signed_on: Mapped[date | None] = mapped_column(Date)
    # Stored normalised: upper case, no spaces.
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str] = mapped_column(String(11))
    debtor_name: Mapped[str] = mapped_column(String(70))
    status: Mapped[MandateStatus] = enum_column(MandateStatus, default=MandateStatus.en_attente)
    # False until a first debit (FRST) was sent; afterwards debits are recurrent (RCUR).
    first_debit_sent: Mapped[bool] = mapped_column(Boolean, default=False)

    collectivity: Mapped[Collectivity] = relationship(Collectivity, lazy="raise_on_sql")

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        return _primary_only(cls, scope)

    @property
    def next_sequence(self) -> SequenceType:
        return SequenceType.RCUR if self.first_debit_sent else SequenceType.FRST

    @property
    def masked_iban(self) -> str:
        return mask_iban(self.iban)

    def __str__(self) -> str:
        return self.umr


class SepaDebit(TenantMixin, Base):
    """One invoice collected in a pain.008 batch: an invoice is never debited twice."""

    __tablename__ = "sepa_debit"
    # Written once with its pain.008 file (the file's production is the audited act) and never
    # changed: like invoice lines, not audited row by row.
    __audited__ = False
    __table_args__ = (
        Index("ix_sepa_debit_batch", "batch_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoice.id", ondelete="RESTRICT"), unique=True
    )
    mandate_id: Mapped[int] = mapped_column(ForeignKey("sepa_mandate.id", ondelete="RESTRICT"))
    # The pain.008 message id (MsgId) of the file that collected the invoice.
    batch_id: Mapped[str] = mapped_column(String(35))
    collection_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[decimal.Decimal] = mapped_column(Money())
    sequence: Mapped[SequenceType] = enum_column(SequenceType)
    created_by: Mapped[str] = mapped_column(String(120), default="")

    invoice: Mapped[Invoice] = relationship(Invoice, lazy="raise_on_sql")
    mandate: Mapped[SepaMandate] = relationship(SepaMandate, lazy="raise_on_sql")

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> Any:
        return _primary_only(cls, scope)


def mask_iban(iban: str) -> str:
    """« FR76 **** **** 0189 »: the country and key, then only the last four characters."""
    compact = (iban or "").replace(" ", "").upper()
    if len(compact) < 8:
        return "****"
    return f"{compact[:4]} **** **** {compact[-4:]}"


def signed_mandate_means(collectivity_id: int) -> dict[str, str] | None:
    """The signed mandate of a collectivity for Factur-X (payment means 59), or None."""
    from flask import current_app

    from app.extensions import db

    mandate = db.session.scalar(
        select(SepaMandate).where(
            SepaMandate.collectivity_id == collectivity_id,
            SepaMandate.status == MandateStatus.signe,
            SepaMandate.signed_on.is_not(None),
        )
    )
    if mandate is None:
        return None
    return {
        "iban": mandate.iban,
        "umr": mandate.umr,
        "ics": str(current_app.config.get("SEPA_CREDITOR_ID") or ""),
    }


# ----------------------------------------------------------------------------------------------
# Payment reconciliation (issue 18): imported bank statements and their credit lines. Staff
# records (Comptabilité, Admin): no collectivity owns a statement; a line points at the invoice
# it settled.
# ----------------------------------------------------------------------------------------------


class StatementFormat(LabelledEnum):
    csv = "CSV du comptable public"
    camt053 = "Relevé camt.053"
    camt054 = "Avis camt.054"


class StatementLineStatus(LabelledEnum):
    rapprochee = "Rapprochée"
    non_rapprochee = "Non rapprochée"
    ignoree = "Ignorée"


class MatchOutcome(LabelledEnum):
    exact = "Paiement exact"
    partial = "Paiement partiel"
    overpayment = "Trop-perçu"
    ambiguous = "Ambigu"
    unmatched = "Non rapproché"
    manual = "Rapprochement manuel"


class BankStatement(Base):
    """One imported statement file: its SHA-256 makes a second import of the same file a no-op."""

    __tablename__ = "bank_statement"
    __table_args__ = (
        Index("ix_bank_statement_imported_at", "imported_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    format: Mapped[StatementFormat] = enum_column(StatementFormat)
    imported_by: Mapped[str] = mapped_column(String(120), default="")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    matched_count: Mapped[int] = mapped_column(Integer, default=0)
    unmatched_count: Mapped[int] = mapped_column(Integer, default=0)
    total_amount: Mapped[decimal.Decimal] = mapped_column(Money(), default=decimal.Decimal("0"))

    def __str__(self) -> str:
        return self.file_name


class BankStatementLine(Base):
    """A credit of a statement and what became of it: matched (``payment_id``: the payment
    recorded on ``invoice_id``; ``excess_amount``: an overpayment kept), left unmatched for a
    manual match, or ignored with a reason."""

    __tablename__ = "bank_statement_line"
    __table_args__ = (
        Index("ix_bank_statement_line_statement", "statement_id", "line_no"),
        Index("ix_bank_statement_line_status", "status", "statement_id"),
        Index("ix_bank_statement_line_invoice", "invoice_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statement.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    booked_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[decimal.Decimal] = mapped_column(Money())
    reference: Mapped[str] = mapped_column(String(140), default="")
    label: Mapped[str] = mapped_column(String(500), default="")
    debtor: Mapped[str] = mapped_column(String(140), default="")
    status: Mapped[StatementLineStatus] = enum_column(
        StatementLineStatus, default=StatementLineStatus.non_rapprochee
    )
    outcome: Mapped[MatchOutcome] = enum_column(MatchOutcome, default=MatchOutcome.unmatched)
    invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoice.id", ondelete="RESTRICT"), nullable=True
    )
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoice_payment.id", ondelete="SET NULL"), nullable=True
    )
    # An overpayment (amount above what remained due): kept here, never lost.
    excess_amount: Mapped[decimal.Decimal] = mapped_column(Money(), default=decimal.Decimal("0"))
    # The matching's French message, or the reason a line was ignored.
    note: Mapped[str] = mapped_column(String(500), default="")

    statement: Mapped[BankStatement] = relationship(BankStatement, lazy="raise_on_sql")
    invoice: Mapped[Invoice | None] = relationship(Invoice, lazy="raise_on_sql")
