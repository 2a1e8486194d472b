"""Checking and normalising e-mail addresses: one address, no line break, a real domain."""

from __future__ import annotations

from .errors import FieldError

EMAIL_MESSAGE = (
    "Adresse e-mail invalide : saisissez une seule adresse de la forme nom@domaine.fr, "
    "sans espace ni retour à la ligne."
)
# A suffix that makes a reserved domain (« .local », « .localhost »...) pass the syntax check.
_PROBE_SUFFIX = ".fr"


def normalize_email(value: str, field: str = "email", *, reserved_domain_ok: bool = False) -> str:
    """Return the normalised form of one e-mail address, or raise ``FieldError(field)``.

    Source: RFC 5322 §3.4.1 (addr-spec) and RFC 5321 §4.1.2 (mailbox), checked with the
    ``email-validator`` library without DNS lookups (``check_deliverability=False``): no display
    name, no list, no quoted local part, no space, CR or LF (a line break in an address is a
    header injection, OWASP « Email Header Injection »); the domain is lower-cased, Unicode
    normalised (NFC). Reserved domains (RFC 6761: ``.local``, ``.localhost``, ``.test``...) are
    refused for what users type, accepted with ``reserved_domain_ok`` for the configured
    internal addresses the app sends to.
    """
    # Imported here: the first address checked pays for it, not every start-up.
    from email_validator import EmailNotValidError, validate_email

    text = value.strip(" ")
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as error:
        if not (reserved_domain_ok and _has_reserved_domain(text)):
            raise FieldError(EMAIL_MESSAGE, field) from error
    try:
        probe = validate_email(text + _PROBE_SUFFIX, check_deliverability=False)
    except EmailNotValidError as error:
        raise FieldError(EMAIL_MESSAGE, field) from error
    return probe.normalized.removesuffix(_PROBE_SUFFIX)


def _has_reserved_domain(text: str) -> bool:
    from email_validator import SPECIAL_USE_DOMAIN_NAMES

    domain = text.rpartition("@")[2].lower()
    return any(domain == name or domain.endswith("." + name) for name in SPECIAL_USE_DOMAIN_NAMES)
