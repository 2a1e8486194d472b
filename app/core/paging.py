"""Safe paging arguments for FAB screens: ``page_X=abc`` or ``psize_X=100000`` never break a page.

FAB parses ``page_<View>`` and ``psize_<View>`` with a bare ``int()`` (a 500 on ``abc``) and
renders any page size asked for. These replacements ignore what is not a number and cap the
page size.
"""

from __future__ import annotations

import re

import flask_appbuilder.baseviews
import flask_appbuilder.views
from flask import request

MAX_PAGE_SIZE = 100


def _int_args(prefix: str, minimum: int, maximum: int | None) -> dict[str, int]:
    values: dict[str, int] = {}
    pattern = re.compile(rf"{prefix}(.+)")
    for arg in request.args:
        match = pattern.fullmatch(arg)
        if not match:
            continue
        raw = request.args.get(arg, "")
        if not raw.isdigit():
            continue
        value = max(int(raw), minimum)
        values[match.group(1)] = min(value, maximum) if maximum else value
    return values


def get_page_args() -> dict[str, int]:
    return _int_args("page_", 0, 100_000)


def get_page_size_args() -> dict[str, int]:
    return _int_args("psize_", 1, MAX_PAGE_SIZE)


def install() -> None:
    for module in (flask_appbuilder.baseviews, flask_appbuilder.views):
        if hasattr(module, "get_page_args"):
            module.get_page_args = get_page_args
        if hasattr(module, "get_page_size_args"):
            module.get_page_size_args = get_page_size_args
