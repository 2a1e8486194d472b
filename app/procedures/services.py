"""Procedure services (démarches, SPEC I3, issue 16): « Votre demande : », « Mes démarches »,
« Démarches à valider » (the administrator's gestion requests) and the CDG's queue. Every
transition goes through app/procedures/machine.py and is audited; what an accepted procedure
changes is in app/procedures/processing.py (accounts) and app/procedures/merger.py (merger)."""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Any

from sqlalchemy import select

from app.accounts.models import PortalMembership
from app.core import audit
from app.core.mail import send_mail
from app.core.types import utcnow
from app.extensions import db
from app.procedures import merger, processing
from app.procedures.machine import (
    DECIDED_BY_CDG,
    ProcedureEvent,
    ProcedureKind,
    ProcedureState,
    transition,
)
from app.procedures.models import KIND_LABELS, Procedure
from app.referential.models import Collectivity
from app.rules.errors import DomainError
from app.rules.identifiers import SIREN_LENGTH_MESSAGE, SIRET_LENGTH_MESSAGE
from app.tenancy import current_scope, system_scope

# The kinds an employer may request here, in the seed's order (« Votre demande : »).
REQUESTABLE = (
    ProcedureKind.SYNCHRONISE,
    ProcedureKind.GESTION,
    ProcedureKind.ADMINISTRATEUR,
    ProcedureKind.RACHAT,
    ProcedureKind.FUSION,
)
CHOOSE_KIND = "Choisissez le type de votre demande."
NO_MATCH = "Aucun adhérent ne correspond à ce numéro d'adhérent et à ce SIRET."
NO_MATCH_SIREN = "Aucun adhérent ne correspond à ce numéro d'adhérent et à ce SIREN."
ALREADY_MANAGING = "Vous gérez déjà cet adhérent."
ALREADY_PENDING = "Une demande de gestion de cet adhérent est déjà en cours."
SAME_PENDING = (
    "Une demande identique est déjà en cours : elle n'a pas été envoyée une seconde fois."
)
INTO_ITSELF = merger.INTO_ITSELF
NO_CURRENT = "Choisissez d'abord l'adhérent absorbant dans votre espace."
NOT_PRIMARY = "Seul l'administrateur de l'adhérent absorbant peut demander une fusion."
SYNC_DONE = processing.SYNC_DONE
NOT_FORMER_ADMIN = (
    "Cette adresse e-mail n'est pas celle d'un administrateur de cet adhérent. Indiquez l'e-mail "
    "de l'ancien administrateur."
)
ALREADY_ADMIN = "Vous êtes déjà l'administrateur de cet adhérent."
NUMBER_TOO_LONG = "Le numéro d'adhérent ne doit pas dépasser 20 caractères."
MESSAGE_TOO_LONG = "La description ne doit pas dépasser 4 000 caractères."
EMAIL_INVALID = "L'e-mail de l'ancien administrateur n'est pas une adresse valide."
NUMBER_MAX, MESSAGE_MAX, EMAIL_MAX = 20, 4000, 200
# What a form keeps to show again (longer input is refused, not silently cut).
FIELD_KEEP = 20000
_COMPACT = re.compile(r"[\s.]")


class ProcedureError(DomainError):
    """A refused request or decision, with its French message."""


def clean_siret(value: str) -> str:
    return "".join(ch for ch in (value or "") if ch.isdigit())[:14]


def _number(value: str, required: bool = True) -> str:
    number = (value or "").strip()
    if len(number) > NUMBER_MAX:
        raise ProcedureError(NUMBER_TOO_LONG)
    if required and not number:
        raise ProcedureError("Le numéro d'adhérent est obligatoire.")
    return number


def _siret(value: str, required: bool = True, label: str = "Le SIRET") -> str:
    """14 digits (spaces and dots allowed in between); letters or another length: refused."""
    number = _COMPACT.sub("", value or "")
    if not number:
        if required:
            raise ProcedureError(f"{label} est obligatoire.")
        return ""
    if len(number) != 14 or not number.isdigit():
        raise ProcedureError(SIRET_LENGTH_MESSAGE)
    return number


def _find_collectivity(membership_number: str, siret: str) -> Collectivity | None:
    """The one collectivity with both this membership number and this SIRET (read across
    every collectivity: the requester does not belong to it yet)."""
    with system_scope():
        return db.session.scalars(
            select(Collectivity).where(
                Collectivity.membership_number == membership_number,
                Collectivity.siret == siret,
            )
        ).first()


def _managed_ids(user_id: int) -> set[int]:
    with system_scope():
        return set(
            db.session.scalars(
                select(PortalMembership.collectivity_id).where(PortalMembership.user_id == user_id)
            )
        )


