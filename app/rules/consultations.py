"""Consultation rules: when the employer may read the visit sheet (SPEC E5, DOMAIN.md §7)."""

from __future__ import annotations

from datetime import date

from .working_days import add_working_days

# The visit sheet reaches the employer at the latest 8 working days after the visit.
SHEET_RELEASE_WORKING_DAYS = 8


def sheet_available_on(
    visit_date: date, released_on: date | None = None, subdiv: str | None = None
) -> date:
    """The day the employer may read the visit sheet: the visit date plus 8 working days on the
    office's territory calendar, or the day the professional released it when earlier (never
    before the visit itself).

    Source: SPEC E5 and DOMAIN.md §7 (« Visit sheet available to the employer within 8 working
    days of the visit »; jours ouvrés of the territory, code du travail L3133-1, L3134-13).
    """
    latest = add_working_days(visit_date, SHEET_RELEASE_WORKING_DAYS, subdiv)
    if released_on is None:
        return latest
    return min(latest, max(released_on, visit_date))


def sheet_is_available(available_on: date, today: date) -> bool:
    """True from the release day included (SPEC E5)."""
    return available_on <= today
