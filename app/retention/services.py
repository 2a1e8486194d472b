"""Retention of personal data (SPEC G5, J2; TASSIN-2024 art. 4): the `retention` job.

Three months after a collectivity's membership ends (``Collectivity.membership_end``), the
personal data of its agents are irreversibly anonymised, and the collectivity is marked
(``personal_data_erased_on``) so that a later run skips it:

- agents: names, first name, their search keys, INS, birth date and service are replaced by
  placeholders (``app.rules.retention``); the civility stays (a required code that identifies
  nobody once the names are gone); contracts, positions and appointments stay, tied to an
  anonymous agent (activity statistics, the per-act billing of later issues);
- staged employer changes of those agents: deleted (their old / new values are names, INS);
- appointments: the free texts (comment, cancellation reason) are cleared;
- visit requests: their free texts (exposure, information, language, refusal reason) and
  details are cleared; the type, dates and state stay;
- contacts of the collectivity (persons: names, e-mails, phones): deleted;
- the e-mails of the outbox folder that name an agent or are addressed to a contact: deleted;
- the audit log: the values recorded for those rows (agents, staged changes, appointments,
  contacts) are replaced by « [effacé] ». The erasure itself writes through bulk statements that
  the audit hook does not see, so the log never receives the erased values as "old values";
  the run writes one audit entry per collectivity, with counts only.

Kept: the collectivity's legal identity (name, SIRET, SIREN, addresses, its generic phone and
e-mail, membership dates).
- uploaded files: the visit requests' attachments (rows and files) and the uploaded visit
  sheets (the file; the consultation then falls back to the generated sheet, which prints the
  anonymous agent). The files are deleted after the commit that removes their rows.

Accounting law (Code de commerce art. L123-22, 10 years; CGCT / instruction M57 for public
bodies; LPF art. L102 B): when billing lands, invoices and their lines stay untouched — number,
date, amounts, VAT, the collectivity's legal identity and billing address, the act counts.
They must not carry an agent's name (per-act lines cite the act and date, not the person); if
they do, that column is cleared here, never the amounts.

The job runs without a user (tenancy SYSTEM scope, audit username « système »). Agents are
handled in batches (``ctx.batches``: one commit each); a batch skips the agents already
anonymised, so a run that failed half-way is completed by the next one. A dry run counts what
would be erased (per collectivity, never the values), rolls every batch back and deletes no
file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, delete, select, update

from app.core import audit, files
from app.core.audit import AuditLog
from app.core.mail import read_outbox
from app.extensions import db
from app.jobs import JobContext
from app.planning.models import Appointment
from app.referential.models import Collectivity, Contact
from app.rules import retention as rules
from app.rules.names import agent_name_keys
from app.tenancy import system_scope
from app.visits import attachments
from app.visits.consultation_models import Consultation
from app.visits.models import VisitRequest, VisitRequestAttachment
from app.workforce.models import Agent, StagedAgentChange

ERASED = "[effacé]"
# The search and sort keys of an anonymised agent (a bulk UPDATE runs no flush event).
ANONYMOUS_KEYS = agent_name_keys(rules.ANONYMOUS_NAME, None, rules.ANONYMOUS_FIRST_NAME)

# The audit-log values that are personal data, per table.
PERSONAL_COLUMNS: dict[str, frozenset[str]] = {
    "agent": frozenset(
        {
            "first_name",
            "birth_name",
            "usage_name",
            "search_name",
            "search_alt_name",
            "birth_date",
            "ins",
            "civility",
            "service",
        }
    ),
    "staged_agent_change": frozenset({"old_value", "new_value", "note"}),
    "appointment": frozenset({"comment", "cancellation_reason"}),
    "contact": frozenset({"last_name", "first_name", "email", "phone", "civility"}),
}


# The counts of a run (job history, CLI), in French.
COUNT_LABELS = {
    "collectivites": "collectivités effacées",
    "agents": "agents anonymisés",
    "modifications": "modifications demandées effacées",
    "rendez-vous": "rendez-vous expurgés",
    "contacts": "contacts effacés",
    "journal": "entrées du journal expurgées",
    "courriels": "courriels effacés",
    "fichiers": "fichiers supprimés",
}


@dataclass
class CollectivityErasure:
    """What one run erased (or would erase) for one collectivity: counts, never values."""

    collectivity_id: int
    name: str
    membership_end: dt.date
    agents: int = 0
    staged_changes: int = 0
    appointments: int = 0
    contacts: int = 0
    audit_entries: int = 0
    outbox_messages: int = 0
    files: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "agents": self.agents,
            "modifications": self.staged_changes,
            "rendez-vous": self.appointments,
            "contacts": self.contacts,
            "journal": self.audit_entries,
            "courriels": self.outbox_messages,
            "fichiers": self.files,
        }

    @property
    def summary(self) -> str:
        return (
            f"{self.name} (fin d'adhésion le {self.membership_end:%d/%m/%Y}) : "
            f"{self.agents} agent(s), {self.staged_changes} modification(s), "
            f"{self.appointments} rendez-vous, {self.contacts} contact(s), "
            f"{self.audit_entries} entrée(s) du journal, {self.outbox_messages} courriel(s), "
            f"{self.files} fichier(s)"
        )


def due_collectivities(today: dt.date) -> list[tuple[int, str, dt.date]]:
    """(id, name, membership end) of the collectivities whose retention period is over on
    ``today`` and whose personal data are not erased yet."""
    rows = db.session.execute(
        select(Collectivity.id, Collectivity.name, Collectivity.membership_end)
        .where(
            Collectivity.membership_end.is_not(None),
            Collectivity.personal_data_erased_on.is_(None),
        )
        .order_by(Collectivity.id)
    ).all()
    return [
        (row.id, row.name, row.membership_end)
        for row in rows
        if rules.erasure_due(row.membership_end, today)
    ]


def run_retention(ctx: JobContext) -> list[CollectivityErasure]:
    """The `retention` job step: erase every collectivity that is due on ``ctx.today``."""
    reports = []
    with system_scope():
        for collectivity_id, name, membership_end in due_collectivities(ctx.today):
            report = CollectivityErasure(collectivity_id, name, membership_end)
            erase_collectivity(ctx, report)
            reports.append(report)
            ctx.counts[COUNT_LABELS["collectivites"]] += 1
            for key, value in report.counts().items():
                ctx.counts[COUNT_LABELS[key]] += value
            ctx.counts[f"{COUNT_LABELS['agents']} – {name}"] += report.agents
    return reports


def erase_collectivity(ctx: JobContext, report: CollectivityErasure) -> None:
    collectivity_id = report.collectivity_id
    agent_ids = list(
        db.session.scalars(
            select(Agent.id)
            .where(Agent.collectivity_id == collectivity_id, Agent.anonymised_on.is_(None))
            .order_by(Agent.id)
        )
    )
    # The outbox is matched on the names before any batch anonymises them (a re-run after a
    # failure finds the messages of the agents still to do).
    report.outbox_messages = _erase_outbox(collectivity_id, dry_run=ctx.dry_run)
    for ids in ctx.batches(agent_ids):
        counts = _erase_agents(ids, ctx.today)
        report.agents += counts["agents"]
        report.staged_changes += counts["staged_changes"]
        report.appointments += counts["appointments"]
        report.audit_entries += counts["audit_entries"]
    contact_ids = list(
        db.session.scalars(select(Contact.id).where(Contact.collectivity_id == collectivity_id))
    )
    report.audit_entries += _redact_audit("contact", contact_ids)
    if contact_ids:
        db.session.execute(
            delete(Contact).where(Contact.id.in_(contact_ids)),
            execution_options={"synchronize_session": False},
        )
    report.contacts = len(contact_ids)
    stored = _drop_uploaded_files(collectivity_id)
    report.files = len(stored)
    db.session.execute(
        update(Collectivity)
        .where(Collectivity.id == collectivity_id)
        .values(personal_data_erased_on=ctx.today),
        execution_options={"synchronize_session": False},
    )
    audit.log_event(
        action="erase",
        table_name="collectivity",
        row_id=str(collectivity_id),
        collectivity_id=collectivity_id,
        details={"fin_adhesion": report.membership_end, **report.counts()},
    )
    ctx.end_batch()
    if not ctx.dry_run:
        for relative in stored:
            files.delete(relative)


def _drop_uploaded_files(collectivity_id: int) -> list[str]:
    """Remove the rows that point at the collectivity's uploaded files; returns those files
    (deleted by the caller once the rows' removal is committed)."""
    from app.documents import services as documents

    stored = attachments.stored_paths([collectivity_id])
    stored += documents.stored_paths(collectivity_id)  # deposits, published, prevention reports
    documents.drop_rows(collectivity_id)
    no_sync = {"synchronize_session": False}
    db.session.execute(
        delete(VisitRequestAttachment).where(
            VisitRequestAttachment.collectivity_id == collectivity_id
        ),
        execution_options=no_sync,
    )
    db.session.execute(
        update(Consultation)
        .where(
            Consultation.collectivity_id == collectivity_id, Consultation.sheet_path.is_not(None)
        )
        .values(sheet_path=None),
        execution_options=no_sync,
    )
    return stored


def _erase_agents(ids: list[int], today: dt.date) -> dict[str, int]:
    """Anonymise one batch of agents and everything that names them; returns the counts."""
    no_sync = {"synchronize_session": False}
    change_ids = list(
        db.session.scalars(select(StagedAgentChange.id).where(StagedAgentChange.agent_id.in_(ids)))
    )
    appointment_ids = list(
        db.session.scalars(
            select(Appointment.id).where(
                Appointment.agent_id.in_(ids),
                (Appointment.comment.is_not(None)) | (Appointment.cancellation_reason.is_not(None)),
            )
        )
    )
    audit_entries = (
        _redact_audit("agent", ids)
        + _redact_audit("staged_agent_change", change_ids)
        + _redact_audit("appointment", appointment_ids)
    )
    if change_ids:
        db.session.execute(
            delete(StagedAgentChange).where(StagedAgentChange.id.in_(change_ids)),
            execution_options=no_sync,
        )
    db.session.execute(
        update(VisitRequest)
        .where(VisitRequest.agent_id.in_(ids))
        .values(
            other_exposure=None, information=None, language=None, refusal_reason=None, details={}
        ),
        execution_options=no_sync,
    )
    if appointment_ids:
        db.session.execute(
            update(Appointment)
            .where(Appointment.id.in_(appointment_ids))
            .values(comment=None, cancellation_reason=None),
            execution_options=no_sync,
        )
    result: Any = db.session.execute(
        update(Agent)
        .where(Agent.id.in_(ids), Agent.anonymised_on.is_(None))
        .values(
            first_name=rules.ANONYMOUS_FIRST_NAME,
            birth_name=rules.ANONYMOUS_NAME,
            usage_name=None,
            birth_date=rules.ANONYMOUS_BIRTH_DATE,
            search_name=ANONYMOUS_KEYS[0],
            search_alt_name=ANONYMOUS_KEYS[1],
            ins=None,
            service=None,
            anonymised_on=today,
        ),
        execution_options=no_sync,
    )
    return {
        "agents": result.rowcount,
        "staged_changes": len(change_ids),
        "appointments": len(appointment_ids),
        "audit_entries": audit_entries,
    }


def _redact_audit(table_name: str, row_ids: list[int]) -> int:
    """Replace the personal values recorded for these rows by « [effacé] »; returns how many
    audit entries changed (an entry already redacted is left as it is)."""
    if not row_ids:
        return 0
    personal = PERSONAL_COLUMNS[table_name]
    rows = db.session.execute(
        select(AuditLog.id, AuditLog.changes).where(
            AuditLog.table_name == table_name,
            AuditLog.row_id.in_([str(row_id) for row_id in row_ids]),
        )
    ).all()
    updates = []
    for entry_id, changes in rows:
        redacted = {
            column: [None if value is None else ERASED for value in values]
            if column in personal
            else values
            for column, values in (changes or {}).items()
        }
        if redacted != changes:
            updates.append({"entry_id": entry_id, "redacted": redacted})
    if updates:
        table = AuditLog.__table__
        db.session.connection().execute(
            table.update()
            .where(table.c.id == bindparam("entry_id"))
            .values(changes=bindparam("redacted")),
            updates,
        )
    return len(updates)


def _erase_outbox(collectivity_id: int, *, dry_run: bool) -> int:
    """Delete (count, in a dry run) the outbox messages that name an agent of the collectivity
    not anonymised yet, or are addressed to one of its contacts."""
    outbox = Path(current_app.config["OUTBOX_DIR"])
    if not outbox.is_dir():
        return 0
    files = sorted(outbox.glob("*.eml"))
    if not files:
        return 0
    keys: set[str] = set()
    for first_name, birth_name, usage_name in db.session.execute(
        select(Agent.first_name, Agent.birth_name, Agent.usage_name).where(
            Agent.collectivity_id == collectivity_id, Agent.anonymised_on.is_(None)
        )
    ):
        keys |= rules.name_keys(first_name, (birth_name, usage_name))
    addresses = {
        email.lower()
        for email in db.session.scalars(
            select(Contact.email).where(
                Contact.collectivity_id == collectivity_id, Contact.email.is_not(None)
            )
        )
    }
    erased = 0
    for path in files:
        try:
            message = read_outbox(path.name)
        except (FileNotFoundError, ValueError):
            continue
        recipients = {part.strip().lower() for part in message.to.split(",")}
        if recipients & addresses or rules.names_in(f"{message.subject}\n{message.body}", keys):
            erased += 1
            if not dry_run:
                path.unlink(missing_ok=True)
    return erased
