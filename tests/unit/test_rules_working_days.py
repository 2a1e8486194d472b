"""Working days from the computed French public holidays of the office's territory (§7)."""

from datetime import date

import pytest

from app.rules.errors import DomainError
from app.rules.working_days import (
    add_calendar_days,
    add_working_days,
    holiday_subdivision,
    is_working_day,
    public_holidays,
    working_days_between,
)

GOOD_FRIDAY_2026 = date(2026, 4, 3)


def test_bastille_day_2026_is_not_a_working_day() -> None:
    assert not is_working_day(date(2026, 7, 14))


def test_weekend_is_not_a_working_day() -> None:
    assert not is_working_day(date(2026, 7, 11))
    assert not is_working_day(date(2026, 7, 12))
    assert is_working_day(date(2026, 7, 13))


def test_good_friday_2026_is_a_working_day_in_lyon() -> None:
    assert is_working_day(GOOD_FRIDAY_2026)
    assert is_working_day(GOOD_FRIDAY_2026, "69")


def test_good_friday_2026_is_a_holiday_in_moselle() -> None:
    assert not is_working_day(GOOD_FRIDAY_2026, "57")


def test_26_december_is_a_holiday_in_alsace_moselle_only() -> None:
    saint_stephen = date(2025, 12, 26)  # a Friday
    assert is_working_day(saint_stephen)
    assert not is_working_day(saint_stephen, "57")
    assert not is_working_day(saint_stephen, "67")
    assert not is_working_day(saint_stephen, "68")


def test_guadeloupe_has_abolition_of_slavery_day() -> None:
    assert not is_working_day(date(2026, 5, 27), "971")
    assert is_working_day(date(2026, 5, 27))


def test_fifth_working_day_after_victory_day_2026_skips_ascension() -> None:
    # Fri 08/05 (Victoire) -> Mon 11, Tue 12, Wed 13, (Thu 14 Ascension), Fri 15, Mon 18.
    assert add_working_days(date(2026, 5, 8), 5) == date(2026, 5, 18)


def test_working_days_after_a_friday_start_on_monday() -> None:
    assert add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)


def test_whit_monday_is_a_holiday() -> None:
    # Fri 22/05/2026 + 1 working day skips the week-end and Lundi de Pentecôte (25/05).
    assert add_working_days(date(2026, 5, 22), 1) == date(2026, 5, 26)


def test_adding_zero_working_days_keeps_the_date() -> None:
    assert add_working_days(date(2026, 7, 14), 0) == date(2026, 7, 14)


def test_negative_working_days_go_backwards() -> None:
    assert add_working_days(date(2026, 5, 15), -2) == date(2026, 5, 12)


def test_expertise_report_deadline_crosses_the_year_end() -> None:
    # 20 working days from Mon 15/12/2025: Christmas and New Year's Day are skipped.
    assert add_working_days(date(2025, 12, 15), 20) == date(2026, 1, 14)


def test_working_days_between_counts_days_after_start_up_to_end() -> None:
    assert working_days_between(date(2026, 5, 8), date(2026, 5, 18)) == 5
    assert working_days_between(date(2026, 5, 18), date(2026, 5, 18)) == 0
    assert working_days_between(date(2026, 5, 11), date(2026, 5, 18)) == 4
    assert working_days_between(date(2026, 5, 18), date(2026, 5, 11)) == -4


@pytest.mark.parametrize("n", [-25, -3, -1, 0, 1, 2, 8, 20])
@pytest.mark.parametrize("start", [date(2026, 5, 8), date(2026, 5, 9), date(2025, 12, 25)])
def test_working_days_between_is_the_inverse_of_add_working_days(start: date, n: int) -> None:
    assert working_days_between(start, add_working_days(start, n)) == n


def test_calendar_days_ignore_holidays() -> None:
    assert add_calendar_days(date(2026, 7, 1), 15) == date(2026, 7, 16)
    assert add_calendar_days(date(2026, 7, 16), -15) == date(2026, 7, 1)


def test_public_holidays_are_named_in_french_and_sorted() -> None:
    national = public_holidays(2026)
    assert national[date(2026, 7, 14)] == "Fête nationale"
    assert len(national) == 11
    assert list(national) == sorted(national)
    moselle = public_holidays(2026, "57")
    assert set(moselle) - set(national) == {GOOD_FRIDAY_2026, date(2026, 12, 26)}


def test_public_holidays_returns_a_copy() -> None:
    public_holidays(2026).clear()
    assert date(2026, 7, 14) in public_holidays(2026)


@pytest.mark.parametrize(
    ("territory", "subdiv"),
    [(None, None), ("69", None), ("2A", None), ("67", "6AE"), ("57", "57"), ("971", "971")],
)
def test_territory_maps_to_a_holidays_subdivision(
    territory: str | None, subdiv: str | None
) -> None:
    assert holiday_subdivision(territory) == subdiv


@pytest.mark.parametrize("territory", ["99", "Zone A", "20", ""])
def test_unknown_territory_is_refused_in_french(territory: str) -> None:
    with pytest.raises(DomainError) as caught:
        is_working_day(date(2026, 7, 13), territory)
    assert str(caught.value) == (
        f"Territoire inconnu pour le calendrier des jours fériés : « {territory} »."
    )
