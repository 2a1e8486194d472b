"""Reading the JSON body of an API write: one place for the object check and the typed fields,
each refusing a wrong type with a French message naming the field (a 400, never a 500)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request

from app.core.input_guard import NOT_AN_OBJECT_MESSAGE
from app.rules.errors import DomainError, FieldError


def json_object(allowed: set[str] | None = None) -> dict[str, Any]:
    """The request's JSON object; with ``allowed``, any other key is refused."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise DomainError(NOT_AN_OBJECT_MESSAGE)
    if allowed is not None:
        unknown = set(payload) - allowed
        if unknown:
            raise DomainError("Champs non modifiables : " + ", ".join(sorted(unknown)) + ".")
    return payload


def date_field(payload: dict[str, Any], key: str) -> dt.date | None:
    """An ISO date (AAAA-MM-JJ), None when absent or empty."""
    raw = payload.get(key)
    if raw in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError as error:
        raise FieldError(f"« {key} » : date invalide (format attendu AAAA-MM-JJ).", key) from error


def bool_field(payload: dict[str, Any], key: str) -> bool:
    """A JSON boolean; absent or null reads as false."""
    value = payload.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise FieldError(f"« {key} » : true ou false attendu.", key)
    return value


def text_field(payload: dict[str, Any], key: str, max_length: int | None = None) -> str | None:
    """A string or None; longer than ``max_length`` is refused."""
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise FieldError(f"« {key} » : texte attendu.", key)
    if value and max_length is not None and len(value) > max_length:
        limit = f"{max_length:,}".replace(",", " ")
        raise FieldError(f"« {key} » : {limit} caractères au plus.", key)
    return value


def id_field(payload: dict[str, Any], key: str, required: bool = True) -> int | None:
    """A record id (a positive 32-bit integer, never a boolean); None when optional and absent."""
    value = payload.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise FieldError(f"« {key} » : identifiant attendu.", key)
    return value
