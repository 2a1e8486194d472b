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


def test_synchronisation_is_validated_by_the_cdg():
    assert decided_by_cdg(ProcedureKind.SYNCHRONISE)


def test_merger_decides_for_every_table_of_a_collectivity():
    """Each table holding a ``collectivity_id`` is named in the merger's docstring (moves,
    stays or removed): a new table cannot be forgotten by the merger."""
    import app.models  # noqa: F401  (every model registered)
    from app.extensions import metadata
    from app.procedures import merger

    tables = {t.name for t in metadata.sorted_tables if "collectivity_id" in t.c}
    undecided = sorted(t for t in tables if f"``{t}``" not in (merger.__doc__ or ""))
    assert undecided == []
    assert {m.__tablename__ for m in merger.MOVED} <= tables
