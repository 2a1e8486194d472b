"""Plage states, capacity, appointment times, the 48-hour rule, recurrences, reminders."""

from __future__ import annotations

import datetime as dt

import pytest

from app.rules.errors import DomainError
from app.rules.planning import (
    Attendance,
    PlageEvent,
    PlageState,
    cancellation_outcome,
    capacity,
    reminder_due,
    slot_start,
    transition,
    weekly_dates,
)
from app.rules.working_days import is_working_day

NINE = dt.datetime(2026, 3, 5, 9, 0)


def test_a_refused_reserved_plage_becomes_common():
    assert transition(PlageState.RESERVEE, PlageEvent.REFUSE) is PlageState.COMMUNE


def test_a_convocation_cannot_be_refused_by_an_employer():
    with pytest.raises(DomainError, match="ne peut plus être refusée"):
        transition(PlageState.CONVOCATION, PlageEvent.REFUSE)


def test_only_open_plages_become_convocations_and_a_cancelled_one_stays_cancelled():
    assert transition(PlageState.COMMUNE, PlageEvent.CONVOKE) is PlageState.CONVOCATION
    with pytest.raises(DomainError):
        transition(PlageState.ANNULEE, PlageEvent.CONVOKE)
    with pytest.raises(DomainError, match="déjà annulée"):
        transition(PlageState.ANNULEE, PlageEvent.CANCEL)


def test_capacity_is_the_length_divided_by_the_appointment_length():
    assert capacity(NINE, NINE + dt.timedelta(hours=3), 20) == 9
    assert capacity(NINE, NINE + dt.timedelta(minutes=50), 20) == 2
    with pytest.raises(DomainError, match="plus courte"):
        capacity(NINE, NINE + dt.timedelta(minutes=10), 20)
    with pytest.raises(DomainError, match="doit suivre"):
        capacity(NINE, NINE, 20)


def test_each_appointment_gets_its_time_inside_the_plage():
    assert slot_start(NINE, 20, 0) == NINE
    assert slot_start(NINE, 20, 4) == dt.datetime(2026, 3, 5, 10, 20)


def test_an_absence_signalled_48_hours_before_is_justified_later_it_is_not():
    assert cancellation_outcome(NINE, NINE - dt.timedelta(hours=48)) is Attendance.ABSENCE_JUSTIFIEE
    assert (
        cancellation_outcome(NINE, NINE - dt.timedelta(hours=47, minutes=59))
        is Attendance.ABSENCE_INJUSTIFIEE
    )
    assert (
        cancellation_outcome(NINE, NINE + dt.timedelta(hours=1)) is Attendance.ABSENCE_INJUSTIFIEE
    )


def test_a_weekly_recurrence_skips_french_public_holidays():
    # Thursdays of May 2026: the 14th is Ascension Day.
    days = weekly_dates(dt.date(2026, 5, 1), dt.date(2026, 5, 31), [3], is_working_day)
    assert days == [dt.date(2026, 5, 7), dt.date(2026, 5, 21), dt.date(2026, 5, 28)]


def test_good_friday_is_skipped_only_in_alsace_moselle():
    lyon = weekly_dates(dt.date(2026, 4, 1), dt.date(2026, 4, 5), [4], is_working_day)
    metz = weekly_dates(
        dt.date(2026, 4, 1), dt.date(2026, 4, 5), [4], lambda d: is_working_day(d, "57")
    )
    assert lyon == [dt.date(2026, 4, 3)] and metz == []


def test_a_recurrence_needs_a_day_and_a_sensible_period():
    with pytest.raises(DomainError):
        weekly_dates(dt.date(2026, 5, 1), dt.date(2026, 4, 1), [0], is_working_day)
    with pytest.raises(DomainError):
        weekly_dates(dt.date(2026, 5, 1), dt.date(2026, 5, 31), [], is_working_day)


def test_the_unfilled_slot_reminder_starts_15_days_before():
    plage = dt.date(2026, 6, 16)
    assert not reminder_due(plage, dt.date(2026, 5, 31))
    assert reminder_due(plage, dt.date(2026, 6, 1))
    assert reminder_due(plage, dt.date(2026, 6, 10))
    assert not reminder_due(plage, dt.date(2026, 6, 16))
