"""The common-password rule (ANSSI R22) on plain values."""

from __future__ import annotations

import pytest

from app.rules.passwords import is_common_password

COMMON = frozenset({"password", "azerty", "soleil", "motdepasse"})


@pytest.mark.parametrize(
    "password",
    ["password", "Password1!", "Azerty1!", "!Soleil2024", "P@ssw0rd!", "MOTDEPASSE-1"],
)
def test_a_listed_word_dressed_with_digits_signs_or_leet_is_common(password):
    assert is_common_password(password, COMMON)


@pytest.mark.parametrize(
    "password",
    ["Hortensia-Bleu-42", "Azerty-Lyon-Mairie-2026", "Soleil de mars sur la Saône", "Xq7!mZp2Lk"],
)
def test_a_long_or_unlisted_password_is_not_common(password):
    assert not is_common_password(password, COMMON)


def test_a_listed_word_buried_in_more_than_six_signs_is_not_refused():
    assert not is_common_password("1234567azerty", COMMON)
    assert is_common_password("123456azerty", COMMON)
