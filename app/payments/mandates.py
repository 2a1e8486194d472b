"""Creating and updating SEPA mandates: checks with French messages, then the write (flush)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.payments.models import MandateStatus, SepaMandate
from app.referential.models import Collectivity
from app.rules.errors import FieldError
from app.rules.sepa import SepaIdentifierError, normalise_bic, normalise_iban

# pain.008 « RestrictedPersonIdentifierSEPA »: letters, digits and + ? / - : ( ) . , ' space.
UMR_RE = re.compile(r"^[A-Za-z0-9+?/\-:().,' ]{1,35}$")


@dataclass(frozen=True)
class MandateInput:
    collectivity_id: int | None
    umr: str
    signed_on: dt.date | None
    iban: str
    bic: str
    debtor_name: str
    status: MandateStatus


def save_mandate(values: MandateInput, mandate: SepaMandate | None = None) -> SepaMandate:
    """Check then write a mandate (new when ``mandate`` is None)."""
    umr = values.umr.strip()
    if not UMR_RE.match(umr):
        raise FieldError(
            "Référence unique de mandat (RUM) invalide : 1 à 35 caractères, lettres, chiffres "
            "et + ? / - : ( ) . , ' uniquement.",
            "umr",
        )
    try:
        iban = normalise_iban(values.iban)
    except SepaIdentifierError as error:
        raise FieldError(str(error), "iban") from None
    try:
        bic = normalise_bic(values.bic)
    except SepaIdentifierError as error:
        raise FieldError(str(error), "bic") from None
    name = values.debtor_name.strip()
    if not name:
        raise FieldError("Le nom du débiteur est obligatoire.", "debtor_name")
    if values.status is MandateStatus.signe and values.signed_on is None:
        raise FieldError("Un mandat signé doit porter sa date de signature.", "signed_on")
    if values.signed_on is not None and values.signed_on > clock.today():
        raise FieldError("La date de signature ne peut pas être dans le futur.", "signed_on")
    same_umr = db.session.scalar(
        select(SepaMandate.id).where(
            SepaMandate.umr == umr, SepaMandate.id != (mandate.id if mandate else 0)
        )
    )
    if same_umr is not None:
        raise FieldError("Cette RUM est déjà utilisée par un autre mandat.", "umr")
    if mandate is None:
        if (
            values.collectivity_id is None
            or db.session.get(Collectivity, values.collectivity_id) is None
        ):
            raise FieldError("Choisissez la collectivité.", "collectivity_id")
        taken = db.session.scalar(
            select(SepaMandate.id).where(SepaMandate.collectivity_id == values.collectivity_id)
        )
        if taken is not None:
            raise FieldError(
                "Cette collectivité a déjà un mandat : modifiez-le.", "collectivity_id"
            )
        mandate = SepaMandate(collectivity_id=values.collectivity_id)
        db.session.add(mandate)
    mandate.umr = umr
    mandate.iban = iban
    mandate.bic = bic
    mandate.debtor_name = name[:70]
    mandate.signed_on = values.signed_on
    mandate.status = values.status
    db.session.flush()
    return mandate
