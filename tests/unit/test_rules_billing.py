"""Contributions, absenteeism, statutory medicine, ACFI and invoices (DOMAIN.md §1-§3, §7)."""

from datetime import date
from decimal import Decimal

import pytest

from app.rules.billing import (
    CENT,
    MscAct,
    absenteeism_rate,
    absenteeism_surcharge,
    acfi_days,
    contribution,
    due_date,
    invoice_number,
    msc_billed_total,
    msc_consumption,
    msc_participation,
    msc_quota,
    round_money,
    tariff_category,
)
from app.rules.errors import DomainError

# Tariffs 2025-2027 (TASSIN-2024); in the application they come from the tariff table.
AFFILIATED_2025 = Decimal("87")
NON_AFFILIATED_800_PLUS_2025 = Decimal("93")
ABSENCE_THRESHOLD = Decimal("5")
ABSENCE_UNIT_PRICE = Decimal("40")
MSC_RATE_AFFILIATED_OWN_CST_2025 = Decimal("0.0327")
MSC_QUOTA_PERCENT = Decimal("8")


def test_money_is_rounded_half_up_to_the_cent() -> None:
    assert Decimal("0.01") == CENT
    assert round_money(Decimal("2.675")) == Decimal("2.68")
    assert round_money(Decimal("2.665")) == Decimal("2.67")
    assert round_money(Decimal("-2.665")) == Decimal("-2.67")
    assert round_money(Decimal("10")) == Decimal("10.00")


# DOMAIN.md §8 examples 1 and 2


def test_affiliated_commune_2025_contribution_is_10440() -> None:
    amount = contribution(120, AFFILIATED_2025)
    assert amount == Decimal("10440.00")
    assert str(amount) == "10440.00"


def test_non_affiliated_950_agents_2025_contribution_is_88350() -> None:
    category = tariff_category(affiliated=False, headcount=950, is_region=False)
    assert category == "non_affiliee_800_plus"
    assert contribution(950, NON_AFFILIATED_800_PLUS_2025) == Decimal("88350.00")


def test_negative_headcount_is_refused() -> None:
    with pytest.raises(DomainError, match="L'effectif déclaré ne peut pas être négatif."):
        contribution(-1, AFFILIATED_2025)


@pytest.mark.parametrize(
    ("affiliated", "headcount", "is_region", "category"),
    [
        (True, 120, False, "affiliee"),
        (True, 1200, False, "affiliee"),
        (False, 950, False, "non_affiliee_800_plus"),
        (False, 800, False, "non_affiliee_800_plus"),
        (False, 799, False, "non_affiliee_moins_800"),
        (False, 5000, True, "region"),
    ],
)
def test_tariff_category(affiliated: bool, headcount: int, is_region: bool, category: str) -> None:
    assert (
        tariff_category(affiliated=affiliated, headcount=headcount, is_region=is_region) == category
    )


def test_tariff_category_threshold_is_a_parameter() -> None:
    assert tariff_category(affiliated=False, headcount=600, is_region=False, threshold=500) == (
        "non_affiliee_800_plus"
    )


# DOMAIN.md §8 example 3


def test_first_half_2025_with_3_unjustified_absences_of_43_is_surcharged_120() -> None:
    assert absenteeism_rate(40, 3) == Decimal("6.98")
    surcharge = absenteeism_surcharge(
        40, 3, threshold_percent=ABSENCE_THRESHOLD, unit_price=ABSENCE_UNIT_PRICE
    )
    assert surcharge == Decimal("120.00")


def test_first_half_2025_with_2_unjustified_absences_of_42_is_not_surcharged() -> None:
    assert absenteeism_rate(40, 2) == Decimal("4.76")
    surcharge = absenteeism_surcharge(
        40, 2, threshold_percent=ABSENCE_THRESHOLD, unit_price=ABSENCE_UNIT_PRICE
    )
    assert surcharge == Decimal("0.00")


def test_rate_equal_to_the_threshold_is_not_surcharged() -> None:
    assert absenteeism_rate(95, 5) == Decimal("5.00")
    assert absenteeism_surcharge(
        95, 5, threshold_percent=ABSENCE_THRESHOLD, unit_price=ABSENCE_UNIT_PRICE
    ) == Decimal("0.00")


def test_rate_without_any_appointment_is_zero() -> None:
    assert absenteeism_rate(0, 0) == Decimal("0.00")


def test_rate_with_only_unjustified_absences_is_100() -> None:
    assert absenteeism_rate(0, 4) == Decimal("100.00")


# DOMAIN.md §8 example 4


def test_msc_2025_participation_on_3_million_payroll_is_981() -> None:
    assert msc_participation(Decimal("3000000"), MSC_RATE_AFFILIATED_OWN_CST_2025) == Decimal(
        "981.00"
    )


def test_msc_quota_of_150_permanent_agents_is_12_points() -> None:
    assert msc_quota(150, MSC_QUOTA_PERCENT) == Decimal("12")


def test_msc_quota_is_not_rounded() -> None:
    assert msc_quota(151, MSC_QUOTA_PERCENT) == Decimal("12.08")


