"""Annual declaration rules (SPEC F1, G4; SSTRN-EXTRANET « La Déclaration annuelle
obligatoire »; issue 14 « Bad input »)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.rules import declarations as rules
from app.rules.errors import FieldError

TODAY = dt.date(2026, 3, 10)


@pytest.mark.parametrize(
    "typed",
    [
        "3 000 000,00",
        "3\u00a0000\u00a0000,00",  # non-breaking spaces (copied from a French document)
        "3\u202f000\u202f000,00",  # narrow non-breaking spaces (French number formatting)
        "3000000.00",
        "3000000",
        " 3 000 000,00 € ",
        "3000000,0",
    ],
)
def test_a_payroll_is_read_as_people_type_it(typed):
    assert rules.parse_payroll(typed) == Decimal("3000000.00")


def test_a_payroll_keeps_its_cents():
    assert rules.parse_payroll("1 234 567,89") == Decimal("1234567.89")
    assert rules.parse_payroll(Decimal("12.5")) == Decimal("12.50")
    assert rules.parse_payroll(0) == Decimal("0.00")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-1 000,00", "ne peut pas être négative"),
        (-5, "ne peut pas être négative"),
        ("", "obligatoire"),
        (None, "obligatoire"),
        ("trois millions", "Masse salariale invalide"),
        ("3.000.000,00", "Masse salariale invalide"),
        ("1,234", "Masse salariale invalide"),  # three decimals: not silently rounded
        ("12e5", "Masse salariale invalide"),
        (True, "montant attendu"),
        ("9999999999999", "trop grande"),
    ],
)
def test_a_wrong_payroll_is_refused_in_french(typed, message):
    with pytest.raises(FieldError) as refused:
        rules.parse_payroll(typed)
    assert message in refused.value.message
    assert refused.value.field == "payroll"


def test_a_headcount_is_a_whole_number_never_negative():
    assert rules.parse_count("1 200", "L'effectif", "headcount") == 1200
    assert rules.parse_count(0, "L'effectif", "headcount") == 0
    for typed, message in [
        ("-3", "ne peut pas être négatif"),
        (-3, "ne peut pas être négatif"),
        ("12,5", "nombre entier attendu"),
        ("", "obligatoire"),
        (True, "nombre entier attendu"),
    ]:
        with pytest.raises(FieldError) as refused:
            rules.parse_count(typed, "L'effectif", "headcount")
        assert message in refused.value.message


def test_the_declaration_is_due_on_31_march():
    assert rules.due_on(2026) == dt.date(2026, 3, 31)
    assert not rules.is_late(2026, dt.date(2026, 3, 31))
    assert rules.is_late(2026, dt.date(2026, 4, 1))


def test_a_declaration_is_editable_7_calendar_days_then_locked():
    validated = dt.date(2026, 3, 2)
    assert rules.editable_until(validated) == dt.date(2026, 3, 9)
    assert rules.is_editable(validated, dt.date(2026, 3, 9))
    assert not rules.is_editable(validated, dt.date(2026, 3, 10))
    assert rules.is_editable(validated, dt.date(2026, 6, 1), reopened=True)
    with pytest.raises(FieldError) as refused:
        rules.check_editable(validated, dt.date(2026, 3, 10))
    assert "n'est plus modifiable depuis le 10/03/2026" in refused.value.message


def test_a_year_in_the_future_is_refused():
    with pytest.raises(FieldError) as refused:
        rules.check_new_declaration(2027, TODAY, set())
    assert "L'année 2027 est dans le futur" in refused.value.message
    with pytest.raises(FieldError):
        rules.check_year(1999, TODAY)


def test_a_second_declaration_for_the_same_year_is_refused():
    with pytest.raises(FieldError) as refused:
        rules.check_new_declaration(2026, TODAY, {2026})
    assert "déjà été faite" in refused.value.message


def test_a_missed_year_is_declared_after_the_current_one():
    """SSTRN: « vous devez d'abord réaliser la déclaration de l'année en cours puis les
    précédentes »."""
    with pytest.raises(FieldError) as refused:
        rules.check_new_declaration(2025, TODAY, set())
    assert "Déclarez d'abord l'année en cours (2026)" in refused.value.message
    rules.check_new_declaration(2025, TODAY, {2026})  # accepted once 2026 is declared
    assert rules.years_to_declare(TODAY, {2024}, 2023) == [2026, 2025, 2023]


def test_a_difference_with_the_agents_counted_is_a_warning():
    assert rules.difference_warning("L'effectif", 12, 12) is None
    warning = rules.difference_warning("L'effectif", 12, 10)
    assert warning is not None and "(12)" in warning and "(10)" in warning


def test_reminders_start_on_1_march_for_the_current_year_only():
    assert not rules.reminder_due(dt.date(2026, 2, 28), 2026, declared=False)
    assert rules.reminder_due(dt.date(2026, 3, 1), 2026, declared=False)
    assert not rules.reminder_due(dt.date(2026, 3, 1), 2026, declared=True)
    assert not rules.reminder_due(dt.date(2026, 3, 1), 2025, declared=False)
