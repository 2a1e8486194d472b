"""Effective periods of dated reference rows (rules as data, looked up by date)."""

from datetime import date
from typing import Protocol


class Dated(Protocol):
    """A reference row valid from ``valid_from`` to ``valid_to``, both inclusive, None = open."""

    @property
    def valid_from(self) -> date | None: ...

    @property
    def valid_to(self) -> date | None: ...


def is_in_force(row: Dated, on: date) -> bool:
    """True when ``on`` lies in the row's effective period (inclusive bounds, None = open-ended)."""
    if row.valid_from is not None and on < row.valid_from:
        return False
    return row.valid_to is None or on <= row.valid_to


def periods_overlap(a: Dated, b: Dated) -> bool:
    """True when the two effective periods share at least one day."""
    starts_before_b_ends = a.valid_from is None or b.valid_to is None or a.valid_from <= b.valid_to
    b_starts_before_a_ends = (
        b.valid_from is None or a.valid_to is None or b.valid_from <= a.valid_to
    )
    return starts_before_b_ends and b_starts_before_a_ends
