"""What an accepted procedure changes (SPEC I3, issue 16), in the decision's transaction.

Access decisions (each audited, the people concerned told by e-mail):

- « Demander la gestion d'un adhérent » (accepted by the collectivity's administrator): the
  requester gets exactly one secondary account of that collectivity, created by the
  administrator who accepted (he then assigns the agents it manages). Nothing else.
- « Synchroniser votre adhérent » (first person of an existing member): the requester becomes
  the primary account (administrator) of that collectivity. The seed grants it at once; here
  the CDG validates it first (a membership number and a SIREN are not secrets, and the account
  opens the agents' data), and only while the collectivity still has no administrator.
- « Modifier l'administrateur d'un compte adhérent » (the seed: « L'Administrateur qui gère le
  compte de votre entité est parti et vous souhaitez reprendre cette fonction »): the requester
  becomes a primary account; the former administrator named by his e-mail LOSES his access to
  that collectivity (he left: keeping it would keep a departed person on the agents' data).
  The secondary accounts he had created stay, now attached to the new administrator.
- « Signaler un rachat de société ou un changement de dirigeant » (the seed: « Vous avez racheté
  une entreprise ... et vous souhaitez récupérer la gestion de son compte »): the requester
  becomes the primary account, every former primary account of that collectivity loses its
  access (the company changed hands), their secondary accounts stay attached to the new one;
  a new SIRET given with the request replaces the old one (and the SIREN).
- « Demander la fusion/absorption d'entreprises »: app/procedures/merger.py.

A requester who already had a secondary account of the collectivity is promoted (no second
row); a requester without the « Employeur principal » role receives it (the primary account's
screens), nothing more.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update

from app import roles
from app.accounts.models import PortalMembership
from app.core import audit
from app.core.mail import send_mail
from app.extensions import db
from app.procedures import merger
from app.procedures.machine import ProcedureKind
from app.referential.models import Collectivity
from app.rules.errors import DomainError
from app.tenancy import system_scope

SYNC_DONE = (
    "Cette démarche de synchronisation a déjà été réalisée. Nous vous invitons à choisir "
    "DEMANDER LA GESTION D'UN ADHERENT pour ce compte."
)
SIRET_TAKEN = "Un autre adhérent a déjà ce numéro SIRET."
FORMER_GONE = (
    "L'ancien administrateur indiqué n'a plus d'accès à cet adhérent : vérifiez la demande."
)


class ProcessingError(DomainError):
    """An accepted procedure that cannot be applied (nothing is written)."""


def _user_model() -> Any:
    from flask_appbuilder.security.sqla.models import User

    return User


def has_primary(collectivity_id: int) -> bool:
    with system_scope():
        return bool(
            db.session.scalar(
                select(func.count(PortalMembership.id)).where(
                    PortalMembership.collectivity_id == collectivity_id,
                    PortalMembership.primary_user_id.is_(None),
                )
            )
        )


def _primaries(collectivity_id: int) -> list[tuple[int, str | None]]:
    user = _user_model()
    with system_scope():
        return [
            (row.id, row.email)
            for row in db.session.execute(
                select(user.id, user.email)
                .join(PortalMembership, PortalMembership.user_id == user.id)
                .where(
                    PortalMembership.collectivity_id == collectivity_id,
                    PortalMembership.primary_user_id.is_(None),
                )
                .order_by(user.id)
            )
        ]


def primary_emails(collectivity_id: int | None) -> list[str]:
    if collectivity_id is None:
        return []
    return [email for _, email in _primaries(collectivity_id) if email]


def primary_user_ids_by_email(collectivity_id: int, email: str) -> set[int]:
    """The primary accounts of the collectivity with this e-mail (case ignored)."""
    wanted = email.strip().lower()
    return {
        uid for uid, address in _primaries(collectivity_id) if (address or "").lower() == wanted
    }


def apply(procedure: Any) -> None:
    """Apply an accepted procedure (see the module docstring)."""
    kind = ProcedureKind(procedure.kind)
    if kind is ProcedureKind.GESTION:
        _grant_secondary(procedure)
    elif kind is ProcedureKind.SYNCHRONISE:
        if has_primary(procedure.collectivity_id):
            raise ProcessingError(SYNC_DONE)
        _make_primary(procedure, former=set())
    elif kind is ProcedureKind.ADMINISTRATEUR:
        former = primary_user_ids_by_email(
            procedure.collectivity_id, procedure.former_admin_email or ""
        )
        former.discard(procedure.requester_id)
        if not former:
            raise ProcessingError(FORMER_GONE)
        _make_primary(procedure, former=former)
    elif kind is ProcedureKind.RACHAT:
        former = {uid for uid, _ in _primaries(procedure.collectivity_id)}
        former.discard(procedure.requester_id)
        if procedure.new_siret:
            _change_siret(procedure)
        _make_primary(procedure, former=former)
    else:
        if procedure.absorbed_collectivity_id is None:
            raise ProcessingError("L'entreprise absorbée n'existe plus.")
        report = merger.absorb(procedure.collectivity_id, procedure.absorbed_collectivity_id)
        _tell_former_users(report)


def _grant_secondary(procedure: Any) -> None:
    """Exactly one secondary account of the collectivity, created by the one who accepted."""
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
                    primary_user_id=procedure.decided_by_id,
                )
            )
        db.session.flush()


def _ensure_primary_role(user_id: int) -> None:
    user = db.session.get(_user_model(), user_id)
    if user is None:
        raise ProcessingError("Le demandeur n'a plus de compte.")
    names = {role.name for role in user.roles}
    if roles.EMPLOYER_PRIMARY not in names:
        from flask import current_app

        role = current_app.appbuilder.sm.find_role(roles.EMPLOYER_PRIMARY)
        user.roles = [*user.roles, role]


def _make_primary(procedure: Any, former: set[int]) -> None:
    """The requester becomes a primary account of the collectivity; ``former`` lose access."""
    collectivity_id = procedure.collectivity_id
    requester_id = procedure.requester_id
    with system_scope():
        _ensure_primary_role(requester_id)
        mine = db.session.scalars(
            select(PortalMembership).where(
                PortalMembership.user_id == requester_id,
                PortalMembership.collectivity_id == collectivity_id,
            )
        ).first()
        if mine is None:
            db.session.add(
                PortalMembership(
                    user_id=requester_id, collectivity_id=collectivity_id, primary_user_id=None
                )
            )
        else:
            mine.primary_user_id = None
        db.session.flush()
        removed_emails: list[str] = []
        if former:
            user = _user_model()
            removed_emails = [
                email
                for email in db.session.scalars(select(user.email).where(user.id.in_(former)))
                if email
            ]
            # Their secondary accounts stay, now the new administrator's.
            db.session.execute(
                update(PortalMembership)
                .where(
                    PortalMembership.collectivity_id == collectivity_id,
                    PortalMembership.primary_user_id.in_(former),
                )
                .values(primary_user_id=requester_id),
                execution_options={"synchronize_session": False},
            )
            db.session.execute(
                delete(PortalMembership).where(
                    PortalMembership.collectivity_id == collectivity_id,
                    PortalMembership.user_id.in_(former),
                ),
                execution_options={"synchronize_session": False},
            )
            db.session.expire_all()
        name = db.session.scalar(
            select(Collectivity.name).where(Collectivity.id == collectivity_id)
        )
    audit.log_event(
        action="administrateur",  # audit_log.action: 16 characters
        table_name="portal_membership",
        row_id=str(collectivity_id),
        collectivity_id=collectivity_id,
        details={
            "démarche": procedure.id,
            "nouvel administrateur": requester_id,
            "accès retirés": sorted(former),
        },
    )
    for email in removed_emails:
        send_mail(
            email,
            f"Fin de votre accès au compte adhérent « {name} »",
            f"Le service adhérent du CDG a enregistré un nouvel administrateur pour « {name} ». "
            "Votre accès à ce compte adhérent est fermé.",
        )


def _change_siret(procedure: Any) -> None:
    new = procedure.new_siret
    with system_scope():
        taken = db.session.scalar(
            select(Collectivity.id).where(
                Collectivity.siret == new, Collectivity.id != procedure.collectivity_id
            )
        )
        if taken:
            raise ProcessingError(SIRET_TAKEN)
        collectivity = db.session.get(Collectivity, procedure.collectivity_id)
        if collectivity is None:
            raise ProcessingError("Adhérent introuvable.")
        collectivity.siret = new
        collectivity.siren = new[:9]
        db.session.flush()


def _tell_former_users(report: merger.MergerReport) -> None:
    if not report.removed_memberships:
        return
    user = _user_model()
    with system_scope():
        emails = [
            email
            for email in db.session.scalars(
                select(user.email).where(user.id.in_(report.removed_memberships))
            )
            if email
        ]
        names = dict(
            db.session.execute(
                select(Collectivity.id, Collectivity.name).where(
                    Collectivity.id.in_([report.absorbing_id, report.absorbed_id])
                )
            ).all()
        )
    absorbed, absorbing = names.get(report.absorbed_id), names.get(report.absorbing_id)
    for email in emails:
        send_mail(
            email,
            f"Fusion : « {absorbed} » a été absorbé par « {absorbing} »",
            f"Le service adhérent du CDG a validé l'absorption de « {absorbed} » par "
            f"« {absorbing} ». Ses agents et leur suivi sont désormais ceux de « {absorbing} » ; "
            f"votre accès au compte adhérent « {absorbed} » est fermé. Pour accéder à "
            f"« {absorbing} », faites une demande de gestion à son administrateur.",
        )
