"""Bad input is a 400 (or a 404 for an id that cannot exist), never a 500.

What fuzzing found reaching the database or a parser unchecked, refused once for every screen
and REST resource:

- ``BadInput``: a ``BadRequest`` with a French message. FAB's ``@safe`` turns it into the API's
  400 JSON; on screens the 400 handler shows it on the error page;
- a request hook: NUL bytes anywhere in the URL, query string, form or JSON body (PostgreSQL
  cannot store them); FAB's ``/download/<filename>`` routes without ``UPLOAD_FOLDER`` (404);
  a JSON body that does not parse or is not an object; integers that no
  database column can hold; ``q`` arguments that crash the rison parser (``((((`` recurses
  until ``RecursionError``); ``pk`` path arguments that cannot be an id (404);
- the ``int`` URL converter refuses numbers above 2^63 - 1 (404, no route);
- FAB's filter value conversion (``_flt_`` on screens, ``filters`` in the API) refuses unknown
  enum codes and numbers the database cannot compare;
- a last net: the database refusing a value (``DataError``: out of range, invalid text) or a
  column type refusing it (``StatementError`` wrapping ``LookupError``, ``OverflowError``...)
  is a 400, on screens and in the API.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from typing import Any

import flask_appbuilder.models.sqla.filters as fab_filters
import prison
import sqlalchemy as sa
from flask import Flask, abort, current_app, request
from sqlalchemy.exc import DataError, StatementError
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from app.core.types import UTCDateTime

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

NUL_MESSAGE = "Les champs ne peuvent pas contenir de caractère nul (\\0)."
TOO_LARGE_MESSAGE = "Nombre trop grand : la valeur dépasse les limites acceptées."
NOT_AN_OBJECT_MESSAGE = "Le corps de la requête doit être un objet JSON."
BAD_JSON_MESSAGE = "Le corps de la requête n'est pas un JSON valide."
BAD_Q_MESSAGE = "Paramètre q invalide (rison attendu)."
OUT_OF_RANGE_MESSAGE = "Une valeur est refusée par la base de données (hors limites ou invalide)."

_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_ID_RE = re.compile(r"\d{1,19}")


class BadInput(BadRequest):
    """A refused request, with the French message shown to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(description=message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BoundedIntegerConverter(IntegerConverter):
    """``<int:pk>`` matches only what a BIGINT can hold: a larger id is a 404, not a 500."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT64_MAX)
        super().__init__(map, *args, **kwargs)


def _check_json(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise BadInput(NUL_MESSAGE)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise BadInput(TOO_LARGE_MESSAGE)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(key)
            _check_json(item)
    elif isinstance(value, list):
        for item in value:
            _check_json(item)


def _check_rison(raw: str) -> None:
    try:
        value = prison.loads(raw)
    except prison.decoder.ParserException:
        return  # FAB answers these itself (it tries JSON, then says 400)
    except Exception as error:  # RecursionError, TypeError... inside the parser
        raise BadInput(BAD_Q_MESSAGE) from error
    _check_json(value)


def _guard_request() -> None:
    if "\x00" in request.path:
        raise BadInput(NUL_MESSAGE)
    rule = request.url_rule.rule if request.url_rule is not None else ""
    if rule.endswith("/download/<string:filename>") and "UPLOAD_FOLDER" not in current_app.config:
        abort(404)  # FAB's file download of every ModelView: the application stores no file
    pk = (request.view_args or {}).get("pk")
    if isinstance(pk, str) and (not _ID_RE.fullmatch(pk) or int(pk) > INT64_MAX):
        abort(404)  # every primary key of the application is an integer
    for multi in (request.args, request.form):
        for key, values in multi.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                raise BadInput(NUL_MESSAGE)
    is_api = request.path.startswith("/api/")
    if is_api and "q" in request.args:
        _check_rison(request.args["q"])
    if is_api and request.method in _WRITE_METHODS and request.is_json:
        raw = request.get_data(cache=True)
        if not raw.strip():
            return
        try:
            body = json.loads(raw)
        except ValueError as error:
            raise BadInput(BAD_JSON_MESSAGE) from error
        if not isinstance(body, dict):
            raise BadInput(NOT_AN_OBJECT_MESSAGE)
        _check_json(body)


# -- FAB filters ---------------------------------------------------------------------------------

_fab_set_value_to_type = fab_filters.set_value_to_type


def _is_decimal(column_type: Any) -> bool:
    base = column_type.impl if isinstance(column_type, sa.types.TypeDecorator) else column_type
    return isinstance(base, sa.Numeric) and not isinstance(base, sa.Float)


def _column_type(datamodel: Any, column_name: str) -> Any:
    column = datamodel.list_columns.get(column_name)
    return getattr(column, "type", None)


def set_value_to_type(datamodel: Any, column_name: str, value: Any) -> Any:
    """FAB's conversion of a filter value, refusing what the column cannot hold."""
    if isinstance(value, str) and "\x00" in value:
        raise BadInput(NUL_MESSAGE)
    column_type = _column_type(datamodel, column_name)
    if isinstance(column_type, sa.Enum) and column_type.enum_class is not None:
        enum_class = column_type.enum_class
        if isinstance(value, enum_class) or value is None:
            return value
        if not isinstance(value, str) or value not in enum_class.__members__:
            raise BadInput(f"Valeur inconnue pour le filtre « {column_name} » : {value!s:.50}.")
        return enum_class[value]
    if _is_decimal(column_type):
        try:
            return decimal.Decimal(str(value))
        except decimal.InvalidOperation as error:
            raise BadInput(f"Nombre attendu pour le filtre « {column_name} ».") from error
    converted = _fab_set_value_to_type(datamodel, column_name, value)
    is_integer = isinstance(converted, int) and not isinstance(converted, bool)
    if is_integer and not INT64_MIN <= converted <= INT64_MAX:
        raise BadInput(TOO_LARGE_MESSAGE)
    if (
        isinstance(converted, dt.datetime)
        and converted.tzinfo is None
        and isinstance(column_type, UTCDateTime)
    ):
        converted = converted.replace(tzinfo=dt.UTC)
    if isinstance(converted, dt.datetime) and not dt.MINYEAR < converted.year < dt.MAXYEAR:
        raise BadInput(f"Date invalide pour le filtre « {column_name} ».")
    return converted


# -- the last net --------------------------------------------------------------------------------


def bad_input_message(error: BaseException | None) -> str | None:
    """The French message for an error caused by a value the database or a type refused."""
    if error is None:
        return None
    if isinstance(error, BadInput):
        return error.message
    if isinstance(error, DataError):
        return OUT_OF_RANGE_MESSAGE
    if isinstance(error, OverflowError):
        return TOO_LARGE_MESSAGE
    if isinstance(error, StatementError) and isinstance(
        error.orig, (LookupError, OverflowError, ValueError, TypeError, decimal.InvalidOperation)
    ):
        if isinstance(error.orig, LookupError):
            return "Valeur non autorisée pour un champ à choix."
        if isinstance(error.orig, OverflowError):
            return TOO_LARGE_MESSAGE
        return OUT_OF_RANGE_MESSAGE
    return None


def install(app: Flask) -> None:
    """Before any route is registered: the bounded ``int`` converter, the request hook, the
    filter conversion; error handlers are registered by the application factory."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request(_guard_request)
    fab_filters.set_value_to_type = set_value_to_type
