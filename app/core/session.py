"""The SQLAlchemy session class used by db.session."""

from __future__ import annotations

from typing import Any

import flask_sqlalchemy.session


class Session(flask_sqlalchemy.session.Session):
    """Flask-SQLAlchemy's session, honouring an explicit session-level bind.

    Tests bind the session to one connection inside an outer transaction
    (``join_transaction_mode="create_savepoint"``) so each test rolls back.
    """

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kw: Any) -> Any:
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kw)
