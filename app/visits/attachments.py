"""Attachments of visit requests (SPEC E1): up to 5 PDFs of 1 MB at most, each with its nature
(reference data ``DocumentNature`` of usage « demande »), checked by content, stored through
app/core/files.py and downloaded only by who reads the request (its collectivity, a secondary
account for its agents, the staff). A read of an « Avis médical » is logged (SPEC J3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g
from sqlalchemy import select

from app.core import files
from app.extensions import db
from app.referential.models import DocumentNature, DocumentUsage
from app.rules import visit_requests as rules
from app.rules.formatting import fold
from app.tenancy import TenantViolation, current_scope, system_scope
from app.visits.models import VisitRequest, VisitRequestAttachment

AREA = "demandes-de-visite"
FIELD = "attachments"
MEDICAL_NATURES = frozenset({"avis_medical"})
# A request's body: its 5 files of 1 MB and the text fields (refused unread beyond).
FORM_MAX_BYTES = rules.MAX_ATTACHMENTS * rules.ATTACHMENT_MAX_BYTES + files.FORM_MARGIN_BYTES


@dataclass(frozen=True)
class Upload:
    """A file of the form (a werkzeug ``FileStorage``: ``filename`` and ``stream``) and the
    nature code chosen for it."""

    file: Any
    nature: str

    @property
    def filename(self) -> str:
        return files.safe_filename(getattr(self.file, "filename", None))


@dataclass(frozen=True)
class CheckedUpload:
    data: bytes
    filename: str
    nature: DocumentNature


def natures() -> list[DocumentNature]:
    """The natures an attachment of a request may have (« Attestation de suivi », ...)."""
    return list(
        db.session.scalars(
            select(DocumentNature)
            .where(
                DocumentNature.usage == DocumentUsage.demande, DocumentNature.is_active.is_(True)
            )
            .order_by(DocumentNature.sort_order, DocumentNature.label)
        )
    )


def with_nature_codes(uploads: list[Upload]) -> list[Upload]:
    """The uploads with their nature as a code (a French label is accepted, ignoring case and
    accents, as everywhere in the API); an unknown nature is kept as typed, to be refused."""
    known = natures()
    by_key = {fold(nature.label): nature.code for nature in known}
    by_key.update({fold(nature.code): nature.code for nature in known})
    return [Upload(u.file, by_key.get(fold(u.nature or ""), u.nature)) for u in uploads]


def check_uploads(uploads: list[Upload], problems: rules.Problems) -> list[CheckedUpload]:
    """Read and check every file (count first: a 6th file is refused unread); refusals go to
    ``problems`` (field ``attachments``), nothing is written."""
    if len(uploads) > rules.MAX_ATTACHMENTS:
        return []  # rules.check_request says it (it counts the natures)
    by_code = {nature.code: nature for nature in natures()}
    checked: list[CheckedUpload] = []
    for upload in uploads:
        nature = by_code.get(upload.nature)
        if nature is None:
            problems.add(FIELD, f"Choisissez la nature de la pièce jointe « {upload.filename} ».")
            continue
        try:
            data = files.read_pdf(upload.file, rules.ATTACHMENT_MAX_BYTES, FIELD)
        except files.FileRefused as error:
            problems.add(FIELD, error.message)
            continue
        checked.append(CheckedUpload(data, upload.filename, nature))
    return checked


@dataclass(frozen=True)
class Kept:
    """A file kept for the form shown again: its token, name and nature."""

    token: str
    filename: str
    nature: DocumentNature


def kept_uploads(tokens: list[str], user_id: int | None) -> list[tuple[str, Upload]]:
    """The files a re-displayed form carries (signed tokens), with their nature."""
    result = []
    for token in tokens:
        staged = files.unstage(token, user_id)
        if staged is not None:
            result.append((token, Upload(staged, str(staged.extra.get("nature", "")))))
    return result


def keep_for_redisplay(
    kept: list[tuple[str, Upload]], uploads: list[Upload], user_id: int | None
) -> list[Kept]:
    """After a refusal: the files already kept, and the new ones that pass their checks and
    have a known nature, kept for the form shown again (the others must be chosen again)."""
    by_code = {nature.code: nature for nature in natures()}
    result = []
    for token, upload in kept:
        nature = by_code.get(upload.nature)
        if nature is not None:
            result.append(Kept(token, upload.filename, nature))
    for upload in with_nature_codes(uploads):
        nature = by_code.get(upload.nature)
        stream = getattr(upload.file, "stream", None)
        if nature is None or stream is None:
            continue
        try:
            stream.seek(0)
            data = files.read_pdf(upload.file, rules.ATTACHMENT_MAX_BYTES, FIELD)
        except (files.FileRefused, OSError):
            continue
        token = files.stage(data, upload.filename, user_id, nature=nature.code)
        result.append(Kept(token, upload.filename, nature))
    return result


def attach(item: VisitRequest, checked: list[CheckedUpload]) -> list[VisitRequestAttachment]:
    """Store the checked files and link them to the request (the caller commits; a rollback
    removes the files again)."""
    rows = []
    for upload in checked:
        stored = files.store(upload.data, AREA, upload.filename)
        row = VisitRequestAttachment(
            visit_request_id=item.id,
            collectivity_id=item.collectivity_id,
            nature_id=upload.nature.id,
            filename=stored.filename[:120],
            stored_path=stored.path,
            size=stored.size,
            uploaded_by_id=current_scope().user_id,
        )
        row.nature = upload.nature
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    return rows


def stored_paths(collectivity_ids: list[int]) -> list[str]:
    """The files of these collectivities' attachments and uploaded visit sheets (for an erasure:
    delete them once the rows are gone, ``files.delete``)."""
    from app.visits.consultation_models import Consultation

    if not collectivity_ids:
        return []
    paths = list(
        db.session.scalars(
            select(VisitRequestAttachment.stored_path).where(
                VisitRequestAttachment.collectivity_id.in_(collectivity_ids)
            )
        )
    )
    paths += db.session.scalars(
        select(Consultation.sheet_path).where(
            Consultation.collectivity_id.in_(collectivity_ids), Consultation.sheet_path.is_not(None)
        )
    )
    return [path for path in paths if path]


def get_attachment(request_id: Any, attachment_id: Any) -> VisitRequestAttachment:
    """An attachment of a request the caller reads (else a 404, also for a forged pair)."""
    for value in (request_id, attachment_id):
        if not str(value).isdigit() or not 0 < int(value) < 2**63:
            raise TenantViolation()
    row = db.session.get(VisitRequestAttachment, int(attachment_id))
    if row is None or row.visit_request_id != int(request_id):
        raise TenantViolation()
    return row


def read_attachment(row: VisitRequestAttachment) -> bytes:
    """The file's bytes; the read of a medical document is logged (SPEC J3)."""
    data = files.read_stored(row.stored_path)
    if data is None:
        raise TenantViolation("Le fichier n'est plus disponible.")
    if row.nature.code in MEDICAL_NATURES:
        _log_read(row)
    return data


def _log_read(row: VisitRequestAttachment) -> None:
    from app.visits.consultation_models import MedicalAccess

    user = g.get("user")
    agent = row.visit_request.agent
    with system_scope():
        db.session.add(
            MedicalAccess(
                user_id=getattr(user, "id", None),
                username=str(getattr(user, "username", None) or "système")[:100],
                agent_id=agent.id,
                agent_label=f"{agent.full_name} (n° {agent.id})"[:250],
                consultation_id=None,
                what=(
                    f"Pièce jointe « {row.nature.label} » de la demande de visite "
                    f"n° {row.visit_request_id}"
                )[:200],
            )
        )
        db.session.flush()


def download(request_id: Any, attachment_id: Any) -> Any:
    """The download response of an attachment (the caller commits the access log)."""
    row = get_attachment(request_id, attachment_id)
    return files.download_response(read_attachment(row), row.filename)
