"""Demo membership applications (issue 16): one submitted application waiting in the CDG's
« Adhésions à valider » queue, one draft left at step 2 by another applicant."""

from __future__ import annotations

from typing import Any

from app import roles
from app.core.types import utcnow
from app.membership.models import DRAFT, SUBMITTED, MembershipApplication
from app.membership.services import CONDITIONS_VERSION


def demo_membership(context: Any) -> None:
    from app.demo import _add_user

    submitted_by = _add_user(
        context,
        "candidat-adhesion",
        roles.EMPLOYER_PRIMARY,
        "Claire",
        "VALLON",
        "demande d'adhésion transmise (sans collectivité)",
    )
    draft_by = _add_user(
        context,
        "candidat-brouillon",
        roles.EMPLOYER_PRIMARY,
        "Marc",
        "RIVIÈRE",
        "demande d'adhésion en brouillon (sans collectivité)",
    )
    context.session.flush()
    context.session.add_all(
        [
            MembershipApplication(
                applicant_user_id=submitted_by.id,
                status=SUBMITTED,
                current_step=5,
                siret="21690123100011",
                name="Commune de Saint-Vallon",
                conditions_version=CONDITIONS_VERSION,
                submitted_at=utcnow(),
                payload={
                    "1": {"siret": "21690123100011", "naf_code": "8411Z", "city": "Saint-Vallon"},
                    "2": {
                        "name": "Commune de Saint-Vallon",
                        "kind": "commune",
                        "email": "mairie@saint-vallon.fr",
                        "main_line1": "1 place de la Mairie",
                        "main_postcode": "69390",
                        "main_city": "Saint-Vallon",
                    },
                    "3": {"positions": [{"label": "Agent d'entretien", "risks": "Bruit"}]},
                    "4": {
                        "agents": [
                            {
                                "last_name": "DUPONT",
                                "first_name": "Anne",
                                "position": "Agent d'entretien",
                            }
                        ]
                    },
                    "5": {"accept": "1"},
                },
            ),
            MembershipApplication(
                applicant_user_id=draft_by.id,
                status=DRAFT,
                current_step=2,
                siret="21690456700015",
                payload={"1": {"siret": "21690456700015", "naf_code": "8411Z", "city": "Montval"}},
            ),
        ]
    )
