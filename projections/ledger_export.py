"""Exports of the ledger as JSON Lines, and their verification (offline if need be).

A line is an event's ledger document plus "ledger": {"prev", "hash"}. A complete export
(`registry ledger export-all`) starts with a header line naming the latest checkpoint, then
has one line per ledger entry in position order; a tenant's export (`registry export`) is a
subset of such lines without the header.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine

from events.ledger_document import GENESIS_HASH, chain_hash
from events.store import EventLog
from projections.ledger import iter_entries, latest_checkpoint
from projections.ledger_verify import (
    DecodeFailure,
    Report,
    check_signatures,
    last_entry_position,
    stored_documents,
)

EXPORT_HEADER = "ledger_export"
EXPORT_FORMAT = "qbr-ledger-v1"


def export_lines(log: EventLog, engine: Engine) -> Iterator[dict[str, Any]]:
    """A complete export: a header naming the latest checkpoint, then one line per ledger
    entry (the event's document plus "ledger": {"prev", "hash"}) in position order."""
    yield {EXPORT_HEADER: {"format": EXPORT_FORMAT, "complete": True,
                           "checkpoint": latest_checkpoint(engine)}}
    entries_iter = iter_entries(engine)
    last = last_entry_position(engine)
    events = stored_documents(log, last)
    event = next(events, None)
    for entry in entries_iter:
        if entry.position > last:
            return
        while event is not None and event[0] < entry.position:
            event = next(events, None)
        ledger = {"prev": entry.prev_hash, "hash": entry.hash}
        if event is None or event[0] != entry.position:
            yield {"position": entry.position, "missing": True, "ledger": ledger}
        elif isinstance(event[1], DecodeFailure):
            yield {"position": entry.position, "undecodable": event[1].reason, "ledger": ledger}
        else:
            yield {**event[1], "ledger": ledger}


def verify_export(lines: Iterable[str], public_key: Ed25519PublicKey | None,
                  checkpoints: Iterable[dict[str, Any]] = (),
                  stored: dict[int, dict[str, str]] | None = None,
                  complete: bool | None = None) -> Report:
    """Verify export lines: each line's hash from its own content and prev; for a complete
    export (the header says so, or `complete`) the linkage of consecutive lines from the
    genesis; each signed checkpoint that falls on an exported position; and, when `stored`
    ledger fields are given (online), that each line carries the registry's own entry."""
    report = Report(source="export")
    cps = list(checkpoints)
    docs, complete = _read_export(lines, report, cps, complete)
    if public_key is None:
        if cps:
            report.problems.append("no trusted public key: checkpoint signatures not checked")
        valid = []
    else:
        valid = check_signatures(report, cps, public_key)
    by_position: dict[int, list[dict[str, Any]]] = {}
    for checkpoint in valid:
        by_position.setdefault(int(checkpoint["position"]), []).append(checkpoint)
    _check_lines(report, docs, by_position, stored, complete)
    if complete:
        for position in sorted(p for p in by_position if p <= report.head):
            report.add(position, "a signed checkpoint covers this position but the export has "
                                 "no line for it")
        if report.authenticated_up_to < report.head:
            report.notes.append(f"lines after position {report.authenticated_up_to} are not "
                                "covered by a signed checkpoint")
    else:
        report.notes.append("a partial export: each line is checked against its own hash"
                            + (" and the registry's ledger" if stored is not None else
                               "; the lines are authenticated only online (against the "
                               "registry's ledger) or by a complete export"))
    return report


Line = tuple[int, dict[str, Any], dict[str, Any]]  # (position, document, ledger fields)


def _read_export(lines: Iterable[str], report: Report, cps: list[dict[str, Any]],
                 complete: bool | None) -> tuple[list[Line], bool | None]:
    """The export's lines with their ledger fields; the header's checkpoint joins `cps`
    and says whether the export is complete (unless `complete` was given)."""
    docs: list[Line] = []
    unsealed: list[int] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError:
            report.problems.append(f"line {number} is not JSON")
            continue
        if isinstance(line, dict) and EXPORT_HEADER in line:
            header = line[EXPORT_HEADER] or {}
            if complete is None:
                complete = bool(header.get("complete"))
            if header.get("checkpoint"):
                cps.append(header["checkpoint"])
            continue
        ledger = line.pop("ledger", None) if isinstance(line, dict) else None
        position = line.get("position") if isinstance(line, dict) else None
        if not isinstance(position, int):
            report.problems.append(f"line {number} has no position")
        elif ledger is None and complete is not True:
            unsealed.append(position)  # exported before it was sealed: said, not verified
        elif not isinstance(ledger, dict):
            report.problems.append(f"line {number} (position {position}) has no ledger object")
        else:
            docs.append((position, line, ledger))
    if unsealed:
        report.notes.append(f"{len(unsealed)} line(s) carry no ledger fields (not sealed when "
                            f"exported) and are not verified, from position {min(unsealed)}")
    return docs, complete


def _check_lines(report: Report, docs: list[Line],
                 by_position: dict[int, list[dict[str, Any]]],
                 stored: dict[int, dict[str, str]] | None, complete: bool | None) -> None:
    """Each line against its hash, its predecessor (complete exports), the registry's own
    entry (online) and the checkpoints signed at its position (taken from `by_position`)."""
    prev_position, prev_hash = 0, GENESIS_HASH
    broken = False
    for position, doc, ledger in docs:
        report.entries += 1
        problems = _line_problems(position, doc, ledger, prev_position, prev_hash, stored,
                                  complete)
        for problem in problems:
            report.add(position, problem)
        broken = broken or bool(problems)
        for checkpoint in by_position.pop(position, []):
            report.checkpoints += 1
            if checkpoint["hash"] != ledger.get("hash"):
                report.add(position, f"the line's hash differs from the checkpoint signed at "
                                     f"{checkpoint['signed_at']}")
                broken = True
            elif complete and not broken:
                report.authenticated_up_to = position
        prev_position, prev_hash = position, str(ledger.get("hash"))
    report.head = prev_position


def _line_problems(position: int, doc: dict[str, Any], ledger: dict[str, Any],
                   prev_position: int, prev_hash: str,
                   stored: dict[int, dict[str, str]] | None, complete: bool | None) -> list[str]:
    problems = []
    if position <= prev_position:
        problems.append("lines are not in increasing position order")
    if complete and ledger.get("prev") != prev_hash:
        problems.append("the line does not link to the line before it (an entry is missing "
                        "from the export or was altered)")
    if doc.get("missing"):
        problems.append("the event sealed at this position was missing from the store")
    elif doc.get("undecodable"):
        problems.append(f"the stored event no longer decodes ({doc['undecodable']})")
    elif chain_hash(str(ledger.get("prev")), doc) != ledger.get("hash"):
        problems.append("the line's content does not match its ledger hash (altered)")
    if stored is not None and stored.get(position) != {"prev": ledger.get("prev"),
                                                       "hash": ledger.get("hash")}:
        problems.append("the line's ledger fields differ from the registry's ledger")
    return problems


__all__ = ["EXPORT_FORMAT", "EXPORT_HEADER", "export_lines", "verify_export"]
