"""Merger / absorption (« Demander la fusion/absorption d'entreprises », SPEC I3, issue 16),
processed by the CDG: the absorbed collectivity's workforce and visit history move to the
absorbing one, the absorbed one ends its membership and its users lose their access.

Everything runs in the caller's transaction, one set-based statement per table (no per-row
loop); any failure half-way is re-raised as a ``MergerError`` and the caller rolls the whole
transaction back: nothing moved, the procedure is still « En cours ».

What MOVES to the absorbing collectivity (``collectivity_id`` rewritten):

- ``agent`` and the agent's career: ``contract``, ``staged_agent_change``;
- ``work_position`` and ``position_risk``. A position whose (PCS, label) already exists in the
  absorbing collectivity (the unique key) is renamed « <label> (ex-<absorbed name>) » before it
  moves: its risks and the contracts that hold it are kept as they are (merging two positions
  would silently change the risks, hence the follow-up, of the agents holding one of them);
- the visit history: ``appointment``, ``consultation`` (medical notes and accesses follow by
  their consultation / agent id), ``visit_request`` and ``visit_request_attachment``,
  ``due_date`` (the due list), ``statutory_request`` (its medical report follows by request);
- ``prevention_registration`` (an agent's seats in prevention sessions);
- ``employer_document`` / ``published_document`` rows that name a moved agent (an agent's
  documents follow the agent; the collectivity's own documents stay);
- ``plage.reserved_for_id``: plages reserved for the absorbed collectivity are now reserved for
  the absorbing one (the absorbed one has nobody left to convoke).

What STAYS with the absorbed collectivity (the one that received or signed them):

- accounting: ``invoice``, ``invoice_line``, ``invoice_payment``, ``sepa_mandate``,
  ``sepa_debit`` (an invoice stays with the collectivity it was addressed to);
- declarations: ``headcount`` (annual declarations), ``declaration_reminder``;
- its contract and organisation: ``convention`` (ended, see below), ``contact``, ``health_team_member``,
  ``office_collectivity``, ``acfi_plan`` / ``acfi_day`` (inspections of its premises),
  ``prevention_action``, ``plage_refusal`` (its own refusals), ``archiving_intervention``
  (archiving days done for it), the documents that name no agent;
- records: ``audit_log``, ``procedure``, ``membership_application``.

What is REMOVED: the ``agent_assignment`` rows of the moved agents (granted by the absorbed
collectivity's primary accounts to its secondary accounts: the absorbing collectivity's
administrator assigns its own), and every ``portal_membership`` of the absorbed collectivity
(its former users lose access at their next request; they are told by e-mail).

The absorbed collectivity's conventions are terminated: one in force ends on the processing date
and loses its tacit renewal (nothing is billed or provided under it afterwards); one that had not
started yet is deleted (nothing was provided under it; the audit log counts it).

The absorbed collectivity's ``membership_end`` becomes the processing date (kept when it already
ended earlier): that starts its retention clock (``app.rules.retention``: its remaining personal
data, e.g. contacts, are erased three months later; the moved agents are no longer its own).

Refused, nothing written: a merger into itself, an absorbed or absorbing collectivity whose
membership has ended, agents present in both collectivities with the same INS (their records
must be merged by hand first).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import aliased

from app.accounts.models import PortalMembership
from app.core import audit, clock
from app.documents.models import EmployerDocument, PreventionRegistration, PublishedDocument
from app.extensions import db
from app.planning.models import Appointment, Plage
from app.referential.models import Collectivity, Convention
from app.rules.errors import DomainError
from app.rules.formatting import fold
from app.statutory.models import StatutoryRequest
from app.tenancy import system_scope
from app.visits.consultation_models import Consultation
from app.visits.due_models import DueDate
from app.visits.models import VisitRequest, VisitRequestAttachment
from app.workforce.models import (
    Agent,
    AgentAssignment,
    Contract,
    PositionRisk,
    StagedAgentChange,
    WorkPosition,
)

INTO_ITSELF = "Une entreprise ne peut pas être absorbée par elle-même."
ENDED = "L'adhésion de « {name} » est déjà terminée : la fusion n'est pas possible."
SAME_INS = (
    "{count} agent(s) figurent dans les deux adhérents avec le même INS : regroupez d'abord "
    "leurs fiches. Aucune donnée n'a été déplacée."
)
FAILED = "La fusion n'a pas pu être enregistrée ; aucune donnée n'a été déplacée."
LABEL_MAX = 200

# Tables whose rows move with a plain ``collectivity_id`` rewrite, in this order (the positions
# are renamed first, see ``_rename_twin_positions``).
MOVED = (
    Agent,
    WorkPosition,
    PositionRisk,
    Contract,
    StagedAgentChange,
    Appointment,
    Consultation,
    VisitRequest,
    VisitRequestAttachment,
    DueDate,
    StatutoryRequest,
    PreventionRegistration,
)


class MergerError(DomainError):
    """A merger refused or failed: nothing was written."""


@dataclass
class MergerReport:
    absorbing_id: int
    absorbed_id: int
    moved: dict[str, int] = field(default_factory=dict)
    renamed_positions: int = 0
    removed_memberships: list[int] = field(default_factory=list)  # user ids
    membership_end: dt.date | None = None


def _ended(collectivity: Collectivity, today: dt.date) -> bool:
    return collectivity.membership_end is not None and collectivity.membership_end < today


def check(absorbing: Collectivity, absorbed: Collectivity, today: dt.date) -> None:
    """The refusals of a merger, before anything is written."""
    if absorbing.id == absorbed.id:
        raise MergerError(INTO_ITSELF)
    for collectivity in (absorbing, absorbed):
        if _ended(collectivity, today):
            raise MergerError(ENDED.format(name=collectivity.name))
    other = aliased(Agent)
    twins = db.session.scalar(
        select(func.count(Agent.id)).where(
            Agent.collectivity_id == absorbed.id,
            Agent.ins.is_not(None),
            exists().where(other.collectivity_id == absorbing.id, other.ins == Agent.ins),
        )
    )
    if twins:
        raise MergerError(SAME_INS.format(count=twins))


def _move(model: Any, absorbed_id: int, absorbing_id: int, *where: Any) -> int:
    result = db.session.execute(
        update(model)
        .where(model.collectivity_id == absorbed_id, *where)
        .values(collectivity_id=absorbing_id),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)


def _rename_twin_positions(absorbed: Collectivity, absorbing_id: int) -> int:
    """« Agent d'entretien (ex-Commune B) » for the positions the absorbing one already has."""
    suffix = f" (ex-{absorbed.name})"
    key_suffix = " " + fold(suffix)
    twin = aliased(WorkPosition)
    result = db.session.execute(
        update(WorkPosition)
        .where(
            WorkPosition.collectivity_id == absorbed.id,
            exists().where(
                twin.collectivity_id == absorbing_id,
                twin.pcs_code == WorkPosition.pcs_code,
                twin.label_key == WorkPosition.label_key,
            ),
        )
        .values(
            label=func.substr(WorkPosition.label + suffix, 1, LABEL_MAX),
            label_key=func.substr(WorkPosition.label_key + key_suffix, 1, LABEL_MAX),
        ),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)


