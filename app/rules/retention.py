"""Retention of personal data after a membership ends (SPEC G5, J2; TASSIN-2024 art. 4)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta

from app.rules.formatting import fold
from app.rules.periodicity import add_months

# TASSIN-2024 art. 4: the agents' personal data are kept 3 months after the membership ends.
RETENTION_MONTHS = 3

# What an anonymised agent holds instead of his identity (NOT NULL columns keep a value).
ANONYMOUS_FIRST_NAME = "Anonyme"
ANONYMOUS_NAME = "ANONYME"
ANONYMOUS_BIRTH_DATE = date(1900, 1, 1)

_WORD = re.compile(r"[a-z0-9'-]+")
_LONGEST_NAME_WORDS = 6


def erasure_date(membership_end: date) -> date:
    """The first day the personal data of a membership that ended on ``membership_end`` must be
    gone: the day after the 3 months of TASSIN-2024 art. 4 (ended 01/06/2026: kept until
    01/09/2026, erased from 02/09/2026)."""
    return add_months(membership_end, RETENTION_MONTHS) + timedelta(days=1)


def erasure_due(membership_end: date | None, today: date) -> bool:
    """True when the retention period after ``membership_end`` is over on ``today``."""
    return membership_end is not None and today >= erasure_date(membership_end)


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def name_keys(first_name: str, names: Iterable[str | None]) -> set[str]:
    """The ways a person is written in a message (« DUPONT Jean », « Jean Dupont »), folded:
    first name with each of his names, in both orders."""
    first = " ".join(_words(first_name))
    keys: set[str] = set()
    for name in names:
        if not name:
            continue
        last = " ".join(_words(name))
        if first and last:
            keys.add(f"{last} {first}")
            keys.add(f"{first} {last}")
    return keys


def names_in(text: str, keys: set[str]) -> bool:
    """True when ``text`` names one of the persons of ``keys`` (see ``name_keys``): every run of
    2 to 6 consecutive words is looked up, so the cost does not grow with the number of keys."""
    words = _words(text)
    for size in range(2, _LONGEST_NAME_WORDS + 1):
        for start in range(0, len(words) - size + 1):
            if " ".join(words[start : start + size]) in keys:
                return True
    return False
