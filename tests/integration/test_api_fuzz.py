"""Schemathesis over the whole REST API (security issue 8): no input is a server error.

The OpenAPI document is the one the application serves (``/api/v1/_openapi``); it must be a
valid OpenAPI 3 document. Every operation is then fuzzed in-process (WSGI transport) with a
fixed seed and a bounded number of examples, valid and invalid inputs alike, once as an
employer primary account and once as the administrator: no answer may be a 5xx.

``FUZZ_MAX_EXAMPLES`` raises the number of examples per operation for a longer local run.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from sqlalchemy import select

from app.tenancy import system_scope
from tests import factories
from tests.isolation import build_world

SEED = 20260308
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))
# Checking a password costs a hash: the login is fuzzed with fewer examples.
FEWER = {"/api/v1/security/login": 4}


def _string_ids(node: Any, path: str = "") -> list[str]:
    """Where the document types an ``id`` / ``ids`` / ``..._id`` as a string."""
    found = []
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            is_id = key == "id" or key.endswith("_id")
            if is_id and isinstance(value, dict) and value.get("type") == "string":
                found.append(f"{path}/{key}")
            if key == "ids" and value.get("items", {}).get("type") == "string":
                found.append(f"{path}/{key}")
        for key, value in node.items():
            found += _string_ids(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _string_ids(value, f"{path}/{index}")
    return found


def _openapi(app: Any, token: str) -> dict[str, Any]:
    response = app.test_client().get(
        "/api/v1/_openapi", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _token(app: Any, user: Any) -> str:
    response = app.test_client().post(
        "/api/v1/security/login",
        json={"username": user.username, "password": factories.PASSWORD, "provider": "db"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def _world(app: Any, db_ctx: Any) -> tuple[Any, dict[str, list[int]]]:
    """A populated world (two collectivities, agents, positions, contracts, plages,
    appointments) and, per resource, ids that exist: fuzzing reaches past the 404."""
    from app.core.views import AppModelRestApi

    with db_ctx() as session:
        world = build_world(session)
        ids = {}
        with system_scope():
            for view in app.appbuilder.baseviews:
                if isinstance(view, AppModelRestApi):
                    model = view.datamodel.obj
                    ids[view.resource_name] = list(
                        session.scalars(select(model.id).order_by(model.id.desc()).limit(4))
                    )
    return world, ids


def _strategy(operation: Any, ids: dict[str, list[int]]) -> Any:
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(mode) for mode in modes]
    resource = operation.path.split("/")[3] if operation.path.count("/") > 3 else ""
    if "{pk}" in operation.path and ids.get(resource):
        for mode in modes:
            strategies.append(
                st.sampled_from(ids[resource]).flatmap(
                    lambda pk, mode=mode: operation.as_strategy(mode, path_parameters={"pk": pk})
                )
            )
    return st.one_of(*strategies)


def _fuzz(
    app: Any, spec: dict[str, Any], token: str, ids: dict[str, list[int]]
) -> tuple[int, Counter[int], list[str]]:
    """(operations, answers by status, server errors) of a bounded run over every operation."""
    schema = schemathesis.openapi.from_dict(spec)
    schema.validate()
    headers = {"Authorization": f"Bearer {token}"}
    operations = 0
    calls: Counter[int] = Counter()
    errors: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        strategy = _strategy(operation, ids)

        @seed(SEED)
        @settings(
            max_examples=FEWER.get(operation.path, MAX_EXAMPLES),
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: Any) -> None:
            response = case.call(app=app, headers=headers)
            calls[response.status_code] += 1
            if response.status_code >= 500:
                errors.append(
                    f"{response.status_code} {case.method} {case.formatted_path} "
                    f"query={case.query!r} body={getattr(case, 'body', None)!r:.200} "
                    f"-> {response.text[:200]}"
                )

        run()
    return operations, calls, errors


@pytest.mark.parametrize("who", ["employer", "admin"])
def test_no_input_is_a_server_error(app, users, db_ctx, who, capsys):
    world, ids = _world(app, db_ctx)
    admin_token = _token(app, users.admin)
    spec = _openapi(app, admin_token)
    # Ids are integers and datetimes carry their format (a client can generate from the spec).
    components = spec["components"]["schemas"]
    assert components["PlageApi.get"]["properties"]["id"]["type"] == "integer"
    assert components["PlageApi.get"]["properties"]["start"]["format"] == "date-time"
    assert components["CollectivityApi.get"]["properties"]["membership_start"]["format"] == "date"
    assert _string_ids(spec) == []
    token = admin_token if who == "admin" else _token(app, world.primary_a)

    started = time.monotonic()
    operations, calls, errors = _fuzz(app, spec, token, ids)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(
            f"\nschemathesis as {who}: {operations} operations, {calls.total()} requests "
            f"{dict(sorted(calls.items()))}, {len(errors)} server errors, {elapsed:.1f} s"
        )
    assert operations >= 30
    assert errors == []
