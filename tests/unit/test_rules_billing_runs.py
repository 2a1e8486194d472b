"""Billing runs without a database: periods of each run, the period typed on the screen, the
run key, the state of a collectivity's dry run (app/billing/runs.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.billing import runs
from app.rules.errors import DomainError


@pytest.mark.parametrize(
    ("kind", "today", "code"),
    [
        ("contributions", dt.date(2025, 4, 1), "2025"),
        ("contributions", dt.date(2025, 1, 2), "2025"),
        ("absences", dt.date(2025, 7, 1), "2025-S1"),
        ("absences", dt.date(2025, 12, 31), "2025-S1"),
        ("absences", dt.date(2026, 1, 2), "2025-S2"),
        ("absences", dt.date(2026, 6, 30), "2025-S2"),
        ("msc", dt.date(2026, 1, 15), "2025"),
    ],
)
def test_the_period_a_run_bills(kind, today, code):
    assert runs.period_for(kind, today).code == code


@pytest.mark.parametrize(
    ("kind", "text"),
    [("contributions", "2025"), ("absences", "2025-S1"), ("absences", "2025 s2"), ("msc", "2024")],
)
def test_the_screen_period_maps_to_a_run_day_of_that_period(kind, text):
    period = runs.parse_period(kind, text)
    assert runs.period_for(kind, runs.run_day(kind, period)) == period


def test_half_year_bounds_and_labels():
    first, second = runs.half_period(2025, 1), runs.half_period(2025, 2)
    assert (first.start, first.end) == (dt.date(2025, 1, 1), dt.date(2025, 6, 30))
    assert (second.start, second.end) == (dt.date(2025, 7, 1), dt.date(2025, 12, 31))
    assert first.label == "1er semestre 2025" and runs.year_period(2025).label == "année 2025"


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("absences", "2025", "AAAA-S1"),
        ("absences", "2025-S3", "AAAA-S1"),
        ("contributions", "25", "4 chiffres"),
        ("msc", "", "4 chiffres"),
        ("contributions", "1850", "4 chiffres"),
    ],
)
def test_a_bad_period_is_refused_in_french(kind, text, message):
    with pytest.raises(DomainError, match=message):
        runs.parse_period(kind, text)


def test_an_unknown_run_is_refused():
    with pytest.raises(DomainError, match="Facturation inconnue"):
        runs.period_for("archives", dt.date(2025, 1, 1))


def test_run_key_format():
    assert runs.run_key("absences", runs.half_period(2025, 1), 17) == "absences:2025-S1:17"
    assert runs.run_key("contributions", runs.year_period(2026), 17) == "contributions:2026:17"


def _line(amount: str) -> runs.PlannedLine:
    return runs.PlannedLine("Cotisation", Decimal(1), Decimal(amount), Decimal(amount), "source")


def test_collectivity_states_blocked_nothing_to_bill_to_bill_already_billed():
    plan = runs.CollectivityPlan(1, "A", "contributions:2025:1")
    assert plan.status == "rien_a_facturer" and plan.total == Decimal("0.00")
    plan.lines += [_line("10440.00"), _line("981.00")]
    assert plan.status == "a_facturer" and plan.total == Decimal("11421.00")
    plan.blocked.append("Aucune déclaration annuelle d'effectif pour 2025.")
    assert plan.status == "bloquee" and plan.status_label == "Bloquée"
    plan.already_issued = True
    assert plan.status == "deja_facturee"
