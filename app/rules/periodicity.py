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
LAW_2021_1018_MID_CAREER = (
    "Art. L4624-2-2 du code du travail (loi n° 2021-1018 du 2 août 2021, art. 22)"
)


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
# Loi n° 2021-1018 du 2 août 2021, art. 22 (visite de mi-carrière): in force on 31/03/2022.
_FROM_LAW_2021_1018 = date(2022, 3, 31)
MID_CAREER = "mi_carriere"

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
    # Mid-career visit: ``months`` is the age that sets its calendar year (540 months = 45 years).
    PeriodicityRule(
        PRIVATE, MID_CAREER, 540, None, _FROM_LAW_2021_1018, None, LAW_2021_1018_MID_CAREER
    ),
)

_VISIT_LABELS: dict[str, str] = {
    "tous": "VIP",
    "smp": "visite de surveillance médicale particulière",
    "SI": "VIP",
    "SIA": "visite de suivi adapté",
    "SIR": "examen médical d'aptitude",
    "certificat": "attestation de non contre-indication",
    MID_CAREER: "visite de mi-carrière",
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
    if rule.population == MID_CAREER:
        return (
            f"{label} dans l'année civile des {_interval(rule.months)} de l'agent "
            f"({rule.legal_reference})"
        )
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


# ----------------------------------------------------------------------------------------------
# The due list (SPEC E3): every due visit of an agent as of a date, each with its explanation
# ----------------------------------------------------------------------------------------------

KIND_PERIODIC = "periodique"
KIND_INTERMEDIATE = "intermediaire"
KIND_CERTIFICATE = "certificat"
KIND_DOCTOR = "medecin"
KIND_MID_CAREER = "mi_carriere"
CERTIFICATE = "certificat"

# Assumption (DOMAIN.md §5 « the last honoured visit that counts »): the visits with an opinion
# on the worker's fitness or follow-up count; a pre-resumption, end-of-career or post-exposure
# visit does not replace the periodic one, nor a deferred opinion (not given yet).
COUNTING_VISIT_TYPES: frozenset[str] = frozenset(
    {"embauche", "periodique", "mi_carriere", "reprise", "occasionnelle"}
)
NOT_COUNTING_OUTCOMES: frozenset[str] = frozenset({"avis_differe"})
# Aptitude opinions (before the certificate rule): they count as the certificate for its term.
APTITUDE_OUTCOMES: frozenset[str] = frozenset({"apte", "apte_restrictions"})
# From the certificate rule on, a visit concluded without contra-indication delivers it.
CERTIFICATE_OUTCOMES: frozenset[str] = frozenset({"apte", "apte_restrictions", "attestation_suivi"})


@dataclass(frozen=True)
class Visit:
    """An honoured visit of an agent, as plain values."""

    visit_date: date
    visit_type: str
    outcome: str
    by_doctor: bool = True
    next_visit_on: date | None = None
    is_smp: bool = False


@dataclass(frozen=True)
class AgentFacts:
    """What an agent's due dates depend on, as of the evaluation date.

    ``level`` is the follow-up of his positions (raised by declared situations);
    ``certificate_since`` the day from which a certificate is required (None: not required);
    ``visits`` his honoured visits, any order.
    """

    regime: str
    entry_date: date
    level: FollowUp = FollowUp.SI
    particular_surveillance: bool = False
    certificate_since: date | None = None
    certificate_risks: tuple[str, ...] = ()
    visits: tuple[Visit, ...] = ()
    birth_date: date | None = None


@dataclass(frozen=True)
class DueItem:
    """One row of the due list: kind, date, legal reference and French explanation."""

    kind: str
    due_on: date
    legal_reference: str
    explanation: str


def counts_for_periodicity(visit: Visit) -> bool:
    """Does a visit restart the periodicity clock?

    Source: DOMAIN.md §5 (« date of the last honoured visit that counts »); assumption listed
    in COUNTING_VISIT_TYPES / NOT_COUNTING_OUTCOMES.
    """
    return visit.visit_type in COUNTING_VISIT_TYPES and visit.outcome not in NOT_COUNTING_OUTCOMES


def gives_certificate(visit: Visit, rule: PeriodicityRule) -> bool:
    """Does a visit give (or count as) the attestation de non contre-indication?

    Source: décret n° 2025-355 du 18 avril 2025 (art. R4624-23 code du travail): an aptitude
    opinion issued before the rule's start counts as the certificate for its term; from then
    on, a visit concluded without contra-indication delivers it (DOMAIN.md §4).
    """
    if rule.valid_from is not None and visit.visit_date < rule.valid_from:
        return visit.outcome in APTITUDE_OUTCOMES
    return visit.outcome in CERTIFICATE_OUTCOMES


def _latest(visits: Sequence[Visit]) -> Visit | None:
    return max(visits, key=lambda v: v.visit_date, default=None)


def due_items(
    facts: AgentFacts,
    evaluated_on: date,
    rules: Sequence[PeriodicityRule] = DEFAULT_PERIODICITY_RULES,
) -> list[DueItem]:
    """The due visits of an agent evaluated on a date, each explained: periodic (or the date the
    doctor set, never beyond the legal maximum), intermediate (public SMP, private SIR) and
    certificate renewal.

    Source: décret n° 85-603 art. 20-21, décret n° 2025-1193 du 8 décembre 2025 (public), code
    du travail R4624-16 to R4624-28 (private), décret n° 2025-355 (certificates) — DOMAIN.md
    §4-§5. Visits after the evaluation date are ignored; an agent never seen is due from his
    entry date. Raises DomainError when no rule (or several) is in force.
    """
    visits = tuple(
        v for v in facts.visits if v.visit_date <= evaluated_on and counts_for_periodicity(v)
    )
    latest = _latest(visits)
    surveillance = facts.particular_surveillance or bool(latest and latest.is_smp)
    population = population_of(
        regime=facts.regime, level=facts.level, particular_surveillance=surveillance
    )
    rule = rule_on(rules, facts.regime, population, evaluated_on)
    items: list[DueItem] = []
    described = describe_rule(rule)
    if latest is None:
        items.append(
            DueItem(
                KIND_PERIODIC,
                facts.entry_date,
                rule.legal_reference,
                f"Jamais vu depuis son entrée le {format_date(facts.entry_date)} ; {described}",
            )
        )
    else:
        # With an intermediate visit, the doctor's visit restarts the clock; the visit between
        # (a nurse's) is the intermediate one.
        doctors = [v for v in visits if v.by_doctor] if rule.intermediate_months else []
        anchor = _latest(doctors) or latest
        legal = add_months(anchor.visit_date, rule.months)
        fact = f"Dernière visite le {format_date(anchor.visit_date)}"
        doctor_on = latest.next_visit_on
        if doctor_on is not None and doctor_on > latest.visit_date and doctor_on < legal:
            items.append(
                DueItem(
                    KIND_DOCTOR,
                    doctor_on,
                    rule.legal_reference,
                    f"Dernière visite le {format_date(latest.visit_date)} ; prochaine visite "
                    f"fixée par le médecin au {format_date(doctor_on)} (au plus tard le "
                    f"{format_date(legal)} : {described})",
                )
            )
        else:
            if doctor_on is not None and doctor_on >= legal:
                fact += (
                    f" ; date fixée par le médecin ({format_date(doctor_on)}) ramenée au "
                    "maximum légal"
                )
            items.append(
                DueItem(KIND_PERIODIC, legal, rule.legal_reference, f"{fact} ; {described}")
            )
        intermediate = intermediate_visit_on(anchor.visit_date, rule)
        since = [v for v in visits if v.visit_date > anchor.visit_date]
        if intermediate is not None and anchor.by_doctor and not since and intermediate < legal:
            items.append(
                DueItem(
                    KIND_INTERMEDIATE,
                    intermediate,
                    rule.legal_reference,
                    f"Dernière visite médicale le {format_date(anchor.visit_date)} ; visite "
                    f"intermédiaire au plus tard {_interval(rule.intermediate_months or 0)} "
                    f"après ({rule.legal_reference})",
                )
            )
    if facts.certificate_since is not None:
        item = _certificate_item(facts, visits, evaluated_on, rules)
        if item is not None:
            items.append(item)
    mid_career = mid_career_item(facts, evaluated_on, rules)
    if mid_career is not None:
        items.append(mid_career)
    return items


def mid_career_year(birth_date: date, rule: PeriodicityRule) -> int:
    """The calendar year of the mid-career visit: the year of the birthday of the rule's age.

    Source: art. L4624-2-2 du code du travail (loi n° 2021-1018 du 2 août 2021): « durant
    l'année civile du quarante-cinquième anniversaire » — DOMAIN.md §5.
    """
    return birth_date.year + rule.months // 12


def mid_career_item(
    facts: AgentFacts,
    evaluated_on: date,
    rules: Sequence[PeriodicityRule] = DEFAULT_PERIODICITY_RULES,
) -> DueItem | None:
    """The private regime's mid-career visit, due by 31/12 of the year of the 45th birthday.

    Source: art. L4624-2-2 du code du travail (loi n° 2021-1018 du 2 août 2021, art. 22, in
    force on 31/03/2022) — DOMAIN.md §5. Listed from 1 January of that year (and after it, until
    it is done: a missed visit stays overdue); done by an honoured mid-career visit from that
    1 January. An agent whose year came before the rule's start owes none; no rule in force
    (the public regime): nothing.
    """
    if facts.birth_date is None:
        return None
    found = [
        r
        for r in rules
        if r.regime == facts.regime and r.population == MID_CAREER and is_in_force(r, evaluated_on)
    ]
    if len(found) != 1:
        return None
    rule = found[0]
    year = mid_career_year(facts.birth_date, rule)
    if evaluated_on.year < year:
        return None  # not this year yet
    if rule.valid_from is not None and year < rule.valid_from.year:
        return None  # the agent's year came before the rule
    window_start = date(year, 1, 1)
    if any(
        v.visit_type == MID_CAREER and window_start <= v.visit_date <= evaluated_on
        for v in facts.visits
    ):
        return None
    return DueItem(
        KIND_MID_CAREER,
        date(year, 12, 31),
        rule.legal_reference,
        f"Né(e) le {format_date(facts.birth_date)} : {_interval(rule.months)} en {year}, "
        f"aucune visite de mi-carrière depuis le {format_date(window_start)} ; "
        f"{describe_rule(rule)}",
    )


def _certificate_item(
    facts: AgentFacts,
    visits: Sequence[Visit],
    evaluated_on: date,
    rules: Sequence[PeriodicityRule],
) -> DueItem | None:
    found = [
        r
        for r in rules
        if r.regime == facts.regime and r.population == CERTIFICATE and is_in_force(r, evaluated_on)
    ]
    if len(found) != 1:
        return None  # no certificate before the decree (DOMAIN.md §4)
    rule = found[0]
    what = ", ".join(facts.certificate_risks) or "risque du poste"
    described = describe_rule(rule)
    last = _latest([v for v in visits if gives_certificate(v, rule)])
    if last is None:
        since = facts.certificate_since or facts.entry_date
        if rule.valid_from is not None:
            since = max(since, rule.valid_from)
        return DueItem(
            KIND_CERTIFICATE,
            since,
            rule.legal_reference,
            f"Aucune attestation ni avis d'aptitude ({what}) : requise avant l'affectation ; "
            f"{described}",
        )
    before = rule.valid_from is not None and last.visit_date < rule.valid_from
    fact = "Avis d'aptitude" if before else "Attestation délivrée"
    return DueItem(
        KIND_CERTIFICATE,
        add_months(last.visit_date, rule.months),
        rule.legal_reference,
        f"{fact} le {format_date(last.visit_date)} ({what}) ; {described}",
    )
