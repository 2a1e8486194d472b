"""Employer deposits and published documents (SPEC E6, E5).

Publishing into « Mes documents » (for other packages: annual reports, invoice statements...)::

    from app.documents.services import publish
    from app.documents.models import DocumentFolder

    publish(collectivity_id, DocumentFolder.rapports_annuels, "Rapport annuel 2026",
            pdf_bytes_or_relative_path, agent_id=None, filename="rapport-2026.pdf")

``publish`` stores the bytes under UPLOAD_DIR through app/core/files.py (or takes a relative
path already stored there), adds a ``PublishedDocument`` (published today) and flushes; the
caller commits, and a rollback removes the stored file again. A document naming an agent is
read by the secondary account that manages him; one without agent by the primary account only.
Visit sheets are never copied: the « Fiches de visite » folder lists the released
consultations (app/visits/consultations.py ``employer_sheets``).

Every file of a collectivity kept here is listed by ``stored_paths`` for the retention job.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import g
from sqlalchemy import func, select
from sqlalchemy.orm import defaultload

from app import roles
from app.core import clock, files
from app.documents.models import (
    DocumentFolder,
    EmployerDocument,
    PreventionAction,
    PublishedDocument,
)
from app.extensions import db
from app.referential.models import (
    Collectivity,
    DocumentNature,
    DocumentUsage,
    HealthTeamMember,
    Professional,
)
from app.rules.errors import DomainError, FieldError
from app.tenancy import TenantViolation, current_scope, system_scope
from app.workforce.models import Agent

DEPOSIT_AREA = "documents-employeur"
PUBLISHED_AREA = "documents-publies"
DEPOSIT_MAX_BYTES = files.PDF_MAX_BYTES
FORM_MAX_BYTES = DEPOSIT_MAX_BYTES + files.FORM_MARGIN_BYTES
PAGE_SIZE = 100

NO_MEDICAL_DATA = (
    "Cochez « Ce document ne contient pas de données médicales » : un document médical ne se "
    "dépose pas ici (remettez-le sous pli confidentiel au médecin de prévention)."
)
LOCKED = "L'équipe santé a confirmé la réception de ce document : il ne peut plus être supprimé."


def valid_id(value: Any) -> int:
    if not str(value).isdigit() or not 0 < int(value) < 2**63:
        raise TenantViolation()
    return int(value)


def _user_id() -> int | None:
    scope = current_scope()
    if scope.user_id is not None:
        return scope.user_id
    user = g.get("user")
    return getattr(user, "id", None)


# ----------------------------------------------------------------------------------------------
# Deposits by the employer (SPEC E6)
# ----------------------------------------------------------------------------------------------


def deposit_natures() -> list[DocumentNature]:
    """The natures of a deposit (« Fiche de poste », « Planning », ...)."""
    return list(
        db.session.scalars(
            select(DocumentNature)
            .where(
                DocumentNature.usage == DocumentUsage.employeur,
                DocumentNature.is_active.is_(True),
            )
            .order_by(DocumentNature.sort_order, DocumentNature.label)
        )
    )


def _agent(agent_id: Any) -> Agent | None:
    """An agent of the caller's scope (None when no agent is chosen; another collectivity's or
    a forged id: 404)."""
    if agent_id in (None, "", 0, "0"):
        return None
    agent = db.session.get(Agent, valid_id(agent_id))
    if agent is None:
        raise TenantViolation()
    scope = current_scope()
    if scope.is_employer and agent.collectivity_id != scope.collectivity_id:
        raise TenantViolation()
    return agent


def deposit(
    upload: Any, nature_id: Any, agent_id: Any = None, *, no_medical_data: bool = False
) -> EmployerDocument:
    """Check and store an employer's deposit; the caller commits. Nothing is written (nor kept
    on disk) when anything is refused."""
    scope = current_scope()
    if not scope.is_employer or scope.collectivity_id is None:
        raise DomainError("Seul un compte employeur dépose un document pour sa collectivité.")
    if not no_medical_data:
        raise FieldError(NO_MEDICAL_DATA, "no_medical_data")
    natures = {n.id: n for n in deposit_natures()}
    nature = natures.get(int(nature_id)) if str(nature_id or "").isdigit() else None
    if nature is None:
        raise FieldError("Choisissez la nature du document.", "nature_id")
    agent = _agent(agent_id)
    if upload is None or not getattr(upload, "filename", ""):
        raise FieldError("Choisissez le fichier PDF à déposer.", "document")
    data = files.read_pdf(upload, DEPOSIT_MAX_BYTES, "document")
    stored = files.store(data, DEPOSIT_AREA, upload.filename)
    now = clock.now_local()
    row = EmployerDocument(
        collectivity_id=scope.collectivity_id,
        agent_id=agent.id if agent else None,
        nature_id=nature.id,
        filename=stored.filename[:120],
        stored_path=stored.path,
        size=stored.size,
        uploaded_at=now,
        uploaded_by_id=scope.user_id,
        no_medical_data_by_id=scope.user_id,
        no_medical_data_at=now,
    )
    db.session.add(row)
    db.session.flush()
    return row


def get_deposit(document_id: Any) -> EmployerDocument:
    row = db.session.get(EmployerDocument, valid_id(document_id))
    if row is None:
        raise TenantViolation()
    return row


def delete_deposit(document_id: Any) -> str:
    """Delete a deposit not yet received; returns its file, to delete once committed."""
    row = get_deposit(document_id)
    if row.locked:
        raise DomainError(LOCKED)
    path = row.stored_path
    db.session.delete(row)
    db.session.flush()
    return path


def deposits(agent_name: str | None = None, limit: int = PAGE_SIZE) -> list[EmployerDocument]:
    """The history of the scope's deposits, newest first (one query: nature and agent joined)."""
    query = select(EmployerDocument)
    if agent_name:
        from app.workforce import agents as agent_services

        query = query.join(EmployerDocument.agent).where(agent_services.name_clause(agent_name))
    query = query.order_by(EmployerDocument.uploaded_at.desc(), EmployerDocument.id.desc())
    return list(db.session.scalars(query.limit(limit)).unique())


