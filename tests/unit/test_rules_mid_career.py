"""The private regime's mid-career visit, in the calendar year of the 45th birthday (DOMAIN §5)."""

from datetime import date

from app.rules.follow_up import FollowUp
from app.rules.periodicity import (
    DEFAULT_PERIODICITY_RULES,
    KIND_MID_CAREER,
    AgentFacts,
    Visit,
    due_items,
    mid_career_item,
)

LAW = "Art. L4624-2-2 du code du travail (loi n° 2021-1018 du 2 août 2021, art. 22)"


def facts(born: date, *, regime: str = "prive", visits: tuple[Visit, ...] = ()) -> AgentFacts:
    return AgentFacts(
        regime=regime,
        entry_date=date(2010, 9, 1),
        level=FollowUp.SI,
        visits=visits,
        birth_date=born,
    )


def test_an_agent_turning_45_this_year_is_due_by_31_december_explained():
    item = mid_career_item(facts(date(1981, 6, 10)), date(2026, 3, 2))
    assert item is not None and item.kind == KIND_MID_CAREER
    assert item.due_on == date(2026, 12, 31)
    assert item.legal_reference == LAW
    assert item.explanation == (
        "Né(e) le 10/06/1981 : 45 ans en 2026, aucune visite de mi-carrière depuis le "
        "01/01/2026 ; visite de mi-carrière dans l'année civile des 45 ans de l'agent (" + LAW + ")"
    )
    kinds = [i.kind for i in due_items(facts(date(1981, 6, 10)), date(2026, 3, 2))]
    assert kinds == ["periodique", KIND_MID_CAREER]


def test_an_agent_turning_44_or_46_this_year_is_not_due_this_year():
    assert mid_career_item(facts(date(1982, 1, 1)), date(2026, 12, 31)) is None  # 44: next year
    assert mid_career_item(facts(date(1982, 1, 1)), date(2027, 1, 1)).due_on == date(2027, 12, 31)
    # 46 this year and never seen for it: overdue since 31/12 of last year.
    late = mid_career_item(facts(date(1980, 2, 29)), date(2026, 3, 2))
    assert late is not None and late.due_on == date(2025, 12, 31)


def test_a_mid_career_visit_of_that_year_settles_it_one_of_the_year_before_does_not():
    born = date(1981, 6, 10)
    done = (Visit(date(2026, 2, 3), "mi_carriere", "attestation_suivi"),)
    assert mid_career_item(facts(born, visits=done), date(2026, 3, 2)) is None
    early = (Visit(date(2025, 11, 3), "mi_carriere", "attestation_suivi"),)
    assert mid_career_item(facts(born, visits=early), date(2026, 3, 2)) is not None
    # A periodic visit of that year is not the mid-career visit.
    periodic = (Visit(date(2026, 2, 3), "periodique", "attestation_suivi"),)
    assert mid_career_item(facts(born, visits=periodic), date(2026, 3, 2)) is not None


def test_both_sides_of_the_law_coming_into_force():
    # 45 in 2021: before the law (in force on 31/03/2022), nothing is owed.
    assert mid_career_item(facts(date(1976, 5, 1)), date(2026, 3, 2)) is None
    # 45 in 2022: owed; not evaluated before the law's day.
    assert mid_career_item(facts(date(1977, 5, 1)), date(2022, 3, 30)) is None
    assert mid_career_item(facts(date(1977, 5, 1)), date(2022, 3, 31)).due_on == date(2022, 12, 31)


def test_the_public_regime_gets_no_mid_career_visit():
    assert mid_career_item(facts(date(1981, 6, 10), regime="public"), date(2026, 3, 2)) is None
    kinds = {i.kind for i in due_items(facts(date(1981, 6, 10), regime="public"), date(2026, 3, 2))}
    assert KIND_MID_CAREER not in kinds


def test_the_rule_is_dated_data_with_its_reference():
    rule = next(r for r in DEFAULT_PERIODICITY_RULES if r.population == "mi_carriere")
    assert (rule.regime, rule.months, rule.valid_from, rule.valid_to) == (
        "prive",
        540,
        date(2022, 3, 31),
        None,
    )
    assert rule.legal_reference == LAW
