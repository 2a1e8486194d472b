"""SEPA identifiers: IBAN and BIC checks (ISO 13616 mod-97 key, ISO 9362), with French messages."""

from __future__ import annotations

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength


class SepaIdentifierError(ValueError):
    """An IBAN or a BIC that cannot be used; the message is French and shown to the user."""


def normalise_iban(value: str) -> str:
    """The IBAN in compact upper case form, or SepaIdentifierError (ISO 13616, key mod 97)."""
    raw = (value or "").strip()
    if not raw:
        raise SepaIdentifierError("L'IBAN est obligatoire.")
    try:
        return str(stdnum_iban.validate(raw))
    except InvalidChecksum:
        raise SepaIdentifierError("IBAN invalide : la clé de contrôle est fausse.") from None
    except InvalidLength:
        raise SepaIdentifierError(
            "IBAN invalide : la longueur ne correspond pas au pays."
        ) from None
    except (InvalidFormat, InvalidComponent):
        raise SepaIdentifierError("IBAN invalide : format non reconnu.") from None


def normalise_bic(value: str) -> str:
    """The BIC in compact upper case form (8 or 11 characters, ISO 9362)."""
    raw = (value or "").strip()
    if not raw:
        raise SepaIdentifierError("Le BIC est obligatoire.")
    try:
        return str(stdnum_bic.validate(raw))
    except (InvalidLength, InvalidFormat, InvalidComponent):
        raise SepaIdentifierError(
            "BIC invalide : 8 ou 11 caractères attendus (ex. BDFEFRPPCCT)."
        ) from None


def format_iban(iban: str) -> str:
    """« FR76 3000 6000 … » groups of four for display."""
    compact = (iban or "").replace(" ", "").upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
