"""`registry import FILE`: bulk events from JSON Lines or CSV, through the batch use case.

Rows are posted in chunks (one atomic batch each) under the scope of the principal whose
token is given. A chunk with refused rows is posted again without them, so every good row is
stored; every refused row goes to the error report (line, field, message). Envelope ids make
a rerun safe: rows stored by an earlier run are counted as already stored, never stored twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable
from uuid import UUID, uuid5

import click

from api.exports import Column, csv_stream, xlsx_file
from api.file_encoding import FileEncoding, UndecodableFile, detect
from api.import_rows import (
    Row,
    UnreadableFile,
    count_rows,
    csv_field,
    file_format,
    read_rows,
)
from api.services import Services
from api.settings import Settings
from api.store_check import require_store
from events import EVENT_TYPES, NAMESPACE
from events.envelope import Envelope, EnvelopeInvalid, parse_envelope
from registry.batch import MAX_BATCH
from registry.errors import BatchRefused, EnvelopeAlreadyStored
from registry.service import Registry
from tenants.errors import InvalidInput, RegistryError
from tenants.scope import Scope

# Ids of rows that carry none: uuid5(IMPORT_NAMESPACE, principal + normalised envelope).
IMPORT_NAMESPACE = uuid5(NAMESPACE, "import")
_PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"
EXIT_ROWS_REFUSED = 3


def derived_id(principal_id: str, envelope: Envelope) -> UUID:
    """The id of a row without one: the same event content gives the same id on every run."""
    content = {"principal": principal_id, "type": envelope.type, "kind": envelope.kind,
               "record": envelope.key, "tenant": envelope.tenant,
               "occurred_on": envelope.occurred_on, "expected_version": envelope.expected_version,
               "data": envelope.data}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return uuid5(IMPORT_NAMESPACE, text)


@dataclass
class ImportSummary:
    """What one run did: rows read, newly stored, stored by an earlier run, refused."""

    rows: int = 0
    stored: int = 0
    already_stored: int = 0
    refused: list[tuple[int, str, str]] = field(default_factory=list)
    normalised: list[tuple[int, str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, int]:
        """The summary line the command prints (refused and normalised count rows)."""
        refused = {line for line, _, _ in self.refused}
        return {"rows": self.rows, "stored": self.stored, "already_stored": self.already_stored,
                "refused": len(refused),
                "normalised": len({line for line, _, _ in self.normalised} - refused)}


class Importer:
    """Posts rows in chunks through `Registry.record_batch`, keeping the good rows of a chunk."""

    def __init__(self, registry: Registry, scope: Scope, today: dt.date, chunk_size: int = 500,
                 field_name: Callable[[str], str] = str) -> None:
        self.registry = registry
        self.scope = scope
        self.today = today
        self.chunk_size = chunk_size
        self.field_name = field_name
        self.summary = ImportSummary()
        self._first_line: dict[UUID, int] = {}

    def run(self, rows: Iterable[Row], progress: Callable[[int], None] = lambda n: None
            ) -> ImportSummary:
        """Import every row; the summary lists each refused row."""
        chunk: list[tuple[int, Envelope]] = []
        for row in rows:
            self.summary.rows += 1
            self.summary.normalised.extend((row.line, self.field_name(name), note)
                                           for name, note in row.normalised)
            envelope = self._envelope(row)
            if envelope is not None:
                chunk.append((row.line, envelope))
            if len(chunk) == self.chunk_size:
                self._post(chunk)
                progress(len(chunk))
                chunk = []
            if envelope is None:
                progress(1)
        if chunk:
            self._post(chunk)
            progress(len(chunk))
        self.summary.refused.sort()
        return self.summary

    def _envelope(self, row: Row) -> Envelope | None:
        """The row's validated envelope with its id, or None after reporting its problems."""
        if row.raw is None:
            self._refuse(row.line, row.problems)
            return None
        raw = row.raw if row.raw.get("id") else {**row.raw, "id": _PLACEHOLDER_ID}
        try:
            envelope = parse_envelope(raw, EVENT_TYPES, self.today)
        except EnvelopeInvalid as exc:
            self._refuse(row.line, [(name, " ".join(msgs)) for name, msgs in exc.errors.items()])
            return None
        if not row.raw.get("id"):
            envelope = dataclasses.replace(envelope, id=derived_id(self.scope.principal.id,
                                                                   envelope))
        first = self._first_line.setdefault(envelope.id, row.line)
        if first != row.line:
            message = (f"The id {envelope.id} is already used on line {first}."
                       if row.raw.get("id") else f"Repeats line {first} (the same event).")
            self._refuse(row.line, [("id", message)])
            return None
        return envelope

    def _post(self, chunk: list[tuple[int, Envelope]]) -> None:
        """Store the chunk's good rows: post, drop the refused rows, post the rest again."""
        while chunk:
            try:
                result = self.registry.record_batch(self.scope, [e for _, e in chunk])
            except BatchRefused as refused:
                for index, problem in refused.problems.items():
                    if isinstance(problem, EnvelopeAlreadyStored):
                        self.summary.already_stored += 1
                    else:
                        self._refuse(chunk[index][0], _problem_rows(problem))
                chunk = [item for i, item in enumerate(chunk) if i not in refused.problems]
                continue
            replayed = sum(receipt.replayed for receipt in result.receipts)
            self.summary.already_stored += replayed
            self.summary.stored += len(result.receipts) - replayed
            return

    def _refuse(self, line: int, problems: list[tuple[str, str]]) -> None:
        self.summary.refused.extend((line, self.field_name(name) if name else name, message)
                                    for name, message in problems)


