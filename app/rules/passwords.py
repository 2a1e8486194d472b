"""Common passwords (ANSSI, « Recommandations relatives à l'authentification multifacteur et
aux mots de passe », 2021, R22: refuse passwords found in lists of common or leaked ones)."""

from __future__ import annotations

import re

# A common word dressed with a capital, a few digits and a sign stays a common password.
_AFFIXES = re.compile(r"^[^a-z]*(?P<core>.*?)[^a-z]*$")
_MAX_DRESSING = 6
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)


def is_common_password(password: str, common: frozenset[str]) -> bool:
    """True when the password is a listed one, or a listed word with at most six leading or
    trailing digits and signs (``Password1!``, ``Azerty1!``, ``!Soleil2024``), or its
    leet-speak spelling (``P@ssw0rd!``)."""
    lowered = password.strip().lower()
    if lowered in common:
        return True
    for candidate in (lowered, lowered.translate(_LEET)):
        match = _AFFIXES.match(candidate)
        core = match.group("core") if match else candidate
        if len(candidate) - len(core) <= _MAX_DRESSING and core in common:
            return True
    return False
