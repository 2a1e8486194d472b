"""Checks and normalisation of reference records, shared by screens, REST API and imports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.referential.models import Collectivity, Contact, ContactFunction, Convention, Tariff
from app.rules.errors import FieldError, InvalidIdentifier
from app.rules.formatting import fold
from app.rules.identifiers import normalize_naf, normalize_pcs, normalize_siret, siren_of
from app.rules.periods import periods_overlap
from app.tenancy import TenantViolation, system_scope

DUPLICATE_SIRET = "Nous avons déjà un adhérent avec ce numéro de Siret."
DUPLICATE_MEMBERSHIP = "Ce numéro d'adhérent est déjà attribué à une autre collectivité."


def _field(error: InvalidIdentifier, field: str) -> FieldError:
    return FieldError(error.message, field)


def prepare_collectivity(collectivity: Collectivity) -> None:
    """Normalise identifiers, derive the SIREN and refuse duplicates (SPEC B1)."""
    try:
        collectivity.siret = normalize_siret(collectivity.siret or "")
    except InvalidIdentifier as error:
        raise _field(error, "siret") from error
    collectivity.siren = siren_of(collectivity.siret)
    if collectivity.naf_code:
        try:
            collectivity.naf_code = normalize_naf(collectivity.naf_code)
        except InvalidIdentifier as error:
            raise _field(error, "naf_code") from error
    if collectivity.membership_number:
        collectivity.membership_number = collectivity.membership_number.strip()
    start, end = collectivity.membership_start, collectivity.membership_end
    if start and end and end < start:
        raise FieldError(
            "La date de fin d'adhésion ne peut pas précéder la date de début.", "membership_end"
        )
    with system_scope(), db.session.no_autoflush:
        # Duplicates are looked for among all collectivities, not only those the caller sees.
        same_siret = db.session.execute(
            select(Collectivity.id).where(
                Collectivity.siret == collectivity.siret, Collectivity.id != (collectivity.id or 0)
            )
        ).first()
        if same_siret:
            raise FieldError(DUPLICATE_SIRET, "siret")
        if collectivity.membership_number:
            same_number = db.session.execute(
                select(Collectivity.id).where(
                    Collectivity.membership_number == collectivity.membership_number,
                    Collectivity.id != (collectivity.id or 0),
                )
            ).first()
            if same_number:
                raise FieldError(DUPLICATE_MEMBERSHIP, "membership_number")


def prepare_contact(contact: Contact) -> None:
    """The convocation contact's e-mail is mandatory (CDG69-PORTAIL « Mes coordonnées »)."""
    if contact.function is ContactFunction.convocation and not (contact.email or "").strip():
        raise FieldError("L'adresse e-mail du contact des convocations est obligatoire.", "email")
    if contact.email:
        contact.email = contact.email.strip().lower()


def prepare_convention(convention: Convention) -> None:
    if (
        convention.end_date
        and convention.start_date
        and convention.end_date < convention.start_date
    ):
        raise FieldError("La fin de la convention ne peut pas précéder son début.", "end_date")


def prepare_pcs(code: str) -> str:
    try:
        return normalize_pcs(code)
    except InvalidIdentifier as error:
        raise _field(error, "code") from error


def prepare_tariff(tariff: Tariff) -> None:
    """Periods of one tariff parameter never overlap."""
    if tariff.valid_to and tariff.valid_to < tariff.valid_from:
        raise FieldError("La fin de validité ne peut pas précéder son début.", "valid_to")
    tariff.key = (tariff.key or "").strip()
    with db.session.no_autoflush:
        others = db.session.scalars(
            select(Tariff).where(
                Tariff.code == tariff.code, Tariff.key == tariff.key, Tariff.id != (tariff.id or 0)
            )
        ).all()
    if any(periods_overlap(tariff, other) for other in others):
        raise FieldError(
            "Un tarif de même code existe déjà sur cette période : fermez-le d'abord.",
            "valid_from",
        )


def reference_code(model: Any, value: Any, field: str) -> str:
    """The code of a reference row (visit type, contract type, mission...) named by its code or
    its French label, ignoring case and accents (CONTRACT.md §2 « Values »)."""
    rows = db.session.execute(select(model.code, model.label).order_by(model.code)).all()
    if isinstance(value, str):
        wanted = fold(value)
        for code, _label in rows:
            if fold(code) == wanted:
                return str(code)
        for code, label in rows:
            if fold(label) == wanted:
                return str(code)
    accepted = ", ".join(code for code, _ in rows)
    raise FieldError(
        f"Valeur inconnue pour « {field} » : « {str(value)[:60]} ». Valeurs acceptées : {accepted}.",
        field,
    )


def served_collectivities(collectivity_ids: Any) -> list[Collectivity]:
    """The collectivities an office serves, from their ids (an unknown id is a 404)."""
    if not isinstance(collectivity_ids, list) or not all(
        isinstance(value, int) and not isinstance(value, bool) for value in collectivity_ids
    ):
        raise FieldError(
            "« served_collectivity_ids » doit être une liste d'identifiants de collectivités.",
            "served_collectivity_ids",
        )
    wanted = set(collectivity_ids)
    found = (
        list(db.session.scalars(select(Collectivity).where(Collectivity.id.in_(wanted))))
        if wanted
        else []
    )
    if {collectivity.id for collectivity in found} != wanted:
        raise TenantViolation()
    return found