def _steps(report: MergerReport, absorbed: Collectivity, today: dt.date) -> None:
    """The writes, in order. Split out so that a test can make one of them fail."""
    absorbing_id, absorbed_id = report.absorbing_id, report.absorbed_id
    moved_agents = select(Agent.id).where(Agent.collectivity_id == absorbed_id)
    report.moved["agent_assignment (supprimées)"] = int(
        db.session.execute(
            delete(AgentAssignment).where(AgentAssignment.collectivity_id == absorbed_id),
            execution_options={"synchronize_session": False},
        ).rowcount
        or 0
    )
    for model in (EmployerDocument, PublishedDocument):
        report.moved[model.__tablename__] = _move(
            model, absorbed_id, absorbing_id, model.agent_id.in_(moved_agents)
        )
    report.renamed_positions = _rename_twin_positions(absorbed, absorbing_id)
    for model in MOVED:
        report.moved[model.__tablename__] = move_table(model, absorbed_id, absorbing_id)
    report.moved["plage"] = int(
        db.session.execute(
            update(Plage)
            .where(Plage.reserved_for_id == absorbed_id)
            .values(reserved_for_id=absorbing_id),
            execution_options={"synchronize_session": False},
        ).rowcount
        or 0
    )
    report.removed_memberships = list(
        db.session.scalars(
            select(PortalMembership.user_id).where(PortalMembership.collectivity_id == absorbed_id)
        )
    )
    db.session.execute(
        delete(PortalMembership).where(PortalMembership.collectivity_id == absorbed_id),
        execution_options={"synchronize_session": False},
    )
    _terminate_conventions(report, today)
    end = absorbed.membership_end
    report.membership_end = end if end is not None and end <= today else today
    db.session.execute(
        update(Collectivity)
        .where(Collectivity.id == absorbed_id)
        .values(membership_end=report.membership_end),
        execution_options={"synchronize_session": False},
    )


