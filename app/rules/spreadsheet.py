"""Neutralising spreadsheet formulas in the cells of the CSV and XLSX files the app writes."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal

Cell = str | int | float | Decimal | bool | date | datetime | time | None

# A spreadsheet reads a cell starting with one of these as a formula (or a DDE call). OWASP
# lists = + - @ tab and CR; ASVS 5.0 V1.2.10 adds NUL; LF and the full-width forms, which some
# spreadsheets fold into their ASCII counterparts, are neutralised too.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\x00\uff1d\uff0b\uff0d\uff20")
QUOTE = "'"

# A negative amount already written the French way (« -50,00 », « -1 234,56 € ») is a number to
# a spreadsheet, never a formula: it keeps its sign so that accountants can add the column.
_SIGNED_NUMBER = re.compile(r"-\d{1,3}(?:[ \u00a0\u202f]?\d{3})*(?:[.,]\d+)?(?:[ \u00a0\u202f]?€)?")


def _starts_formula(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula (leading spaces are skipped); a
    plain negative number is not one."""
    stripped = text.lstrip(" ")
    return stripped[:1] in FORMULA_TRIGGERS and not _SIGNED_NUMBER.fullmatch(stripped)


def safe_cell(value: Cell) -> Cell:
    """Return ``value`` as it may be written to a spreadsheet cell, formulas neutralised.

    Source: OWASP, « CSV Injection » (https://owasp.org/www-community/attacks/CSV_Injection):
    a field beginning with ``=``, ``+``, ``-``, ``@``, tab (0x09) or carriage return (0x0D) is
    prefixed with a single quote so that Excel, LibreOffice and Google Sheets show it as text;
    OWASP ASVS 5.0 V1.2.10 (the same rule for XLSX and ODF, NUL added). Only strings are
    touched: numbers (a negative amount is legitimate), dates and ``None`` keep their type.
    """
    if isinstance(value, str) and _starts_formula(value):
        return QUOTE + value
    return value


def restore_cell(text: str) -> str:
    """Undo :func:`safe_cell` on a cell read back from a file the app wrote.

    Source: OWASP, « CSV Injection » (the single-quote prefix is a display marker, not data):
    a quote followed by what :func:`safe_cell` neutralises is dropped, so a name exported as
    ``'=X`` and re-imported as is reads ``=X``, as Excel would save it; any other leading
    quote (``'t Hooft``) is data and kept.
    """
    if text.startswith(QUOTE) and _starts_formula(text[1:]):
        return text[1:]
    return text
