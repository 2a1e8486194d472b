"""Working days (jours ouvrés) from the computed French public holidays of a territory.

The ``holidays`` package (every country's calendar, a third of a second) is imported at the
first computation, not at start-up (tests/integration/test_startup.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from .errors import DomainError

if TYPE_CHECKING:
    import holidays

# Metropolitan departments with no holiday of their own use the national calendar.
_METROPOLITAN = frozenset(
    [f"{n:02d}" for n in range(1, 96) if n not in (20, 57, 67, 68)] + ["2A", "2B"]
)
# Bas-Rhin and Haut-Rhin form the Collectivité européenne d'Alsace in the holidays package.
_ALIASES = {"67": "6AE", "68": "6AE"}


@lru_cache(maxsize=1)
def _territories() -> frozenset[str]:
    """The subdivisions of ``holidays.FR`` but the school zones "Zone A/B/C" (no territory)."""
    from holidays.countries.france import France

    return frozenset(code for code in France.subdivisions if not code.startswith("Zone"))


@lru_cache(maxsize=64)
def holiday_subdivision(subdiv: str | None) -> str | None:
    """Return the ``holidays`` subdivision of a territory (None: national calendar).

    Source: code du travail L3134-13 (Alsace-Moselle: Vendredi saint, 26 décembre), code du
    travail L3133-1 and the overseas days (loi n° 83-550) as encoded by ``holidays`` — DOMAIN.md §7.
    Accepts a metropolitan department code (national calendar), ``57``, ``67``/``68``
    (Alsace), an overseas code (``971``...) or any other subdivision of ``holidays.FR``.
    """
    if subdiv is None:
        return None
    code = subdiv.strip().upper()
    if code in _METROPOLITAN:
        return None
    code = _ALIASES.get(code, code)
    if code not in _territories():
        raise DomainError(f"Territoire inconnu pour le calendrier des jours fériés : « {subdiv} ».")
    return code


@lru_cache(maxsize=256)
def _holidays_of(year: int, subdiv: str | None) -> holidays.HolidayBase:
    import holidays

    return holidays.country_holidays("FR", subdiv=subdiv, years=year, language="fr", expand=False)


def public_holidays(year: int, subdiv: str | None = None) -> dict[date, str]:
    """French public holidays of a year for a territory, date -> French name.

    Source: code du travail L3133-1 and local law (Alsace-Moselle, overseas), computed by
    the ``holidays`` package, never typed by hand — DOMAIN.md §7.
    """
    return dict(sorted(_holidays_of(year, holiday_subdivision(subdiv)).items()))


def is_working_day(d: date, subdiv: str | None = None) -> bool:
    """True for Monday to Friday except the public holidays of the territory.

    Source: DOMAIN.md §7 (jours ouvrés).
    """
    if d.weekday() >= 5:
        return False
    return d not in _holidays_of(d.year, holiday_subdivision(subdiv))


def add_working_days(start: date, n: int, subdiv: str | None = None) -> date:
    """Return the n-th working day after ``start`` (before it when n < 0; ``start`` when n = 0).

    Source: DOMAIN.md §3 and §7 (deadlines counted in working days from the request).
    """
    step = timedelta(days=1 if n >= 0 else -1)
    current = start
    remaining = abs(n)
    while remaining:
        current += step
        if is_working_day(current, subdiv):
            remaining -= 1
    return current


def working_days_between(start: date, end: date, subdiv: str | None = None) -> int:
    """Number of working days after ``start`` up to ``end`` included (negative if end < start).

    Source: DOMAIN.md §7. Consistent with ``add_working_days`` both ways:
    ``working_days_between(s, add_working_days(s, n)) == n``.
    """
    if end < start:
        # Working days from ``end`` included to ``start`` excluded, counted negatively.
        return -_count_working_days(end, start, subdiv)
    return _count_working_days(start + timedelta(days=1), end + timedelta(days=1), subdiv)


def _count_working_days(first: date, stop: date, subdiv: str | None) -> int:
    """Working days from ``first`` included to ``stop`` excluded."""
    days = (first + timedelta(days=offset) for offset in range((stop - first).days))
    return sum(1 for d in days if is_working_day(d, subdiv))


def add_calendar_days(start: date, n: int) -> date:
    """Return the date n calendar days after ``start`` (before it when n < 0).

    Source: DOMAIN.md §7 (reminders 15 calendar days before, editable 7 calendar days after).
    """
    return start + timedelta(days=n)
