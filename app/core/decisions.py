"""One handler for the decision buttons of the back-office queues (accept / refuse a
procedure, cancel a statutory request...): the record is looked up in the caller's scope first
(absent or out of reach: 404, nothing runs), the service runs as the request's transaction
(``run_service``: commit on success; a refusal rolls everything back and is flashed in French),
then the browser goes back to the queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect

from app.core.views import run_service


def decide(
    record: object | None,
    action: Callable[[], Any],
    done: str | Callable[[Any], str],
    back: str,
) -> Any:
    """Run ``action`` on a record the caller reaches (``None``: 404) and redirect to ``back``;
    ``done`` is the success message (or builds it from the action's result)."""
    if record is None:
        abort(404)
    ran = run_service(action)
    if ran:
        flash(done(ran.result) if callable(done) else done, "success")
    return redirect(back)