def _problem_rows(problem: RegistryError) -> list[tuple[str, str]]:
    """A refusal as report rows: one per field error, else one naming status and detail."""
    if isinstance(problem, InvalidInput):
        return [(name, " ".join(msgs)) for name, msgs in problem.errors.items()]
    return [("", f"{problem.status} {problem.title}: {problem.detail}")]


REPORT_COLUMNS = [Column("line", "行号", "number"), Column("outcome", "处理结果"),
                  Column("field", "字段", width=18), Column("message", "说明", width=80)]


def write_report(path: Path, refused: list[tuple[int, str, str]],
                 normalised: list[tuple[int, str, str]] = ()) -> None:
    """The report: one row per problem of a refused row (outcome `refused`) and per cell the
    importer normalised in a stored row (`normalised`, e.g. a date typed 2024/3/1), by line;
    safe CSV, or Excel when the path ends in .xlsx."""
    refused_lines = {line for line, _, _ in refused}
    entries = sorted([(line, "refused", f, m) for line, f, m in refused] +
                     [(line, "normalised", f, m) for line, f, m in normalised
                      if line not in refused_lines])
    rows = ({"line": line, "outcome": outcome, "field": field, "message": message}
            for line, outcome, field, message in entries)
    if path.suffix.lower() == ".xlsx":
        xlsx_file(REPORT_COLUMNS, rows, "errors", str(path))
        return
    with path.open("w", encoding="utf-8", newline="") as handle:
        for piece in csv_stream(REPORT_COLUMNS, rows):
            handle.write(piece)


def default_report_path(path: Path) -> Path:
    """The report beside the input: march.csv -> march.errors.csv."""
    return path.with_name(f"{path.stem}.errors.csv")


@click.command("import")
@click.pass_context
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--principal-token", envvar="REGISTRY_PRINCIPAL_TOKEN", required=True,
              help="Bearer token of the principal the events are recorded for (or set "
                   "REGISTRY_PRINCIPAL_TOKEN).")
@click.option("--format", "fmt", type=click.Choice(["auto", "csv", "jsonl", "xlsx"]),
              default="auto", show_default=True,
              help="auto: from the file name (.xlsx, .csv, .jsonl).")
@click.option("--sheet", default=None, help="The Excel sheet to read [default: the first].")
@click.option("--chunk-size", default=500, show_default=True,
              type=click.IntRange(1, MAX_BATCH), help="Rows per atomic batch.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Error report path [default: FILE's name with .errors.csv].")
@click.option("--force", is_flag=True, help="Overwrite an existing error report.")
@click.option("--encoding", default=None,
              help="The file's text encoding (e.g. gbk, gb18030, utf-8) [default: by its "
                   "byte-order mark, else UTF-8, else GB18030].")
def import_command(ctx: click.Context, file: Path, principal_token: str, fmt: str,
                   sheet: str | None, chunk_size: int, report: Path | None, force: bool,
                   encoding: str | None) -> None:
    """Import events from JSON Lines or CSV; refused rows go to a CSV error report."""
    _check_report_path(report, force)
    report = report or default_report_path(file)
    try:
        fmt = file_format(file, fmt)
        text = detect(file, encoding) if fmt != "xlsx" else FileEncoding("xlsx", "xlsx")
        total = count_rows(file, fmt, text.codec, sheet)
    except (UnreadableFile, UndecodableFile) as exc:
        raise click.ClickException(str(exc)) from None
    settings = Settings.from_env()
    require_store(settings)
    svc = Services.open(settings)
    try:
        principal = svc.directory.authenticate(principal_token)
        if principal is None:
            raise click.ClickException("The principal token is unknown or revoked.")
        scope = Scope(principal, svc.directory.tree())
        importer = Importer(svc.registry, scope, svc.registry.clock.today(), chunk_size,
                            csv_field if fmt in ("csv", "xlsx") else str)
        with click.progressbar(length=total, label=f"Importing {file.name}",
                               file=sys.stderr) as bar:
            summary = importer.run(read_rows(file, fmt, text.codec, sheet), bar.update)
    finally:
        svc.close()
    try:
        write_report(report, summary.refused, summary.normalised)
        written: str | None = str(report)
    except OSError as exc:  # the rows are stored: say what happened, and still summarise
        click.echo(f"registry: the error report could not be written to {report}: "
                   f"{exc.strerror or exc}", err=True)
        written = None
    counts = summary.as_json()
    click.echo(json.dumps({**counts, "encoding": text.name, "report": written},
                          ensure_ascii=False))
    messages = click.get_current_context().find_root().meta.get("messages")
    line = (f"{counts['stored']} of {counts['rows']} rows stored, {counts['already_stored']} "
            f"stored before, {counts['refused']} refused, {counts['normalised']} normalised"
            + (f"; report: {written}" if written else ""))
    click.echo(messages.text(line) if messages else line, err=True)
    if summary.refused:
        ctx.exit(EXIT_ROWS_REFUSED)
    if written is None:
        ctx.exit(1)


def _check_report_path(report: Path | None, force: bool) -> None:
    """Before any row is imported: a report path given goes to a directory that exists,
    without '..', and never over an existing file unless --force. (The default report beside
    the input, FILE.errors.csv, is the previous run's report of the same file: a rerun
    replaces it.)"""
    if report is None:
        return
    if ".." in report.parts:
        raise click.BadParameter("give a report path without '..'", param_hint="--report")
    if not report.parent.is_dir():
        raise click.BadParameter(f"the directory {report.parent} does not exist",
                                 param_hint="--report")
    if report.exists() and not force:
        raise click.BadParameter(f"{report} exists; pass --force to overwrite it",
                                 param_hint="--report")
