import datetime as dt

from app.rules.conventions import (
    AFFILIATED_MESSAGE,
    SIZE_MESSAGE,
    can_renew,
    convention_end,
    convention_number,
    eligibility_errors,
    renewal_end,
)


def test_number_format():
    assert convention_number(295, "medprev", 2025) == "295 - CU - MEDPREV - 2025"


def test_three_years_then_one_tacit_renewal():
    start = dt.date(2025, 1, 1)
    assert convention_end(start) == dt.date(2027, 12, 31)
    assert renewal_end(start) == dt.date(2030, 12, 31)
    assert renewal_end(start, tacit_renewal=False) == dt.date(2027, 12, 31)
    assert convention_end(dt.date(2024, 2, 29)) == dt.date(2027, 2, 27)


def test_renewable_once():
    assert can_renew(renewed=False, tacit_renewal=True)
    assert not can_renew(renewed=True, tacit_renewal=True)
    assert not can_renew(renewed=False, tacit_renewal=False)


def test_msc_and_social_only_from_50_agents():
    assert eligibility_errors("msc", 49, True) == [SIZE_MESSAGE]
    assert eligibility_errors("social", 12, True) == [SIZE_MESSAGE]
    assert eligibility_errors("msc", 50, True) == []
    assert eligibility_errors("msc", 51, True) == []
    assert eligibility_errors("medprev", 3, False) == []


def test_retirement_only_for_affiliated():
    assert eligibility_errors("retraite", 200, False) == [AFFILIATED_MESSAGE]
    assert eligibility_errors("retraite", 200, True) == []


def test_rules_from_mission_reference_row():
    from app.rules.conventions import mission_errors

    assert mission_errors("Médecine statutaire et de contrôle", 50, False, 49, True) == [
        "La mission « Médecine statutaire et de contrôle » n'est proposée qu'aux "
        "collectivités d'au moins 50 agents (en dessous, une convention à l'acte est possible : "
        "contactez le CDG)."
    ]
    assert mission_errors("Médecine statutaire et de contrôle", 50, False, 50, False) == []
    assert mission_errors("Dossiers de retraite CNRACL", None, True, 10, False) == [
        "La mission « Dossiers de retraite CNRACL » est réservée aux collectivités affiliées."
    ]
