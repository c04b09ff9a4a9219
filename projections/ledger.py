"""The tamper-evident ledger: a hash chain over every stored event, in position order.

`LedgerSealer` follows the log a page at a time (a `Processor` for `run_forever`). Each page's
entries, its signed checkpoints and its tracking position are committed in one transaction,
and the tracking position advances with a compare-and-set, so an event is sealed exactly once
even across restarts or a second sealer. The document and hash of an entry are defined in
`events.ledger_document`; checkpoints in `projections.ledger_signing`.

Checkpoints are signed (1) at every `checkpoint_every`-th entry and (2) at the head, when
there are entries no checkpoint covers yet and the last checkpoint is at least
`checkpoint_seconds` old, checked whenever the sealer has caught up with the log (so a head is
signed at most `checkpoint_seconds` plus one poll after it was sealed).

An event that no longer decodes (a tampered row, a lost topic) halts sealing AT that
position: the entries before it are sealed, nothing after it is, the reason is kept in
`ledger_tracking` and logged as an error every minute, and sealing resumes by itself once the
row decodes again. Skipping it would seal a chain that hides the damage.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, NamedTuple

from sqlalchemy import Engine, func, insert, select

from events.ledger_document import GENESIS_HASH, chain_hash, ledger_document
from events.store import EventLog
from projections.ledger_signing import (
    ALGORITHM,
    Signer,
    checkpoint_message,
    parse_stamp,
    utc_stamp,
)
from projections.ledger_tables import (
    checkpoints,
    create_ledger_tables,
    entries,
    keys,
    tracking,
)
from projections.db import copy_rows
from projections.tracking import ConcurrentProjector, advance


class Entry(NamedTuple):
    """A `ledger_entries` row, in the table's column order (as COPY writes it)."""

    position: int
    prev_hash: str
    hash: str
    sealed_at: dt.datetime


ENTRY_COLUMNS = list(Entry._fields)  # ledger_entries' columns (tests/integration/test_ledger.py)

log = logging.getLogger("registry.ledger")

TRACKING_NAME = "ledger"
CHECKPOINT_EVERY = 1000
CHECKPOINT_SECONDS = 60.0
CHUNK = 500
HALT_LOG_SECONDS = 60.0


@dataclass(frozen=True)
class Head:
    """The sealer's tracking row: the last sealed position and its hash."""

    position: int
    hash: str
    entries: int
    halted_position: int | None
    halted_reason: str | None


def _utc_naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


