"""Start-up guard: building the application imports none of the modules deferred to first use.

Each ``flask`` command (and each worker) builds the whole application; the modules below cost
from tens to hundreds of milliseconds to import and are only needed by some commands, screens
or tests. The figures are in ``benchmarks/startup.py`` (no timed test here): this test fails
when an import at module level brings one of them back into the start-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Module -> where it is imported now (the first use that pays for it).
DEFERRED = {
    "alembic": "app.core.migrate: `flask db ...`, flask_migrate.upgrade()",
    "flask_migrate": "app.core.migrate: `flask db ...`, flask_migrate.upgrade()",
    "mako": "Alembic's templates (with flask_migrate)",
    "holidays": "app.rules.working_days: first working-day computation",
    "email_validator": "app.rules.emails.normalize_email: first address checked",
    "openpyxl": "XLSX imports and exports",
    "schemathesis": "tests only (API fuzzing)",
    "hypothesis": "tests only",
    "app.referential.reference_data": "`flask seed-reference`",
    "app.demo": "`flask demo-data`",
    "apscheduler": "app.scheduling.scheduler: `flask scheduler`, or SCHEDULER_ENABLED",
    "app.scheduling.scheduler": "`flask scheduler`, or SCHEDULER_ENABLED",
    # app.core.lazy_imports: packages Flask-AppBuilder imports, run at their first use.
    "jsonschema.validators": "app.core.rison_schemas: the first REST `q` argument checked",
    "referencing": "with jsonschema",
    "sqlalchemy_utils.aggregates": "sqlalchemy_utils's __init__ (FAB needs UUIDType only)",
    "sqlalchemy_utils.types.arrow": "sqlalchemy_utils.types's __init__",
}

PROBE = """
import json, sys
from app import create_app
application = create_app("config.TestConfig")
{extra}
print(json.dumps(sorted(name for name in {names!r} if name in sys.modules)))
"""


def _imported_after(extra: str = "") -> list[str]:
    env = {key: value for key, value in os.environ.items() if key != "PUBLIC_URL"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(extra=extra, names=sorted(DEFERRED))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_building_the_app_imports_none_of_the_deferred_modules():
    assert _imported_after() == []


def test_the_cli_lists_commands_without_loading_flask_migrate():
    extra = """
result = application.test_cli_runner().invoke(args=["--help"])
assert result.exit_code == 0, result.output
assert "db" in application.cli.list_commands(None)
"""
    assert _imported_after(extra) == []


def test_flask_db_still_loads_flask_migrate_on_demand():
    extra = """
result = application.test_cli_runner().invoke(args=["db", "--help"])
assert result.exit_code == 0, result.output
assert "upgrade" in result.output and "Perform database migrations." in result.output
"""
    imported = _imported_after(extra)
    assert {"alembic", "flask_migrate"} <= set(imported)
    assert "holidays" not in imported and "email_validator" not in imported


def test_the_deferred_packages_are_whole_at_their_first_use():
    """jsonschema and sqlalchemy_utils run their ``__init__`` when first used, whichever way:
    an attribute of the package or one of its submodules first; the objects are the same."""
    extra = """
import jsonschema.exceptions
import jsonschema
assert jsonschema.exceptions.ValidationError is jsonschema.ValidationError
import flask_appbuilder.api as fab_api
try:
    fab_api.jsonschema.validate({"page": "x"}, {"type": "object",
                                "properties": {"page": {"type": "integer"}}})
except fab_api.jsonschema.ValidationError as error:
    assert error.message == "'x' is not of type 'integer'", error.message
else:
    raise AssertionError("not validated")
from sqlalchemy_utils.types.uuid import UUIDType
import sqlalchemy_utils.aggregates
import sqlalchemy_utils
assert sqlalchemy_utils.UUIDType is UUIDType
assert sqlalchemy_utils.aggregated is sqlalchemy_utils.aggregates.aggregated
"""
    imported = _imported_after(extra)
    assert {"jsonschema.validators", "referencing", "sqlalchemy_utils.aggregates"} <= set(imported)
    assert "sqlalchemy_utils.types.arrow" in imported
