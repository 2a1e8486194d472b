"""FAB's ``@rison`` validates the REST ``q`` argument with ``jsonschema.validate``, which checks
the schema itself and builds a validator at every call (each API list): the validator of each
schema is built once instead, with the same errors (``best_match``) as ``jsonschema.validate``.
``jsonschema`` itself is imported at the first check (app/core/lazy_imports.py: not at start-up).
"""

from __future__ import annotations

from typing import Any

import flask_appbuilder.api as fab_api


class CachedJsonSchema:
    """What FAB's API module uses of ``jsonschema``: ``validate`` and ``ValidationError``."""

    @property
    def ValidationError(self) -> type[Exception]:  # noqa: N802 - the name FAB reads
        import jsonschema

        return jsonschema.ValidationError  # type: ignore[no-any-return]

    def __init__(self) -> None:
        # id(schema) -> (schema, validator): the schema is kept, so its id is never reused.
        self._validators: dict[int, tuple[Any, Any]] = {}

    def validate(self, instance: Any, schema: Any, *args: Any, **kwargs: Any) -> None:
        import jsonschema
        from jsonschema import exceptions, validators

        if args or kwargs:
            jsonschema.validate(instance, schema, *args, **kwargs)
            return
        entry = self._validators.get(id(schema))
        if entry is None or entry[0] is not schema:
            cls = validators.validator_for(schema)
            cls.check_schema(schema)
            entry = self._validators[id(schema)] = (schema, cls(schema))
        error = exceptions.best_match(entry[1].iter_errors(instance))
        if error is not None:
            raise error


def install() -> None:
    if not isinstance(fab_api.jsonschema, CachedJsonSchema):
        fab_api.jsonschema = CachedJsonSchema()  # type: ignore[assignment]
