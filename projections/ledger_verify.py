"""Verifying the ledger: from the store, or from a JSON Lines export, offline.

From the store, every sealed position is checked against the event stored there now:
1. the entry links to the entry before it (the first one to the genesis hash);
2. SHA-256(entry's prev || document of the stored event) equals the entry's hash;
3. an entry whose event is gone is a deleted event; an event in the sealed range without an
   entry was inserted afterwards; an event that no longer decodes is reported as such;
4. every checkpoint's signature verifies with the TRUSTED public key (a pinned key, never the
   one published in the database), and the entry at its position has the signed hash.
Checks 1-2 tie the entries to the events; check 4 ties the entries to signatures only the key
holder can make, so rewriting the entries to match an altered event is caught at the next
checkpoint. Entries after the newest checkpoint are consistent but not yet authenticated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, select

from events.ledger_document import GENESIS_HASH, chain_hash, ledger_document
from events.store import EventLog
from projections.ledger import (
    TRACKING_NAME,
    all_checkpoints,
    iter_entries,
    published_key,
)
from projections.ledger_signing import key_id, public_pem, verify_signature
from projections.ledger_tables import entries, tracking

MAX_BREAKS = 100


@dataclass(frozen=True)
class Break:
    """A position where the ledger does not hold, and why."""

    position: int
    problem: str
    since: int | None = None  # for a rewrite caught by a checkpoint: the first suspect position

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"position": self.position, "problem": self.problem}
        if self.since is not None:
            body["since"] = self.since
        return body


@dataclass
class Report:
    """The outcome of one verification."""

    source: str
    entries: int = 0
    head: int = 0
    checkpoints: int = 0
    authenticated_up_to: int = 0
    breaks: list[Break] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks and not self.problems

    @property
    def first_break(self) -> Break | None:
        return min(self.breaks, key=lambda b: (b.since or b.position, b.position), default=None)

    def add(self, position: int, problem: str, since: int | None = None) -> None:
        if len(self.breaks) < MAX_BREAKS:
            self.breaks.append(Break(position, problem, since))

    def as_json(self) -> dict[str, Any]:
        first = self.first_break
        return {"ok": self.ok, "source": self.source, "entries": self.entries,
                "head": self.head, "checkpoints_verified": self.checkpoints,
                "authenticated_up_to": self.authenticated_up_to,
                "first_break": first.as_json() if first else None,
                "breaks": [b.as_json() for b in sorted(self.breaks, key=lambda b: b.position)],
                "problems": self.problems, "notes": self.notes}


def check_signatures(report: Report, checkpoints: list[dict[str, Any]],
                     public_key: Ed25519PublicKey) -> list[dict[str, Any]]:
    """Report every checkpoint not signed by the trusted key; return the valid ones (each
    once, though it may come from several sources)."""
    trusted = key_id(public_key)
    valid, seen = [], set()
    for checkpoint in checkpoints:
        if (checkpoint.get("position"), checkpoint.get("signature")) in seen:
            continue  # the same checkpoint from two sources (stored and kept copy)
        seen.add((checkpoint.get("position"), checkpoint.get("signature")))
        position = checkpoint.get("position")
        if not isinstance(position, int) or not isinstance(checkpoint.get("hash"), str):
            report.problems.append(f"a checkpoint without a position or a hash: "
                                   f"{str(checkpoint)[:200]}")
            continue
        if checkpoint.get("key_id") != trusted:
            report.add(position, f"the checkpoint at {position} names key "
                                 f"{checkpoint.get('key_id')}, not the trusted key {trusted}")
        elif not verify_signature(public_key, checkpoint):
            report.add(position, f"the signature of the checkpoint at {position} does not "
                                 "verify (checkpoint altered or forged)")
        else:
            valid.append(checkpoint)
    return valid


@dataclass(frozen=True)
class DecodeFailure:
    """A stored event that no longer decodes, and why."""

    reason: str


def stored_documents(log: EventLog, up_to: int,
                     page: int = 2000) -> Iterator[tuple[int, Any]]:
    """(position, document or the reason it cannot be made) of every stored event."""
    after = 0
    while after < up_to:
        notifications = log.recorder.select_notifications(
            start=after, limit=page, stop=up_to, inclusive_of_start=False)
        if not notifications:
            return
        for n in notifications:
            try:
                yield n.id, ledger_document(n.id, log.mapper.to_domain_event(n))
            except Exception as exc:  # a tampered row: reported, never fatal
                yield n.id, DecodeFailure(f"{type(exc).__name__}: {str(exc)[:300]}")
        after = notifications[-1].id


def verify_store(log: EventLog, engine: Engine, public_key: Ed25519PublicKey,
                 extra_checkpoints: Iterable[dict[str, Any]] = ()) -> Report:
    """Recompute the chain from the stored events and check it against the ledger entries and
    every signed checkpoint (the stored ones and `extra_checkpoints`, e.g. a copy a regulator
    kept)."""
    report = Report(source="store")
    with engine.connect() as conn:
        row = conn.execute(select(tracking.c.position, tracking.c.head_hash)
                           .where(tracking.c.name == TRACKING_NAME)).first()
    head, head_hash = (row.position, row.head_hash) if row else (0, GENESIS_HASH)
    report.head = head
    stored_cps = all_checkpoints(engine)
    extra = list(extra_checkpoints)
    valid = check_signatures(report, stored_cps + extra, public_key)
    by_position: dict[int, list[dict[str, Any]]] = {}
    for checkpoint in valid:
        by_position.setdefault(int(checkpoint["position"]), []).append(checkpoint)
    _check_published_key(report, engine, public_key, stored_cps)

    entries_iter = iter_entries(engine)
    events_iter = stored_documents(log, max(head, last_entry_position(engine)))
    entry, event = next(entries_iter, None), next(events_iter, None)
    prev_hash, last_good_checkpoint = GENESIS_HASH, 0
    broken = False
    while entry is not None or event is not None:
        position = min(p for p in (entry.position if entry is not None else None,
                                   event[0] if event is not None else None) if p is not None)
        has_entry = entry is not None and entry.position == position
        has_event = event is not None and event[0] == position
        if has_entry:
            report.entries += 1
            problems = _entry_problems(entry, event if has_event else None, prev_hash)
            prev_hash = entry.hash
        else:
            problems = ["an event in the sealed range was never sealed (inserted afterwards)"] \
                if position <= head else []
        for problem in problems:
            report.add(position, problem)
        broken = broken or bool(problems)
        last_good_checkpoint = _check_checkpoints(
            report, position, by_position.pop(position, []), entry if has_entry else None,
            broken, last_good_checkpoint)
        if has_entry:
            entry = next(entries_iter, None)
        if has_event:
            event = next(events_iter, None)
    if prev_hash != head_hash:
        report.add(head, "the sealer's head hash differs from the last ledger entry (ledger "
                         "entries altered or deleted at the end)")
    for position in sorted(by_position):
        report.add(position, f"a signed checkpoint covers position {position}, beyond the "
                             f"ledger's head {head} (ledger truncated)")
    _tail_notes(report, log, head)
    return report


def _entry_problems(entry: Any, event: tuple | None, prev_hash: str) -> list[str]:
    """What is wrong with one ledger entry: its link, and the event it sealed."""
    problems = []
    if entry.prev_hash != prev_hash:
        problems.append("the ledger entry does not link to the entry before it (ledger entries "
                        "altered or deleted)")
    if event is None:
        problems.append("the event sealed at this position is missing from the event store "
                        "(deleted)")
    elif isinstance(event[1], DecodeFailure):
        problems.append(f"the stored event no longer decodes ({event[1].reason})")
    elif chain_hash(entry.prev_hash, event[1]) != entry.hash:
        problems.append("the stored event no longer matches its sealed hash (altered after "
                        "sealing)")
    return problems


def _check_checkpoints(report: Report, position: int, checkpoints: list[dict[str, Any]],
                       entry: Any, broken: bool, last_good: int) -> int:
    """The checkpoints signed at `position` against its entry; the last good position."""
    for checkpoint in checkpoints:
        report.checkpoints += 1
        if entry is None:
            report.add(position, "a signed checkpoint covers this position but the ledger has "
                                 "no entry for it (ledger entries deleted)")
        elif checkpoint["hash"] != entry.hash:
            report.add(position, f"the ledger no longer matches the checkpoint signed at "
                                 f"{checkpoint['signed_at']}: entries after {last_good} were "
                                 "rewritten", since=last_good + 1)
        elif not broken:
            last_good = report.authenticated_up_to = position
    return last_good


def last_entry_position(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(entries.c.position).order_by(entries.c.position.desc())
                            .limit(1)).scalar() or 0


def _check_published_key(report: Report, engine: Engine, public_key: Ed25519PublicKey,
                         checkpoints: list[dict[str, Any]]) -> None:
    if not checkpoints:
        report.notes.append("no checkpoint has been signed yet: nothing is authenticated")
        return
    published = published_key(engine, checkpoints[-1]["key_id"])
    if published is None or published["public_key"].strip() != public_pem(public_key).strip():
        report.problems.append("the public key the API publishes is not the trusted key")


def _tail_notes(report: Report, log: EventLog, head: int) -> None:
    if report.entries and not report.breaks and report.authenticated_up_to < head:
        report.notes.append(f"positions after {report.authenticated_up_to} up to {head} are "
                            "sealed but not yet covered by a signed checkpoint")
    stored = log.max_position()
    if stored > head:
        report.notes.append(f"events after position {head} (up to {stored}) are not sealed yet")


__all__ = ["Break", "DecodeFailure", "Report", "check_signatures", "last_entry_position",
           "stored_documents", "verify_store"]
