"""Next due date of the periodic visit, with the rule in force on the evaluation date (§5)."""

from datetime import date

import pytest

from app.rules.errors import DomainError
from app.rules.follow_up import FollowUp
from app.rules.periodicity import (
    DEFAULT_PERIODICITY_RULES,
    AgentFacts,
    PeriodicityRule,
    Visit,
    add_months,
    due_items,
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


# ----------------------------------------------------------------------------------------------
# The due list (SPEC E3): every due visit of an agent, explained (due_items)
# ----------------------------------------------------------------------------------------------

PERIODIC_VIP = Visit(LAST_VIP, "periodique", "apte")


def items(facts: AgentFacts, on: date) -> dict[str, tuple[date, str]]:
    return {i.kind: (i.due_on, i.explanation) for i in due_items(facts, on)}


def test_example_6_due_date_depends_on_the_evaluation_date() -> None:
    facts = AgentFacts(regime="public", entry_date=ENTRY, visits=(PERIODIC_VIP,))
    assert items(facts, date(2025, 6, 1))["periodique"][0] == date(2026, 3, 15)
    assert items(facts, date(2025, 12, 11))["periodique"][0] == date(2026, 3, 15)
    after = items(facts, date(2025, 12, 12))["periodique"]
    assert after == (
        date(2029, 3, 15),
        "Dernière visite le 15/03/2024 ; VIP tous les 5 ans (Décret n° 2025-1193 du 8 décembre 2025)",
    )
    assert set(items(facts, date(2026, 1, 1))) == {"periodique"}


def test_never_seen_agent_is_due_from_entry() -> None:
    facts = AgentFacts(regime="public", entry_date=date(2026, 2, 2))
    [item] = due_items(facts, date(2026, 3, 1))
    assert (item.kind, item.due_on) == ("periodique", date(2026, 2, 2))
    assert item.explanation.startswith("Jamais vu depuis son entrée le 02/02/2026 ; VIP")


def test_visits_after_the_evaluation_date_and_non_counting_visits_are_ignored() -> None:
    later = Visit(date(2026, 1, 10), "periodique", "apte")
    pre = Visit(date(2025, 1, 10), "pre_reprise", "apte")
    deferred = Visit(date(2025, 2, 10), "periodique", "avis_differe")
    facts = AgentFacts(
        regime="public", entry_date=ENTRY, visits=(PERIODIC_VIP, later, pre, deferred)
    )
    assert items(facts, date(2025, 12, 31))["periodique"][0] == date(2029, 3, 15)


def test_public_smp_has_an_intermediate_visit_after_the_decree_only() -> None:
    facts = AgentFacts(
        regime="public", entry_date=ENTRY, level=FollowUp.SIA, visits=(PERIODIC_VIP,)
    )
    before = items(facts, date(2025, 6, 1))
    assert before == {
        "periodique": (
            date(2025, 3, 15),
            "Dernière visite le 15/03/2024 ; visite de surveillance médicale particulière chaque "
            "année (Décret n° 85-603 du 10 juin 1985, art. 21)",
        )
    }
    after = items(facts, date(2026, 1, 1))
    assert after["periodique"][0] == date(2028, 3, 15)
    assert after["intermediaire"][0] == date(2026, 3, 15)
    assert "visite intermédiaire au plus tard 2 ans après" in after["intermediaire"][1]


def test_a_nurse_visit_after_the_doctor_is_the_intermediate_one() -> None:
    nurse = Visit(date(2025, 12, 20), "periodique", "attestation_suivi", by_doctor=False)
    facts = AgentFacts(
        regime="public", entry_date=ENTRY, level=FollowUp.SIR, visits=(PERIODIC_VIP, nurse)
    )
    result = items(facts, date(2026, 1, 1))
    assert result["periodique"][0] == date(2028, 3, 15)  # the doctor's visit restarts the clock
    assert "intermediaire" not in result


def test_smp_flag_of_the_last_visit_puts_the_agent_under_smp() -> None:
    smp = Visit(LAST_VIP, "periodique", "apte", is_smp=True)
    facts = AgentFacts(regime="public", entry_date=ENTRY, visits=(smp,))
    assert items(facts, date(2026, 1, 1))["periodique"][0] == date(2028, 3, 15)


def test_doctor_set_date_overrides_the_periodicity_but_never_beyond_the_legal_maximum() -> None:
    earlier = Visit(LAST_VIP, "periodique", "apte", next_visit_on=date(2025, 3, 15))
    facts = AgentFacts(regime="public", entry_date=ENTRY, visits=(earlier,))
    result = items(facts, date(2026, 1, 1))
    assert set(result) == {"medecin"}
    assert result["medecin"] == (
        date(2025, 3, 15),
        "Dernière visite le 15/03/2024 ; prochaine visite fixée par le médecin au 15/03/2025 "
        "(au plus tard le 15/03/2029 : VIP tous les 5 ans (Décret n° 2025-1193 du 8 décembre "
        "2025))",
    )
    beyond = Visit(LAST_VIP, "periodique", "apte", next_visit_on=date(2031, 1, 1))
    capped = items(
        AgentFacts(regime="public", entry_date=ENTRY, visits=(beyond,)), date(2026, 1, 1)
    )
    assert capped["periodique"][0] == date(2029, 3, 15)
    assert (
        "date fixée par le médecin (01/01/2031) ramenée au maximum légal" in capped["periodique"][1]
    )


def test_certificate_aptitude_before_the_decree_counts_5_years() -> None:
    aptitude = Visit(date(2024, 6, 1), "periodique", "apte")
    facts = AgentFacts(
        regime="public",
        entry_date=ENTRY,
        certificate_since=date(2020, 1, 1),
        certificate_risks=("CACES",),
        visits=(aptitude,),
    )
    assert "certificat" not in items(facts, date(2025, 9, 30))  # no certificate rule yet
    due_on, text = items(facts, date(2025, 10, 1))["certificat"]
    assert due_on == date(2029, 6, 1)
    assert text.startswith("Avis d'aptitude le 01/06/2024 (CACES) ; attestation de non")


def test_certificate_never_given_is_due_from_the_decree_or_the_assignment() -> None:
    follow_up_only = Visit(date(2024, 6, 1), "periodique", "attestation_suivi")
    facts = AgentFacts(
        regime="public",
        entry_date=ENTRY,
        certificate_since=date(2020, 1, 1),
        certificate_risks=("Électrique",),
        visits=(follow_up_only,),
    )
    due_on, text = items(facts, date(2026, 1, 1))["certificat"]
    assert due_on == date(2025, 10, 1)
    assert text.startswith("Aucune attestation ni avis d'aptitude (Électrique)")
    assigned_later = AgentFacts(
        regime="public", entry_date=date(2026, 2, 1), certificate_since=date(2026, 2, 1)
    )
    assert items(assigned_later, date(2026, 3, 1))["certificat"][0] == date(2026, 2, 1)
    renewed = Visit(date(2025, 11, 3), "periodique", "attestation_suivi")
    facts = AgentFacts(
        regime="public", entry_date=ENTRY, certificate_since=date(2020, 1, 1), visits=(renewed,)
    )
    assert items(facts, date(2026, 1, 1))["certificat"][0] == date(2030, 11, 3)
