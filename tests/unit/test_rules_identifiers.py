"""SIRET, SIREN, NAF, PCS and INS/NIR checks and normalisation (DOMAIN.md §6)."""

import pytest

from app.rules.errors import InvalidIdentifier
from app.rules.identifiers import (
    nir_key,
    normalize_ins,
    normalize_naf,
    normalize_pcs,
    normalize_siren,
    normalize_siret,
    siren_of,
)

LYON_SIRET = "21690123100011"  # Ville de Lyon
LA_POSTE_SIRET = "35600000049837"  # La Poste establishment: digit sum multiple of 5, not Luhn


def luhn_ok(digits: str) -> bool:
    """Independent Luhn check used to make sure the fixtures above are what they claim."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def key_of(number13: int) -> str:
    return f"{97 - number13 % 97:02d}"


def test_fixtures_are_what_they_claim() -> None:
    assert luhn_ok(LYON_SIRET)
    assert not luhn_ok(LA_POSTE_SIRET)
    assert sum(int(c) for c in LA_POSTE_SIRET) % 5 == 0


@pytest.mark.parametrize(
    "typed", ["21690123100011", "216 901 231 00011", "216.901.231.00011", " 21690123100011 "]
)
def test_siret_is_returned_compact_without_spaces_or_dots(typed: str) -> None:
    assert normalize_siret(typed) == LYON_SIRET


@pytest.mark.parametrize("typed", ["2169012310001", "216901231000111", "2169012310001A", ""])
def test_siret_without_14_digits_is_refused_with_length_message(typed: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_siret(typed)
    assert str(caught.value) == "Le numéro SIRET doit comporter 14 chiffres."


def test_siret_with_wrong_luhn_key_is_refused_with_key_message() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_siret("21690123100012")
    assert str(caught.value) == "Le numéro SIRET n'est pas valide (clé de contrôle incorrecte)."


def test_la_poste_siret_is_valid_when_digit_sum_is_multiple_of_5() -> None:
    assert normalize_siret(LA_POSTE_SIRET) == LA_POSTE_SIRET


def test_la_poste_siret_with_digit_sum_not_multiple_of_5_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="clé de contrôle incorrecte"):
        normalize_siret("35600000049838")


def test_siren_of_siret_is_its_first_nine_digits() -> None:
    assert siren_of("216 901 231 00011") == "216901231"


def test_siren_is_checked_and_compacted() -> None:
    assert normalize_siren("216 901 231") == "216901231"
    assert normalize_siren("356000000") == "356000000"


def test_siren_errors_are_in_french() -> None:
    with pytest.raises(InvalidIdentifier) as too_short:
        normalize_siren("21690123")
    assert str(too_short.value) == "Le numéro SIREN doit comporter 9 chiffres."
    with pytest.raises(InvalidIdentifier) as wrong_key:
        normalize_siren("216901232")
    assert str(wrong_key.value) == "Le numéro SIREN n'est pas valide (clé de contrôle incorrecte)."


@pytest.mark.parametrize("typed", ["8411Z", "84.11Z", "84.11z", " 8411z "])
def test_naf_code_is_returned_with_dot_and_upper_case_letter(typed: str) -> None:
    assert normalize_naf(typed) == "84.11Z"


@pytest.mark.parametrize("typed", ["841Z", "84.111", "84-11Z", "84.11ZZ", ""])
def test_malformed_naf_code_is_refused(typed: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_naf(typed)
    assert str(caught.value) == "Le code NAF doit avoir la forme 84.11Z."


@pytest.mark.parametrize(
    ("typed", "stored"), [("372d", "372d"), ("372D", "372d"), (" 474b ", "474b")]
)
def test_pcs_code_is_stored_lower_case(typed: str, stored: str) -> None:
    assert normalize_pcs(typed) == stored


@pytest.mark.parametrize("typed", ["37d", "3722", "372dd", "d372", "372é", ""])
def test_malformed_pcs_code_is_refused(typed: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_pcs(typed)
    assert str(caught.value) == "Le code PCS doit comporter 3 chiffres et une lettre (ex. 372d)."


def test_nir_key_is_97_minus_number_mod_97() -> None:
    assert nir_key("1850578006084") == key_of(1850578006084)
    assert nir_key("2950799126111") == key_of(2950799126111)


def test_nir_key_of_corsica_2a_counts_as_19_and_2b_as_18() -> None:
    assert nir_key("253072A073004") == key_of(2530719073004)
    assert nir_key("253072B073004") == key_of(2530718073004)
    assert nir_key("253072a073004") == key_of(2530719073004)


def test_nir_key_pads_to_two_digits() -> None:
    # 97 - (n mod 97) < 10 when n mod 97 > 87: find such a NIR by arithmetic.
    base = 1_850_578_006_000
    number = next(n for n in range(base, base + 1000) if n % 97 > 87)
    assert nir_key(str(number)) == key_of(number)
    assert len(nir_key(str(number))) == 2


def test_nir_key_refuses_a_malformed_nir() -> None:
    with pytest.raises(InvalidIdentifier, match="13 chiffres"):
        nir_key("185057800608")


def test_ins_is_n_followed_by_the_15_character_nir() -> None:
    ins = "N1850578006084" + key_of(1850578006084)
    assert normalize_ins(ins) == ins


def test_ins_accepts_lower_case_n_and_spaces() -> None:
    key = key_of(1850578006084)
    assert normalize_ins(f"n 1 85 05 78 006 084 {key}") == f"N1850578006084{key}"


def test_corsican_ins_is_returned_upper_case() -> None:
    key_2a = key_of(2530719073004)
    key_2b = key_of(2530718073004)
    assert normalize_ins(f"n253072a073004{key_2a}") == f"N253072A073004{key_2a}"
    assert normalize_ins(f"N253072B073004{key_2b}") == f"N253072B073004{key_2b}"


def test_corsican_ins_with_the_key_of_the_other_department_is_refused() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_ins("N253072B073004" + key_of(2530719073004))
    assert str(caught.value) == "La clé du NIR est incorrecte."


def test_ins_without_n_prefix_is_refused() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_ins("1850578006084" + key_of(1850578006084))
    assert str(caught.value) == (
        "L'INS doit commencer par la lettre N suivie des 15 caractères du NIR."
    )


@pytest.mark.parametrize("typed", ["N18505780060849", "N18505780060", "N1850578006084123"])
def test_ins_of_wrong_length_is_refused(typed: str) -> None:
    with pytest.raises(InvalidIdentifier, match="15 caractères"):
        normalize_ins(typed)


def test_ins_with_wrong_key_is_refused() -> None:
    wrong = (int(key_of(1850578006084)) % 97) + 1
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_ins(f"N1850578006084{wrong:02d}")
    assert str(caught.value) == "La clé du NIR est incorrecte."


@pytest.mark.parametrize("typed", ["N185057800608X91", "N253072C07300443", "N1850578006084AB"])
def test_ins_with_letters_outside_corsica_is_refused(typed: str) -> None:
    with pytest.raises(InvalidIdentifier, match="2A ou 2B"):
        normalize_ins(typed)
