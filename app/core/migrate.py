"""Flask-Migrate bound without importing it at start-up.

``flask_migrate`` imports Alembic (and Mako, Pygments, argparse...): a third of a second that
every ``flask`` command and every worker paid at start-up, although only ``flask db ...`` and
the migrations themselves need it. ``LazyMigrate.init_app`` registers the same two things as
``flask_migrate.Migrate.init_app`` — ``app.extensions["migrate"]`` and the ``flask db`` group —
as stand-ins that call the real ``Migrate(app, db, ...)`` at their first use (an attribute read
by ``flask_migrate.upgrade()`` or ``migrations/env.py``, or a ``flask db`` sub-command); the
real objects then replace them. Guarded by tests/integration/test_startup.py.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask

# The help line of ``flask_migrate.cli.db``, shown by ``flask --help`` without importing it.
DB_HELP = "Perform database migrations."


class LazyMigrate:
    """Drop-in for ``flask_migrate.Migrate()`` (same ``init_app`` arguments)."""

    def init_app(self, app: Flask, db: Any, **kwargs: Any) -> None:
        pending = _PendingMigrate(app, db, kwargs)
        app.extensions["migrate"] = pending
        app.cli.add_command(_DbGroup(pending), "db")


class _PendingMigrate:
    """``app.extensions["migrate"]`` until Flask-Migrate is needed."""

    def __init__(self, app: Flask, db: Any, kwargs: dict[str, Any]) -> None:
        self._app = app
        self._db = db
        self._kwargs = kwargs

    def load(self) -> Any:
        """The real ``_MigrateConfig`` (``Migrate(app, db, ...)`` binds it and the db group)."""
        current = self._app.extensions.get("migrate")
        if current is self:
            from flask_migrate import Migrate

            Migrate(self._app, self._db, **self._kwargs)
            current = self._app.extensions["migrate"]
        return current

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.load(), name)


class _DbGroup(click.Group):
    """``flask db``: delegates to Flask-Migrate's group, imported when a sub-command runs."""

    def __init__(self, pending: _PendingMigrate) -> None:
        super().__init__("db", help=DB_HELP)
        self._pending = pending

    def _real(self) -> click.Group:
        self._pending.load()
        from flask_migrate.cli import db

        return db

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        return self._real().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._real().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._real().get_command(ctx, cmd_name)
