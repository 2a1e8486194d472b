"""French display and parsing of amounts, dates and Oui/Non cells; accent-free matching."""

import unicodedata
from datetime import date
from decimal import Decimal

from .billing import round_money
from .errors import DomainError

# U+00A0 NO-BREAK SPACE, both as thousands separator and before the euro sign: it is in
# every font, in Latin-1/cp1252 (CSV opened by Excel) and keeps "1 234,56 €" on one line.
# (U+202F, the narrow no-break space of the Imprimerie nationale, is missing from cp1252.)
NBSP = "\u00a0"

# Ligatures that Unicode decomposition leaves alone.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})


def format_money(x: Decimal) -> str:
    """Return an amount in French style, ``1 234,56 €`` (U+00A0 separators), rounded to the cent.

    Source: SPEC.md (amounts shown « 1 234,56 € »); rounding half up (DOMAIN.md habits).
    """
    amount = round_money(x)
    sign = "-" if amount < 0 else ""
    units, cents = f"{abs(amount):.2f}".split(".")
    grouped = f"{int(units):,}".replace(",", NBSP)
    return f"{sign}{grouped},{cents}{NBSP}€"


def format_date(d: date) -> str:
    """Return a date as ``JJ/MM/AAAA``.

    Source: SPEC.md and DOMAIN.md §6 (dates shown and typed JJ/MM/AAAA).
    """
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def parse_oui_non(text: str) -> bool:
    """Parse a ``Oui``/``Non`` cell (any case, surrounding spaces ignored).

    Source: SSTRN-EXTRANET import rules (« Inscrire « Oui » ou « Non » dans chaque cellule »).
    """
    cleaned = text.strip()
    answer = cleaned.casefold()
    if answer == "oui":
        return True
    if answer == "non":
        return False
    raise DomainError(f"Valeur « {cleaned} » invalide : Oui ou Non attendu.")


def fold(text: str) -> str:
    """Return text in lower case without accents, spaces trimmed and collapsed, for matching.

    Source: SPEC.md B3 (imports match contract types ignoring case and accents).
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.split())
