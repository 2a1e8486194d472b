"""Safe paging arguments for every list: ``page_X=abc`` or ``psize_X=100000`` never break a page.

FAB parses ``page_<View>`` and ``psize_<View>`` with a bare ``int()`` (a 500 on ``abc``) and
renders any page size asked for. These replacements ignore what is not a number and cap the
page size. The hand-written lists read theirs through :func:`listing` (page, page size, sort
column and direction), shown by the macros of ``templates/core/_list.html``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


# ----------------------------------------------------------------------------------------------
# The hand-written list screens (agents, positions, plages...): ``page``, ``psize``, ``tri``,
# ``ordre``, read the same safe way, with the same page sizes as FAB's lists.
# ----------------------------------------------------------------------------------------------

PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 25
MAX_PAGE = 100_000


def _positive(raw: str | None, default: int, maximum: int) -> int:
    if not raw or not raw.isdigit() or int(raw) < 1:
        return default
    return min(int(raw), maximum)


@dataclass(frozen=True)
class Listing:
    """The page, page size and order a custom list was asked for (``?page=2&psize=50&tri=pcs
    &ordre=desc``); what is not understood falls back to the list's defaults, never an error."""

    page: int = 1
    size: int = DEFAULT_PAGE_SIZE
    sort: str = ""
    descending: bool = False

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def pages(self, total: int) -> int:
        return max(1, math.ceil(total / self.size))

    def order_by(self, sorts: Mapping[str, Sequence[Any]]) -> list[Any]:
        """The ORDER BY of the chosen sort (its columns, each descending when asked); the
        list's last column should be unique (an id) so that pages never overlap."""
        columns = sorts.get(self.sort) or next(iter(sorts.values()), ())
        return [column.desc() if self.descending else column.asc() for column in columns]


def listing(
    sorts: Iterable[str] = (),
    default_sort: str = "",
    *,
    default_size: int = DEFAULT_PAGE_SIZE,
    default_descending: bool = False,
) -> Listing:
    """The request's :class:`Listing` for a list sortable by the keys ``sorts``."""
    allowed = list(sorts)
    sort = request.args.get("tri", "")
    if sort not in allowed:
        sort = default_sort if default_sort in allowed or not allowed else allowed[0]
        descending = default_descending
    else:
        descending = request.args.get("ordre") == "desc"
    return Listing(
        page=_positive(request.args.get("page"), 1, MAX_PAGE),
        size=_positive(request.args.get("psize"), default_size, MAX_PAGE_SIZE),
        sort=sort,
        descending=descending,
    )