class LedgerSealer:
    """Seals each stored event into the hash chain and signs checkpoints of its head."""

    def __init__(self, log_: EventLog, engine: Engine, signer: Signer | None, *,
                 checkpoint_every: int = CHECKPOINT_EVERY,
                 checkpoint_seconds: float = CHECKPOINT_SECONDS,
                 name: str = TRACKING_NAME) -> None:
        """`signer` None seals without signing checkpoints (no key configured yet)."""
        self.log = log_
        self.engine = engine
        self.signer = signer
        self.checkpoint_every = max(1, checkpoint_every)
        self.checkpoint_seconds = checkpoint_seconds
        self.name = name
        self._ready = False
        self._last_signed: tuple[int, dt.datetime] | None = None
        self._since_checkpoint = 0
        self._halt_logged: tuple[Any, float] | None = None

    # Tracking ----------------------------------------------------------------------------

    def ensure_tracking(self) -> None:
        """Create the tracking row and publish the public key; load the checkpoint state.
        The tables are made by `registry init`; creating them here too (one active sealer,
        under the projector's lock) lets an upgraded deployment start without re-running it."""
        create_ledger_tables(self.engine)
        now = _utc_naive(dt.datetime.now(dt.timezone.utc))
        with self.engine.begin() as conn:
            if conn.execute(select(tracking.c.position)
                            .where(tracking.c.name == self.name)).first() is None:
                conn.execute(insert(tracking).values(
                    name=self.name, position=0, head_hash=GENESIS_HASH, entries=0,
                    updated_at=now))
            if self.signer is not None:
                publish_key(conn, self.signer, now)
        with self.engine.connect() as conn:
            last = conn.execute(select(checkpoints.c.position, checkpoints.c.signed_at)
                                .order_by(checkpoints.c.position.desc()).limit(1)).first()
            after = last.position if last else 0
            self._since_checkpoint = conn.execute(
                select(func.count()).select_from(entries)
                .where(entries.c.position > after)).scalar() or 0
        self._last_signed = (last.position, parse_stamp(last.signed_at)) if last else None
        self._ready = True

    def head(self) -> Head:
        with self.engine.connect() as conn:
            row = conn.execute(select(tracking).where(tracking.c.name == self.name)).first()
        if row is None:
            return Head(0, GENESIS_HASH, 0, None, None)
        return Head(row.position, row.head_hash, row.entries, row.halted_position,
                    row.halted_reason)

    # Sealing -----------------------------------------------------------------------------

    def process_page(self, limit: int = 2000) -> int:
        """Seal the next page; return how many events it sealed (0: caught up or halted)."""
        if not self._ready:
            self.ensure_tracking()
        head = self.head()
        notifications = self.log.recorder.select_notifications(
            start=head.position, limit=limit, inclusive_of_start=False)
        if not notifications:
            self._sign_head_when_due(head)
            return 0
        now = dt.datetime.now(dt.timezone.utc)
        sealed_at = _utc_naive(now)
        prev, rows, signed = head.hash, [], []
        since = self._since_checkpoint
        halt: tuple[int, str] | None = None
        for notification in notifications:
            try:
                event = self.log.mapper.to_domain_event(notification)
                entry_hash = chain_hash(prev, ledger_document(notification.id, event))
            except Exception as exc:  # any decoding failure halts here, see the docstring
                halt = (notification.id, f"the stored event does not decode "
                                         f"({type(exc).__name__}: {str(exc)[:300]})")
                break
            rows.append(Entry(notification.id, prev, entry_hash, sealed_at))
            prev = entry_hash
            since += 1
            if since >= self.checkpoint_every and self.signer is not None:
                signed.append(self._checkpoint(notification.id, entry_hash, now))
                since = 0
        caught_up = halt is not None or len(notifications) < limit
        if rows and caught_up and since and self._due(now, signed):
            signed.append(self._checkpoint(rows[-1].position, prev, now))
            since = 0
        if rows or (halt and halt != (head.halted_position, head.halted_reason)):
            self._write(head, rows, signed, halt, now)
            self._since_checkpoint = since
            if signed:
                self._last_signed = (signed[-1]["position"], now)
        elif halt:
            self._sign_head_when_due(head)  # what was sealed before the halt still gets signed
        if halt:
            self._log_halt(*halt)
        return len(rows)

    def catch_up(self, limit: int = 2000) -> int:
        """Seal pages until caught up (or halted); return how many events were sealed."""
        total = 0
        while done := self.process_page(limit):
            total += done
        return total

    def _due(self, now: dt.datetime, signed: list[dict]) -> bool:
        """Whether the head may be signed now (`signed`: checkpoints of this page so far)."""
        if self.signer is None:
            return False
        last = now if signed else (self._last_signed[1] if self._last_signed else None)
        return last is None or (now - last).total_seconds() >= self.checkpoint_seconds

    def _checkpoint(self, position: int, hash_: str, now: dt.datetime) -> dict[str, Any]:
        assert self.signer is not None
        signed_at = utc_stamp(now)
        return {"position": position, "hash": hash_, "signed_at": signed_at,
                "signature": self.signer.sign(position, hash_, signed_at),
                "key_id": self.signer.key_id}

    def _sign_head_when_due(self, head: Head) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        covered = self._last_signed[0] if self._last_signed else 0
        if head.position <= covered or not self._since_checkpoint or not self._due(now, []):
            return
        checkpoint = self._checkpoint(head.position, head.hash, now)
        halt = (head.halted_position, head.halted_reason) if head.halted_position else None
        self._write(head, [], [checkpoint], halt, now)
        self._since_checkpoint = 0
        self._last_signed = (head.position, now)

    def _write(self, head: Head, rows: list[Entry], signed: list[dict],
               halt: tuple[int, str] | None, now: dt.datetime) -> None:
        """One transaction: advance the tracking row (compare-and-set), insert the entries
        and checkpoints."""
        end = rows[-1].position if rows else head.position
        with self.engine.begin() as conn:
            try:
                advance(conn, tracking, self.name, head.position, end, "ledger",
                        head_hash=rows[-1].hash if rows else head.hash,
                        entries=tracking.c.entries + len(rows),
                        halted_position=halt[0] if halt else None,
                        halted_reason=halt[1] if halt else None, updated_at=_utc_naive(now))
            except ConcurrentProjector:
                self._ready = False  # reload the checkpoint state before the next page
                raise
            if rows and conn.dialect.name == "postgresql":
                # COPY: an insert of every entry cost the projector process a sixth of its
                # CPU during ingest (py-spy, issue 16)
                copy_rows(conn, entries.name, ENTRY_COLUMNS, rows)
            elif rows:
                conn.execute(insert(entries), [row._asdict() for row in rows])
            if signed:
                conn.execute(insert(checkpoints), signed)

    def _log_halt(self, position: int, reason: str) -> None:
        now = time.monotonic()
        if (self._halt_logged and self._halt_logged[0] == (position, reason)
                and now - self._halt_logged[1] < HALT_LOG_SECONDS):
            return
        self._halt_logged = ((position, reason), now)
        log.error("ledger sealing halted at position %s: %s. Nothing after it is sealed until "
                  "the row is repaired; run `registry ledger verify`.", position, reason)


