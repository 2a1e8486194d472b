"""Missions and conventions (SPEC B4): number format, 3-year period renewable once, eligibility."""

from __future__ import annotations

import datetime as dt

CONVENTION_YEARS = 3
MAX_TACIT_RENEWALS = 1
# TASSIN-2024 Annexe 1: statutory medicine and social assistance « réservée aux employeurs > 50
# agents », « pour les employeurs < 50 agents, possibilité de passer une convention à l'acte ».
# 50 agents exactly are admitted, as app.rules.statutory.eligibility_problem does.
SIZE_THRESHOLD_AGENTS = 50
SIZE_RESTRICTED_MISSIONS = frozenset({"msc", "social"})
AFFILIATED_ONLY_MISSIONS = frozenset({"retraite"})

SIZE_MESSAGE = (
    "La médecine statutaire et l'assistance sociale ne sont proposées qu'aux collectivités "
    "d'au moins 50 agents (en dessous, une convention à l'acte est possible : contactez le CDG)."
)
AFFILIATED_MESSAGE = "Les dossiers retraite sont réservés aux collectivités affiliées."


def convention_number(sequence: int, mission_code: str, year: int) -> str:
    """« 295 - CU - MEDPREV - 2025 »: sequence, convention type, mission code, year."""
    return f"{sequence} - CU - {mission_code.upper()} - {year}"


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February -> 28 February
        return day.replace(year=day.year + years, day=28)


def convention_end(start: dt.date) -> dt.date:
    """Last day of a 3-year convention starting on ``start`` (inclusive)."""
    return _add_years(start, CONVENTION_YEARS) - dt.timedelta(days=1)


def renewal_end(start: dt.date, tacit_renewal: bool = True) -> dt.date:
    """Last day including the single tacit renewal (3 more years), or the plain end without it."""
    end = convention_end(start)
    if not tacit_renewal:
        return end
    return convention_end(end + dt.timedelta(days=1))


def can_renew(renewed: bool, tacit_renewal: bool) -> bool:
    """A convention is tacitly renewable once: only if renewal is on and not yet used."""
    return tacit_renewal and not renewed


def eligibility_errors(mission_code: str, agent_count: int, affiliated: bool) -> list[str]:
    """French messages for a mission the collectivity cannot subscribe to (empty = allowed)."""
    code = mission_code.lower()
    errors = []
    if code in SIZE_RESTRICTED_MISSIONS and agent_count < SIZE_THRESHOLD_AGENTS:
        errors.append(SIZE_MESSAGE)
    if code in AFFILIATED_ONLY_MISSIONS and not affiliated:
        errors.append(AFFILIATED_MESSAGE)
    return errors


def mission_errors(
    mission_label: str,
    min_agents: int | None,
    affiliated_only: bool,
    agent_count: int,
    affiliated: bool,
) -> list[str]:
    """Same rules driven by the Mission reference row (``min_agents``, ``affiliated_only``)."""
    errors = []
    if min_agents is not None and agent_count < min_agents:
        errors.append(
            f"La mission « {mission_label} » n'est proposée qu'aux collectivités "
            f"d'au moins {min_agents} agents (en dessous, une convention à l'acte est "
            "possible : contactez le CDG)."
        )
    if affiliated_only and not affiliated:
        errors.append(f"La mission « {mission_label} » est réservée aux collectivités affiliées.")
    return errors
