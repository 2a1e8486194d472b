"""Password policy (SPEC A3, SSTRN): 8 characters or more with upper, lower, digit and special,
not one of the most common passwords (a list shipped with the app), not one of the last used."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from flask_appbuilder.exceptions import PasswordComplexityValidationError

from app.rules.passwords import is_common_password

POLICY = (
    "Le mot de passe doit contenir au moins 8 caractères, dont une majuscule, une minuscule, "
    "un chiffre et un caractère spécial."
)
COMMON = (
    "Ce mot de passe fait partie des plus courants (ou en est une variante) : il serait "
    "deviné en quelques essais. Choisissez-en un autre, par exemple une phrase de plusieurs mots."
)
# How many of the previous passwords cannot be chosen again.
HISTORY_SIZE = 5
REUSED = (
    f"Vous avez déjà utilisé ce mot de passe : choisissez-en un différent de vos "
    f"{HISTORY_SIZE} derniers."
)
_LIST = Path(__file__).resolve().parent / "data" / "common_passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    with _LIST.open(encoding="utf-8") as lines:
        return frozenset(
            line.strip() for line in lines if line.strip() and not line.startswith("#")
        )


def password_problems(password: str) -> list[str]:
    """What the password lacks, in French (empty when it meets the composition policy)."""
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


def policy_message(password: str) -> str | None:
    """The French refusal of a new password, or None when it is acceptable."""
    if password_problems(password):
        return POLICY
    if is_common_password(password, common_passwords()):
        return COMMON
    return None


def check_password_policy(password: str) -> None:
    """Flask-AppBuilder's FAB_PASSWORD_COMPLEXITY_VALIDATOR hook."""
    message = policy_message(password)
    if message:
        raise PasswordComplexityValidationError(message)
