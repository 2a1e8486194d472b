import pytest

from app.procedures.machine import (
    FORBIDDEN_MESSAGE,
    REASON_REQUIRED,
    TRANSITIONS,
    ProcedureEvent,
    ProcedureKind,
    ProcedureState,
    decided_by_cdg,
    transition,
)
from app.rules.errors import DomainError


def test_pending_procedure_is_accepted_or_refused():
    assert transition(ProcedureState.EN_COURS, ProcedureEvent.ACCEPT) is ProcedureState.ACCEPTEE
    assert (
        transition(ProcedureState.EN_COURS, ProcedureEvent.REFUSE, "SIRET inconnu")
        is ProcedureState.REFUSEE
    )


def test_refusal_needs_a_reason():
    with pytest.raises(DomainError, match=REASON_REQUIRED):
        transition(ProcedureState.EN_COURS, ProcedureEvent.REFUSE, "  ")


@pytest.mark.parametrize("state", [ProcedureState.ACCEPTEE, ProcedureState.REFUSEE])
@pytest.mark.parametrize("event", list(ProcedureEvent))
def test_decided_procedure_is_final(state, event):
    with pytest.raises(DomainError, match=FORBIDDEN_MESSAGE):
        transition(state, event, "motif")


def test_table_is_explicit_and_complete():
    assert len(TRANSITIONS) == 2


def test_routing():
    assert not decided_by_cdg(ProcedureKind.GESTION)
    for kind in (ProcedureKind.ADMINISTRATEUR, ProcedureKind.RACHAT, ProcedureKind.FUSION):
        assert decided_by_cdg(kind)
