"""Column types: UTC timestamps, exact decimals on every database, labelled enums.

Storage conventions (decided once, see README "Conventions"):
- system timestamps (created_at, audit, tokens, job runs) are UTC: aware ``datetime`` in Python,
  naive UTC in the database (``UTCDateTime``);
- business wall-clock times (plages, appointments) are naive local times of
  ``Config.LOCAL_TIMEZONE`` (Europe/Paris): what the secretary types and the agent reads;
- money and rates are ``Decimal``: ``NUMERIC`` on PostgreSQL, scaled integers on SQLite
  (exact and sortable, where SQLite would otherwise store floats).
"""

from __future__ import annotations

import decimal
import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Decimal(TypeDecorator[decimal.Decimal]):
    """An exact decimal: NUMERIC(p, s) on PostgreSQL, an integer of 10^-s units on SQLite."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int = 12, scale: int = 2) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self._unit = decimal.Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = decimal.Decimal(str(value)).quantize(self._unit, rounding=decimal.ROUND_HALF_UP)
        if dialect.name == "sqlite":
            return int(value.scaleb(self.scale))
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> decimal.Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return decimal.Decimal(int(value)).scaleb(-self.scale).quantize(self._unit)
        return decimal.Decimal(value).quantize(self._unit)

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        return self


def Money() -> Decimal:  # noqa: N802 - reads as a type in column declarations
    return Decimal(12, 2)


class LabelledEnum(enum.Enum):
    """A code (member name, stored and used by the API) with its French label (member value)."""

    def __str__(self) -> str:
        return str(self.value)

    @property
    def label(self) -> str:
        return str(self.value)

    @property
    def code(self) -> str:
        return self.name

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.name, m.value) for m in cls]


def enum_type(enum_class: type[LabelledEnum]) -> sa.Enum:
    """A VARCHAR column holding the member name (no native enum: migrations stay simple)."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=max(len(m.name) for m in enum_class) + 8,
        validate_strings=True,
    )


def enum_column(enum_class: type[LabelledEnum], **kwargs: Any) -> Any:
    """A mapped column of codes; the REST API reads and writes the code (member name)."""
    from sqlalchemy.orm import mapped_column

    info = {"marshmallow_by_value": False, **kwargs.pop("info", {})}
    return mapped_column(enum_type(enum_class), info=info, **kwargs)