def _example_4_acts() -> list[MscAct]:
    expertise = [
        MscAct(date(2025, 1, 10 + i), Decimal("2"), Decimal("200"), "Expertise") for i in range(5)
    ]
    return [
        *expertise,
        MscAct(date(2025, 3, 3), Decimal("2.5"), Decimal("250"), "Expertise ATI"),
        MscAct(date(2025, 4, 7), Decimal("1"), Decimal("100"), "Contrôle arrêt maladie"),
        MscAct(date(2025, 5, 5), Decimal("0.5"), Decimal("50"), "Aptitude limite d'âge"),
        MscAct(date(2025, 6, 2), Decimal("1"), Decimal("100"), "Contrôle arrêt maladie"),
    ]


def test_msc_2025_example_bills_250_and_100_beyond_quota_total_350() -> None:
    lines = msc_consumption(_example_4_acts(), Decimal("12"))
    assert [line.within_quota for line in lines] == [True] * 5 + [False, True, True, False]
    assert [line.consumed_after for line in lines] == [
        Decimal(n) for n in ("2", "4", "6", "8", "10", "10", "11", "11.5", "11.5")
    ]
    assert [line.billed for line in lines if not line.within_quota] == [
        Decimal("250.00"),
        Decimal("100.00"),
    ]
    assert all(line.billed == Decimal("0.00") for line in lines if line.within_quota)
    assert msc_billed_total(lines) == Decimal("350.00")


def test_msc_acts_are_consumed_in_date_order_whatever_the_input_order() -> None:
    lines = msc_consumption(list(reversed(_example_4_acts())), Decimal("12"))
    assert [line.act.on for line in lines] == sorted(act.on for act in _example_4_acts())
    assert msc_billed_total(lines) == Decimal("350.00")


def test_msc_acts_of_the_same_day_keep_their_input_order() -> None:
    day = date(2025, 2, 1)
    first = MscAct(day, Decimal("1"), Decimal("100"), "premier")
    second = MscAct(day, Decimal("1"), Decimal("100"), "second")
    lines = msc_consumption([first, second], Decimal("1"))
    assert [(line.act.label, line.within_quota) for line in lines] == [
        ("premier", True),
        ("second", False),
    ]


def test_msc_act_exactly_filling_the_quota_is_within_quota() -> None:
    act = MscAct(date(2025, 2, 1), Decimal("12"), Decimal("1200"), "gros acte")
    (line,) = msc_consumption([act], Decimal("12"))
    assert line.within_quota
    assert line.consumed_after == Decimal("12")


@pytest.mark.parametrize(
    ("agents", "volume"),
    [
        (1, (Decimal("0.5"), Decimal("0.5"), Decimal("0"), 3)),
        (9, (Decimal("0.5"), Decimal("0.5"), Decimal("0"), 3)),
        (10, (Decimal("0.5"), Decimal("0.5"), Decimal("0"), 2)),
        (49, (Decimal("0.5"), Decimal("0.5"), Decimal("0"), 2)),
        (50, (Decimal("0.5"), Decimal("0.5"), Decimal("0.5"), 1)),
        (100, (Decimal("0.5"), Decimal("0.5"), Decimal("0.5"), 1)),
        (101, (Decimal("1"), Decimal("1"), Decimal("1"), 1)),
        (150, (Decimal("1"), Decimal("1"), Decimal("1"), 1)),
        (151, (Decimal("1.5"), Decimal("1.5"), Decimal("1"), 1)),
        (250, (Decimal("1.5"), Decimal("1.5"), Decimal("1"), 1)),
        (251, (Decimal("2"), Decimal("2"), Decimal("1"), 1)),
        (350, (Decimal("2"), Decimal("2"), Decimal("1"), 1)),
    ],
)
def test_acfi_volume_follows_the_convention_table(
    agents: int, volume: tuple[Decimal, Decimal, Decimal, int]
) -> None:
    assert acfi_days(agents) == volume


def test_acfi_volume_above_350_agents_is_set_in_the_convention() -> None:
    assert acfi_days(351) is None


def test_acfi_volume_without_agent_is_refused() -> None:
    with pytest.raises(DomainError, match="au moins 1"):
        acfi_days(0)


def test_seed_invoice_of_25_may_2022_is_due_24_june_2022() -> None:
    assert due_date(date(2022, 5, 25)) == date(2022, 6, 24)


def test_invoice_due_date_delay_is_a_parameter() -> None:
    assert due_date(date(2026, 1, 31), days=45) == date(2026, 3, 17)


def test_seed_invoice_number_is_two_digit_year_and_six_digit_sequence() -> None:
    assert invoice_number(2022, 26990) == "22026990"
    assert invoice_number(2026, 1) == "26000001"


@pytest.mark.parametrize("sequence", [0, 1_000_000])
def test_invoice_sequence_outside_six_digits_is_refused(sequence: int) -> None:
    with pytest.raises(DomainError, match="entre 1 et 999999"):
        invoice_number(2026, sequence)
