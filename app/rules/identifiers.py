"""Checking and normalising French identifiers: SIRET, SIREN, NAF, PCS and INS (NIR)."""

import re

from stdnum.exceptions import ValidationError
from stdnum.fr import nir, siren, siret

from .errors import InvalidIdentifier

SIRET_LENGTH_MESSAGE = "Le numéro SIRET doit comporter 14 chiffres."
SIRET_KEY_MESSAGE = "Le numéro SIRET n'est pas valide (clé de contrôle incorrecte)."
SIREN_LENGTH_MESSAGE = "Le numéro SIREN doit comporter 9 chiffres."
SIREN_KEY_MESSAGE = "Le numéro SIREN n'est pas valide (clé de contrôle incorrecte)."
NAF_MESSAGE = "Le code NAF doit avoir la forme 84.11Z."
PCS_MESSAGE = "Le code PCS doit comporter 3 chiffres et une lettre (ex. 372d)."
INS_PREFIX_MESSAGE = "L'INS doit commencer par la lettre N suivie des 15 caractères du NIR."
INS_LENGTH_MESSAGE = (
    "L'INS doit comporter la lettre N suivie de 15 caractères "
    "(13 caractères du NIR et une clé de 2 chiffres)."
)
NIR_FORMAT_MESSAGE = (
    "Le NIR doit comporter 13 chiffres (2A ou 2B admis pour un département de Corse) "
    "suivis d'une clé de 2 chiffres."
)
NIR13_MESSAGE = (
    "Le NIR sans clé doit comporter 13 chiffres (2A ou 2B admis pour un département de Corse)."
)
NIR_KEY_MESSAGE = "La clé du NIR est incorrecte."

_DIGITS = re.compile(r"[0-9]+")
_NAF = re.compile(r"([0-9]{2})\.?([0-9]{2})([A-Z])")
_PCS = re.compile(r"[0-9]{3}[a-z]")
# Sex, year, month (5 digits), department (2 digits or 2A/2B), commune and serial (6 digits).
_NIR13 = re.compile(r"[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{6}")


def _compact_number(value: str) -> str:
    """Remove spaces and dots, the separators people type in SIRET and SIREN numbers."""
    return re.sub(r"[\s.]", "", value)


def normalize_siret(value: str) -> str:
    """Return the 14 digits of a valid SIRET.

    Source: INSEE, répertoire SIRENE (SIRET = SIREN + NIC, Luhn key; La Poste establishments:
    sum of the digits multiple of 5) — DOMAIN.md §6, checked with ``stdnum.fr.siret``.
    """
    number = _compact_number(value)
    if len(number) != 14 or not _DIGITS.fullmatch(number):
        raise InvalidIdentifier(SIRET_LENGTH_MESSAGE)
    try:
        return siret.validate(number)
    except ValidationError as exc:
        raise InvalidIdentifier(SIRET_KEY_MESSAGE) from exc


def normalize_siren(value: str) -> str:
    """Return the 9 digits of a valid SIREN.

    Source: INSEE, répertoire SIRENE (9 digits, Luhn key) — DOMAIN.md §6,
    checked with ``stdnum.fr.siren``.
    """
    number = _compact_number(value)
    if len(number) != 9 or not _DIGITS.fullmatch(number):
        raise InvalidIdentifier(SIREN_LENGTH_MESSAGE)
    try:
        return siren.validate(number)
    except ValidationError as exc:
        raise InvalidIdentifier(SIREN_KEY_MESSAGE) from exc


def siren_of(siret_value: str) -> str:
    """Return the SIREN (first 9 digits) of a valid SIRET.

    Source: INSEE, répertoire SIRENE (SIRET = SIREN + 5-digit NIC) — DOMAIN.md §6.
    """
    return normalize_siret(siret_value)[:9]


def normalize_naf(value: str) -> str:
    """Return a NAF (APE) code as ``84.11Z`` from ``8411Z``, ``84.11Z`` or ``84.11z``.

    Source: INSEE, nomenclature d'activités française NAF rév. 2 — DOMAIN.md §6.
    """
    match = _NAF.fullmatch(value.strip().upper())
    if match is None:
        raise InvalidIdentifier(NAF_MESSAGE)
    division, group, letter = match.groups()
    return f"{division}.{group}{letter}"


def normalize_pcs(value: str) -> str:
    """Return a PCS code in lower case (``372D`` -> ``372d``).

    Source: INSEE, nomenclature des professions et catégories socioprofessionnelles
    (3 digits and a letter) — DOMAIN.md §6.
    """
    code = value.strip().lower()
    if not _PCS.fullmatch(code):
        raise InvalidIdentifier(PCS_MESSAGE)
    return code


def nir_key(nir13: str) -> str:
    """Return the 2-digit key of a 13-character NIR: 97 - (number mod 97).

    Source: INSEE, NIR key rule; Corsican departments 2A and 2B count as 19 and 18
    — DOMAIN.md §6, computed with ``stdnum.fr.nir``.
    """
    number = re.sub(r"\s", "", nir13).upper()
    if not _NIR13.fullmatch(number):
        raise InvalidIdentifier(NIR13_MESSAGE)
    return nir.calc_check_digits(number)


def normalize_ins(value: str) -> str:
    """Return the INS as written in the seed: ``N`` followed by the 15-character NIR, upper case.

    Source: SSTRN-EXTRANET import rules (« INS : Identifiant National de Sécurité précédé
    d'un N ») and the INSEE NIR key rule — DOMAIN.md §6.
    """
    compact = re.sub(r"\s", "", value).upper()
    if not compact.startswith("N"):
        raise InvalidIdentifier(INS_PREFIX_MESSAGE)
    number = compact[1:]
    if len(number) != 15:
        raise InvalidIdentifier(INS_LENGTH_MESSAGE)
    if not _NIR13.fullmatch(number[:13]) or not _DIGITS.fullmatch(number[13:]):
        raise InvalidIdentifier(NIR_FORMAT_MESSAGE)
    if nir_key(number[:13]) != number[13:]:
        raise InvalidIdentifier(NIR_KEY_MESSAGE)
    return "N" + number
