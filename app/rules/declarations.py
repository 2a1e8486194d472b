"""Annual declaration rules (SPEC F1, G4): deadline, 7-day edit window, order of missed years,
reading the figures people type (« 3 000 000,00 »)."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from .errors import FieldError

DEADLINE_MONTH, DEADLINE_DAY = 3, 31
EDIT_DAYS = 7
REMINDER_MONTH = 3
FIRST_YEAR = 2000
# NUMERIC(14, 2): twelve digits before the comma.
MAX_PAYROLL = Decimal("999999999999.99")

# Spaces people and spreadsheets put between thousands: ordinary, non-breaking, narrow
# non-breaking (what French number formatting prints), thin.
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']+")
_AMOUNT = re.compile(r"-?[0-9]+(?:[.,][0-9]{1,2})?")


def due_on(year: int) -> date:
    """The declaration of year N is due on 31 March N.

    Source: SPEC.md F1 (« due before 31 March N »), DOMAIN.md §7.
    """
    return date(year, DEADLINE_MONTH, DEADLINE_DAY)


def is_late(year: int, today: date) -> bool:
    """True when the deadline of year N has passed (the declaration is still owed).

    Source: SPEC.md F1, DOMAIN.md §7.
    """
    return today > due_on(year)


def editable_until(declared_on: date) -> date:
    """Last day a validated declaration can be changed: 7 calendar days after its validation.

    Source: SSTRN-EXTRANET « Vous possédez un délai de 7 jours pour modifier votre déclaration
    annuelle », SPEC.md F1, DOMAIN.md §7.
    """
    return declared_on + timedelta(days=EDIT_DAYS)


def is_editable(declared_on: date | None, today: date, *, reopened: bool = False) -> bool:
    """A declaration is editable until ``editable_until`` (inclusive), or when staff reopened it.

    Source: SSTRN-EXTRANET (délai de 7 jours), issue 14 (staff can reopen with a reason).
    """
    if reopened or declared_on is None:
        return True
    return today <= editable_until(declared_on)


def check_editable(declared_on: date | None, today: date, *, reopened: bool = False) -> None:
    """Refuse an edit after the 7 days, with the date it was locked.

    Source: SSTRN-EXTRANET (délai de 7 jours), SPEC.md F1.
    """
    if not is_editable(declared_on, today, reopened=reopened):
        assert declared_on is not None
        raise FieldError(
            f"La déclaration validée le {declared_on:%d/%m/%Y} n'est plus modifiable depuis le "
            f"{editable_until(declared_on) + timedelta(days=1):%d/%m/%Y} (délai de {EDIT_DAYS} "
            "jours). Demandez sa réouverture au centre de gestion.",
            "headcount",
        )


def check_year(year: int, today: date) -> None:
    """The year declared is neither in the future nor before the service existed.

    Source: SPEC.md F1 (for year N: the headcount at 1 January N), issue 14 (« a year in the
    future » is refused).
    """
    if year > today.year:
        raise FieldError(
            f"L'année {year} est dans le futur : on ne déclare que l'année en cours "
            f"({today.year}) ou une année passée.",
            "year",
        )
    if year < FIRST_YEAR:
        raise FieldError(f"Année invalide : {year}.", "year")


def check_new_declaration(year: int, today: date, declared_years: Collection[int]) -> None:
    """A new declaration: a valid year, not already declared, and a missed (past) year only once
    the current year is declared.

    Source: SSTRN-EXTRANET « En cas d'oubli de déclaration vous devez d'abord réaliser la
    déclaration de l'année en cours puis les précédentes », issue 14 (second declaration for the
    same year refused).
    """
    check_year(year, today)
    if year in declared_years:
        raise FieldError(
            f"La déclaration de l'année {year} a déjà été faite : modifiez-la (dans les "
            f"{EDIT_DAYS} jours qui suivent sa validation) plutôt que d'en créer une seconde.",
            "year",
        )
    if year < today.year and today.year not in declared_years:
        raise FieldError(
            f"Déclarez d'abord l'année en cours ({today.year}), puis les années oubliées.",
            "year",
        )


def years_to_declare(today: date, declared_years: Collection[int], first_year: int) -> list[int]:
    """The years a collectivity still owes, current year first then the missed ones (newest
    first), from its first year of membership.

    Source: SSTRN-EXTRANET (l'année en cours puis les précédentes).
    """
    start = max(first_year, FIRST_YEAR)
    return [y for y in range(today.year, start - 1, -1) if y not in declared_years]


def parse_count(value: object, what: str, field: str) -> int:
    """A headcount typed by a person: a whole number, spaces between thousands allowed,
    never negative.

    Source: issue 14 « Bad input » (a negative headcount is refused).
    """
    if isinstance(value, bool):
        raise FieldError(f"{what} : nombre entier attendu.", field)
    if isinstance(value, int):
        number = value
    else:
        text = _SPACES.sub("", str(value if value is not None else ""))
        if not text:
            raise FieldError(f"{what} est obligatoire.", field)
        if not re.fullmatch(r"-?[0-9]+", text):
            raise FieldError(f"{what} : nombre entier attendu (« {str(value)[:30]} »).", field)
        number = int(text)
    if number < 0:
        raise FieldError(f"{what} ne peut pas être négatif.", field)
    if number > 10_000_000:
        raise FieldError(f"{what} est trop grand ({number}).", field)
    return number


def parse_payroll(value: object, field: str = "payroll") -> Decimal:
    """The payroll (*masse salariale*) as typed: « 3 000 000,00 », « 3000000.00 », « 3 000 000 »,
    with ordinary or non-breaking spaces and an optional « € »; never negative, at most 2
    decimals (no silent rounding of money).

    Source: issue 14 « Bad input » (« 3 000 000,00 » is accepted, a negative payroll refused),
    STYLE.md (money is Decimal).
    """
    if isinstance(value, bool):
        raise FieldError("Masse salariale : montant attendu.", field)
    if isinstance(value, (int, Decimal)):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(str(value))
    else:
        text = _SPACES.sub("", str(value if value is not None else "")).removesuffix("€")
        text = text.removesuffix("EUR")
        if not text:
            raise FieldError("La masse salariale est obligatoire.", field)
        if not _AMOUNT.fullmatch(text):
            raise FieldError(
                f"Masse salariale invalide : « {str(value)[:40]} ». Exemple : 3 000 000,00.",
                field,
            )
        try:
            amount = Decimal(text.replace(",", "."))
        except InvalidOperation as error:  # pragma: no cover - the pattern above prevents it
            raise FieldError("Masse salariale invalide.", field) from error
    if not amount.is_finite():
        raise FieldError("Masse salariale invalide.", field)
    if amount < 0:
        raise FieldError("La masse salariale ne peut pas être négative.", field)
    if amount != amount.quantize(Decimal("0.01")):
        raise FieldError("La masse salariale a au plus deux décimales (centimes).", field)
    if amount > MAX_PAYROLL:
        raise FieldError("La masse salariale est trop grande.", field)
    return amount.quantize(Decimal("0.01"))


def difference_warning(what: str, declared: int, counted: int) -> str | None:
    """A warning when the declared figure differs from the count of the active agents.

    Source: SPEC.md F1 (« with a warning when the two differ »).
    """
    if declared == counted:
        return None
    return (
        f"{what} déclaré ({declared}) diffère du nombre d'agents enregistrés ({counted}) : "
        "vérifiez la liste de vos agents ou votre saisie."
    )


def reminder_due(today: date, year: int, declared: bool) -> bool:
    """The declaration reminder is sent from 1 March of year N to a collectivity that has not
    declared year N.

    Source: SPEC.md G4 (« declaration reminders in March »), issue 14 (from 1 March).
    """
    return not declared and year == today.year and today >= date(year, REMINDER_MONTH, 1)
