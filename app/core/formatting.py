"""French display formats for screens, e-mails and exports (Jinja filters registered here)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

from app.rules.formatting import format_date, format_money

PARIS = ZoneInfo("Europe/Paris")
NBSP = "\u00a0"

__all__ = [
    "format_date",
    "format_datetime",
    "format_decimal",
    "format_money",
    "format_quantity",
    "register_filters",
]


def to_local(value: dt.datetime) -> dt.datetime:
    """Aware UTC timestamps are shown in Paris time; naive ones already are wall-clock times."""
    if value.tzinfo is not None:
        return value.astimezone(PARIS).replace(tzinfo=None)
    return value


def format_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return to_local(value).strftime("%d/%m/%Y %H:%M")


def format_time(value: dt.datetime | dt.time | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = to_local(value)
    return value.strftime("%H:%M")


def format_decimal(value: decimal.Decimal | None) -> str:
    """« 1 234,56 » (no currency: rates and quantities use it too)."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    text = f"{abs(value):,f}"
    integer, _, fraction = text.partition(".")
    integer = integer.replace(",", NBSP)
    return f"{sign}{integer},{fraction}" if fraction else f"{sign}{integer}"


def format_quantity(value: decimal.Decimal, unit: str) -> str:
    """A value with its unit, French style: « 87,00 € par agent et par an », « 5 % »,
    « 0,0327 % de la masse salariale », « 800 agents »."""
    unit = unit.strip()
    if unit.startswith("€"):
        return f"{format_money(value)}{unit[1:]}"
    number = format_decimal(value.normalize())
    return f"{number}{NBSP}{unit}" if unit else number


def register_filters(app: Flask) -> None:
    app.jinja_env.filters.update(
        date_fr=lambda v: format_date(v) if v else "",
        datetime_fr=format_datetime,
        time_fr=format_time,
        money=lambda v: format_money(v) if v is not None else "",
        decimal_fr=format_decimal,
    )

    @app.context_processor
    def _formatting() -> dict[str, Any]:
        return {"format_date": format_date, "format_money": format_money}
