"""Chorus Pro batches over the database: create, send, rebuild the ZIP (issue 18)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.billing.models import Invoice
from app.core.types import utcnow
from app.einvoicing import chorus
from app.einvoicing.facturx import facturx_filename, render_facturx
from app.einvoicing.models import DEPOSITED, FAILED, PENDING, ChorusBatch, ChorusDeposit
from app.extensions import db


@dataclass
class BatchOutcome:
    batch: ChorusBatch | None
    blocked: list[chorus.Blocked] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _load(ids: Sequence[int]) -> list[Invoice]:
    return list(
        db.session.scalars(
            select(Invoice)
            .where(Invoice.id.in_(list(ids)))
            .options(joinedload(Invoice.collectivity), selectinload(Invoice.lines))
            .order_by(Invoice.number)
        ).unique()
    )


def _credited(invoices: Sequence[Invoice]) -> dict[int, Invoice]:
    ids = {i.credit_for_id for i in invoices if i.credit_for_id is not None}
    if not ids:
        return {}
    return {i.id: i for i in db.session.scalars(select(Invoice).where(Invoice.id.in_(ids)))}


def render_files(invoices: Sequence[Invoice], config: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    credited = _credited(invoices)
    return [
        (
            facturx_filename(invoice),
            render_facturx(
                invoice,
                invoice.lines,
                credited=credited.get(invoice.credit_for_id or 0),
                config=dict(config),
            ),
        )
        for invoice in invoices
    ]


def create_batch(
    invoice_ids: Sequence[int],
    *,
    created_by: str,
    config: Mapping[str, Any],
    requires_service: Mapping[int, bool] | None = None,
) -> BatchOutcome:
    """Record a batch of the depositable invoices among ``invoice_ids`` and, when Chorus Pro is
    configured, send each file. A failed deposit leaves that invoice « À déposer »/« Échec »
    and the batch downloadable. Blocked invoices are listed with their French reason."""
    invoices = _load(invoice_ids)
    selection = chorus.select_invoices(invoices, requires_service)
    outcome = BatchOutcome(batch=None, blocked=selection.blocked)
    if not selection.ready:
        return outcome
    files = render_files(selection.ready, config)
    batch = ChorusBatch(created_by=created_by, sent=False)
    for invoice, (name, _data) in zip(selection.ready, files, strict=True):
        batch.deposits.append(ChorusDeposit(invoice_id=invoice.id, file_name=name, status=PENDING))
    db.session.add(batch)
    db.session.flush()
    settings = chorus.ChorusSettings.from_config(config)
    if settings is not None:
        batch.sent = True
        for deposit, (name, data) in zip(batch.deposits, files, strict=True):
            try:
                deposit.deposit_identifier = chorus.deposit_file(settings, name, data)
            except chorus.ChorusError as err:
                deposit.status = FAILED
                deposit.message = str(err)
                outcome.errors.append(f"{name} : {err}")
                continue
            deposit.status = DEPOSITED
            deposit.deposited_at = utcnow()
            deposit.message = None
    outcome.batch = batch
    return outcome


def batch_archive(batch_id: int, config: Mapping[str, Any]) -> tuple[bytes, str] | None:
    """The ZIP of a recorded batch (files rebuilt from the invoice records) and its name."""
    batch = db.session.scalar(
        select(ChorusBatch)
        .where(ChorusBatch.id == batch_id)
        .options(selectinload(ChorusBatch.deposits))
    )
    if batch is None:
        return None
    by_id = {i.id: i for i in _load([d.invoice_id for d in batch.deposits])}
    invoices = [by_id[d.invoice_id] for d in batch.deposits if d.invoice_id in by_id]
    files = render_files(invoices, config)
    rows = [chorus.manifest_row(i, name) for i, (name, _d) in zip(invoices, files, strict=True)]
    return chorus.batch_zip(files, rows), f"chorus-lot-{batch.id}.zip"
