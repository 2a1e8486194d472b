"""The current date and time of the service (Europe/Paris), in one place so tests can set it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def now_local() -> dt.datetime:
    """Naive wall-clock time in Paris (plages and appointments are stored that way)."""
    return dt.datetime.now(PARIS).replace(tzinfo=None)


def today() -> dt.date:
    return now_local().date()
