"""IBAN and BIC checks of SEPA mandates (issue 18), with French messages."""

from __future__ import annotations

import pytest

from app.payments.models import mask_iban
from app.rules.sepa import SepaIdentifierError, format_iban, normalise_bic, normalise_iban


def test_a_valid_french_iban_is_stored_compact_and_upper_case():
    assert normalise_iban("fr76 3000 6000 0112 3456 7890 189") == "FR7630006000011234567890189"
    assert format_iban("FR7630006000011234567890189") == "FR76 3000 6000 0112 3456 7890 189"


def test_an_iban_with_a_wrong_key_is_refused_in_french():
    with pytest.raises(SepaIdentifierError, match="clé de contrôle est fausse"):
        normalise_iban("FR7630006000011234567890188")


@pytest.mark.parametrize(
    ("value", "message"),
    [("", "obligatoire"), ("FR76", "format non reconnu"), ("FR76 3000 6000 01XX", "IBAN invalide")],
)
def test_malformed_ibans_are_refused(value, message):
    with pytest.raises(SepaIdentifierError, match=message):
        normalise_iban(value)


def test_bic_of_8_or_11_characters():
    assert normalise_bic("bdfe frpp cct") == "BDFEFRPPCCT"
    assert normalise_bic("AGRIFRPP") == "AGRIFRPP"
    with pytest.raises(SepaIdentifierError, match="BIC invalide"):
        normalise_bic("AGRI12")


def test_employers_see_only_the_last_four_characters_of_the_iban():
    assert mask_iban("FR7630006000011234567890189") == "FR76 **** **** 0189"
