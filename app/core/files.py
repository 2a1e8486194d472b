"""Uploaded files: stored outside the web root under ``UPLOAD_DIR`` with random names, checked
by content (a PDF by its magic bytes and by parsing it), size-capped while read, and served only
by the scoped download views and API routes that call ``download_response``.

Size limits are enforced before the request body is read whole: a view that accepts uploads
declares its limit (``UploadLimitMixin.upload_limits``), a hook registered before the CSRF check
(which parses the form) sets ``request.max_content_length`` for that endpoint and turns a body
announced too large into the form again with a French message (``refused_upload``), never the
413 error page. Each file is then read with a cap (``read_capped``): a part over its limit is
refused without being held in memory whole.

Files written while a transaction is open are deleted again if it rolls back
(``discard_on_rollback``), so a refused form leaves nothing on disk either.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

from flask import Flask, current_app, flash, g, jsonify, redirect, request, send_file
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.rules.errors import FieldError

MB = 1024 * 1024
PDF_MAX_BYTES = MB
# Multipart overhead and the form's text fields, on top of the files themselves.
FORM_MARGIN_BYTES = 256 * 1024
PDF_MAGIC = b"%PDF-"
CHUNK = 64 * 1024

TOO_LARGE = "Le fichier « {name} » dépasse {limit} : envoyez un PDF plus léger."
NOT_PDF = (
    "Le fichier « {name} » n'est pas un PDF valide (son contenu a été vérifié, pas seulement "
    "son nom) : envoyez un document PDF."
)
EMPTY = "Le fichier « {name} » est vide."
BODY_TOO_LARGE = (
    "Les fichiers envoyés dépassent la taille autorisée ({limit} en tout) : rien n'a été "
    "enregistré. Joignez des PDF de 1 Mo au plus et recommencez."
)


def human_size(size: int) -> str:
    """« 1 Mo », « 512 Ko » (French units)."""
    if size >= MB:
        value = size / MB
        return f"{value:.0f} Mo" if value == int(value) else f"{value:.1f} Mo".replace(".", ",")
    return f"{max(1, size // 1024)} Ko"


# ----------------------------------------------------------------------------------------------
# Reading and checking
# ----------------------------------------------------------------------------------------------


def safe_filename(name: str | None, default: str = "document.pdf") -> str:
    """A file name fit for a Content-Disposition header and a screen: the last path part,
    accents folded, only letters, digits, dot, dash and underscore, at most 100 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")
    if not base:
        return default
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = stem[: 100 - len(ext) - 1] if ext else base[:100]
    return f"{stem}.{ext}" if ext else stem


def read_capped(stream: IO[bytes], max_bytes: int, name: str) -> bytes:
    """The stream's bytes, read by chunks and refused as soon as they pass ``max_bytes``."""
    buffer = io.BytesIO()
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if buffer.tell() + len(chunk) > max_bytes:
            raise FileRefused(TOO_LARGE.format(name=name, limit=human_size(max_bytes)))
        buffer.write(chunk)
    return buffer.getvalue()


def is_pdf(data: bytes) -> bool:
    """The magic bytes (``%PDF-`` within the first 1 024 bytes, as readers accept) and a full
    parse by pypdf: a renamed executable or a truncated file is refused."""
    if PDF_MAGIC not in data[:1024]:
        return False
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return len(reader.pages) > 0 if reader.decrypt("") else False
        return len(reader.pages) > 0
    except Exception:  # pypdf raises many kinds on a damaged file: all mean « not a PDF »
        return False


