"""E-mail addresses: one address, no line break (header injection), a real domain."""

import pytest

from app.rules.emails import EMAIL_MESSAGE, normalize_email
from app.rules.errors import FieldError

INVALID = [
    "claire@a.fr\nBcc: evil@x.fr",
    "claire@a.fr\r\nBcc: evil@x.fr",
    "claire@a.fr\n",
    "\nclaire@a.fr",
    "claire\r@a.fr",
    "claire durand@a.fr",
    "claire@a.fr, paul@a.fr",
    "claire@a.fr;paul@a.fr",
    "Claire <claire@a.fr>",
    '"claire\\n"@a.fr',
    "claire",
    "claire@",
    "@a.fr",
    "claire@a",
    "claire@-a.fr",
    "claire@a..fr",
    "claire@[127.0.0.1]",
    "claire@mairie.local",
    "claire@localhost",
    "",
]


@pytest.mark.parametrize("value", INVALID)
def test_an_invalid_address_is_refused_in_french_on_its_field(value: str) -> None:
    with pytest.raises(FieldError) as refused:
        normalize_email(value, "contact_email")
    assert refused.value.message == EMAIL_MESSAGE
    assert refused.value.message.startswith("Adresse e-mail invalide")
    assert refused.value.field == "contact_email"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("claire@a.fr", "claire@a.fr"),
        ("  claire@a.fr ", "claire@a.fr"),
        ("Claire.Durand@Mairie-Tassin.FR", "Claire.Durand@mairie-tassin.fr"),
        ("jean.d'arc@x.fr", "jean.d'arc@x.fr"),
        ("hélène@cdg69.fr", "hélène@cdg69.fr"),
        ("rh+convocations@a.fr", "rh+convocations@a.fr"),
    ],
)
def test_a_valid_address_is_normalised(typed: str, stored: str) -> None:
    assert normalize_email(typed) == stored


def test_a_reserved_domain_is_accepted_only_for_the_internal_addresses() -> None:
    assert (
        normalize_email("secretariat@medecineprev.local", reserved_domain_ok=True)
        == "secretariat@medecineprev.local"
    )
    with pytest.raises(FieldError):
        normalize_email("secretariat@medecineprev.local")
    for injected in ("secretariat@medecineprev.local\nBcc: evil@x.fr", "a@x.local, b@y.local"):
        with pytest.raises(FieldError):
            normalize_email(injected, reserved_domain_ok=True)
