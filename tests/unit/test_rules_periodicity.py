"""Next due date of the periodic visit, with the rule in force on the evaluation date (§5)."""

from datetime import date

import pytest

from app.rules.errors import DomainError
from app.rules.follow_up import FollowUp
from app.rules.periodicity import (
    DEFAULT_PERIODICITY_RULES,
    PeriodicityRule,
    add_months,
    intermediate_visit_on,
    next_due,
    population_of,
    rule_on,
)
from app.rules.periods import periods_overlap

ENTRY = date(2015, 9, 1)
LAST_VIP = date(2024, 3, 15)
DECREE_2025_1193 = "Décret n° 2025-1193 du 8 décembre 2025"


def due(population: str, evaluated_on: date, *, regime: str = "public") -> date:
    return next_due(
        regime=regime,
        population=population,
        last_visit=LAST_VIP,
        entry_date=ENTRY,
        evaluated_on=evaluated_on,
    ).due_on


# DOMAIN.md §8 example 6


def test_public_vip_of_march_2024_was_due_in_2026_under_the_rule_of_2024() -> None:
    result = next_due(
        regime="public",
        population="tous",
        last_visit=LAST_VIP,
        entry_date=ENTRY,
        evaluated_on=date(2024, 6, 1),
    )
    assert result.due_on == date(2026, 3, 15)
    assert result.rule.months == 24
    assert result.explanation == (
        "Dernière visite le 15/03/2024 ; VIP tous les 2 ans "
        "(Décret n° 85-603 du 10 juin 1985, art. 20)"
    )


def test_public_vip_of_march_2024_is_due_in_2029_under_the_2025_decree() -> None:
    result = next_due(
        regime="public",
        population="tous",
        last_visit=LAST_VIP,
        entry_date=ENTRY,
        evaluated_on=date(2026, 11, 23),
    )
    assert result.due_on == date(2029, 3, 15)
    assert result.rule.legal_reference == DECREE_2025_1193
    assert result.explanation == (
        "Dernière visite le 15/03/2024 ; VIP tous les 5 ans (Décret n° 2025-1193 du 8 décembre 2025)"
    )


def test_public_rule_changes_between_11_and_12_december_2025() -> None:
    assert due("tous", date(2025, 12, 11)) == date(2026, 3, 15)
    assert due("tous", date(2025, 12, 12)) == date(2029, 3, 15)


def test_public_smp_defaults_to_one_year_before_the_decree() -> None:
    assert due("smp", date(2025, 1, 1)) == date(2025, 3, 15)


def test_public_smp_is_every_4_years_with_an_intermediate_visit_after_the_decree() -> None:
    result = next_due(
        regime="public",
        population="smp",
        last_visit=LAST_VIP,
        entry_date=ENTRY,
        evaluated_on=date(2026, 1, 5),
    )
    assert result.due_on == date(2028, 3, 15)
    assert intermediate_visit_on(LAST_VIP, result.rule) == date(2026, 3, 15)
    assert "visite intermédiaire au plus tard 2 ans après" in result.explanation


@pytest.mark.parametrize(
    ("population", "expected"),
    [
        ("SI", date(2029, 3, 15)),
        ("SIA", date(2027, 3, 15)),
        ("SIR", date(2028, 3, 15)),
        ("certificat", date(2029, 3, 15)),
    ],
)
def test_private_periodicities(population: str, expected: date) -> None:
    assert due(population, date(2026, 1, 1), regime="prive") == expected


def test_private_sir_has_an_intermediate_visit_two_years_after() -> None:
    rule = rule_on(DEFAULT_PERIODICITY_RULES, "prive", "SIR", date(2026, 1, 1))
    assert intermediate_visit_on(LAST_VIP, rule) == date(2026, 3, 15)


def test_aptitude_opinion_before_the_decree_counts_as_certificate_for_5_years() -> None:
    result = next_due(
        regime="public",
        population="certificat",
        last_visit=date(2024, 6, 1),
        entry_date=ENTRY,
        evaluated_on=date(2025, 10, 1),
    )
    assert result.due_on == date(2029, 6, 1)
    assert result.explanation == (
        "Dernière visite le 01/06/2024 ; attestation de non contre-indication tous les 5 ans "
        "(Décret n° 2025-355 du 18 avril 2025, art. R4624-23 du code du travail)"
    )


def test_rule_without_intermediate_visit_gives_none() -> None:
    rule = rule_on(DEFAULT_PERIODICITY_RULES, "prive", "SI", date(2026, 1, 1))
    assert intermediate_visit_on(LAST_VIP, rule) is None


def test_agent_never_seen_is_due_from_entry_date() -> None:
    result = next_due(
        regime="public",
        population="tous",
        last_visit=None,
        entry_date=date(2026, 2, 2),
        evaluated_on=date(2026, 3, 1),
    )
    assert result.due_on == date(2026, 2, 2)
    assert result.explanation.startswith("Jamais vu, entré le 02/02/2026 ; VIP tous les 5 ans")


def test_visit_on_29_february_is_due_on_28_february_of_a_common_year() -> None:
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)
    result = next_due(
        regime="public",
        population="tous",
        last_visit=date(2024, 2, 29),
        entry_date=ENTRY,
        evaluated_on=date(2024, 6, 1),
    )
    assert result.due_on == date(2026, 2, 28)


def test_month_arithmetic_clamps_to_month_end_and_crosses_years() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 8, 31), 1) == date(2025, 9, 30)
    assert add_months(date(2025, 11, 15), 2) == date(2026, 1, 15)
    assert add_months(date(2026, 1, 15), -2) == date(2025, 11, 15)


def test_default_rules_of_a_population_never_overlap() -> None:
    for a in DEFAULT_PERIODICITY_RULES:
        for b in DEFAULT_PERIODICITY_RULES:
            if a is not b and (a.regime, a.population) == (b.regime, b.population):
                assert not periods_overlap(a, b)


def test_unknown_population_is_refused_in_french() -> None:
    with pytest.raises(DomainError) as caught:
        due("SIR", date(2026, 1, 1))
    assert str(caught.value) == (
        "Aucune règle de périodicité en vigueur le 01/01/2026 pour le régime « public » "
        "et la population « SIR »."
    )


def test_rules_are_data_passed_by_the_caller() -> None:
    rules = [PeriodicityRule("public", "tous", 36, None, None, None, "Convention locale")]
    result = next_due(
        regime="public",
        population="tous",
        last_visit=LAST_VIP,
        entry_date=ENTRY,
        evaluated_on=date(2026, 1, 1),
        rules=rules,
    )
    assert result.due_on == date(2027, 3, 15)
    assert (
        result.explanation
        == "Dernière visite le 15/03/2024 ; VIP tous les 3 ans (Convention locale)"
    )


@pytest.mark.parametrize(
    ("regime", "level", "surveillance", "population"),
    [
        ("public", FollowUp.SI, False, "tous"),
        ("public", FollowUp.SI, True, "smp"),
        ("public", FollowUp.SIA, False, "smp"),
        ("public", FollowUp.SIR, False, "smp"),
        ("prive", FollowUp.SIA, False, "SIA"),
    ],
)
def test_population_of_an_agent(
    regime: str, level: FollowUp, surveillance: bool, population: str
) -> None:
    assert (
        population_of(regime=regime, level=level, particular_surveillance=surveillance)
        == population
    )


def test_unknown_regime_is_refused() -> None:
    with pytest.raises(DomainError, match="Régime inconnu"):
        population_of(regime="mixte", level=FollowUp.SI)
