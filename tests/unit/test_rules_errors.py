"""Domain errors carry their French message."""

from app.rules.errors import DomainError, InvalidIdentifier


def test_domain_error_str_is_its_french_message() -> None:
    error = DomainError("Le poste est occupé.")
    assert error.message == "Le poste est occupé."
    assert str(error) == "Le poste est occupé."


def test_invalid_identifier_is_a_domain_error() -> None:
    error = InvalidIdentifier("La clé du NIR est incorrecte.")
    assert isinstance(error, DomainError)
    assert str(error) == "La clé du NIR est incorrecte."
