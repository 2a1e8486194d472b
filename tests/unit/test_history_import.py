"""Reading rules of the consultations history file (CONTRACT.md §3): outcomes, professionals,
lines and header."""

from __future__ import annotations

import datetime as dt

import pytest

from app.rules.errors import DomainError
from app.visits.consultation_models import Outcome
from app.visits.history_import import (
    HEADERS,
    ProfessionalIndex,
    ProfessionalName,
    parse_history,
    parse_outcome,
)
from app.workforce.importing import ImportIssue, ImportRejected

TODAY = dt.date(2026, 12, 2)
INS = "N280056912345642"
SIRET = "21690123100011"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apte", Outcome.apte),
        ("APTE", Outcome.apte),
        ("apte_restrictions", Outcome.apte_restrictions),
        ("Apte avec restrictions / aménagements", Outcome.apte_restrictions),
        ("apte avec restrictions/amenagements", Outcome.apte_restrictions),
        ("Apte avec aménagements", Outcome.apte_restrictions),
        ("inapte temporaire", Outcome.inapte_temporaire),
        ("Avis differe", Outcome.avis_differe),
        ("  attestation de suivi ", Outcome.attestation_suivi),
    ],
)
def test_an_outcome_is_read_from_its_french_label_or_code_ignoring_case_and_accents(text, expected):
    assert parse_outcome(text) is expected


def test_an_unknown_outcome_lists_the_labels_expected():
    with pytest.raises(DomainError) as error:
        parse_outcome("Apte partiel")
    assert error.value.message.startswith("Avis « Apte partiel » inconnu (attendu : « Attestation")
    assert "« Avis différé »" in error.value.message


@pytest.fixture
def professionals() -> ProfessionalIndex:
    return ProfessionalIndex.of(
        [
            ProfessionalName(1, "MARTIN", "Sophie"),
            ProfessionalName(2, "MARTIN", "Paul"),
            ProfessionalName(3, "LÉVÊQUE", "Anne-Marie"),
            ProfessionalName(4, "D'ALMEIDA", "Jean"),
        ]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MARTIN Sophie", 1),
        ("martin sophie", 1),
        ("Sophie Martin", 1),
        ("Dr Paul MARTIN", 2),
        ("Leveque", 3),
        ("LÉVÊQUE Anne-Marie", 3),
        ("leveque anne marie", 3),
        ("d'almeida", 4),
        ("D ALMEIDA Jean", 4),
    ],
)
def test_a_professional_is_found_by_name_and_first_name_or_by_a_unique_last_name(
    professionals, text, expected
):
    assert professionals.find(text) == expected


def test_a_last_name_shared_by_two_professionals_is_ambiguous(professionals):
    with pytest.raises(DomainError) as error:
        professionals.find("Martin")
    assert "ambigu" in error.value.message
    assert "(MARTIN Paul, MARTIN Sophie)" in error.value.message


def test_an_unknown_professional_is_refused(professionals):
    with pytest.raises(DomainError) as error:
        professionals.find("DUPONT Jean")
    assert error.value.message.startswith("Professionnel « DUPONT Jean » inconnu")


def _rows(*lines: list[str]) -> list[list[str]]:
    return [list(HEADERS), *lines]


def _line(**changes: str) -> list[str]:
    values = {
        "siret": SIRET,
        "ins": INS,
        "day": "15/03/2024",
        "type": "Périodique",
        "pro": "MARTIN Sophie",
        "avis": "Apte",
        "conf": "",
    }
    values.update(changes)
    return list(values.values())


def test_a_good_line_is_read_and_an_empty_confidential_cell_reads_non():
    issues: list[ImportIssue] = []
    [line] = parse_history(_rows(_line(), []), today=TODAY, issues=issues)
    assert issues == []
    assert (line.line, line.visit_date, line.outcome, line.confidential) == (
        2,
        dt.date(2024, 3, 15),
        Outcome.apte,
        False,
    )
    [line] = parse_history(_rows(_line(conf="oUi")), today=TODAY, issues=issues)
    assert line.confidential is True


def test_every_bad_cell_of_a_line_is_reported_with_its_column():
    issues: list[ImportIssue] = []
    parsed = parse_history(
        _rows(_line(day="31/02/2024", avis="Bof", conf="Si", siret="")),
        today=TODAY,
        issues=issues,
    )
    assert parsed == []
    assert [str(i) for i in issues] == [
        "Ligne 2, colonne « SIRET » : SIRET obligatoire : la cellule est vide.",
        "Ligne 2, colonne « Date de la visite » : Date impossible : « 31/02/2024 » n'existe pas "
        "au calendrier. Format attendu JJ/MM/AAAA.",
        "Ligne 2, colonne « Avis » : Avis « Bof » inconnu (attendu : « Attestation de suivi », "
        "« Apte », « Apte avec restrictions / aménagements », « Inapte temporaire », « Inapte », "
        "« Avis différé »).",
        "Ligne 2, colonne « Confidentielle(Oui/Non) » : Valeur « Si » invalide : Oui ou Non "
        "attendu.",
    ]


def test_a_visit_after_today_and_a_shifted_line_are_refused():
    issues: list[ImportIssue] = []
    parse_history(_rows(_line(day="03/12/2026"), [*_line(), "en trop"]), today=TODAY, issues=issues)
    assert [str(i) for i in issues] == [
        "Ligne 2, colonne « Date de la visite » : La visite du 03/12/2026 est à venir : "
        "l'historique ne contient que des visites passées.",
        "Ligne 3 : Valeur « en trop » en colonne 8, au-delà des 7 colonnes du modèle (un « ; » "
        "dans une cellule décale les colonnes).",
    ]


def test_the_header_must_be_the_template_s_accents_and_case_aside():
    rows = [
        [
            "siret",
            "ins",
            "date de la visite",
            "TYPE DE VISITE",
            "Professionnel",
            "Avis",
            "Confidentielle(oui/non)",
        ],
        _line(),
    ]
    assert len(parse_history(rows, today=TODAY, issues=[])) == 1
    with pytest.raises(ImportRejected) as rejected:
        parse_history([["SIRET", "INS"], _line()], today=TODAY, issues=[])
    assert [str(i) for i in rejected.value.issues][:1] == [
        "Ligne 1 : Colonne 3 : « Date de la visite » attendu, colonne absente."
    ]
    with pytest.raises(ImportRejected) as rejected:
        parse_history([list(HEADERS)], today=TODAY, issues=[])
    assert rejected.value.issues[0].message == "Le fichier ne contient aucune ligne de données."
