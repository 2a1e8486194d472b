"""Follow-up type of a work position from its risks, evaluated as of a date (DOMAIN.md §4)."""

from datetime import date

import pytest

from app.rules.errors import DomainError
from app.rules.follow_up import (
    DEFAULT_RISK_EFFECTS,
    RISK_LABELS,
    RISK_PRECISION,
    FollowUp,
    RiskEffect,
    effect_on,
    follow_up,
    follow_up_rank,
    raise_for_situations,
)
from app.rules.periods import periods_overlap

BEFORE_DECREE = date(2025, 9, 30)
DECREE_DAY = date(2025, 10, 1)
SEED_DAY = date(2022, 5, 25)  # SSTRN screenshots predate the decree
DECREE_REFERENCE = "Décret n° 2025-355 du 18 avril 2025, art. R4624-23 du code du travail"

RISK_CODES = (
    "amiante",
    "bio_3_4",
    "hyperbare",
    "nuit",
    "electromagnetique",
    "cmr",
    "electrique",
    "chute_echafaudage",
    "caces",
    "plomb",
    "rayonnements",
    "charges_55kg",
    "bio_2",
    "autre",
)


def level(risks: list[str], on: date) -> FollowUp:
    return follow_up(risks, DEFAULT_RISK_EFFECTS, on).level


def test_levels_are_ordered_si_sia_sir() -> None:
    assert follow_up_rank(FollowUp.SI) < follow_up_rank(FollowUp.SIA) < follow_up_rank(FollowUp.SIR)
    assert FollowUp.SIR == "SIR"


def test_reference_data_covers_the_14_risks_with_labels_and_precisions() -> None:
    assert tuple(RISK_LABELS) == RISK_CODES
    assert {e.risk_code for e in DEFAULT_RISK_EFFECTS} == set(RISK_CODES)
    expected_precisions = {code: None for code in RISK_CODES} | {
        "rayonnements": "categorie_radiation",
        "caces": "categories_caces",
        "autre": "description",
    }
    assert expected_precisions == RISK_PRECISION


@pytest.mark.parametrize("on", [date(2000, 1, 1), BEFORE_DECREE, DECREE_DAY, date(2040, 1, 1)])
@pytest.mark.parametrize("code", RISK_CODES)
def test_every_risk_has_exactly_one_effect_on_any_date(code: str, on: date) -> None:
    assert effect_on(DEFAULT_RISK_EFFECTS, code, on).risk_code == code


def test_reference_rows_of_a_risk_never_overlap() -> None:
    for a in DEFAULT_RISK_EFFECTS:
        for b in DEFAULT_RISK_EFFECTS:
            if a is not b and a.risk_code == b.risk_code:
                assert not periods_overlap(a, b)


@pytest.mark.parametrize(
    ("code", "before", "after"),
    [
        ("amiante", FollowUp.SIR, FollowUp.SIR),
        ("bio_3_4", FollowUp.SIR, FollowUp.SIR),
        ("hyperbare", FollowUp.SIR, FollowUp.SIR),
        ("nuit", FollowUp.SIA, FollowUp.SIA),
        ("electromagnetique", FollowUp.SIA, FollowUp.SIA),
        ("cmr", FollowUp.SIR, FollowUp.SIR),
        ("electrique", FollowUp.SIR, FollowUp.SI),
        ("chute_echafaudage", FollowUp.SIR, FollowUp.SIR),
        ("caces", FollowUp.SIR, FollowUp.SI),
        ("plomb", FollowUp.SIR, FollowUp.SIR),
        ("rayonnements", FollowUp.SIR, FollowUp.SIR),
        ("charges_55kg", FollowUp.SIR, FollowUp.SIR),
        ("bio_2", FollowUp.SIA, FollowUp.SIA),
        ("autre", FollowUp.SIR, FollowUp.SIR),
    ],
)
def test_each_risk_has_the_effect_of_the_domain_table(
    code: str, before: FollowUp, after: FollowUp
) -> None:
    assert level([code], BEFORE_DECREE) == before
    assert level([code], DECREE_DAY) == after


# DOMAIN.md §8 example 5


def test_electrical_position_is_sir_on_30_september_2025() -> None:
    result = follow_up(["electrique"], DEFAULT_RISK_EFFECTS, BEFORE_DECREE)
    assert result.level == FollowUp.SIR
    assert not result.certificate_required
    assert result.certificate_risks == ()
    assert result.reasons == (
        "Opérations sur installations électriques (sauf H0B0) : suivi individuel renforcé "
        "(SIR) (Art. R4624-23 du code du travail).",
    )


def test_electrical_position_is_si_with_certificate_from_1_october_2025() -> None:
    result = follow_up(["electrique"], DEFAULT_RISK_EFFECTS, DECREE_DAY)
    assert result.level == FollowUp.SI
    assert result.certificate_required
    assert result.certificate_risks == ("electrique",)
    assert result.reasons == (
        "Opérations sur installations électriques (sauf H0B0) : suivi individuel simple (SI) "
        f"avec attestation de non contre-indication ({DECREE_REFERENCE}).",
    )


