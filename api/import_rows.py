"""Reading an import file: JSON Lines (one envelope per line), CSV or Excel (one event per
row, api.import_xlsx).

Each data row becomes a `Row` holding its line number and either the wire envelope (a dict
as POST /v1/events takes it) or the problems that make it unreadable, and the cells the
importer normalised (a date typed 2024/3/1 read as 2024-03-01), which the report lists.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from marshmallow import fields

from events import RECORD_EVENT_CLASSES
from events.fields import Code

ENVELOPE_COLUMNS = ("id", "type", "record", "kind", "tenant", "occurred_on", "expected_version")
EMPTY_LIST = "[]"


def _cell(field: fields.Field) -> str:
    """How a payload field is written in a cell."""
    if isinstance(field, fields.Nested):
        return "organisation"  # two columns: <name>_name and <name>_uscc
    for cls, cell in ((fields.List, "list"), (fields.Dict, "json"), (fields.Integer, "integer"),
                      (fields.Date, "date"), (Code, "code")):
        if isinstance(field, cls):
            return cell
    return "text"


# Every data field of every record type, in catalogue order, and how its cells are written:
# the columns follow the event classes' payload schemas (events/<kind>.py).
CELLS: dict[str, str] = {}
for _cls in RECORD_EVENT_CLASSES:
    for _name, _field in _cls.Payload().fields.items():
        CELLS.setdefault(_name, _cell(_field))
ORGANISATIONS = tuple(name for name, cell in CELLS.items() if cell == "organisation")
TEXT_COLUMNS = tuple(name for name, cell in CELLS.items() if cell in ("text", "code", "date"))
INTEGER_COLUMNS = tuple(name for name, cell in CELLS.items() if cell == "integer")
CSV_COLUMNS = (*ENVELOPE_COLUMNS, *(column for name, cell in CELLS.items() for column in (
    (f"{name}_name", f"{name}_uscc") if cell == "organisation" else (name,))))
DATE_COLUMNS = ("occurred_on", *(name for name, cell in CELLS.items() if cell == "date"))
# Columns holding codes: Excel must keep them as text (a USCC as a number loses digits).
CODE_COLUMNS = ("id", "record", "tenant", *(name for name, cell in CELLS.items() if cell == "code"),
                *(f"{name}_uscc" for name in ORGANISATIONS))


class UnreadableFile(Exception):
    """The file as a whole cannot be imported (bad header, unknown format)."""


@dataclass
class Row:
    """One data row: its line in the file and its envelope, or why it cannot be read."""

    line: int
    raw: dict[str, Any] | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)
    normalised: list[tuple[str, str]] = field(default_factory=list)


def file_format(path: Path, requested: str) -> str:
    """'csv' or 'jsonl', from --format or else from the file name."""
    if requested != "auto":
        return requested
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise UnreadableFile(f"Cannot tell the format of {path.name}: name it .csv or .jsonl, or "
                         "pass --format.")


def count_rows(path: Path, fmt: str, codec: str = "utf-8-sig", sheet: str | None = None) -> int:
    """How many data rows the file holds (for the progress bar). A workbook says its size
    in its dimensions (reading every row twice doubled an Excel import's time)."""
    if fmt == "xlsx":
        from api.import_xlsx import sheet_rows

        found = sheet_rows(path, sheet)
        if found is not None:
            return found
    return sum(1 for _ in read_rows(path, fmt, codec, sheet))


def read_rows(path: Path, fmt: str, codec: str = "utf-8-sig",
              sheet: str | None = None) -> Iterator[Row]:
    """Every data row of the file, in file order, decoded strictly with `codec` (decided by
    api.file_encoding.detect: nothing is ever decoded with replacement characters)."""
    if fmt == "xlsx":
        from api.import_xlsx import xlsx_rows

        return xlsx_rows(path, sheet)
    return _jsonl_rows(path, codec) if fmt == "jsonl" else _csv_rows(path, codec)


def _jsonl_rows(path: Path, codec: str) -> Iterator[Row]:
    with path.open(encoding=codec, errors="strict") as lines:
        for line_no, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except (ValueError, RecursionError) as exc:
                yield Row(line_no, problems=[("body", f"Not valid JSON: {exc}.")])
                continue
            if not isinstance(raw, dict):
                yield Row(line_no, problems=[("body", "Expected a JSON object (an envelope).")])
                continue
            yield Row(line_no, raw)


def _csv_rows(path: Path, codec: str) -> Iterator[Row]:
    with path.open(encoding=codec, errors="strict", newline="") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        check_header(header)
        last_line = reader.line_num
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                yield Row(line, problems=[("row", f"Has {len(cells)} cells; the header has "
                                                  f"{len(header)}.")])
                continue
            yield csv_row(line, dict(zip(header, cells)))


def check_header(header: list[str]) -> None:
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise UnreadableFile(f"Unknown column(s) {', '.join(unknown)}. Columns: "
                             f"{','.join(CSV_COLUMNS)}.")
    missing = [name for name in ("type", "record", "occurred_on") if name not in header]
    if missing:
        raise UnreadableFile(f"The header lacks the column(s) {', '.join(missing)}.")
    if len(set(header)) != len(header):
        raise UnreadableFile("The header names a column twice.")


_TYPED_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
# Excel's serial day numbers (1900 date system, day 0 = 1899-12-30), 1990-01-01..2100-12-31.
EXCEL_EPOCH = dt.date(1899, 12, 30)
SERIALS = range(32874, 73415 + 1)


def normalise_date(text: str) -> tuple[str, str] | None:
    """A date as people type it, as ISO (with what was done), or None when it is ISO already
    or not a date this reads (the schema then refuses it, saying the form it expects)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    typed = _TYPED_DATE.match(text)
    try:
        if typed:
            day = dt.date(*(int(part) for part in typed.groups()))
            return day.isoformat(), f"'{text}' read as {day.isoformat()}"
        if text.isdigit() and int(text) in SERIALS:
            day = EXCEL_EPOCH + dt.timedelta(days=int(text))
            return day.isoformat(), f"Excel date number {text} read as {day.isoformat()}"
    except ValueError:
        return None
    return None


def csv_row(line: int, cells: dict[str, str],
            normalised: list[tuple[str, str]] | None = None) -> Row:
    """One CSV row as an envelope: empty cells are absent, organisations become objects,
    dates typed as people type them become ISO dates (listed in `normalised`)."""
    value = {name: cell.strip() for name, cell in cells.items() if cell.strip()}
    normalised = list(normalised or [])
    for name in DATE_COLUMNS:
        found = normalise_date(value[name]) if name in value else None
        if found:
            value[name], note = found
            normalised.append((name, note))
    raw: dict[str, Any] = {name: value[name] for name in ENVELOPE_COLUMNS if name in value}
    if "expected_version" in raw:
        raw["expected_version"] = _integer(raw["expected_version"])
    data: dict[str, Any] = {name: value[name] for name in TEXT_COLUMNS if name in value}
    for prefix in ORGANISATIONS:
        parts = {part: value[f"{prefix}_{part}"] for part in ("name", "uscc")
                 if f"{prefix}_{part}" in value}
        if parts:
            data[prefix] = parts
    for name in (n for n, cell in CELLS.items() if cell == "list" and n in value):
        codes = value[name]
        data[name] = [] if codes == EMPTY_LIST else [
            code.strip() for code in codes.split(";") if code.strip()]
    for name in INTEGER_COLUMNS:
        if name in value:
            data[name] = _integer(value[name])
    problems = []
    for name in (n for n, cell in CELLS.items() if cell == "json" and n in value):
        try:
            data[name] = json.loads(value[name])
        except (ValueError, RecursionError) as exc:
            problems.append((f"data.{name}", f"Not valid JSON: {exc}."))
    raw["data"] = data
    return Row(line, None if problems else raw, problems, normalised)


def csv_field(path: str) -> str:
    """The CSV column an envelope field path comes from ('data.holder.uscc' -> 'holder_uscc')."""
    parts = path.split(".")
    if parts[0] == "data" and len(parts) > 1:
        parts = parts[1:]
        if parts[0] in ORGANISATIONS and len(parts) > 1:
            return f"{parts[0]}_{parts[1]}"
    return parts[0]


def _integer(text: str) -> int | str:
    """An integer cell; anything else is left as text for the schema to refuse by name."""
    return int(text) if text.isascii() and text.lstrip("-").isdigit() else text
