"""Tariffs by period (SPEC F2, DOMAIN.md §1-§3): the row in force on a date, and the check that
periods of one parameter never overlap. The billing runs read their prices through
``tariff_on``; a CDG edits the rows in Référentiels › Tarifs, never the code."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from app.extensions import db
from app.referential.models import Tariff
from app.rules.errors import DomainError


def tariff_on(code: str, key: str, on_date: dt.date) -> Tariff:
    """The tariff row of (``code``, ``key``) in force on ``on_date`` (bounds inclusive, an open
    end runs on); DomainError « Aucun tarif ... en vigueur le ... » when there is none.

    Source: SPEC.md F2 (tariffs versioned by period and category), DOMAIN.md §1 (2022-2024:
    80 €, 2025-2027: 87 € for an affiliated collectivity).
    """
    row: Tariff | None = db.session.scalar(
        select(Tariff)
        .where(
            Tariff.code == code,
            Tariff.key == (key or ""),
            Tariff.valid_from <= on_date,
            or_(Tariff.valid_to.is_(None), Tariff.valid_to >= on_date),
        )
        .order_by(Tariff.valid_from.desc())
        .limit(1)
    )
    if row is None:
        what = f"{code} / {key}" if key else code
        raise DomainError(
            f"Aucun tarif « {what} » en vigueur le {on_date:%d/%m/%Y} : saisissez-le dans "
            "Référentiels › Tarifs avant de lancer la facturation."
        )
    return row


def tariffs_of_year(code: str, key: str, year: int) -> Tariff:
    """The row in force on 1 January of ``year`` (a yearly run bills the year's tariff)."""
    return tariff_on(code, key, dt.date(year, 1, 1))
