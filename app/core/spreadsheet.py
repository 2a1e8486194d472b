"""The one way the app writes CSV and XLSX files: every cell goes through ``rules.safe_cell``.

Every download (import templates today, exports tomorrow) is built here, never with
``csv.writer`` or ``openpyxl.Workbook`` in a view or a service, so that a value typed by a user
(an agent called ``=HYPERLINK(...)``) can never run as a formula in the spreadsheet of whoever
opens the file (OWASP « CSV Injection »). ``iter_csv`` streams; ``csv_response`` and
``xlsx_response`` wrap a file for a view; list exports go through ``app.core.exports``.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

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
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    delimiter: str = ";",
    bom: bool = True,
) -> Iterator[bytes]:
    """Yield a CSV file line by line: UTF-8 with a BOM (Excel reads the accents; ``bom=False``
    for a command's standard output, read by programs), CRLF line ends, ``delimiter`` between
    cells, every cell neutralised by ``safe_cell``."""
    line = _Line()
    writer = csv.writer(line, delimiter=delimiter, lineterminator="\r\n")
    first = True
    for cells in _chain(header, rows):
        writer.writerow([safe_cell(cell) for cell in cells])
        chunk = (_BOM if first and bom else "") + line.text
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


# Number formats of typed XLSX cells: the spreadsheet shows them the French way (JJ/MM/AAAA,
# 1 234,56) and can still sort and add them.
XLSX_FORMATS: dict[type, str] = {
    datetime: "DD/MM/YYYY HH:MM",
    date: "DD/MM/YYYY",
    time: "HH:MM",
    Decimal: "#,##0.00",
}


def write_xlsx(
    target: IO[bytes],
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]] = (),
    *,
    sheet_title: str = "Données",
) -> None:
    """Write an XLSX workbook of one sheet to ``target``, in openpyxl's write-only (streaming)
    mode: strings are neutralised by ``safe_cell`` (and cleared of the control characters XLSX
    cannot hold); numbers and dates stay typed, dates shown JJ/MM/AAAA."""
    import openpyxl  # imported here: only XLSX downloads pay for it
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    for cells in _chain(header, rows):
        values: list[Any] = []
        for cell in cells:
            value = safe_cell(cell)
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            number_format = XLSX_FORMATS.get(type(value))
            if number_format is not None:
                typed = WriteOnlyCell(sheet, value=value)
                typed.number_format = number_format
                values.append(typed)
            else:
                values.append(value)
        sheet.append(values)
    workbook.save(target)


def xlsx_bytes(
    header: Sequence[str], rows: Iterable[Sequence[Cell]] = (), *, sheet_title: str = "Données"
) -> bytes:
    """The whole workbook of :func:`write_xlsx` in memory (small files)."""
    buffer = io.BytesIO()
    write_xlsx(buffer, header, rows, sheet_title=sheet_title)
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
    """An XLSX download. A workbook is a ZIP archive, written whole before it is sent: it is
    built in a temporary file (openpyxl's write-only mode keeps one row in memory at a time),
    then streamed from that file in blocks."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _blocks once sent
    try:
        write_xlsx(spool, header, rows)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    headers = {**_attachment(filename), "Content-Length": str(size)}
    return Response(_blocks(spool), mimetype=XLSX_MIMETYPE, headers=headers)


def _blocks(spool: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    with spool:
        while block := spool.read(size):
            yield block
