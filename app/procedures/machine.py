"""State machine of a procedure (démarche, SPEC I3): an explicit transitions table."""

from __future__ import annotations

from enum import StrEnum

from app.rules.errors import DomainError


class ProcedureKind(StrEnum):
    SYNCHRONISE = "synchronise"  # first person of an existing member
    GESTION = "gestion"  # « Demander la gestion d'un adhérent »
    ADMINISTRATEUR = "administrateur"  # « Modifier l'administrateur d'un compte adhérent »
    RACHAT = "rachat"  # « Signaler un rachat de société ou un changement de dirigeant »
    FUSION = "fusion"  # « Demander la fusion / absorption d'entreprises »


# Who decides: the target collectivity's administrator (primary account) or the CDG.
DECIDED_BY_ADMINISTRATOR = frozenset({ProcedureKind.GESTION})
DECIDED_BY_CDG = frozenset(
    {
        ProcedureKind.SYNCHRONISE,
        ProcedureKind.ADMINISTRATEUR,
        ProcedureKind.RACHAT,
        ProcedureKind.FUSION,
    }
)


class ProcedureState(StrEnum):
    EN_COURS = "en_cours"
    ACCEPTEE = "acceptee"
    REFUSEE = "refusee"


STATE_LABELS: dict[ProcedureState, str] = {
    ProcedureState.EN_COURS: "En cours",
    ProcedureState.ACCEPTEE: "Accepté",
    ProcedureState.REFUSEE: "Refusé",
}


class ProcedureEvent(StrEnum):
    ACCEPT = "accept"
    REFUSE = "refuse"


# (state, event) -> new state. Anything else is forbidden: a decided procedure is final.
TRANSITIONS: dict[tuple[ProcedureState, ProcedureEvent], ProcedureState] = {
    (ProcedureState.EN_COURS, ProcedureEvent.ACCEPT): ProcedureState.ACCEPTEE,
    (ProcedureState.EN_COURS, ProcedureEvent.REFUSE): ProcedureState.REFUSEE,
}

FORBIDDEN_MESSAGE = "Cette démarche a déjà été traitée."
REASON_REQUIRED = "Indiquez le motif du refus."


def transition(
    state: ProcedureState, event: ProcedureEvent, reason: str | None = None
) -> ProcedureState:
    """The state after an event; a forbidden move or a refusal without reason is a DomainError."""
    try:
        target = TRANSITIONS[(state, event)]
    except KeyError as error:
        raise DomainError(FORBIDDEN_MESSAGE) from error
    if event is ProcedureEvent.REFUSE and not (reason or "").strip():
        raise DomainError(REASON_REQUIRED)
    return target


def decided_by_cdg(kind: ProcedureKind) -> bool:
    """True when the CDG processes this kind of procedure (queue « Démarches »)."""
    return kind in DECIDED_BY_CDG
