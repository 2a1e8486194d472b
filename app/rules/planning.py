"""Plages and appointments (SPEC D1-D7, DOMAIN.md §2 and §7): states, capacity, times, notices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from enum import StrEnum

from .errors import DomainError
from .formatting import fold


class PlageState(StrEnum):
    RESERVEE = "reservee"
    COMMUNE = "commune"
    CONVOCATION = "convocation"
    ANNULEE = "annulee"


class PlageEvent(StrEnum):
    REFUSE = "refuse"  # an employer refuses (or cancels) a reserved or common plage
    CONVOKE = "convoke"  # the secretariat validates the bookings: a convocation
    CANCEL = "cancel"  # the secretariat cancels the plage
    RESERVE = "reserve"  # the secretariat reserves a common plage for a collectivity
    RELEASE = "release"  # the secretariat makes a reserved plage common


# (state, event) -> new state. Anything else is forbidden (CDG69-PORTAIL, SPEC D1-D4).
TRANSITIONS: dict[tuple[PlageState, PlageEvent], PlageState] = {
    (PlageState.RESERVEE, PlageEvent.REFUSE): PlageState.COMMUNE,
    (PlageState.COMMUNE, PlageEvent.REFUSE): PlageState.COMMUNE,
    (PlageState.RESERVEE, PlageEvent.CONVOKE): PlageState.CONVOCATION,
    (PlageState.COMMUNE, PlageEvent.CONVOKE): PlageState.CONVOCATION,
    (PlageState.RESERVEE, PlageEvent.CANCEL): PlageState.ANNULEE,
    (PlageState.COMMUNE, PlageEvent.CANCEL): PlageState.ANNULEE,
    (PlageState.CONVOCATION, PlageEvent.CANCEL): PlageState.ANNULEE,
    (PlageState.COMMUNE, PlageEvent.RESERVE): PlageState.RESERVEE,
    (PlageState.RESERVEE, PlageEvent.RELEASE): PlageState.COMMUNE,
}

FORBIDDEN_MESSAGES: dict[PlageEvent, str] = {
    PlageEvent.REFUSE: "Cette plage ne peut plus être refusée : elle est validée en convocation ou annulée.",
    PlageEvent.CONVOKE: "Seule une plage réservée ou commune peut être validée en convocation.",
    PlageEvent.CANCEL: "Cette plage est déjà annulée.",
    PlageEvent.RESERVE: "Seule une plage commune peut être réservée à une collectivité.",
    PlageEvent.RELEASE: "Seule une plage réservée peut être rendue commune.",
}


def transition(state: PlageState, event: PlageEvent) -> PlageState:
    """The state after an event; a forbidden move is a French DomainError (SPEC D1)."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError as error:
        raise DomainError(FORBIDDEN_MESSAGES[event]) from error


def bookable(state: PlageState) -> bool:
    """Employers book into reserved and common plages only (a convocation is locked)."""
    return state in (PlageState.RESERVEE, PlageState.COMMUNE)


def capacity(starts_at: dt.datetime, ends_at: dt.datetime, appointment_minutes: int) -> int:
    """Capacity = length of the plage / appointment length (SPEC D1), whole appointments only."""
    if appointment_minutes <= 0:
        raise DomainError("La durée d'un rendez-vous doit être positive.")
    if ends_at <= starts_at:
        raise DomainError("L'heure de fin doit suivre l'heure de début.")
    minutes = int((ends_at - starts_at).total_seconds() // 60)
    count = minutes // appointment_minutes
    if count < 1:
        raise DomainError("La plage est plus courte qu'un rendez-vous.")
    return count


def slot_start(starts_at: dt.datetime, appointment_minutes: int, index: int) -> dt.datetime:
    """The time of the index-th appointment of a plage (the appointment gets a time, SPEC D2)."""
    return starts_at + dt.timedelta(minutes=appointment_minutes * index)


class Attendance(StrEnum):
    HONOREE = "honoree"
    ABSENCE_JUSTIFIEE = "absence_justifiee"
    ABSENCE_INJUSTIFIEE = "absence_injustifiee"


def cancellation_outcome(
    appointment_at: dt.datetime,
    signalled_at: dt.datetime,
    notice: dt.timedelta = dt.timedelta(hours=48),
) -> Attendance:
    """An absence signalled at least 48 hours before the appointment is justified; later, or a
    no-show, is unjustified (DOMAIN.md §2, TASSIN-2024 convention). Both times are the same
    wall clock (Europe/Paris)."""
    if appointment_at - signalled_at >= notice:
        return Attendance.ABSENCE_JUSTIFIEE
    return Attendance.ABSENCE_INJUSTIFIEE


def overlaps(
    start_a: dt.datetime, end_a: dt.datetime, start_b: dt.datetime, end_b: dt.datetime
) -> bool:
    return start_a < end_b and start_b < end_a


def weekly_dates(
    first_day: dt.date,
    last_day: dt.date,
    weekdays: Iterable[int],
    is_working_day: Callable[[dt.date], bool],
) -> list[dt.date]:
    """The days of a weekly recurrence (weekday 0 = Monday) over a period, public holidays
    skipped (SPEC D1; DOMAIN.md §7: the office's territory decides the holidays)."""
    if last_day < first_day:
        raise DomainError("La fin de la période précède son début.")
    if (last_day - first_day).days > 366:
        raise DomainError("Une récurrence couvre au plus un an.")
    wanted = set(weekdays)
    if not wanted or not wanted <= set(range(7)):
        raise DomainError("Choisissez au moins un jour de la semaine.")
    days = []
    day = first_day
    while day <= last_day:
        if day.weekday() in wanted and is_working_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def reminder_due(plage_day: dt.date, today: dt.date, days_before: int = 15) -> bool:
    """A reserved plage with free capacity is reminded from 15 calendar days before (SPEC D7);
    a reminder missed on the day (job not run) is still sent on the following days, once."""
    return today < plage_day and (plage_day - today).days <= days_before


# Visit natures named by a noun take « de » in a sentence (« visite de reprise »); the others are
# adjectives (« visite périodique », « visite occasionnelle »). Folded, as ``fold`` gives them.
_NOUN_VISITS = frozenset(
    {"embauche", "reprise", "pre-reprise", "pre reprise", "mi-carriere", "fin de carriere"}
)


def visit_phrase(label: str) -> str:
    """The visit nature in a French sentence: « Embauche » -> « visite d'embauche », « Reprise »
    -> « visite de reprise », « Périodique » -> « visite périodique »; a label that already says
    « Visite ... » is kept (lower-cased first letter).

    Source: issue 10 (« visite d'embauche », « de reprise »); Code du travail R4624-10 (visite
    d'information et de prévention à l'embauche), R4624-31 (visite de reprise).
    """
    text = " ".join(label.split())
    lowered = text[:1].lower() + text[1:]
    key = fold(lowered)
    if key.startswith("visite"):
        return lowered
    if key in _NOUN_VISITS:
        elided = key[:1] in "aeiouyh"
        return f"visite d'{lowered}" if elided else f"visite de {lowered}"
    return f"visite {lowered}"
