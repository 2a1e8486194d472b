"""French display and parsing of amounts, dates and Oui/Non cells; accent-free matching."""

from datetime import date
from decimal import Decimal

import pytest

from app.rules.errors import DomainError
from app.rules.formatting import NBSP, fold, format_date, format_money, parse_oui_non


def test_money_uses_no_break_space_thousands_and_comma_decimals() -> None:
    assert NBSP == "\u00a0"
    assert format_money(Decimal("1234.56")) == "1\u00a0234,56\u00a0€"


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("10440"), "10 440,00 €"),
        (Decimal("88350.00"), "88 350,00 €"),
        (Decimal("981"), "981,00 €"),
        (Decimal("0"), "0,00 €"),
        (Decimal("1234567.891"), "1 234 567,89 €"),
        (Decimal("0.005"), "0,01 €"),
        (Decimal("-350"), "-350,00 €"),
        (Decimal("-0.001"), "0,00 €"),
    ],
)
def test_money_display(amount: Decimal, shown: str) -> None:
    assert format_money(amount) == shown.replace(" ", NBSP)


def test_date_display_is_dd_mm_yyyy() -> None:
    assert format_date(date(2026, 3, 5)) == "05/03/2026"


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("Oui", True),
        (" oui ", True),
        ("OUI", True),
        ("Non", False),
        ("non\t", False),
        ("NON", False),
    ],
)
def test_oui_non_cell_is_parsed_in_any_case(typed: str, value: bool) -> None:
    assert parse_oui_non(typed) is value


@pytest.mark.parametrize("typed", ["Ouii", "", "O", "yes", "1"])
def test_other_cell_values_are_refused(typed: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_oui_non(typed)
    assert str(caught.value) == f"Valeur « {typed} » invalide : Oui ou Non attendu."


def test_ouii_message_is_in_french() -> None:
    with pytest.raises(DomainError) as caught:
        parse_oui_non("Ouii")
    assert str(caught.value) == "Valeur « Ouii » invalide : Oui ou Non attendu."


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Titulaire", "titulaire"),
        ("CONTRACTUEL", "contractuel"),
        ("Contractuél", "contractuel"),
        ("Intérimaire", "interimaire"),
        ("  Droit   privé ", "droit prive"),
        ("Œuvre ÇA", "oeuvre ca"),
    ],
)
def test_fold_removes_case_and_accents_for_matching(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_contract_types_match_ignoring_case_and_accents() -> None:
    assert fold("STAGIAIRE") == fold("Stagiaire")
    assert fold("Contractuel de droit privé") == fold("CONTRACTUEL DE DROIT PRIVE")
