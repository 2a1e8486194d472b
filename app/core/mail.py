"""E-mail (SPEC A6): SMTP when configured, otherwise .eml files in the outbox folder.

Messages are queued on the database session and leave only when its transaction commits, so a
rolled-back action never sends anything.
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

from app.core.types import utcnow

_QUEUE_KEY = "outgoing_mail"


@dataclass(frozen=True)
class OutboxEntry:
    name: str
    date: datetime | None
    to: str
    subject: str
    body: str


def build_message(to: str | list[str], subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = ", ".join(to) if isinstance(to, list) else to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain="medecineprev.local")
    message.set_content(body)
    return message


def send_mail(to: str | list[str], subject: str, body: str) -> None:
    """Queue a French message; it is delivered when the current transaction commits."""
    from app.extensions import db

    message = build_message(to, subject, body)
    db.session.info.setdefault(_QUEUE_KEY, []).append(message)


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
    for message in queued:
        try:
            deliver(message)
        except (OSError, smtplib.SMTPException):
            current_app.logger.exception("Envoi du courriel impossible : %s", message["Subject"])


@event.listens_for(Session, "after_rollback")
def _drop_queued(session: Session) -> None:
    session.info.pop(_QUEUE_KEY, None)


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