# ----------------------------------------------------------------------------------------------
# The health team's queue
# ----------------------------------------------------------------------------------------------


def team_collectivity_ids() -> list[int] | None:
    """The collectivities whose health team the caller belongs to (a Santé user linked to a
    professional); None for an administrator (every collectivity)."""
    user = g.get("user")
    names = {role.name for role in getattr(user, "roles", [])}
    if roles.ADMIN in names:
        return None
    user_id = getattr(user, "id", None)
    if user_id is None:
        return []
    return list(
        db.session.scalars(
            select(HealthTeamMember.collectivity_id)
            .join(Professional, Professional.id == HealthTeamMember.professional_id)
            .where(Professional.user_id == user_id)
            .distinct()
        )
    )


def queue(pending_only: bool = True, limit: int = PAGE_SIZE) -> tuple[list[EmployerDocument], int]:
    """The deposits of the caller's collectivities, oldest pending first; with the count."""
    ids = team_collectivity_ids()
    query = select(EmployerDocument)
    count = select(func.count(EmployerDocument.id))
    if ids is not None:
        query = query.where(EmployerDocument.collectivity_id.in_(ids))
        count = count.where(EmployerDocument.collectivity_id.in_(ids))
    if pending_only:
        query = query.where(EmployerDocument.received_at.is_(None))
        count = count.where(EmployerDocument.received_at.is_(None))
        query = query.order_by(EmployerDocument.uploaded_at, EmployerDocument.id)
    else:
        query = query.order_by(EmployerDocument.uploaded_at.desc(), EmployerDocument.id.desc())
    return list(db.session.scalars(query.limit(limit)).unique()), db.session.scalar(count) or 0


def team_deposit(document_id: Any) -> EmployerDocument:
    """A deposit of one of the caller's collectivities (else 404)."""
    row = get_deposit(document_id)
    ids = team_collectivity_ids()
    if ids is not None and row.collectivity_id not in ids:
        raise TenantViolation()
    return row


def confirm_receipt(document_id: Any) -> EmployerDocument:
    row = team_deposit(document_id)
    if row.received_at is not None:
        raise DomainError("La réception de ce document est déjà confirmée.")
    row.received_at = clock.now_local()
    row.received_by_id = _user_id()
    db.session.flush()
    return row


# ----------------------------------------------------------------------------------------------
# Published documents (« Mes documents »)
# ----------------------------------------------------------------------------------------------


def publish(
    collectivity_id: int,
    folder: DocumentFolder | str,
    title: str,
    relative_path_or_bytes: str | bytes,
    agent_id: int | None = None,
    *,
    filename: str | None = None,
    published_on: dt.date | None = None,
) -> PublishedDocument:
    """Publish a PDF for a collectivity (see the module's docstring); the caller commits."""
    folder = folder if isinstance(folder, DocumentFolder) else DocumentFolder[str(folder)]
    title = (title or "").strip()
    if not title:
        raise FieldError("Donnez un titre au document.", "title")
    collectivity = db.session.get(Collectivity, int(collectivity_id))
    if collectivity is None:
        raise FieldError("Choisissez la collectivité.", "collectivity_id")
    if agent_id is not None:
        with system_scope():
            agent = db.session.get(Agent, int(agent_id))
        if agent is None or agent.collectivity_id != collectivity.id:
            raise FieldError("Cet agent n'appartient pas à cette collectivité.", "agent_id")
    name = files.safe_filename(filename or f"{title}.pdf")
    if isinstance(relative_path_or_bytes, bytes):
        if not files.is_pdf(relative_path_or_bytes):
            raise FieldError(files.NOT_PDF.format(name=name), "document")
        stored = files.store(relative_path_or_bytes, PUBLISHED_AREA, name)
        path, size = stored.path, stored.size
    else:
        path = relative_path_or_bytes
        if not files.exists(path):
            raise DomainError("Le fichier à publier est introuvable.")
        size = len(files.read_stored(path) or b"")
    row = PublishedDocument(
        collectivity_id=collectivity.id,
        folder=folder,
        title=title[:200],
        agent_id=agent_id,
        filename=name[:120],
        stored_path=path,
        size=size,
        published_on=published_on or clock.today(),
        published_by_id=_user_id(),
    )
    db.session.add(row)
    db.session.flush()
    return row


