"""Statutory medicine and ACFI rules (DOMAIN.md §1, §3, §7, §8 example 4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.rules import statutory as rules
from app.rules.billing import ACFI_VOLUMES, msc_participation
from app.rules.errors import DomainError, FieldError

# The reference data of 2025-2027 (app/referential/reference_data.py), as the services pass it.
ONE, HALF, TWO, ZERO = Decimal(1), Decimal("0.5"), Decimal(2), Decimal(0)
PRICE_EXPERTISE, PRICE_RPI_ATI, PRICE_CONTROL, PRICE_AGE = (
    Decimal(200),
    Decimal(250),
    Decimal(100),
    Decimal(50),
)
REPORT_2025, REPORT_2022 = Decimal(100), Decimal(80)


def coefficient(base, extra=ZERO, *, expertise=False, report=False):
    return rules.request_coefficient(
        base, extra, is_expertise=expertise, written_report=report, report_coefficient=ONE
    )


def price(act_price, *, expertise=False, report=False, report_price=REPORT_2025):
    return rules.request_price(
        act_price, is_expertise=expertise, written_report=report, report_price=report_price
    )


def test_an_rpi_or_ati_expertise_weighs_two_and_a_half_points():
    assert coefficient(TWO, HALF, expertise=True) == Decimal("2.5")


def test_a_written_report_adds_one_point_and_100_euros_outside_an_expertise():
    assert coefficient(ONE, report=True) == TWO
    assert price(PRICE_CONTROL, report=True) == Decimal("200.00")
    assert price(PRICE_CONTROL, report=True, report_price=REPORT_2022) == Decimal("180.00")


def test_an_expertise_includes_its_written_report():
    assert coefficient(TWO, expertise=True, report=True) == TWO
    assert price(PRICE_EXPERTISE, expertise=True, report=True) == Decimal("200.00")


def test_domain_example_4_quota_consumption_and_per_act_total():
    """DOMAIN.md §8 example 4: 150 permanent agents, quota 12 points, 350,00 € per act."""
    assert msc_participation(Decimal(3_000_000), Decimal("0.0327")) == Decimal("981.00")
    quota = rules.quota(150, Decimal(8))
    assert quota == Decimal(12)
    visits = [
        *[(TWO, PRICE_EXPERTISE)] * 5,
        (Decimal("2.5"), PRICE_RPI_ATI),
        (ONE, PRICE_CONTROL),
        (HALF, PRICE_AGE),
        (ONE, PRICE_CONTROL),
    ]
    rows = [
        rules.QuotaRow(key=n, on=date(2025, 1, 6 + n), coefficient=c, price=p)
        for n, (c, p) in enumerate(visits)
    ]
    results = rules.consume(rows, quota)
    assert [r.within_quota for r in results] == [True] * 5 + [False, True, True, False]
    assert [r.billed for r in results if not r.within_quota] == [
        Decimal("250.00"),
        Decimal("100.00"),
    ]
    assert sum(r.billed for r in results) == Decimal("350.00")
    assert rules.remaining_points(quota, results) == HALF
    assert sum(r.points for r in results) == Decimal("11.5")


def test_consumption_follows_the_dates_not_the_order_given():
    rows = [
        rules.QuotaRow(key=1, on=date(2025, 3, 1), coefficient=TWO, price=PRICE_EXPERTISE),
        rules.QuotaRow(key=2, on=date(2025, 2, 1), coefficient=TWO, price=PRICE_EXPERTISE),
    ]
    results = {r.key: r for r in rules.consume(rows, Decimal(3))}
    assert results[2].within_quota and not results[1].within_quota


def test_an_unjustified_absence_consumes_one_point():
    absence = rules.QuotaRow(key=1, on=date(2025, 1, 6), coefficient=ONE, price=PRICE_CONTROL)
    [result] = rules.consume([absence], Decimal("0.5"))
    assert not result.within_quota and result.billed == Decimal("100.00")
    [result] = rules.consume([absence], Decimal(1))
    assert result.within_quota and result.points == ONE


def test_the_quota_is_not_rounded():
    assert rules.quota(155, Decimal(8)) == Decimal("12.40")


# -- deadlines --------------------------------------------------------------------------------


def test_a_sick_leave_control_is_due_within_5_working_days():
    # Monday 3 March 2025 + 5 working days = Monday 10 March.
    assert rules.deadline(date(2025, 3, 3), 5) == date(2025, 3, 10)


def test_an_expertise_is_due_within_15_working_days_around_holidays():
    # Friday 25 April 2025: Easter Monday 21/04 is past; 1 and 8 May are holidays.
    assert rules.deadline(date(2025, 4, 25), 15) == date(2025, 5, 20)


def test_alsace_moselle_counts_good_friday_and_saint_stephen():
    # Thursday 17 April 2025 + 2: Good Friday 18/04 and Easter Monday 21/04 are not worked in
    # Moselle, only Easter Monday elsewhere.
    assert rules.deadline(date(2025, 4, 17), 2) == date(2025, 4, 22)
    assert rules.deadline(date(2025, 4, 17), 2, "57") == date(2025, 4, 23)
    # 24 December 2025 (Wednesday) + 2: 25 and 26 December off in Moselle.
    assert rules.deadline(date(2025, 12, 24), 2) == date(2025, 12, 29)
    assert rules.deadline(date(2025, 12, 24), 2, "57") == date(2025, 12, 30)


def test_the_opinion_follows_a_control_by_2_working_days_and_a_report_by_20():
    done = date(2025, 3, 7)  # a Friday
    assert rules.restitution_due(done, is_expertise=False) == date(2025, 3, 11)
    assert rules.restitution_due(done, is_expertise=True) == date(2025, 4, 4)


def test_deadline_state_shows_days_left_then_lateness():
    due = date(2025, 3, 10)
    on_time = rules.deadline_state(due, date(2025, 3, 6))
    assert on_time.on_time and on_time.days_left == 2 and on_time.label == "dans les délais"
    assert on_time.detail == "2 jours ouvrés restants"
    late = rules.deadline_state(due, date(2025, 3, 12))
    assert not late.on_time and late.days_left == -2 and late.label == "en retard"
    assert late.detail == "2 jours ouvrés de retard"
    assert rules.deadline_state(due, date(2025, 3, 20), done_on=date(2025, 3, 10)).on_time
    done_late = rules.deadline_state(due, date(2025, 3, 20), done_on=date(2025, 3, 11))
    assert not done_late.on_time and done_late.days_left == -1


def test_mandatory_requests_come_first_then_the_nearest_deadline():
    keys = [
        rules.queue_key(False, date(2025, 3, 5), date(2025, 3, 1), 1),
        rules.queue_key(True, date(2025, 3, 20), date(2025, 3, 1), 2),
        rules.queue_key(True, date(2025, 3, 10), date(2025, 3, 1), 3),
    ]
    assert [k[-1] for k in sorted(keys)] == [3, 2, 1]


# -- bad input --------------------------------------------------------------------------------


def test_a_request_in_the_future_is_refused():
    with pytest.raises(FieldError, match="futur"):
        rules.check_requested_on(date(2025, 3, 11), date(2025, 3, 10))
    assert rules.check_requested_on(date(2025, 3, 10), date(2025, 3, 10)) == date(2025, 3, 10)


def test_a_done_date_before_the_request_or_in_the_future_is_refused():
    with pytest.raises(FieldError, match="précéder la demande"):
        rules.check_done_on(date(2025, 3, 1), date(2025, 3, 3), date(2025, 3, 10))
    with pytest.raises(FieldError, match="futur"):
        rules.check_done_on(date(2025, 3, 11), date(2025, 3, 3), date(2025, 3, 10))
    with pytest.raises(FieldError):
        rules.check_done_on(None, date(2025, 3, 3), date(2025, 3, 10))


def test_a_collectivity_below_50_agents_or_without_convention_may_not_file():
    assert "au moins 50 agents" in rules.eligibility_problem(49, min_agents=50, has_convention=True)
    assert "49 agents" in rules.eligibility_problem(49, min_agents=50, has_convention=True)
    assert "convention" in rules.eligibility_problem(200, min_agents=50, has_convention=False)
    assert rules.eligibility_problem(50, min_agents=50, has_convention=True) is None
    assert "Aucun effectif" in rules.eligibility_problem(None, min_agents=50, has_convention=True)


# -- ACFI -------------------------------------------------------------------------------------


def test_acfi_volume_of_the_headcount_bands():
    assert rules.acfi_volume(120, 2025, 2025, ACFI_VOLUMES).total == Decimal(3)
    assert rules.acfi_volume(60, 2026, 2025, ACFI_VOLUMES).total == Decimal("1.5")
    assert rules.acfi_volume(400, 2025, 2025, ACFI_VOLUMES) is None


def test_small_collectivities_are_inspected_every_2_or_3_years():
    years = range(2025, 2032)
    every_three = [rules.acfi_volume(5, y, 2025, ACFI_VOLUMES).total for y in years]
    assert every_three == [ONE, ZERO, ZERO, ONE, ZERO, ZERO, ONE]
    every_two = [rules.acfi_volume(20, y, 2025, ACFI_VOLUMES).total for y in years]
    assert every_two == [ONE, ZERO, ONE, ZERO, ONE, ZERO, ONE]


def test_acfi_extra_days_are_capped_at_20_percent_without_amendment():
    volume = Decimal(3)
    rules.check_acfi_days(
        volume, Decimal("3.5"), cap_percent=Decimal(20), has_amendment=False, affiliated=True
    )
    with pytest.raises(FieldError, match="avenant"):
        rules.check_acfi_days(
            volume, Decimal(4), cap_percent=Decimal(20), has_amendment=False, affiliated=True
        )
    # the figures in the message, singular for one day
    with pytest.raises(FieldError) as refused:
        rules.check_acfi_days(
            Decimal(1), Decimal(2), cap_percent=Decimal(20), has_amendment=False, affiliated=True
        )
    assert "(volume prévu : 1 jour ; au plus 1,2 jours sans avenant)" in refused.value.message
    rules.check_acfi_days(
        volume, Decimal(4), cap_percent=Decimal(20), has_amendment=True, affiliated=True
    )
    with pytest.raises(DomainError):
        rules.check_acfi_days(
            volume, Decimal(-1), cap_percent=Decimal(20), has_amendment=False, affiliated=True
        )


def test_acfi_amounts_extra_days_at_460_and_non_affiliated_days_at_530():
    assert rules.acfi_amount(
        Decimal(3),
        Decimal("3.5"),
        affiliated=True,
        extra_day_price=Decimal(460),
        day_price=Decimal(530),
    ) == (Decimal("0.5"), Decimal("230.00"))
    assert rules.acfi_amount(
        Decimal(3),
        Decimal(2),
        affiliated=False,
        extra_day_price=Decimal(460),
        day_price=Decimal(530),
    ) == (ZERO, Decimal("1060.00"))
