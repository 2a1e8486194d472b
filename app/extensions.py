"""Extension objects shared by the whole application (bound in create_app)."""

from __future__ import annotations

from flask_appbuilder import Model
from flask_appbuilder.models.sqla.base import SQLA
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

from app.core import postgres as _postgres  # noqa: F401  - PostgreSQL connections: no JIT
from app.core import sqlite as _sqlite  # noqa: F401  - SQLite connection behaviour
from app.core.migrate import LazyMigrate
from app.core.session import Session

# Constraint names follow one convention so migrations can name (and drop) them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = Model.metadata
metadata.naming_convention = NAMING_CONVENTION

db = SQLA(metadata=metadata, session_options={"class_": Session})
# Flask-Migrate (and Alembic) imported at the first ``flask db`` command or migration only.
migrate = LazyMigrate()
csrf = CSRFProtect()