def publish_upload(
    collectivity_id: Any, folder: str, title: str, upload: Any, agent_id: Any = None
) -> PublishedDocument:
    """Staff publish an uploaded PDF (checked by content, 1 MB at most)."""
    if folder not in DocumentFolder.__members__:
        raise FieldError("Choisissez le répertoire.", "folder")
    if not str(collectivity_id or "").isdigit():
        raise FieldError("Choisissez la collectivité.", "collectivity_id")
    agent = int(agent_id) if str(agent_id or "").isdigit() and int(agent_id) else None
    if upload is None or not getattr(upload, "filename", ""):
        raise FieldError("Choisissez le fichier PDF à publier.", "document")
    data = files.read_pdf(upload, files.PDF_MAX_BYTES, "document")
    return publish(int(collectivity_id), folder, title, data, agent, filename=upload.filename)


def get_published(document_id: Any) -> PublishedDocument:
    row = db.session.get(PublishedDocument, valid_id(document_id))
    if row is None:
        raise TenantViolation()
    return row


def unpublish(document_id: Any) -> str:
    row = get_published(document_id)
    path = row.stored_path
    db.session.delete(row)
    db.session.flush()
    return path


@dataclass(frozen=True)
class Folder:
    code: str
    label: str
    count: int


SHEETS_FOLDER = "fiches_visite"
SHEETS_LABEL = "Fiches de visite"


def folders() -> list[Folder]:
    """The folders of « Mes documents » with the number of documents each (one query per
    source: the released sheets, the published documents grouped by folder)."""
    from app.visits.consultation_models import Consultation

    sheets = db.session.scalar(select(func.count(Consultation.id))) or 0
    counts = dict(
        db.session.execute(
            select(PublishedDocument.folder, func.count(PublishedDocument.id)).group_by(
                PublishedDocument.folder
            )
        ).all()
    )
    result = [Folder(SHEETS_FOLDER, SHEETS_LABEL, sheets)]
    result += [Folder(f.name, f.label, counts.get(f, 0)) for f in DocumentFolder]
    return result


def published(
    folder: str | None = None, agent_name: str | None = None, limit: int = PAGE_SIZE
) -> list[PublishedDocument]:
    query = select(PublishedDocument)
    if folder in DocumentFolder.__members__:
        query = query.where(PublishedDocument.folder == DocumentFolder[folder])
    if agent_name:
        from app.workforce import agents as agent_services

        query = query.join(PublishedDocument.agent).where(agent_services.name_clause(agent_name))
    query = query.order_by(PublishedDocument.published_on.desc(), PublishedDocument.id.desc())
    # The agent's secondary-account assignments are not shown: no selectin load for them.
    query = query.options(defaultload(PublishedDocument.agent).lazyload(Agent.assignments))
    return list(db.session.scalars(query.limit(limit)).unique())


def read_file(relative: str | None) -> bytes:
    data = files.read_stored(relative)
    if data is None:
        raise TenantViolation("Le fichier n'est plus disponible.")
    return data


# ----------------------------------------------------------------------------------------------
# Retention
# ----------------------------------------------------------------------------------------------


def stored_paths(collectivity_id: int) -> list[str]:
    """Every file kept here for the collectivity (deposits, published documents, prevention
    reports), for the retention job: it deletes them once the rows are gone."""
    paths: list[str] = []
    with system_scope():
        paths += db.session.scalars(
            select(EmployerDocument.stored_path).where(
                EmployerDocument.collectivity_id == collectivity_id
            )
        )
        paths += db.session.scalars(
            select(PublishedDocument.stored_path).where(
                PublishedDocument.collectivity_id == collectivity_id
            )
        )
        paths += db.session.scalars(
            select(PreventionAction.report_path).where(
                PreventionAction.collectivity_id == collectivity_id,
                PreventionAction.report_path.is_not(None),
            )
        )
    return [p for p in paths if p]


def drop_rows(collectivity_id: int) -> None:
    """Remove the rows of the collectivity's stored documents (the retention job, after
    ``stored_paths``); prevention actions keep their row without their report."""
    from sqlalchemy import delete, update

    no_sync = {"synchronize_session": False}
    with system_scope():
        db.session.execute(
            delete(EmployerDocument).where(EmployerDocument.collectivity_id == collectivity_id),
            execution_options=no_sync,
        )
        db.session.execute(
            delete(PublishedDocument).where(PublishedDocument.collectivity_id == collectivity_id),
            execution_options=no_sync,
        )
        db.session.execute(
            update(PreventionAction)
            .where(PreventionAction.collectivity_id == collectivity_id)
            .values(report_path=None, report_filename=None),
            execution_options=no_sync,
        )