class FileRefused(FieldError):
    """An upload refused for its size or its content (a French message)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message, field or "")


def read_pdf(upload: Any, max_bytes: int = PDF_MAX_BYTES, field: str | None = None) -> bytes:
    """The bytes of an uploaded PDF (a werkzeug ``FileStorage``), checked by content."""
    name = safe_filename(getattr(upload, "filename", None))
    try:
        data = read_capped(upload.stream, max_bytes, name)
    except FileRefused as error:
        raise FileRefused(error.message, field) from None
    if not data:
        raise FileRefused(EMPTY.format(name=name), field)
    if not is_pdf(data):
        raise FileRefused(NOT_PDF.format(name=name), field)
    return data


# ----------------------------------------------------------------------------------------------
# Storage
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    """A file kept under UPLOAD_DIR: ``path`` is relative to it (what a row stores)."""

    path: str
    filename: str
    size: int


def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"]).resolve()


def _resolve(relative: str) -> Path | None:
    """The absolute path of a stored file, None when it would leave UPLOAD_DIR."""
    if not relative or relative.startswith(("/", "\\")) or "\x00" in relative:
        return None
    root = upload_root()
    path = (root / relative).resolve()
    return path if root in path.parents else None


def store(data: bytes, area: str, filename: str, suffix: str = ".pdf") -> StoredFile:
    """Write ``data`` under UPLOAD_DIR/<area>/ with a random name (never the user's); the file
    is removed again if the current transaction rolls back."""
    if not re.fullmatch(r"[a-z0-9_-]+", area):
        raise ValueError(f"bad storage area {area!r}")
    folder = upload_root() / area
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"{area}/{secrets.token_hex(16)}{suffix}"
    path = upload_root() / relative
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    discard_on_rollback(relative)
    return StoredFile(relative, safe_filename(filename), len(data))


def store_pdf(upload: Any, area: str, field: str | None = None) -> StoredFile:
    """Check an uploaded PDF (size, content) and store it."""
    data = read_pdf(upload, field=field)
    return store(data, area, getattr(upload, "filename", None) or "document.pdf")


def read_stored(relative: str | None) -> bytes | None:
    if not relative:
        return None
    path = _resolve(relative)
    if path is None or not path.is_file():
        return None
    return path.read_bytes()


def exists(relative: str | None) -> bool:
    path = _resolve(relative or "")
    return path is not None and path.is_file()


def delete(relative: str | None) -> None:
    path = _resolve(relative or "")
    if path is not None and path.is_file():
        path.unlink()


# Files written in the current transaction: removed again on rollback, forgotten on commit.
_PENDING = "medprev_pending_files"


def discard_on_rollback(relative: str) -> None:
    from app.extensions import db

    db.session.info.setdefault(_PENDING, []).append((relative, upload_root()))


@event.listens_for(Session, "after_commit")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_soft_rollback")
def _remove_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is not None and previous_transaction.nested:
        return  # a savepoint: the outer transaction decides
    for relative, root in session.info.pop(_PENDING, []):
        path = (root / relative).resolve()
        if root in path.parents and path.is_file():
            path.unlink()


# ----------------------------------------------------------------------------------------------
# Files kept while a refused form is shown again
# ----------------------------------------------------------------------------------------------
#
# A browser cannot refill a file input: when a form is refused for another field, the files it
# carried and that passed their checks are kept under UPLOAD_DIR/attente and the form carries a
# signed token for each (who, which file, how long), so nothing has to be chosen again. A token
# only reopens a file of that area, for the same user, for STAGING_MAX_AGE; stale files are
# purged whenever a new one is kept.

STAGING_AREA = "attente"
STAGING_MAX_AGE = 6 * 3600


@dataclass(frozen=True)
class StagedFile:
    """A kept file, read back: what a ``FileStorage`` offers to the checks (name, stream)."""

    filename: str
    stream: IO[bytes]
    path: str
    extra: dict[str, Any]


def _staging_serializer() -> Any:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.secret_key, salt="medprev-kept-upload")


def stage(data: bytes, filename: str, user_id: int | None, **extra: Any) -> str:
    """Keep a checked file for the form shown again; returns its token. Not tied to the
    transaction: the refused request has already rolled back."""
    purge_stale_staging()
    folder = upload_root() / STAGING_AREA
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"{STAGING_AREA}/{secrets.token_hex(16)}.pdf"
    descriptor = os.open(upload_root() / relative, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    payload = {"p": relative, "n": safe_filename(filename), "u": user_id, "x": extra}
    return str(_staging_serializer().dumps(payload))


def unstage(token: str, user_id: int | None) -> StagedFile | None:
    """The kept file of a token (None when forged, expired, another user's or gone)."""
    from itsdangerous import BadData

    try:
        payload = _staging_serializer().loads(token, max_age=STAGING_MAX_AGE)
    except BadData:
        return None
    if not isinstance(payload, dict) or payload.get("u") != user_id:
        return None
    relative = str(payload.get("p") or "")
    if not re.fullmatch(rf"{STAGING_AREA}/[0-9a-f]{{32}}\.pdf", relative):
        return None
    data = read_stored(relative)
    if data is None:
        return None
    return StagedFile(
        str(payload.get("n") or "document.pdf"), io.BytesIO(data), relative, payload.get("x", {})
    )


def purge_stale_staging() -> None:
    import time

    folder = upload_root() / STAGING_AREA
    if not folder.is_dir():
        return
    limit = time.time() - STAGING_MAX_AGE
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            continue


# ----------------------------------------------------------------------------------------------
# Serving
# ----------------------------------------------------------------------------------------------


def download_response(data: bytes, download_name: str, mimetype: str = "application/pdf") -> Any:
    """A download: always an attachment with a safe name, never cached (medical files), never
    sniffed as something else."""
    response = send_file(
        io.BytesIO(data),
        mimetype=mimetype,
        as_attachment=True,
        download_name=safe_filename(download_name),
        max_age=0,
        etag=False,
        last_modified=None,
        conditional=False,
    )
    response.headers["Cache-Control"] = "no-store, private, max-age=0"
    response.headers["Pragma"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def send_stored(relative: str | None, download_name: str) -> Any:
    """A stored file as a download, None when it is missing on disk."""
    data = read_stored(relative)
    return None if data is None else download_response(data, download_name)


# ----------------------------------------------------------------------------------------------
# Request size limits, before the body is read
# ----------------------------------------------------------------------------------------------

_LIMITS = "medprev_upload_limits"


def _limit_uploads() -> Any:
    limits: dict[str, int] = current_app.extensions.get(_LIMITS, {})
    limit = limits.get(request.endpoint or "")
    if limit is None or request.method not in ("POST", "PUT"):
        return None
    request.max_content_length = limit
    length = request.content_length
    if length is not None and length > limit:
        message = BODY_TOO_LARGE.format(limit=human_size(limit))
        g.upload_refused = message
        if request.path.startswith("/api/"):
            return jsonify(message=message), 413
        flash(message, "danger")
        return redirect(_back_url(), code=303)
    return None


def _back_url() -> str:
    """The page of the form (the Referer when it is this site's), else the posted address."""
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url):
        return "/" + referrer[len(request.host_url) :]
    return request.full_path.rstrip("?")


def install(app: Flask) -> None:
    """Register the size hook once, before the CSRF check reads the form."""
    if _LIMITS in app.extensions:
        return
    app.extensions[_LIMITS] = {}
    app.before_request_funcs.setdefault(None, []).insert(0, _limit_uploads)


def limit_endpoint(app: Flask, endpoint: str, max_bytes: int) -> None:
    install(app)
    app.extensions[_LIMITS][endpoint] = max_bytes


def refused_upload() -> str | None:
    """The French message when this request's body was refused for its size."""
    return g.get("upload_refused")


class UploadLimitMixin:
    """For a FAB view: ``upload_limits = {"method_name": max_bytes}`` caps the body of those
    endpoints before it is read (see ``install``)."""

    upload_limits: ClassVar[dict[str, int]] = {}

    def create_blueprint(self, appbuilder: Any, *args: Any, **kwargs: Any) -> Any:
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)  # type: ignore[misc]
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # in create_app
        for method, max_bytes in self.upload_limits.items():
            limit_endpoint(app, f"{self.endpoint}.{method}", max_bytes)  # type: ignore[attr-defined]
        return blueprint
