"""Role names (SPEC A2): one constant each, used by security, tenancy, CLI and tests."""

from __future__ import annotations

ADMIN = "Admin"
SECRETARIAT = "Secrétariat"
SANTE = "Santé"
COMPTABILITE = "Comptabilité"
DIRECTION = "Direction"
EMPLOYER_PRIMARY = "Employeur principal"
EMPLOYER_SECONDARY = "Employeur secondaire"
PUBLIC = "Public"

STAFF_ROLES = frozenset({ADMIN, SECRETARIAT, SANTE, COMPTABILITE, DIRECTION})
EMPLOYER_ROLES = frozenset({EMPLOYER_PRIMARY, EMPLOYER_SECONDARY})
ALL_ROLES = (
    ADMIN,
    SECRETARIAT,
    SANTE,
    COMPTABILITE,
    DIRECTION,
    EMPLOYER_PRIMARY,
    EMPLOYER_SECONDARY,
)
