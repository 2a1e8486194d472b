"""Strict reading of the dates people type: what was typed is the date, or a French error."""

import re
from datetime import date, datetime, time

from .errors import DomainError

EXPECTED = "Format attendu JJ/MM/AAAA."
EXPECTED_DATETIME = "Format attendu JJ/MM/AAAA HH:MM."

# 12/03/1988, 1/3/1988, 12031988 and 1988-03-12 (what spreadsheets and exports paste).
_SLASHED = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_COMPACT = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{4})")
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(r"([0-9]{1,2})[:hH]([0-9]{2})")


def parse_french_date(text: str) -> date:
    """Read a date typed ``JJ/MM/AAAA``, ``J/M/AAAA``, ``JJMMAAAA`` or ``AAAA-MM-JJ``, exactly as
    typed: an impossible day or month is refused, never carried over to the next month
    (31/02/1988 is not 02/03/1988), and a two-digit year is refused (which century?).

    ISO ``AAAA-MM-JJ`` is accepted because it cannot be misread (the year comes first, four
    digits) and it is what a secretary pastes from an export or a spreadsheet cell.

    Source: DOMAIN.md §6 (dates typed JJ/MM/AAAA); issue 10 (a typed date is never rewritten).
    """
    cleaned = text.strip()
    for pattern, order in ((_SLASHED, "dmy"), (_COMPACT, "dmy"), (_ISO, "ymd")):
        match = pattern.fullmatch(cleaned)
        if match is None:
            continue
        parts = dict(zip(order, (int(part) for part in match.groups()), strict=True))
        try:
            return date(parts["y"], parts["m"], parts["d"])
        except ValueError as exc:
            raise DomainError(
                f"Date impossible : « {cleaned} » n'existe pas au calendrier. {EXPECTED}"
            ) from exc
    raise DomainError(f"Date invalide : « {cleaned} ». {EXPECTED}")


def parse_french_datetime(text: str) -> datetime:
    """Read a date and time typed ``JJ/MM/AAAA HH:MM`` (the date as in ``parse_french_date``,
    the time ``HH:MM`` or ``HHhMM``).

    Source: DOMAIN.md §6 (dates typed JJ/MM/AAAA); issue 10.
    """
    cleaned = " ".join(text.split())
    day_text, _, time_text = cleaned.partition(" ")
    match = _TIME.fullmatch(time_text)
    if match is None:
        raise DomainError(f"Date et heure invalides : « {cleaned} ». {EXPECTED_DATETIME}")
    day = parse_french_date(day_text)
    hour, minute = (int(part) for part in match.groups())
    if hour > 23 or minute > 59:
        raise DomainError(f"Heure impossible : « {time_text} ». {EXPECTED_DATETIME}")
    return datetime.combine(day, time(hour, minute))
