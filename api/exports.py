"""Tables the registry gives out, as CSV or as Excel (issue 13): one column list per export,
two renderers, so every download is safe to open and right in Excel.

CSV: UTF-8 with a byte-order mark (Excel on Chinese Windows reads it as UTF-8), booleans as
`true`/`false`, and any text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage
return prefixed with `'` (OWASP CSV injection): a holder named `=cmd|' /C calc'!A0` opens as
text. Only the export is escaped; the stored value is unchanged.

XLSX: openpyxl's write-only mode (rows go to a temporary file as they come, so a 100,000-row
export stays within a few tens of MiB), a bilingual header row (中文 over the English column
name), the header frozen, text columns (USCCs, keys, codes) as text cells never read as
numbers (no 9.13E+17), text never read as a formula, dates as dates, widths that fit Chinese.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from wcwidth import wcswidth

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 1 << 16


@dataclass(frozen=True)
class Column:
    """One column: its machine name (the CSV header), its bilingual label, and its type
    (`text`, `number`, `date`, `time`, `bool`)."""

    name: str
    zh: str
    kind: str = "text"
    width: int | None = None


def csv_cell(value: Any) -> Any:
    """A value as the CSV carries it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(DANGEROUS_FIRST):
        return "'" + value
    return value


def csv_stream(columns: list[Column], rows: Iterable[dict[str, Any]],
               flush_every: int = 500) -> Iterator[str]:
    """The CSV text in pieces: a byte-order mark, the header, then the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([c.name for c in columns])
    for n, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(row.get(c.name)) for c in columns])
        if n % flush_every == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_text(columns: list[Column], rows: Iterable[dict[str, Any]]) -> str:
    return "".join(csv_stream(columns, rows))


def xlsx_file(columns: list[Column], rows: Iterable[dict[str, Any]], title: str,
              path: str) -> None:
    """Write the table as an .xlsx file at `path` (write-only: constant memory)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31] or "Sheet1")
    widths = [max(c.width or 0, _width(c.zh), _width(c.name)) + 2 for c in columns]
    for n, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = min(max(width, 8), 60)
    sheet.freeze_panes = "A3"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="F2F2F2")

    def header(text: str) -> Any:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font, cell.fill = bold, fill
        cell.data_type = "s"
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        return cell

    sheet.append([header(c.zh) for c in columns])
    sheet.append([header(c.name) for c in columns])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, c, row.get(c.name)) for c in columns])
    book.save(path)


def _xlsx_cell(sheet, column: Column, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if value is None:
        return None
    if column.kind == "date" and isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if column.kind == "time" and isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None) \
            if value.tzinfo else value
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    if isinstance(value, bool):
        return value
    if column.kind == "number" and isinstance(value, (int, float)):
        return value
    cell = WriteOnlyCell(sheet, value=str(value))
    cell.data_type = "s"            # never a formula, never a number
    cell.number_format = "@"        # and typed into as text
    return cell


def _width(text: str) -> int:
    return max(wcswidth(text), len(text))


def xlsx_stream(columns: list[Column], rows: Iterable[dict[str, Any]],
                title: str) -> Iterator[bytes]:
    """The .xlsx file in chunks (built in a temporary file, removed afterwards)."""
    handle, path = tempfile.mkstemp(prefix="registry-export-", suffix=".xlsx")
    os.close(handle)
    try:
        xlsx_file(columns, rows, title, path)
        with open(path, "rb") as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def download(columns: list[Column], rows: Callable[[], Iterable[dict[str, Any]]],
             filename: str, excel: bool, title: str):
    """A streamed Flask response of the table, CSV or XLSX by the path asked for."""
    from flask import Response, stream_with_context

    if excel:
        body, mime, name = xlsx_stream(columns, rows(), title), XLSX_MIME, filename + ".xlsx"
    else:
        body, mime, name = csv_stream(columns, rows()), CSV_MIME, filename + ".csv"
    return Response(stream_with_context(body), mimetype=mime,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