def _terminate_conventions(report: MergerReport, today: dt.date) -> None:
    """End the absorbed collectivity's conventions in force today; delete those not started."""
    absorbed_id = report.absorbed_id
    report.moved["convention (terminées)"] = int(
        db.session.execute(
            update(Convention)
            .where(
                Convention.collectivity_id == absorbed_id,
                Convention.start_date <= today,
                Convention.end_date > today,
            )
            .values(end_date=today, tacit_renewal=False),
            execution_options={"synchronize_session": False},
        ).rowcount
        or 0
    )
    report.moved["convention (supprimées, non commencées)"] = int(
        db.session.execute(
            delete(Convention).where(
                Convention.collectivity_id == absorbed_id, Convention.start_date > today
            ),
            execution_options={"synchronize_session": False},
        ).rowcount
        or 0
    )


def move_table(model: Any, absorbed_id: int, absorbing_id: int) -> int:
    """One table's rows of the absorbed collectivity, rewritten to the absorbing one."""
    return _move(model, absorbed_id, absorbing_id)


def absorb(absorbing_id: int, absorbed_id: int, today: dt.date | None = None) -> MergerReport:
    """Move the absorbed collectivity's workforce and history to the absorbing one (see the
    module docstring). The caller commits; on ``MergerError`` it must roll back."""
    today = today or clock.today()
    with system_scope():
        absorbing = db.session.get(Collectivity, absorbing_id)
        absorbed = db.session.get(Collectivity, absorbed_id)
        if absorbing is None or absorbed is None:
            raise MergerError("Adhérent introuvable.")
        check(absorbing, absorbed, today)
        report = MergerReport(absorbing_id, absorbed_id)
        try:
            _steps(report, absorbed, today)
            db.session.flush()
        except DomainError:
            raise
        except Exception as error:  # an integrity error, a lost connection...
            raise MergerError(FAILED) from error
        db.session.expire_all()  # the bulk statements bypassed the identity map
        audit.log_event(
            action="fusionner",
            table_name="collectivity",
            row_id=str(absorbed_id),
            collectivity_id=absorbed_id,
            details={
                "absorbé par": absorbing_id,
                "fin d'adhésion": report.membership_end,
                "postes renommés": report.renamed_positions,
                "accès retirés": len(report.removed_memberships),
                **{f"déplacés : {k}": v for k, v in report.moved.items()},
            },
        )
        audit.log_event(
            action="absorber",
            table_name="collectivity",
            row_id=str(absorbing_id),
            collectivity_id=absorbing_id,
            details={"adhérent absorbé": absorbed_id, "agents": report.moved.get("agent", 0)},
        )
    return report


def remaining(collectivity_id: int) -> dict[str, int]:
    """Rows a collectivity still owns in the moved tables (tests, the CDG's check)."""
    with system_scope():
        return {
            model.__tablename__: int(
                db.session.scalar(
                    select(func.count())
                    .select_from(model)
                    .where(model.collectivity_id == collectivity_id)
                )
                or 0
            )
            for model in MOVED
        }
