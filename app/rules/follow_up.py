"""Follow-up type (SI / SIA / SIR) of a work position from its risks, as dated reference data."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .errors import DomainError
from .formatting import format_date
from .periods import is_in_force


class FollowUp(StrEnum):
    """Individual follow-up of a worker: simple, adapted or reinforced."""

    SI = "SI"
    SIA = "SIA"
    SIR = "SIR"


FOLLOW_UP_LABELS: dict[FollowUp, str] = {
    FollowUp.SI: "suivi individuel simple (SI)",
    FollowUp.SIA: "suivi individuel adapté (SIA)",
    FollowUp.SIR: "suivi individuel renforcé (SIR)",
}

_RANK: dict[FollowUp, int] = {FollowUp.SI: 0, FollowUp.SIA: 1, FollowUp.SIR: 2}


def follow_up_rank(level: FollowUp) -> int:
    """Order of the follow-up levels: SI < SIA < SIR.

    Source: code du travail R4624-10 to R4624-28 (SIA and SIR add to the simple follow-up).
    """
    return _RANK[level]


def highest(levels: Iterable[FollowUp]) -> FollowUp:
    """The strongest follow-up of several (SI when there is none).

    Source: DOMAIN.md §4 (SIR if any SIR risk, else SIA if any SIA risk, else SI).
    """
    return max(levels, key=follow_up_rank, default=FollowUp.SI)


@dataclass(frozen=True)
class RiskEffect:
    """Effect of a risk on the follow-up during an effective period (bounds inclusive, None open)."""

    risk_code: str
    effect: FollowUp
    requires_certificate: bool
    valid_from: date | None
    valid_to: date | None
    legal_reference: str


@dataclass(frozen=True)
class FollowUpResult:
    """Follow-up of a position on a date, with the risks needing a certificate and the reasons."""

    level: FollowUp
    certificate_required: bool
    certificate_risks: tuple[str, ...]
    reasons: tuple[str, ...]


RISK_LABELS: dict[str, str] = {
    "amiante": "À l'amiante",
    "bio_3_4": "Aux agents biologiques des groupes 3 et 4",
    "hyperbare": "Au risque hyperbare",
    "nuit": "Au travail de nuit",
    "electromagnetique": "Aux champs électromagnétiques",
    "cmr": "Aux agents cancérogènes, mutagènes ou toxiques pour la reproduction (CMR)",
    "electrique": "Opérations sur installations électriques (sauf H0B0)",
    "chute_echafaudage": "Chute de hauteur (montage/démontage d'échafaudages)",
    "caces": "Conduite d'équipements (CACES)",
    "plomb": "Au plomb",
    "rayonnements": "Aux rayonnements ionisants",
    "charges_55kg": "Port régulier de charges de plus de 55 kg",
    "bio_2": "Aux agents biologiques de groupe 2",
    "autre": "À un autre risque",
}

RISK_PRECISION: dict[str, str | None] = {code: None for code in RISK_LABELS} | {
    "rayonnements": "categorie_radiation",
    "caces": "categories_caces",
    "autre": "description",
}

SIR_REFERENCE = "Art. R4624-23 du code du travail"
SIA_REFERENCE = "Art. R4624-18 du code du travail"
DECREE_2025_355 = "Décret n° 2025-355 du 18 avril 2025, art. R4624-23 du code du travail"
_UNTIL_DECREE_2025_355 = date(2025, 9, 30)
_FROM_DECREE_2025_355 = date(2025, 10, 1)


def _open_ended(code: str, effect: FollowUp, reference: str) -> RiskEffect:
    return RiskEffect(code, effect, False, None, None, reference)


def _sir_then_certificate(code: str) -> tuple[RiskEffect, RiskEffect]:
    return (
        RiskEffect(code, FollowUp.SIR, False, None, _UNTIL_DECREE_2025_355, SIR_REFERENCE),
        RiskEffect(code, FollowUp.SI, True, _FROM_DECREE_2025_355, None, DECREE_2025_355),
    )


DEFAULT_RISK_EFFECTS: tuple[RiskEffect, ...] = (
    _open_ended("amiante", FollowUp.SIR, SIR_REFERENCE),
    _open_ended("bio_3_4", FollowUp.SIR, SIR_REFERENCE),
    _open_ended("hyperbare", FollowUp.SIR, SIR_REFERENCE),
    _open_ended("nuit", FollowUp.SIA, SIA_REFERENCE),
    _open_ended("electromagnetique", FollowUp.SIA, SIA_REFERENCE),
    _open_ended("cmr", FollowUp.SIR, SIR_REFERENCE),
    *_sir_then_certificate("electrique"),
    _open_ended("chute_echafaudage", FollowUp.SIR, SIR_REFERENCE),
    *_sir_then_certificate("caces"),
    _open_ended("plomb", FollowUp.SIR, SIR_REFERENCE),
    _open_ended("rayonnements", FollowUp.SIR, SIR_REFERENCE),
    _open_ended("charges_55kg", FollowUp.SIR, SIR_REFERENCE),
    _open_ended("bio_2", FollowUp.SIA, SIA_REFERENCE),
    _open_ended("autre", FollowUp.SIR, SIR_REFERENCE),
)

# Agent situations declared with a visit request that call for at least an adapted follow-up.
SITUATIONS_RAISING_TO_SIA: frozenset[str] = frozenset(
    {"travailleur_handicape", "invalidite", "femme_enceinte", "apprenti_mineur"}
)


def effect_on(effects: Iterable[RiskEffect], risk_code: str, on: date) -> RiskEffect:
    """The effect of a risk in force on a date.

    Source: DOMAIN.md §4 (each effect is data with an effective period and its legal
    reference); raises DomainError when no row, or more than one, covers the date.
    """
    found = [e for e in effects if e.risk_code == risk_code and is_in_force(e, on)]
    label = RISK_LABELS.get(risk_code, risk_code)
    if not found:
        raise DomainError(
            f"Aucune règle de suivi n'est en vigueur le {format_date(on)} "
            f"pour le risque « {label} »."
        )
    if len(found) > 1:
        raise DomainError(
            f"Plusieurs règles de suivi se chevauchent le {format_date(on)} "
            f"pour le risque « {label} »."
        )
    return found[0]


def _reason(effect: RiskEffect) -> str:
    label = RISK_LABELS.get(effect.risk_code, effect.risk_code)
    outcome = FOLLOW_UP_LABELS[effect.effect]
    if effect.requires_certificate:
        outcome += " avec attestation de non contre-indication"
    return f"{label} : {outcome} ({effect.legal_reference})."


def follow_up(risks: Iterable[str], effects: Sequence[RiskEffect], on: date) -> FollowUpResult:
    """Follow-up of a position on a date from its risks: SIR if any SIR, else SIA if any SIA, else SI.

    Source: code du travail R4624-18 and R4624-23 (as in force on the date, including décret
    n° 2025-355 du 18 avril 2025 from 01/10/2025), SSTRN-EXTRANET, DOMAIN.md §4.
    A certificate (attestation de non contre-indication) is required when any risk's effect
    in force requires one.
    """
    in_force = [effect_on(effects, code, on) for code in dict.fromkeys(risks)]
    if not in_force:
        return FollowUpResult(
            FollowUp.SI,
            False,
            (),
            (f"Aucun risque particulier : {FOLLOW_UP_LABELS[FollowUp.SI]}.",),
        )
    certificate_risks = tuple(e.risk_code for e in in_force if e.requires_certificate)
    return FollowUpResult(
        level=highest(e.effect for e in in_force),
        certificate_required=bool(certificate_risks),
        certificate_risks=certificate_risks,
        reasons=tuple(_reason(e) for e in in_force),
    )


def raise_for_situations(level: FollowUp, situations: Iterable[str]) -> FollowUp:
    """Raise an agent's follow-up to at least SIA for the situations declared with a request.

    Source: code du travail R4624-17 (travailleur handicapé, titulaire d'une pension
    d'invalidité) and R4624-18/R4624-19 (femme enceinte, travailleur de moins de 18 ans),
    DOMAIN.md §4. Other situations leave the level unchanged.
    """
    if SITUATIONS_RAISING_TO_SIA.intersection(situations):
        return highest((level, FollowUp.SIA))
    return level
