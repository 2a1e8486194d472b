"""Small helpers for assertions on pages."""

from __future__ import annotations

import html
from typing import Any


def text(response: Any) -> str:
    """The page as a user reads it (HTML entities decoded)."""
    return html.unescape(response.get_data(as_text=True))