def test_caces_rule_after_the_decree_cites_the_decree() -> None:
    effect = effect_on(DEFAULT_RISK_EFFECTS, "caces", DECREE_DAY)
    assert effect.effect == FollowUp.SI
    assert effect.requires_certificate
    assert effect.legal_reference == DECREE_REFERENCE
    assert effect_on(DEFAULT_RISK_EFFECTS, "caces", BEFORE_DECREE).legal_reference == (
        "Art. R4624-23 du code du travail"
    )


def test_night_work_position_is_sia() -> None:
    assert level(["nuit"], DECREE_DAY) == FollowUp.SIA


def test_night_work_and_lead_position_is_sir() -> None:
    assert level(["nuit", "plomb"], DECREE_DAY) == FollowUp.SIR


def test_position_without_risk_is_si_without_certificate() -> None:
    result = follow_up([], DEFAULT_RISK_EFFECTS, DECREE_DAY)
    assert result.level == FollowUp.SI
    assert not result.certificate_required
    assert result.reasons == ("Aucun risque particulier : suivi individuel simple (SI).",)


# Seed checks (SSTRN screenshots, before the decree)


def test_seed_electrical_position_is_sir() -> None:
    assert level(["electrique"], SEED_DAY) == FollowUp.SIR


def test_seed_caces_and_fall_position_is_sir() -> None:
    assert level(["caces", "chute_echafaudage"], SEED_DAY) == FollowUp.SIR


def test_seed_manual_handling_position_is_sir() -> None:
    assert level(["charges_55kg"], SEED_DAY) == FollowUp.SIR


def test_seed_position_without_risk_is_si() -> None:
    assert level([], SEED_DAY) == FollowUp.SI


def test_caces_and_fall_after_the_decree_is_sir_and_still_needs_the_caces_certificate() -> None:
    result = follow_up(["caces", "chute_echafaudage"], DEFAULT_RISK_EFFECTS, DECREE_DAY)
    assert result.level == FollowUp.SIR
    assert result.certificate_risks == ("caces",)


def test_reasons_name_each_risk_once_in_declared_order() -> None:
    result = follow_up(["plomb", "nuit", "plomb"], DEFAULT_RISK_EFFECTS, DECREE_DAY)
    assert result.reasons == (
        "Au plomb : suivi individuel renforcé (SIR) (Art. R4624-23 du code du travail).",
        "Au travail de nuit : suivi individuel adapté (SIA) (Art. R4624-18 du code du travail).",
    )


def test_unknown_risk_is_refused_in_french() -> None:
    with pytest.raises(DomainError) as caught:
        follow_up(["radon"], DEFAULT_RISK_EFFECTS, DECREE_DAY)
    assert str(caught.value) == (
        "Aucune règle de suivi n'est en vigueur le 01/10/2025 pour le risque « radon »."
    )


def test_date_not_covered_by_any_row_is_refused() -> None:
    effects = [RiskEffect("plomb", FollowUp.SIR, False, date(2026, 1, 1), None, "Réf.")]
    with pytest.raises(DomainError, match="Aucune règle de suivi n'est en vigueur le 31/12/2025"):
        effect_on(effects, "plomb", date(2025, 12, 31))


def test_bounds_of_an_effective_period_are_inclusive() -> None:
    row = RiskEffect("plomb", FollowUp.SIA, False, date(2026, 1, 1), date(2026, 12, 31), "Réf.")
    assert effect_on([row], "plomb", date(2026, 1, 1)) is row
    assert effect_on([row], "plomb", date(2026, 12, 31)) is row


def test_overlapping_rows_are_refused() -> None:
    effects = [
        RiskEffect("plomb", FollowUp.SIR, False, None, None, "Réf."),
        RiskEffect("plomb", FollowUp.SIA, False, date(2026, 1, 1), None, "Réf."),
    ]
    with pytest.raises(DomainError, match="Plusieurs règles de suivi se chevauchent"):
        effect_on(effects, "plomb", date(2026, 6, 1))


def test_edited_reference_data_changes_the_result_without_code_change() -> None:
    effects = [RiskEffect("nuit", FollowUp.SIR, False, date(2030, 1, 1), None, "Décret futur")]
    result = follow_up(["nuit"], [*DEFAULT_RISK_EFFECTS[:3], *effects], date(2030, 1, 1))
    assert result.level == FollowUp.SIR
    assert result.reasons == (
        "Au travail de nuit : suivi individuel renforcé (SIR) (Décret futur).",
    )


@pytest.mark.parametrize(
    "situation", ["travailleur_handicape", "invalidite", "femme_enceinte", "apprenti_mineur"]
)
def test_agent_situation_raises_simple_follow_up_to_sia(situation: str) -> None:
    assert raise_for_situations(FollowUp.SI, [situation]) == FollowUp.SIA


def test_agent_situation_never_lowers_sir() -> None:
    assert raise_for_situations(FollowUp.SIR, ["femme_enceinte"]) == FollowUp.SIR


def test_no_or_other_situation_keeps_the_level() -> None:
    assert raise_for_situations(FollowUp.SI, []) == FollowUp.SI
    assert raise_for_situations(FollowUp.SI, ["autre_exposition"]) == FollowUp.SI
