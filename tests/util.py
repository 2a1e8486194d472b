"""Small helpers for assertions on pages."""

from __future__ import annotations

import html
from typing import Any


def text(response: Any) -> str:
    """The page as a user reads it (HTML entities decoded)."""
    return html.unescape(response.get_data(as_text=True))


def require_redis_or_skip() -> None:
    """Redis at 127.0.0.1:6379 is part of CI (the brief): there its absence fails the test;
    on a developer's machine without Redis the test is skipped, like the browser tests."""
    import os

    import pytest

    if os.environ.get("CI"):
        pytest.fail("Redis is required in CI and is not answering on 127.0.0.1:6379")
    pytest.skip("no Redis on 127.0.0.1:6379")