def primary_collectivity_ids(user_id: int) -> set[int]:
    with system_scope():
        return set(
            db.session.scalars(
                select(PortalMembership.collectivity_id).where(
                    PortalMembership.user_id == user_id,
                    PortalMembership.primary_user_id.is_(None),
                )
            )
        )


def _log(procedure: Procedure, action: str, before: str | None) -> None:
    audit.log_event(
        action=action,  # demander / accepter / refuser
        table_name="procedure",
        row_id=str(procedure.id),
        collectivity_id=procedure.collectivity_id,
        details={"type": procedure.kind, "de": before, "vers": procedure.state},
    )


def _lock_requester(user_id: int) -> None:
    """Serialise one requester's submissions (a double submit sees the first one)."""
    from flask_appbuilder.security.sqla.models import User

    with system_scope():
        db.session.execute(select(User.id).where(User.id == user_id).with_for_update())


def _same_pending(procedure: Procedure) -> bool:
    columns = (
        "kind",
        "collectivity_id",
        "absorbed_collectivity_id",
        "membership_number",
        "siret",
        "new_siret",
        "former_admin_email",
        "message",
    )
    criteria = [
        getattr(Procedure, name).is_(None)
        if getattr(procedure, name) is None
        else getattr(Procedure, name) == getattr(procedure, name)
        for name in columns
    ]
    return bool(
        db.session.scalar(
            select(Procedure.id).where(
                Procedure.requester_id == procedure.requester_id,
                Procedure.state == ProcedureState.EN_COURS.value,
                *criteria,
            )
        )
    )


def request_procedure(user_id: int, kind: str, form: dict[str, str]) -> Procedure:
    """« Demander »: checks the input, writes one procedure (nothing when refused)."""
    try:
        kind = ProcedureKind(kind)
    except ValueError as error:
        raise ProcedureError(CHOOSE_KIND) from error
    if kind not in REQUESTABLE:
        raise ProcedureError(CHOOSE_KIND)
    message = (form.get("message") or "").strip()
    if len(message) > MESSAGE_MAX:
        raise ProcedureError(MESSAGE_TOO_LONG)
    procedure = Procedure(
        kind=kind.value,
        state=ProcedureState.EN_COURS.value,
        requester_id=user_id,
        message=message or None,
    )
    _lock_requester(user_id)
    if kind is ProcedureKind.SYNCHRONISE:
        _synchronise(procedure, form)
    elif kind is ProcedureKind.GESTION:
        _gestion(procedure, form)
    elif kind is ProcedureKind.ADMINISTRATEUR:
        _administrator(procedure, form)
    elif kind is ProcedureKind.RACHAT:
        _buyout(procedure, form)
    else:
        _fusion(procedure, form)
    if _same_pending(procedure):
        raise ProcedureError(SAME_PENDING)
    db.session.add(procedure)
    db.session.flush()
    _log(procedure, "demander", None)
    if kind is ProcedureKind.GESTION:
        _notify_administrators(procedure)
    return procedure


def _synchronise(procedure: Procedure, form: dict[str, str]) -> None:
    """Membership number and SIREN (the seed), or the SIRET; refused once someone did it."""
    number = _number(form.get("membership_number", ""))
    raw = _COMPACT.sub("", form.get("siret") or "")
    if not raw:
        raise ProcedureError("Le SIREN est obligatoire.")
    if not raw.isdigit() or len(raw) not in (9, 14):
        raise ProcedureError(SIREN_LENGTH_MESSAGE)
    with system_scope():
        column = Collectivity.siren if len(raw) == 9 else Collectivity.siret
        target = db.session.scalars(
            select(Collectivity).where(Collectivity.membership_number == number, column == raw)
        ).first()
    if target is None:
        raise ProcedureError(NO_MATCH_SIREN if len(raw) == 9 else NO_MATCH)
    if processing.has_primary(target.id):
        raise ProcedureError(SYNC_DONE)
    procedure.collectivity_id = target.id
    procedure.membership_number = number
    procedure.siret = raw


def _gestion(procedure: Procedure, form: dict[str, str]) -> None:
    number = _number(form.get("membership_number", ""))
    siret = _siret(form.get("siret", ""))
    target = _find_collectivity(number, siret)
    if target is None:
        raise ProcedureError(NO_MATCH)
    if target.id in _managed_ids(procedure.requester_id):
        raise ProcedureError(ALREADY_MANAGING)
    pending = db.session.scalar(
        select(Procedure.id).where(
            Procedure.requester_id == procedure.requester_id,
            Procedure.kind == ProcedureKind.GESTION.value,
            Procedure.collectivity_id == target.id,
            Procedure.state == ProcedureState.EN_COURS.value,
        )
    )
    if pending:
        raise ProcedureError(ALREADY_PENDING)
    procedure.collectivity_id = target.id
    procedure.membership_number = number
    procedure.siret = siret