def publish_key(conn, signer: Signer, now: dt.datetime) -> None:
    """Record the signer's public key (served by the API) if it is not there yet."""
    if conn.execute(select(keys.c.key_id).where(keys.c.key_id == signer.key_id)).first() is None:
        conn.execute(insert(keys).values(key_id=signer.key_id, public_key=signer.public_pem,
                                         added_at=now))


# Reading -----------------------------------------------------------------------------------

def ledger_fields(engine: Engine, positions: Iterable[int]) -> dict[int, dict[str, str]]:
    """The ledger fields an export line carries: {position: {"prev": ..., "hash": ...}} for
    each given position that is sealed (unsealed positions are absent from the answer)."""
    wanted = sorted(set(positions))
    found: dict[int, dict[str, str]] = {}
    with engine.connect() as conn:
        for i in range(0, len(wanted), CHUNK):
            query = (select(entries.c.position, entries.c.prev_hash, entries.c.hash)
                     .where(entries.c.position.in_(wanted[i:i + CHUNK])))
            for row in conn.execute(query):
                found[row.position] = {"prev": row.prev_hash, "hash": row.hash}
    return found


def iter_entries(engine: Engine, after: int = 0, page: int = 5000) -> Iterator[Any]:
    """Every ledger entry in position order (rows with position, prev_hash, hash)."""
    while True:
        with engine.connect() as conn:
            rows = conn.execute(select(entries.c.position, entries.c.prev_hash, entries.c.hash)
                                .where(entries.c.position > after)
                                .order_by(entries.c.position).limit(page)).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].position


def all_checkpoints(engine: Engine) -> list[dict[str, Any]]:
    """Every stored checkpoint, in position order."""
    with engine.connect() as conn:
        rows = conn.execute(select(checkpoints).order_by(checkpoints.c.position)).all()
    return [dict(row._mapping) for row in rows]


def latest_checkpoint(engine: Engine) -> dict[str, Any] | None:
    """The signed head as published: position, hash, signed_at, signature, algorithm, key_id,
    public_key (PEM) and the exact message signed; None before the first checkpoint."""
    with engine.connect() as conn:
        row = conn.execute(
            select(checkpoints, keys.c.public_key)
            .join(keys, keys.c.key_id == checkpoints.c.key_id, isouter=True)
            .order_by(checkpoints.c.position.desc()).limit(1)).first()
    if row is None:
        return None
    return {"position": row.position, "hash": row.hash, "signed_at": row.signed_at,
            "signature": row.signature, "algorithm": ALGORITHM, "key_id": row.key_id,
            "public_key": row.public_key,
            "message": checkpoint_message(row.position, row.hash, row.signed_at)}


def published_key(engine: Engine, key_id: str | None = None) -> dict[str, str] | None:
    """A published public key (the newest one when `key_id` is None)."""
    query = select(keys.c.key_id, keys.c.public_key)
    query = (query.where(keys.c.key_id == key_id) if key_id
             else query.order_by(keys.c.added_at.desc()).limit(1))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return {"key_id": row.key_id, "public_key": row.public_key} if row else None


def ledger_status(engine: Engine, log_: EventLog, name: str = TRACKING_NAME) -> dict[str, Any]:
    """Where sealing stands: sealed head, events not sealed yet, latest checkpoint, halt.
    Read in separate statements while a sealer may commit between them, so in the order
    in which each figure can only have grown: the checkpoint, then the sealed head (always
    at or past it), then the store's head (always at or past that). A status never shows a
    checkpoint past the sealed head nor a sealed head past the store."""
    checkpoint = latest_checkpoint(engine)
    with engine.connect() as conn:
        row = conn.execute(select(tracking).where(tracking.c.name == name)).first()
    stored = log_.max_position()
    sealed = row.position if row else 0
    return {"sealed_position": sealed, "head_hash": row.head_hash if row else GENESIS_HASH,
            "entries": row.entries if row else 0, "store_max_position": stored,
            "halted": ({"position": row.halted_position, "reason": row.halted_reason}
                       if row is not None and row.halted_position is not None else None),
            "latest_checkpoint": ({k: checkpoint[k] for k in ("position", "hash", "signed_at",
                                                               "key_id")}
                                  if checkpoint else None)}


__all__ = ["CHECKPOINT_EVERY", "CHECKPOINT_SECONDS", "Head", "LedgerSealer", "all_checkpoints",
           "iter_entries", "latest_checkpoint", "ledger_fields", "ledger_status",
           "published_key", "publish_key"]
