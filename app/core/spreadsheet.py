"""The one way the app writes CSV and XLSX files: every cell goes through ``rules.safe_cell``.

Every download (import templates today, exports tomorrow) is built here, never with
``csv.writer`` or ``openpyxl.Workbook`` in a view or a service, so that a value typed by a user
(an agent called ``=HYPERLINK(...)``) can never run as a formula in the spreadsheet of whoever
opens the file (OWASP « CSV Injection »). ``iter_csv`` streams; ``csv_response`` and
``xlsx_response`` wrap a file for a view.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from flask import Response, stream_with_context

from app.rules.spreadsheet import Cell, safe_cell

CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_BOM = "\ufeff"


class _Line:
    """A file-like object keeping what ``csv.writer`` wrote for the current line."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)


def iter_csv(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], *, delimiter: str = ";"
) -> Iterator[bytes]:
    """Yield a CSV file line by line: UTF-8 with a BOM (Excel reads the accents), CRLF line
    ends, ``delimiter`` between cells, every cell neutralised by ``safe_cell``."""
    line = _Line()
    writer = csv.writer(line, delimiter=delimiter, lineterminator="\r\n")
    first = True
    for cells in _chain(header, rows):
        writer.writerow([safe_cell(cell) for cell in cells])
        chunk = (_BOM if first else "") + line.text
        line.text = ""
        first = False
        yield chunk.encode("utf-8")


def _chain(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[Sequence[Cell]]:
    yield header
    yield from rows


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[Cell]] = (), *, delimiter: str = ";"
) -> bytes:
    """The whole CSV file of :func:`iter_csv` at once."""
    return b"".join(iter_csv(header, rows, delimiter=delimiter))


def xlsx_bytes(
    header: Sequence[str], rows: Iterable[Sequence[Cell]] = (), *, sheet_title: str = "Données"
) -> bytes:
    """An XLSX workbook of one sheet, written in openpyxl's streaming mode: strings are
    neutralised by ``safe_cell`` (and cleared of the control characters XLSX cannot hold),
    numbers and dates stay typed."""
    import openpyxl  # imported here: only XLSX downloads pay for it
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    for cells in _chain(header, rows):
        values = []
        for cell in cells:
            value = safe_cell(cell)
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            values.append(value)
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Cell]] = ()
) -> Response:
    """A CSV download streamed line by line (``rows`` may be a lazy query: the request context
    stays open while it is read)."""
    chunks = stream_with_context(iter_csv(header, rows))
    return Response(chunks, mimetype=CSV_MIMETYPE, headers=_attachment(filename))


def xlsx_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Cell]] = ()
) -> Response:
    """An XLSX download (a ZIP archive: built whole, then sent)."""
    return Response(xlsx_bytes(header, rows), mimetype=XLSX_MIMETYPE, headers=_attachment(filename))
