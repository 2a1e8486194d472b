"""Domain errors raised by the rules, each carrying a French message for the user."""


class DomainError(Exception):
    """A business rule refused a value; ``message`` is shown to the user as is (French)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidIdentifier(DomainError):
    """An identifier (SIRET, SIREN, NAF, PCS, INS/NIR) is malformed or has a wrong key."""


class FieldError(DomainError):
    """A refusal about one input field: screens show ``message`` next to ``field``."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field
