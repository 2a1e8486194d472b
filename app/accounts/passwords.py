"""Password policy (SPEC A3, SSTRN): 8 characters or more with upper, lower, digit and special."""

from __future__ import annotations

import re

from flask_appbuilder.exceptions import PasswordComplexityValidationError

POLICY = (
    "Le mot de passe doit contenir au moins 8 caractères, dont une majuscule, une minuscule, "
    "un chiffre et un caractère spécial."
)


def password_problems(password: str) -> list[str]:
    """What the password lacks, in French (empty when it meets the policy)."""
    problems = []
    if len(password) < 8:
        problems.append("au moins 8 caractères")
    if not re.search(r"[A-Z]", password):
        problems.append("une majuscule")
    if not re.search(r"[a-z]", password):
        problems.append("une minuscule")
    if not re.search(r"[0-9]", password):
        problems.append("un chiffre")
    if not re.search(r"[^A-Za-z0-9]", password):
        problems.append("un caractère spécial")
    return problems


def check_password_policy(password: str) -> None:
    """Flask-AppBuilder's FAB_PASSWORD_COMPLEXITY_VALIDATOR hook."""
    if password_problems(password):
        raise PasswordComplexityValidationError(POLICY)
