"""E-mail addresses: one check (``rules.emails.normalize_email``) applied everywhere one is stored.

- a column declared with ``email_column()`` (and FAB's ``User.email``) is checked and normalised
  before every flush that sets it: screens, REST API, services, imports and CLI alike; a bad
  address raises ``FieldError(<column>)``, which screens show next to the field and the API
  answers with a 400 and the French message;
- ``EmailAddress()`` is the WTForms validator of every form field holding an address (every
  FAB screen gets it on those columns: ``add_email_validators``, called by ``register_views``),
  so the form comes back with the error next to the field and what was typed;
- ``app.core.mail.send_mail`` checks each recipient again (rows stored before this check).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask_appbuilder.security.sqla.models import RegisterUser, User
from sqlalchemy import String, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, Session, mapped_column
from wtforms.fields.core import UnboundField
from wtforms.validators import ValidationError

from app.rules.emails import normalize_email
from app.rules.errors import FieldError

EMAIL_INFO_KEY = "email"
# Models the project does not declare (FAB's), with their e-mail attributes.
_UNDECLARED: dict[type, tuple[str, ...]] = {User: ("email",), RegisterUser: ("email",)}


def email_column(length: int = 254, **kwargs: Any) -> Mapped[Any]:
    """A nullable text column holding one e-mail address, checked at every flush."""
    return mapped_column(String(length), info={EMAIL_INFO_KEY: True}, **kwargs)


@cache
def email_attributes(model: type) -> tuple[str, ...]:
    """The attributes of ``model`` that hold an e-mail address."""
    mapper = sa_inspect(model, raiseerr=False)
    if mapper is None:
        return ()
    declared = [
        prop.key
        for prop in mapper.column_attrs
        if any(getattr(column, "info", {}).get(EMAIL_INFO_KEY) for column in prop.columns)
    ]
    for base, names in _UNDECLARED.items():
        if issubclass(model, base):
            declared.extend(name for name in names if name not in declared)
    return tuple(declared)


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip(" ")


@event.listens_for(Session, "before_flush")
def _check_email_columns(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in (*session.new, *session.dirty):
        names = email_attributes(type(obj))
        if not names:
            continue
        state = sa_inspect(obj)
        for name in names:
            if not state.pending and not state.attrs[name].history.has_changes():
                continue  # unchanged: a row stored before this check is not refused for it
            value = getattr(obj, name)
            if _blank(value):
                continue
            normalized = normalize_email(value, name)
            if normalized != value:
                setattr(obj, name, normalized)


class EmailAddress:
    """WTForms validator: an empty field passes (``DataRequired`` says when one is needed), an
    address is normalised, anything else is refused with the French message."""

    field_flags = {"email": True}

    def __call__(self, form: Any, field: Any) -> None:
        if _blank(field.data):
            return
        try:
            field.data = normalize_email(field.data, field.name)
        except FieldError as error:
            raise ValidationError(error.message) from error


def add_email_validators(form_class: Any, model: type) -> Any:
    """Give ``EmailAddress()`` to the fields of a generated (FAB) form bound to e-mail columns."""
    for name in email_attributes(model):
        unbound = getattr(form_class, name, None)
        if not isinstance(unbound, UnboundField):
            continue
        kwargs = dict(unbound.kwargs)
        validators = list(kwargs.get("validators") or [])
        if not any(isinstance(v, EmailAddress) for v in validators):
            kwargs["validators"] = [*validators, EmailAddress()]
            setattr(form_class, name, unbound.field_class(*unbound.args, **kwargs))
    return form_class
