"""Retention rules (SPEC G5): when the data go, and how a message naming an agent is found."""

from __future__ import annotations

import datetime as dt

from app.rules import retention


def test_data_of_a_membership_ended_on_31_may_go_on_1_september() -> None:
    assert retention.erasure_date(dt.date(2026, 5, 31)) == dt.date(2026, 9, 1)
    assert not retention.erasure_due(dt.date(2026, 5, 31), dt.date(2026, 8, 31))


def test_a_message_naming_the_agent_in_either_order_and_any_case_is_found() -> None:
    keys = retention.name_keys("Léa", ("Dupont-Moreau", "Martin"))
    assert retention.names_in("- 09:00 : Madame MARTIN Léa – visite périodique", keys)
    assert retention.names_in("Bonjour,\nlea dupont-moreau est convoquée.", keys)
    assert not retention.names_in("Madame MARTIN Claire", keys)
    assert not retention.names_in("Léa", keys)
