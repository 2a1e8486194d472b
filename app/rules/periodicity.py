"""Periodicity of the periodic visits and next due date, as dated reference data."""

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .errors import DomainError
from .follow_up import FollowUp
from .formatting import format_date
from .periods import is_in_force

PUBLIC = "public"
PRIVATE = "prive"

DECREE_85_603_ART_20 = "Décret n° 85-603 du 10 juin 1985, art. 20"
DECREE_85_603_ART_21 = "Décret n° 85-603 du 10 juin 1985, art. 21"
DECREE_2025_1193 = "Décret n° 2025-1193 du 8 décembre 2025"
DECREE_2025_355 = "Décret n° 2025-355 du 18 avril 2025, art. R4624-23 du code du travail"


@dataclass(frozen=True)
class PeriodicityRule:
    """Maximum interval between periodic visits of a population, during an effective period.

    ``regime`` is ``public`` or ``prive``; ``population`` is ``tous`` or ``smp`` (public),
    ``SI``, ``SIA``, ``SIR`` (private) or ``certificat``; bounds inclusive, None open-ended.
    """

    regime: str
    population: str
    months: int
    intermediate_months: int | None
    valid_from: date | None
    valid_to: date | None
    legal_reference: str


@dataclass(frozen=True)
class DueDate:
    """Next due date of an agent's periodic visit, the rule applied and a French explanation."""

    due_on: date
    rule: PeriodicityRule
    explanation: str


_UNTIL_DECREE_2025_1193 = date(2025, 12, 11)
_FROM_DECREE_2025_1193 = date(2025, 12, 12)
_FROM_DECREE_2025_355 = date(2025, 10, 1)

DEFAULT_PERIODICITY_RULES: tuple[PeriodicityRule, ...] = (
    # Public regime (fonction publique territoriale), TASSIN-2024 §1.2 until the 2025 decree.
    PeriodicityRule(PUBLIC, "tous", 24, None, None, _UNTIL_DECREE_2025_1193, DECREE_85_603_ART_20),
    # Assumption (DOMAIN.md §5): the doctor sets the SMP frequency, 1 year by default.
    PeriodicityRule(PUBLIC, "smp", 12, None, None, _UNTIL_DECREE_2025_1193, DECREE_85_603_ART_21),
    PeriodicityRule(PUBLIC, "tous", 60, None, _FROM_DECREE_2025_1193, None, DECREE_2025_1193),
    PeriodicityRule(PUBLIC, "smp", 48, 24, _FROM_DECREE_2025_1193, None, DECREE_2025_1193),
    # Attestation de non contre-indication (CACES, electrical clearance), valid 5 years.
    PeriodicityRule(PUBLIC, "certificat", 60, None, _FROM_DECREE_2025_355, None, DECREE_2025_355),
    # Private regime (code du travail).
    PeriodicityRule(PRIVATE, "SI", 60, None, None, None, "Art. R4624-16 du code du travail"),
    PeriodicityRule(
        PRIVATE, "SIA", 36, None, None, None, "Art. R4624-16 et R4624-17 du code du travail"
    ),
    PeriodicityRule(PRIVATE, "SIR", 48, 24, None, None, "Art. R4624-28 du code du travail"),
    PeriodicityRule(PRIVATE, "certificat", 60, None, _FROM_DECREE_2025_355, None, DECREE_2025_355),
)

_VISIT_LABELS: dict[str, str] = {
    "tous": "VIP",
    "smp": "visite de surveillance médicale particulière",
    "SI": "VIP",
    "SIA": "visite de suivi adapté",
    "SIR": "examen médical d'aptitude",
    "certificat": "attestation de non contre-indication",
}


def add_months(d: date, months: int) -> date:
    """Add calendar months, clamping to the end of a shorter month (29/02/2024 + 12 -> 28/02/2025).

    Source: code de procédure civile art. 641 (délai en mois: même quantième, à défaut le
    dernier jour du mois).
    """
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def population_of(*, regime: str, level: FollowUp, particular_surveillance: bool = False) -> str:
    """Periodicity population of an agent from his follow-up level.

    Source: décret n° 85-603 art. 21 and décret n° 2025-1193 (public: agents exposed to a
    particular risk, i.e. any SIA or SIR risk, or declared under SMP are ``smp``, others
    ``tous``); code du travail R4624-16 to R4624-28 (private: the level itself) — DOMAIN.md §5.
    """
    if regime == PUBLIC:
        return "smp" if particular_surveillance or level != FollowUp.SI else "tous"
    if regime == PRIVATE:
        return level.value
    raise DomainError(f"Régime inconnu : « {regime} » (public ou prive attendu).")


def rule_on(
    rules: Sequence[PeriodicityRule], regime: str, population: str, on: date
) -> PeriodicityRule:
    """The periodicity rule in force on a date for a regime and a population.

    Source: DOMAIN.md §5 (dated rules, evaluated as of a date).
    """
    found = [
        r for r in rules if r.regime == regime and r.population == population and is_in_force(r, on)
    ]
    if len(found) != 1:
        problem = "Aucune règle" if not found else "Plusieurs règles"
        raise DomainError(
            f"{problem} de périodicité en vigueur le {format_date(on)} pour le régime "
            f"« {regime} » et la population « {population} »."
        )
    return found[0]


def _interval(months: int) -> str:
    if months % 12:
        return f"{months} mois"
    years = months // 12
    return "1 an" if years == 1 else f"{years} ans"


def describe_rule(rule: PeriodicityRule) -> str:
    """French description of a rule, e.g. « VIP tous les 5 ans (Décret n° 2025-1193 ...) ».

    Source: DOMAIN.md §5 (the due list explains each date with the rule and its reference).
    """
    label = _VISIT_LABELS.get(rule.population, f"visite ({rule.population})")
    every = "chaque année" if rule.months == 12 else f"tous les {_interval(rule.months)}"
    text = f"{label} {every}"
    if rule.intermediate_months is not None:
        text += f", visite intermédiaire au plus tard {_interval(rule.intermediate_months)} après"
    return f"{text} ({rule.legal_reference})"


def intermediate_visit_on(last_visit: date, rule: PeriodicityRule) -> date | None:
    """Latest date of the intermediate visit after a visit, when the rule has one.

    Source: décret n° 2025-1193 (public SMP: at most 2 years after), code du travail R4624-28
    (private SIR: at most 2 years after) — DOMAIN.md §5.
    """
    if rule.intermediate_months is None:
        return None
    return add_months(last_visit, rule.intermediate_months)


def next_due(
    *,
    regime: str,
    population: str,
    last_visit: date | None,
    entry_date: date,
    evaluated_on: date,
    rules: Sequence[PeriodicityRule] = DEFAULT_PERIODICITY_RULES,
) -> DueDate:
    """Next periodic visit: last honoured visit + periodicity of the rule in force on ``evaluated_on``.

    Source: décret n° 85-603 art. 20-21, décret n° 2025-1193 du 8 décembre 2025 (public),
    code du travail R4624-16 to R4624-28 (private) — DOMAIN.md §5. An agent never seen is
    due from his entry date.
    """
    rule = rule_on(rules, regime, population, evaluated_on)
    if last_visit is None:
        return DueDate(
            entry_date,
            rule,
            f"Jamais vu, entré le {format_date(entry_date)} ; {describe_rule(rule)}",
        )
    return DueDate(
        add_months(last_visit, rule.months),
        rule,
        f"Dernière visite le {format_date(last_visit)} ; {describe_rule(rule)}",
    )
