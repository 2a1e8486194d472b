"""Demo procedures (issue 16): one pending procedure of each kind, so that « Mes démarches »,
« Démarches à valider » (the first collectivity's administrator) and the CDG's « Démarches »
show life. Rows are written directly (a few inserts, no lookup per agent): fast."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app import roles
from app.accounts.models import PortalMembership
from app.procedures.machine import ProcedureKind, ProcedureState
from app.procedures.models import Procedure


def demo_procedures(context: Any) -> None:
    from app.demo import _add_user

    collectivities = context.collectivities
    if not collectivities:
        return
    target = collectivities[0]
    absorbed = collectivities[-1] if len(collectivities) > 1 else None
    requester = _add_user(
        context,
        "demandeur-gestion",
        roles.EMPLOYER_PRIMARY,
        "Julie",
        "MOREL",
        f"demande la gestion de « {target.name} » et d'autres démarches (Mes démarches)",
    )
    context.session.flush()
    with_primary = set(
        context.session.scalars(
            select(PortalMembership.collectivity_id).where(
                PortalMembership.primary_user_id.is_(None)
            )
        )
    )
    orphan = next((c for c in collectivities if c.id not in with_primary), target)
    admin_id = context.session.scalar(
        select(PortalMembership.user_id).where(
            PortalMembership.collectivity_id == target.id,
            PortalMembership.primary_user_id.is_(None),
        )
    )
    former_email = None
    if admin_id is not None:
        from flask_appbuilder.security.sqla.models import User

        former_email = context.session.get(User, admin_id).email
    pending = ProcedureState.EN_COURS.value
    rows = [
        Procedure(
            kind=ProcedureKind.GESTION.value,
            state=pending,
            requester_id=requester.id,
            collectivity_id=target.id,
            membership_number=target.membership_number,
            siret=target.siret,
        ),
        Procedure(
            kind=ProcedureKind.SYNCHRONISE.value,
            state=pending,
            requester_id=requester.id,
            collectivity_id=orphan.id,
            membership_number=orphan.membership_number,
            siret=orphan.siren,
        ),
        Procedure(
            kind=ProcedureKind.ADMINISTRATEUR.value,
            state=pending,
            requester_id=requester.id,
            collectivity_id=target.id,
            membership_number=target.membership_number,
            siret=target.siret,
            former_admin_email=former_email,
        ),
        Procedure(
            kind=ProcedureKind.RACHAT.value,
            state=pending,
            requester_id=requester.id,
            collectivity_id=target.id,
            membership_number=target.membership_number,
            siret=target.siret,
            message="Rachat de la SARL Morel Services ; tél. 04 78 00 00 00.",
        ),
    ]
    if absorbed is not None and absorbed.id != target.id:
        rows.append(
            Procedure(
                kind=ProcedureKind.FUSION.value,
                state=pending,
                requester_id=requester.id,
                collectivity_id=target.id,
                absorbed_collectivity_id=absorbed.id,
                siret=absorbed.siret,
                message=f"Fusion : « {absorbed.name} » rejoint « {target.name} » au 1er janvier.",
            )
        )
    context.session.add_all(rows)
    context.session.flush()
