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
                applicant_function="Directrice générale des services",
                conditions_version=CONDITIONS_VERSION,
                submitted_at=utcnow(),
                payload={
                    "1": {"siret": "21690123100011", "naf_code": "8411Z", "city": "Saint-Vallon"},
                    "2": {
                        "contacts": [
                            {
                                "function": "convocation",
                                "last_name": "VALLON",
                                "first_name": "Claire",
                                "email": "rh@saint-vallon.fr",
                                "phone": "",
                            }
                        ],
                        "name": "Commune de Saint-Vallon",
                        "kind": "commune",
                        "email": "mairie@saint-vallon.fr",
                        "main_line1": "1 place de la Mairie",
                        "main_postcode": "69390",
                        "main_city": "Saint-Vallon",
                    },
                    "3": {
                        "positions": [
                            {
                                "label": "Agent d'entretien",
                                "pcs_code": "525b",
                                "risks": [{"code": "nuit"}],
                            }
                        ]
                    },
                    "4": {
                        "agents": [
                            {
                                "civility": "madame",
                                "first_name": "Anne",
                                "birth_name": "DUPONT",
                                "usage_name": None,
                                "birth_date": "1985-04-12",
                                "ins": None,
                                "entry_date": "2020-09-01",
                                "exit_date": None,
                                "pcs_code": "525b",
                                "position_label": "Agent d'entretien",
                                "contract_type": "Titulaire",
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
