"""When the employer may read a visit sheet: 8 working days after the visit, on the office's
territory calendar, or earlier when released (SPEC E5, DOMAIN.md §7)."""

from __future__ import annotations

from datetime import date

from app.rules.consultations import sheet_available_on, sheet_is_available


def test_a_friday_visit_is_released_eight_working_days_later_skipping_the_first_of_may():
    # Friday 24/04/2026 + 8 working days; Friday 1 May (fête du Travail) is not counted.
    assert sheet_available_on(date(2026, 4, 24)) == date(2026, 5, 7)


def test_a_week_without_holidays_counts_weekends_only():
    # Friday 06/03/2026: Mon 9 ... Fri 13 (5), Mon 16, Tue 17, Wed 18 (8).
    assert sheet_available_on(date(2026, 3, 6)) == date(2026, 3, 18)


def test_alsace_moselle_adds_good_friday():
    # Friday 27/03/2026; Easter Monday 6 April everywhere, Good Friday 3 April in Moselle only.
    assert sheet_available_on(date(2026, 3, 27)) == date(2026, 4, 9)
    assert sheet_available_on(date(2026, 3, 27), subdiv="57") == date(2026, 4, 10)


def test_an_early_release_makes_the_sheet_available_that_day():
    assert sheet_available_on(date(2026, 4, 24), released_on=date(2026, 4, 27)) == date(2026, 4, 27)


def test_a_release_later_than_the_legal_delay_does_not_postpone_the_sheet():
    assert sheet_available_on(date(2026, 4, 24), released_on=date(2026, 6, 1)) == date(2026, 5, 7)


def test_a_release_dated_before_the_visit_counts_from_the_visit_day():
    assert sheet_available_on(date(2026, 4, 24), released_on=date(2026, 4, 1)) == date(2026, 4, 24)


def test_the_sheet_is_available_from_its_release_day_included():
    assert not sheet_is_available(date(2026, 5, 7), date(2026, 5, 6))
    assert sheet_is_available(date(2026, 5, 7), date(2026, 5, 7))
