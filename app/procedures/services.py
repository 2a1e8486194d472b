"""Procedure services (démarches, SPEC I3, issue 16): « Votre demande : », « Mes démarches »,
« Démarches à valider » (the administrator's gestion requests) and the CDG's queue. Every
transition goes through app/procedures/machine.py and is audited."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from sqlalchemy import select

from app.accounts.models import PortalMembership
from app.core import audit
from app.core.mail import send_mail
from app.core.types import utcnow
from app.extensions import db
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
from app.tenancy import current_scope, system_scope

# The kinds an employer may request here (the first person's synchronisation is the wizard's).
REQUESTABLE = (
    ProcedureKind.GESTION,
    ProcedureKind.ADMINISTRATEUR,
    ProcedureKind.RACHAT,
    ProcedureKind.FUSION,
)
NO_MATCH = "Aucun adhérent ne correspond à ce numéro d'adhérent et à ce SIRET."
ALREADY_MANAGING = "Vous gérez déjà cet adhérent."
ALREADY_PENDING = "Une demande de gestion de cet adhérent est déjà en cours."
INTO_ITSELF = "Une entreprise ne peut pas être absorbée par elle-même."
NO_CURRENT = "Choisissez d'abord l'adhérent absorbant dans votre espace."


class ProcedureError(ValueError):
    """A refused request or decision, with its French message."""


def clean_siret(value: str) -> str:
    return "".join(ch for ch in (value or "") if ch.isdigit())[:14]


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


def request_procedure(user_id: int, kind: str, form: dict[str, str]) -> Procedure:
    """« Demander »: checks the input, writes one procedure (nothing when refused)."""
    try:
        kind = ProcedureKind(kind)
    except ValueError as error:
        raise ProcedureError("Choisissez le type de votre demande.") from error
    if kind not in REQUESTABLE:
        raise ProcedureError("Choisissez le type de votre demande.")
    number = (form.get("membership_number") or "").strip()[:20]
    siret = clean_siret(form.get("siret", ""))
    message = (form.get("message") or "").strip()[:4000] or None
    procedure = Procedure(
        kind=kind.value, state=ProcedureState.EN_COURS.value, requester_id=user_id, message=message
    )
    if kind is ProcedureKind.GESTION:
        if not number or not siret:
            raise ProcedureError("Le numéro d'adhérent et le SIRET sont obligatoires.")
        target = _find_collectivity(number, siret)
        if target is None:
            raise ProcedureError(NO_MATCH)
        if target.id in _managed_ids(user_id):
            raise ProcedureError(ALREADY_MANAGING)
        pending = db.session.scalar(
            select(Procedure.id).where(
                Procedure.requester_id == user_id,
                Procedure.kind == kind.value,
                Procedure.collectivity_id == target.id,
                Procedure.state == ProcedureState.EN_COURS.value,
            )
        )
        if pending:
            raise ProcedureError(ALREADY_PENDING)
        procedure.collectivity_id = target.id
    elif kind is ProcedureKind.ADMINISTRATEUR:
        email = (form.get("former_admin_email") or "").strip().lower()[:200]
        if not number or not siret or "@" not in parseaddr(email)[1]:
            raise ProcedureError(
                "Le numéro d'adhérent, le SIRET et l'e-mail de l'ancien administrateur "
                "sont obligatoires."
            )
        target = _find_collectivity(number, siret)
        if target is None:
            raise ProcedureError(NO_MATCH)
        procedure.collectivity_id = target.id
        procedure.former_admin_email = email
    elif kind is ProcedureKind.RACHAT:
        if not message:
            raise ProcedureError("Décrivez votre demande (coordonnées, numéro d'adhérent, SIRET).")
        procedure.membership_number = number or None
    else:  # fusion: the requester's current collectivity absorbs the one with this SIRET
        scope = current_scope()
        if not scope.is_employer or scope.collectivity_id is None:
            raise ProcedureError(NO_CURRENT)
        if not siret:
            raise ProcedureError("Le SIRET de l'entreprise absorbée est obligatoire.")
        with system_scope():
            absorbed = db.session.scalars(
                select(Collectivity).where(Collectivity.siret == siret)
            ).first()
        if absorbed is None:
            raise ProcedureError("Aucun adhérent n'a ce SIRET.")
        if absorbed.id == scope.collectivity_id:
            raise ProcedureError(INTO_ITSELF)
        procedure.collectivity_id = scope.collectivity_id
    procedure.membership_number = procedure.membership_number or number or None
    procedure.siret = siret or None
    db.session.add(procedure)
    db.session.flush()
    _log(procedure, "demander", None)
    if kind is ProcedureKind.GESTION:
        _notify_administrators(procedure)
    return procedure


def _notify_administrators(procedure: Procedure) -> None:
    """The seed: « Cette action envoie un mail à l'administrateur pour lui demander un accès »."""
    from flask_appbuilder.security.sqla.models import User

    with system_scope():
        emails = list(
            db.session.scalars(
                select(User.email)
                .join(PortalMembership, PortalMembership.user_id == User.id)
                .where(
                    PortalMembership.collectivity_id == procedure.collectivity_id,
                    PortalMembership.primary_user_id.is_(None),
                )
            )
        )
    for email in emails:
        if email:
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
    """Target names for a list (one query)."""
    return _names({p.collectivity_id for p in procedures if p.collectivity_id})


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
    """Accept or refuse (reason required): a decided procedure is final. Accepting a gestion
    request grants the requester exactly one secondary account of the collectivity, created
    by its primary account."""
    procedure = _locked(procedure_id)
    if procedure is None:
        raise LookupError(procedure_id)
    before = procedure.state
    try:
        procedure.state = transition(ProcedureState(before), event, reason).value
    except DomainError as error:
        raise ProcedureError(error.message) from error
    procedure.reason = (reason or "").strip()[:4000] or None
    procedure.decided_by_id = decided_by_id
    procedure.decided_at = utcnow()
    if event is ProcedureEvent.ACCEPT and procedure.kind == ProcedureKind.GESTION.value:
        with system_scope():
            exists = db.session.scalar(
                select(PortalMembership.id).where(
                    PortalMembership.user_id == procedure.requester_id,
                    PortalMembership.collectivity_id == procedure.collectivity_id,
                )
            )
            if not exists:
                db.session.add(
                    PortalMembership(
                        user_id=procedure.requester_id,
                        collectivity_id=procedure.collectivity_id,
                        primary_user_id=decided_by_id,
                    )
                )
            db.session.flush()
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


def form_values(source: Any) -> dict[str, str]:
    return {
        key: (source.get(key) or "").strip()[:4000]
        for key in ("membership_number", "siret", "former_admin_email", "message")
    }


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