def _administrator(procedure: Procedure, form: dict[str, str]) -> None:
    number = _number(form.get("membership_number", ""))
    siret = _siret(form.get("siret", ""))
    raw_email = (form.get("former_admin_email") or "").strip()
    if not raw_email:
        raise ProcedureError("L'e-mail de l'ancien administrateur est obligatoire.")
    email = raw_email.lower()
    if len(email) > EMAIL_MAX or parseaddr(email)[1] != email or "@" not in email:
        raise ProcedureError(EMAIL_INVALID)
    target = _find_collectivity(number, siret)
    if target is None:
        raise ProcedureError(NO_MATCH)
    if target.id in primary_collectivity_ids(procedure.requester_id):
        raise ProcedureError(ALREADY_ADMIN)
    former = processing.primary_user_ids_by_email(target.id, email)
    if not former or procedure.requester_id in former:
        raise ProcedureError(NOT_FORMER_ADMIN)
    procedure.collectivity_id = target.id
    procedure.membership_number = number
    procedure.siret = siret
    procedure.former_admin_email = email


def _buyout(procedure: Procedure, form: dict[str, str]) -> None:
    """The seed's fields: description, membership number, former and new SIRET."""
    if not procedure.message:
        raise ProcedureError("Décrivez votre demande (coordonnées, numéro d'adhérent, SIRET).")
    number = _number(form.get("membership_number", ""))
    old = _siret(form.get("siret", ""), label="L'ancien numéro de SIRET")
    new = _siret(form.get("new_siret", ""), required=False)
    target = _find_collectivity(number, old)
    if target is None:
        raise ProcedureError(NO_MATCH)
    if new and new != old:
        with system_scope():
            taken = db.session.scalar(select(Collectivity.id).where(Collectivity.siret == new))
        if taken:
            raise ProcedureError(processing.SIRET_TAKEN)
    procedure.collectivity_id = target.id
    procedure.membership_number = number
    procedure.siret = old
    procedure.new_siret = new if new and new != old else None


def _fusion(procedure: Procedure, form: dict[str, str]) -> None:
    """The requester's current collectivity absorbs the one with this SIRET."""
    scope = current_scope()
    if not scope.is_employer or scope.collectivity_id is None:
        raise ProcedureError(NO_CURRENT)
    if scope.is_secondary:
        raise ProcedureError(NOT_PRIMARY)
    number = _number(form.get("membership_number", ""), required=False)
    siret = _siret(form.get("siret", ""), label="Le SIRET de l'entreprise absorbée")
    with system_scope():
        absorbed = db.session.scalars(
            select(Collectivity).where(Collectivity.siret == siret)
        ).first()
        absorbing = db.session.get(Collectivity, scope.collectivity_id)
    if absorbed is None or (number and absorbed.membership_number != number):
        raise ProcedureError(NO_MATCH if number else "Aucun adhérent n'a ce SIRET.")
    if absorbed.id == scope.collectivity_id:
        raise ProcedureError(INTO_ITSELF)
    from app.core import clock

    for collectivity in (absorbing, absorbed):
        if collectivity is not None and merger._ended(collectivity, clock.today()):
            raise ProcedureError(merger.ENDED.format(name=collectivity.name))
    procedure.collectivity_id = scope.collectivity_id
    procedure.absorbed_collectivity_id = absorbed.id
    procedure.membership_number = number or None
    procedure.siret = siret


def _notify_administrators(procedure: Procedure) -> None:
    """The seed: « Cette action envoie un mail à l'administrateur pour lui demander un accès »."""
    for email in processing.primary_emails(procedure.collectivity_id):
        send_mail(
            email,
            "Demande de gestion de votre compte adhérent",
            "Une personne demande l'accès aux données de votre collectivité. Acceptez ou "
            "refusez sa demande dans « Mon espace » > « Démarches à valider ».",
        )


def my_procedures(user_id: int) -> list[Procedure]:
    return list(
        db.session.scalars(
            select(Procedure)
            .where(Procedure.requester_id == user_id)
            .order_by(Procedure.created_at.desc(), Procedure.id.desc())
        )
    )


def _names(collectivity_ids: set[int]) -> dict[int, str]:
    if not collectivity_ids:
        return {}
    with system_scope():
        return dict(
            db.session.execute(
                select(Collectivity.id, Collectivity.name).where(
                    Collectivity.id.in_(collectivity_ids)
                )
            ).all()
        )


