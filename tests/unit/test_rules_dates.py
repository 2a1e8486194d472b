"""Strict reading of typed dates: what was typed is the date, or a French error."""

from datetime import date, datetime

import pytest

from app.rules.dates import parse_french_date, parse_french_datetime
from app.rules.errors import DomainError


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12/03/1988", date(1988, 3, 12)),
        ("12031988", date(1988, 3, 12)),
        ("1/3/1988", date(1988, 3, 1)),
        ("01/3/1988", date(1988, 3, 1)),
        (" 5/03/2026 ", date(2026, 3, 5)),
        ("1988-03-12", date(1988, 3, 12)),
        ("29/02/2028", date(2028, 2, 29)),
    ],
)
def test_a_typed_date_is_read_as_typed(typed: str, expected: date) -> None:
    assert parse_french_date(typed) == expected


@pytest.mark.parametrize("typed", ["31/02/1988", "29/02/2026", "00/01/2026", "12/13/1988"])
def test_an_impossible_date_is_refused_never_carried_over(typed: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_french_date(typed)
    assert caught.value.message == (
        f"Date impossible : « {typed} » n'existe pas au calendrier. Format attendu JJ/MM/AAAA."
    )


def test_an_impossible_compact_or_iso_date_is_refused_too() -> None:
    for typed in ("31021988", "1988-02-31"):
        with pytest.raises(DomainError, match="^Date impossible"):
            parse_french_date(typed)


@pytest.mark.parametrize(
    "typed", ["05/03/26", "5.3.2026", "", "120388", "1203198", "12-03-1988", "demain", "1988/03/12"]
)
def test_a_text_that_is_not_a_date_is_refused_with_the_expected_format(typed: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_french_date(typed)
    assert caught.value.message == f"Date invalide : « {typed} ». Format attendu JJ/MM/AAAA."


def test_a_date_and_time_is_read_strictly() -> None:
    assert parse_french_datetime("12/03/1988 09:05") == datetime(1988, 3, 12, 9, 5)
    assert parse_french_datetime("12031988  9h05") == datetime(1988, 3, 12, 9, 5)
    with pytest.raises(DomainError, match="^Date impossible"):
        parse_french_datetime("31/02/1988 09:00")
    with pytest.raises(DomainError, match="^Heure impossible"):
        parse_french_datetime("12/03/1988 25:00")
    with pytest.raises(DomainError, match="^Date et heure invalides"):
        parse_french_datetime("12/03/1988")
