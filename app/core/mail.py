"""E-mail (SPEC A6): SMTP when configured, otherwise .eml files in the outbox folder.

Messages are queued on the database session and leave only when its transaction commits, so a
rolled-back action never sends anything.

A bad recipient never breaks the action nor the other messages of a batch: ``send_mail`` checks
each address (``rules.emails``: one address, no line break) and folds the subject on one line;
a refused message is not queued, it is logged and kept for the screen (``take_refused_mail``),
and ``send_mail`` returns False. A message the server refuses after the commit is logged.
Each queued, refused and undelivered message is counted (``app.core.metrics``, issue 19).
"""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core import metrics
from app.core.types import utcnow
from app.rules.emails import normalize_email
from app.rules.errors import FieldError

_QUEUE_KEY = "outgoing_mail"
_REFUSED_KEY = "refused_mail"


@dataclass(frozen=True)
class OutboxEntry:
    name: str
    date: datetime | None
    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class RefusedMail:
    """A message that was not sent: its recipient is not a valid e-mail address."""

    to: str
    subject: str

    @property
    def message(self) -> str:
        shown = " ".join(self.to.split()) or "(vide)"
        return (
            f"Le courriel n'a pas pu être envoyé à « {shown} » : adresse e-mail invalide. "
            f"Corrigez-la puis prévenez le destinataire (objet : {self.subject})."
        )


def build_message(to: str | list[str], subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = ", ".join(to) if isinstance(to, list) else to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain="medecineprev.local")
    message.set_content(body)
    return message


def send_mail(to: str | list[str], subject: str, body: str) -> bool:
    """Queue a French message; it is delivered when the current transaction commits.

    Never raises for an address: an invalid recipient (a line break, a list, no domain...)
    leaves the message unsent, logged and kept for ``take_refused_mail``; returns False then.
    """
    from app.extensions import db

    subject = " ".join(subject.split())  # a line break in a header is a header injection
    recipients = [to] if isinstance(to, str) else list(to)
    try:
        addresses = [normalize_email(r, "to", reserved_domain_ok=True) for r in recipients]
        if not addresses:
            raise FieldError("Aucun destinataire.", "to")
    except FieldError:
        shown = ", ".join(recipients)
        current_app.logger.warning("Courriel non envoyé (adresse invalide %r) : %s", shown, subject)
        db.session.info.setdefault(_REFUSED_KEY, []).append(RefusedMail(shown, subject))
        metrics.email_failed("refused")
        return False
    message = build_message(addresses, subject, body)
    db.session.info.setdefault(_QUEUE_KEY, []).append(message)
    return True


def take_refused_mail() -> list[RefusedMail]:
    """The messages refused for their recipient since the last call (to show them on screen)."""
    from app.extensions import db

    refused: list[RefusedMail] = db.session.info.pop(_REFUSED_KEY, [])
    return refused


def deliver(message: EmailMessage) -> None:
    config = current_app.config
    if config.get("MAIL_SERVER"):
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
        return
    outbox = Path(config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
    (outbox / name).write_bytes(bytes(message))


@event.listens_for(Session, "after_commit")
def _deliver_queued(session: Session) -> None:
    queued: list[EmailMessage] = session.info.pop(_QUEUE_KEY, [])
    metrics.emails_queued(len(queued))
    for message in queued:
        try:
            deliver(message)
        except Exception:  # one message refused by the server never stops the others
            metrics.email_failed("delivery")
            current_app.logger.exception(
                "Envoi du courriel impossible à %s : %s", message["To"], message["Subject"]
            )


@event.listens_for(Session, "after_rollback")
def _drop_queued(session: Session) -> None:
    session.info.pop(_QUEUE_KEY, None)
    session.info.pop(_REFUSED_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_queued_soft(session: Session, previous_transaction: Any) -> None:
    if not session.in_transaction():
        session.info.pop(_QUEUE_KEY, None)


def outbox_entries(limit: int = 200) -> list[OutboxEntry]:
    """The most recent messages of the outbox folder, newest first."""
    outbox = Path(current_app.config["OUTBOX_DIR"])
    if not outbox.is_dir():
        return []
    files = sorted(outbox.glob("*.eml"), reverse=True)[:limit]
    return [read_outbox(path.name) for path in files]


def read_outbox(name: str) -> OutboxEntry:
    outbox = Path(current_app.config["OUTBOX_DIR"])
    path = outbox / Path(name).name
    if path.suffix != ".eml" or not path.is_file():
        raise FileNotFoundError(name)
    message = BytesParser(policy=default_policy).parsebytes(path.read_bytes())
    body_part = message.get_body(preferencelist=("plain",))
    body = body_part.get_content() if body_part is not None else ""
    date = message["Date"].datetime if message["Date"] else None
    return OutboxEntry(
        name=path.name,
        date=date,
        to=str(message["To"]),
        subject=str(message["Subject"]),
        body=body,
    )
