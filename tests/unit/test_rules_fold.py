"""Name keys: accent- and case-insensitive search and French sort of people's names."""

import pytest

from app.rules.formatting import fold
from app.rules.names import KEY_LENGTH, agent_name_keys, name_key, prefix_bounds


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("GÉRARD", "gerard"),
        ("Guérin", "guerin"),
        ("  Émile   ZOLA ", "emile zola"),
        ("Œuvray", "oeuvray"),
        ("LÆTITIA", "laetitia"),
        ("Straße", "strasse"),
        ("Jean-Pierre", "jean pierre"),
        ("D'ARTAGNAN", "d artagnan"),
        ("d’Artagnan", "d artagnan"),
        ("N'Diaye–Mbaye", "n diaye mbaye"),
        ("Søren Łukasz", "soren lukasz"),
        ("Ç.", "c"),
    ],
)
def test_a_name_key_ignores_case_accents_ligatures_and_punctuation(typed: str, key: str) -> None:
    assert name_key(typed) == key


def test_fold_drops_accents_and_ligatures_and_lowers_case() -> None:
    assert fold("ÉLODIE Cœur") == "elodie coeur"
    assert fold("Straße") == "strasse"


def test_the_name_key_joins_its_parts_and_never_exceeds_the_column() -> None:
    assert name_key("DUPONT", "Jean-Marc") == "dupont jean marc"
    assert name_key(None, "Léa", "") == "lea"
    assert len(name_key("ß" * 100, "Œ" * 100)) == KEY_LENGTH


def test_keys_sort_names_in_french_dictionary_order() -> None:
    names = ["Günther", "GUÉRIN", "gérard", "Dupuis", "GÉRARD", "Émile", "Eric", "DUPONT", "Zoé"]
    ordered = sorted(names, key=name_key)
    assert ordered == [
        "DUPONT",
        "Dupuis",
        "Émile",
        "Eric",
        "gérard",
        "GÉRARD",
        "GUÉRIN",
        "Günther",
        "Zoé",
    ]
    # A shorter name comes before the longer one it begins (DUPONT before DUPONTEL).
    assert name_key("DUPONT", "Zoé") < name_key("DUPONTEL", "Anne")


def test_an_agent_is_keyed_by_the_name_shown_and_by_the_birth_name_it_hides() -> None:
    assert agent_name_keys("DUPONT", "MARTIN", "Léa") == ("martin lea", "dupont lea")
    assert agent_name_keys("GÉRARD", None, "Éric") == ("gerard eric", None)
    # The same name typed differently hides nothing.
    assert agent_name_keys("LE GALL", "Le-Gall", "Anne") == ("le gall anne", None)


@pytest.mark.parametrize(
    ("typed", "bounds"),
    [
        ("DUP", ("dup", "duq")),
        ("gérard", ("gerard", "gerare")),
        ("Dupont Lé", ("dupont le", "dupont lf")),
        ("z", ("z", "{")),
    ],
)
def test_a_prefix_is_the_range_of_the_keys_it_begins(typed: str, bounds: tuple[str, str]) -> None:
    assert prefix_bounds(typed) == bounds
    low, high = bounds
    assert low <= name_key(typed + "x") < high


def test_nothing_to_search_gives_no_range() -> None:
    assert prefix_bounds("  - ' ") is None
    assert prefix_bounds("") is None


def test_the_range_never_stops_on_a_surrogate_or_beyond_unicode() -> None:
    assert prefix_bounds("\ud7ff") == ("\ud7ff", "\ue000")
    assert prefix_bounds("\U0010ffff") == ("\U0010ffff", None)