def collectivity_names(procedures: list[Procedure]) -> dict[int, str]:
    """Target and absorbed names for a list (one query)."""
    ids = {p.collectivity_id for p in procedures if p.collectivity_id}
    ids |= {p.absorbed_collectivity_id for p in procedures if p.absorbed_collectivity_id}
    return _names(ids)


def to_validate(user_id: int) -> list[Procedure]:
    """The gestion requests aimed at the collectivities the user is primary of."""
    ids = primary_collectivity_ids(user_id)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Procedure)
            .where(
                Procedure.kind == ProcedureKind.GESTION.value,
                Procedure.collectivity_id.in_(ids),
            )
            .order_by(Procedure.state, Procedure.created_at, Procedure.id)
        )
    )


def pending_to_validate(user_id: int) -> int:
    """How many gestion requests wait for this administrator (the notification)."""
    return sum(1 for p in to_validate(user_id) if p.state == ProcedureState.EN_COURS.value)


def cdg_queue() -> list[Procedure]:
    return list(
        db.session.scalars(
            select(Procedure)
            .where(Procedure.kind.in_([k.value for k in DECIDED_BY_CDG]))
            .order_by(Procedure.state, Procedure.created_at, Procedure.id)
        )
    )


def _locked(procedure_id: int) -> Procedure | None:
    return db.session.scalars(
        select(Procedure).where(Procedure.id == procedure_id).with_for_update()
    ).first()


def administrator_procedure(user_id: int, procedure_id: int) -> Procedure | None:
    """A gestion request the user may decide (None: not his, a 404)."""
    procedure = db.session.get(Procedure, procedure_id)
    if (
        procedure is None
        or procedure.kind != ProcedureKind.GESTION.value
        or procedure.collectivity_id not in primary_collectivity_ids(user_id)
    ):
        return None
    return procedure


def cdg_procedure(procedure_id: int) -> Procedure | None:
    procedure = db.session.get(Procedure, procedure_id)
    if procedure is None or ProcedureKind(procedure.kind) not in DECIDED_BY_CDG:
        return None
    return procedure


def decide(procedure_id: int, decided_by_id: int, event: ProcedureEvent, reason: str) -> Procedure:
    """Accept or refuse (reason required): a decided procedure is final. Accepting applies the
    procedure in the same transaction (processing.apply / merger.absorb); a refusal there
    leaves the procedure « En cours » once the caller rolls back."""
    procedure = _locked(procedure_id)
    if procedure is None:
        raise LookupError(procedure_id)
    before = procedure.state
    reason = (reason or "").strip()
    if len(reason) > MESSAGE_MAX:
        raise ProcedureError("Le motif ne doit pas dépasser 4 000 caractères.")
    try:
        procedure.state = transition(ProcedureState(before), event, reason).value
    except DomainError as error:
        raise ProcedureError(error.message) from error
    procedure.reason = reason or None
    procedure.decided_by_id = decided_by_id
    procedure.decided_at = utcnow()
    if event is ProcedureEvent.ACCEPT:
        processing.apply(procedure)
    _log(procedure, "accepter" if event is ProcedureEvent.ACCEPT else "refuser", before)
    _notify(procedure)
    return procedure


def _notify(procedure: Procedure) -> None:
    from flask_appbuilder.security.sqla.models import User

    with system_scope():
        user = db.session.get(User, procedure.requester_id)
    if user is None or not user.email:
        return
    outcome = "acceptée" if procedure.state == ProcedureState.ACCEPTEE.value else "refusée"
    body = f"Votre démarche « {KIND_LABELS.get(procedure.kind)} » a été {outcome}."
    if procedure.reason:
        body += f"\n\nMotif : {procedure.reason}"
    send_mail(user.email, f"Votre démarche n° {procedure.id} a été {outcome}", body)


FORM_FIELDS = ("membership_number", "siret", "new_siret", "former_admin_email", "message")


def form_values(source: Any) -> dict[str, str]:
    return {key: (source.get(key) or "")[:FIELD_KEEP] for key in FORM_FIELDS}


def requester_names(procedures: list[Procedure]) -> dict[int, str]:
    """« Prénom NOM <e-mail> » of each requester of a list (one query)."""
    from flask_appbuilder.security.sqla.models import User

    ids = {p.requester_id for p in procedures}
    if not ids:
        return {}
    with system_scope():
        rows = db.session.execute(
            select(User.id, User.first_name, User.last_name, User.email).where(User.id.in_(ids))
        ).all()
    return {row.id: f"{row.first_name} {row.last_name} <{row.email}>" for row in rows}
