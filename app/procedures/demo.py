"""Demo procedures (issue 16): a gestion request waiting for the first collectivity's
administrator (« Démarches à valider ») and a buy-out report in the CDG's « Démarches »."""

from __future__ import annotations

from typing import Any

from app import roles
from app.procedures.machine import ProcedureKind, ProcedureState
from app.procedures.models import Procedure


def demo_procedures(context: Any) -> None:
    from app.demo import _add_user

    if not context.collectivities:
        return
    target = context.collectivities[0]
    requester = _add_user(
        context,
        "demandeur-gestion",
        roles.EMPLOYER_PRIMARY,
        "Julie",
        "MOREL",
        f"demande la gestion de « {target.name} » (Mes démarches)",
    )
    context.session.flush()
    context.session.add_all(
        [
            Procedure(
                kind=ProcedureKind.GESTION.value,
                state=ProcedureState.EN_COURS.value,
                requester_id=requester.id,
                collectivity_id=target.id,
                membership_number=target.membership_number,
                siret=target.siret,
            ),
            Procedure(
                kind=ProcedureKind.RACHAT.value,
                state=ProcedureState.EN_COURS.value,
                requester_id=requester.id,
                message="Rachat de la SARL Morel Services ; tél. 04 78 00 00 00.",
            ),
        ]
    )
    context.session.flush()
