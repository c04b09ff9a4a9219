"""The projector: follows the global event order and updates the read models exactly once.

Each page of record events is folded in memory and written in ONE transaction together with
the tracking position, which is advanced with a compare-and-set: a second projector (or a
crash and restart) can never apply a page twice. Positions are read with "greater than the
last one seen", so gaps left by failed writes are harmless and, because the PostgreSQL
recorder inserts under a table lock (SQLite has one writer), every position up to the highest
committed one is final: a page reads the record events up to that head (receipts and
registry events are filtered out by the database) and, when it reaches the head, advances
the tracking position to it.

Between pages the projector keeps what it wrote in memory (`Memory`, a write-through mirror
of its tables): it is trusted only while the tracking position is the one it last wrote, and
dropped on any failure. Starting from position 0 it holds everything, so no page reads the
read models back; otherwise the records and holders a page touches are loaded once.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from eventsourcing.utils import get_topic
from sqlalchemy import Engine, select

from events import KIND_SPECS, RECORD_EVENT_CLASSES
from events.store import EventLog
from projections.families import Family, FamilySet
from projections.fold import Fold, HolderRows, Memory, PageChanges, open_rows
from projections import sqlwrite
from projections.sqlwrite import PageRows, PageWriter, page_writer
from projections.state import RecordState, utc_naive
from projections.tracking import ConcurrentProjector, advance, next_rows
from projections.tables import ReadModel, live_generation, read_model

RECORD_TOPICS = frozenset(get_topic(cls) for cls in RECORD_EVENT_CLASSES)
TOPIC_LIST = sorted(RECORD_TOPICS)
TRACKING_NAME = "counts"
CHUNK = 500
MEMORY_RECORDS = 1_000_000  # beyond this many records the memory is dropped (~2.3 GB per 500k)


@contextmanager
def cyclic_gc_paused():
    """Pause the cyclic garbage collector during a long run of pages, or one page.

    Folding allocates millions of objects that live on in the memory, and its full passes
    over them cost a third of a rebuild's CPU, and 38 % of a live projector's catch-up at
    40,000 records; the fold makes almost no reference cycles (about 300 collectable
    objects per 100,000 events, measured), and reference counting still frees everything
    else. The collector is restored afterwards (and collects then, at most once a page)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Projector:
    """Applies pages of the event log to one set of read-model tables."""

    def __init__(self, log: EventLog, engine: Engine, lineage: Callable[[str], list[str]],
                 families: FamilySet, generation: int | None = None,
                 name: str = TRACKING_NAME, memory_records: int = MEMORY_RECORDS):
        """`generation` None follows the live generation (switching after a rebuild)."""
        self.log = log
        self.engine = engine
        self.lineage = lineage
        self.families = families
        self.generation = generation
        self.name = name
        self.memory_records = memory_records
        self.model: ReadModel = read_model(generation or 1)
        self._tracking_ready = False
        self._writers: dict[tuple[int, str], PageWriter] = {}
        self._memory: Memory | None = None
        self.fold = Fold(families, lineage)
        self.load_phases: dict[str, float] = {}  # the last bulk load's parts (seconds)

    # Tracking ----------------------------------------------------------------------------

    def _follow(self) -> None:
        if self.generation is None:
            model = read_model(live_generation(self.engine))
            if model is not self.model:
                self.model = model
                self._tracking_ready = False
                self._memory = None
        if not self._tracking_ready:
            self._ensure_tracking_row()
            self._tracking_ready = True

    def ensure_tracking(self) -> None:
        self._follow()

    def _ensure_tracking_row(self) -> None:
        with self.engine.begin() as conn:
            t = self.model.tracking
            if conn.execute(select(t.c.position).where(t.c.name == self.name)).first() is None:
                conn.execute(t.insert().values(name=self.name, position=0, events=0,
                                               updated_at=utc_naive(dt.datetime.now(dt.timezone.utc))))

    def position(self) -> int:
        with self.engine.connect() as conn:
            t = self.model.tracking
            value = conn.execute(select(t.c.position).where(t.c.name == self.name)).scalar()
            return value or 0

    # Processing --------------------------------------------------------------------------

    def process_page(self, limit: int = 2000) -> int:
        """Apply the next page; return how many positions it advanced (0: caught up). The
        page is read, folded and written with the cycle collector paused: its full passes
        would walk the whole memory (`cyclic_gc_paused`)."""
        with cyclic_gc_paused():
            return self._process_page(limit)

    def _process_page(self, limit: int) -> int:
        self._follow()
        start = self.position()
        read = self._read(start, limit)
        if read is None:
            return 0
        end, events = read
        memory = self._memory_at(start)
        try:
            self._write(start, end, len(events), self._page_rows(events, memory))
        except BaseException:
            self._memory = None  # its states may hold changes that were not written
            raise
        memory.position = end
        return end - start

    def _page_rows(self, events: list[tuple[int, Any]], memory: Memory) -> PageRows:
        changes = PageChanges()
        self._fold(events, memory, changes)
        return self._writer(self.engine.dialect.name).page_rows(
            changes, self.fold.series_deltas(changes))

    def _read(self, start: int, limit: int) -> tuple[int, list[tuple[int, Any]]] | None:
        """The record events of the next page and the position the page reaches
        (`projections.tracking.next_rows`)."""
        read = next_rows(self.log, start, limit, TOPIC_LIST)
        if read is None:
            return None
        end, rows = read
        decode = self.log.decode_row
        return end, [(row[0], decode(row)) for row in rows]

    def forget_memory(self) -> None:
        """Drop the records' states kept between pages (the next page reads what it needs
        back from the tables)."""
        self._memory = None

    def _memory_at(self, start: int) -> Memory:
        memory = self._memory
        if (memory is None or memory.position != start
                or memory.generation != self.model.generation
                or len(memory.states) > self.memory_records):
            memory = self._memory = Memory(self.model.generation, start)
        return memory

    def _fold(self, events: list[tuple[int, Any]], memory: Memory,
              changes: PageChanges) -> None:
        if not memory.complete:
            self._load(memory, events)
        self.fold.apply(events, memory, changes)

    # Loading (only when the memory does not hold everything) ---------------------------

    def _load(self, memory: Memory, events: list[tuple[int, Any]]) -> None:
        """Bring every record the page touches, and every record and holder row of every
        holder it may touch, into memory."""
        states = memory.states
        missing = {e.originator_id.hex for _, e in events} - states.keys()
        for state in self._select_records("record_id", missing):
            states[state.record_id] = state
        holders = {s.holder_uscc for _, e in events
                   if (s := states.get(e.originator_id.hex)) is not None and s.holder_uscc}
        for _, event in events:
            value = getattr(event, KIND_SPECS[event.kind].holder_field, None)
            if value:
                holders.add(value["uscc"])
            for value in (getattr(event, "changes", None) or {}).values():
                if isinstance(value, dict) and "uscc" in value:
                    holders.add(value["uscc"])
        holders -= memory.loaded_holders
        if not holders:
            return
        for holder in holders:
            memory.members.setdefault(holder, {})
        for state in self._select_records("holder_uscc", holders):
            state = states.setdefault(state.record_id, state)
            memory.members.setdefault(state.holder_uscc, {})[state.record_id] = state
        # Every holder the page may touch, including one whose records all moved to other
        # holders: its rows (and next_seq) live on in rm_holders.
        owners = [f"{name}|{holder}" for holder in sorted(holders)
                  for name in self.fold.holder_owners]
        table = self.model.holders
        with self.engine.connect() as conn:
            for i in range(0, len(owners), CHUNK):
                query = select(table).where(table.c.owner.in_(owners[i:i + CHUNK]))
                for row in conn.execute(query):
                    memory.holders[row.owner] = HolderRows(row.owner, open_rows(row.rows),
                                                           row.next_seq)
        memory.loaded_holders |= holders

    def _select_records(self, column: str, values: set[str]) -> list[RecordState]:
        table = self.model.records
        found = []
        wanted = sorted(values)
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), CHUNK):
                query = select(table).where(table.c[column].in_(wanted[i:i + CHUNK]))
                for row in conn.execute(query):
                    state = RecordState.from_row(row)
                    state.rows = open_rows(state.rows)
                    found.append(state)
        return found

    # Writing -----------------------------------------------------------------------------

    def _write(self, start: int, end: int, event_count: int, rows: PageRows) -> None:
        with self.engine.begin() as conn:
            self._advance(conn, start, end, event_count)
            self._writer(conn.dialect.name).write(conn, rows)

    def _advance(self, conn, start: int, end: int, event_count: int) -> None:
        tracking = self.model.tracking
        advance(conn, tracking, self.name, start, end, "counts",
                events=tracking.c.events + event_count,
                updated_at=utc_naive(dt.datetime.now(dt.timezone.utc)))

    def _writer(self, dialect: str) -> PageWriter:
        key = (self.model.generation, dialect)
        if key not in self._writers:
            self._writers[key] = page_writer(self.model, dialect)
        return self._writers[key]

    def bulk_load(self, limit: int = 20000, progress: Callable[[int], None] | None = None,
                  flush_rows: int = 500_000, workers: int = 1,
                  folded: Callable[[], None] | None = None) -> int:
        """Fill this projector's empty generation from the whole log: everything is kept in
        memory and each table written once (rows already closed on the way; on PostgreSQL the
        intervals in a second connection beside the other tables), then, once all of it is
        committed, the series and the tracking position of the last page, exactly. A crash
        leaves a generation that is not live and that the next rebuild drops and refills.
        With `workers` > 1 on PostgreSQL the fold is split over that many processes by
        holder (projections.parallel). `folded`, if given, is called once the records,
        holders and intervals are committed, before the series are summed and written (a
        rebuild starts building those tables' indexes then). Returns the position reached."""
        self._follow()
        if self.position() != 0:
            raise ValueError("bulk_load needs an empty generation")
        if workers > 1 and self.engine.dialect.name == "postgresql":
            from projections.parallel import bulk_load_parallel

            self._memory = None  # the folds' memories stay in their processes
            return bulk_load_parallel(self, workers, limit, progress, flush_rows, folded)
        pages = _Pages(self, limit, progress)
        started = time.perf_counter()
        try:
            months = self.bulk_fold(pages, flush_rows)
            folded_at = time.perf_counter()
            if folded is not None:
                folded()
            with cyclic_gc_paused():
                self._bulk_write(end=pages.position, count=pages.count, months=months)
            self.load_phases = {"read_fold": folded_at - started,
                                "series": time.perf_counter() - folded_at}
        except BaseException:
            self._memory = None
            raise
        self._memory.position = pages.position
        return pages.position

    def bulk_fold(self, pages: Iterable[list[tuple[int, Any]]], flush_rows: int,
                  check: Callable[[Memory], None] | None = None) -> sqlwrite.Months:
        """Fold pages of events into a fresh memory and write the records, holders and
        intervals to this generation's empty tables (intervals already closed while folding,
        in a second thread); return the series changes by month, not written. `check` sees
        the memory after each page, before anything of it is written, and may raise."""
        memory = self._memory = Memory(self.model.generation, 0)
        changes = PageChanges()
        with cyclic_gc_paused(), ThreadPoolExecutor(
                1, thread_name_prefix="projector-writer") as writer:
            writes = []
            self.fold.deltas_kept = False  # summed from the open rows at the end
            try:
                for events in pages:
                    self._fold(events, memory, changes)
                    if check is not None:
                        check(memory)
                    if changes.closed_inserts >= flush_rows:  # final: written meanwhile
                        writes.append(writer.submit(
                            self._bulk_write, intervals=changes.take_closed_inserts()))
            finally:
                self.fold.deltas_kept = True
            final = {"states": memory.states.values(), "holders": memory.holders.values(),
                     "intervals": list(changes.inserts.values())}
            if self.engine.dialect.name != "sqlite":  # one writer at a time there
                writes.append(writer.submit(self._bulk_write,
                                            intervals=final.pop("intervals")))
            self._bulk_write(**final)
            for write in writes:
                write.result()
            # still paused: its millions of new keys would set off full passes of the
            # collector over everything the fold holds (a fifth of a rebuild's time)
            return self.fold.open_row_months(memory)

    def _bulk_write(self, start: int = 0, end: int | None = None, count: int = 0,
                    states=(), holders=(), intervals=(), months=None) -> None:
        with self.engine.begin() as conn:
            if end is not None:
                self._advance(conn, start, end, count)
            self._writer(conn.dialect.name).bulk_insert(conn, states, holders, intervals,
                                                        months or {})

    def catch_up(self, limit: int = 2000, until: int | None = None,
                 progress: Callable[[int], None] | None = None) -> int:
        """Apply pages until the log is exhausted (or `until` is reached, or the live
        generation changes); return how many positions were applied.

        A second thread writes each page while the next one is read and folded: the
        database works while Python does. Pages still commit one after another, each with
        its tracking position (the next page's compare-and-set needs the previous commit),
        and a failed page stops the run and drops the memory, so nothing after it is kept."""
        self._follow()
        position = self.position()
        memory = self._memory_at(position)
        total = 0
        with cyclic_gc_paused(), ThreadPoolExecutor(
                1, thread_name_prefix="projector-writer") as writer:
            pending: Future | None = None
            try:
                while until is None or position < until:
                    if (self.generation is None
                            and live_generation(self.engine) != self.model.generation):
                        break  # a rebuild switched the readers; follow it on the next call
                    read = self._read(position, limit)
                    if read is None:
                        break
                    end, events = read
                    if len(memory.states) > self.memory_records:
                        if pending is not None:  # a fresh memory reads the tables back:
                            pending.result()     # the previous page must be in them
                            pending = None
                        memory = self._memory = Memory(self.model.generation, position)
                    rows = self._page_rows(events, memory)
                    if pending is not None:
                        pending.result()
                    pending = writer.submit(self._write, position, end, len(events), rows)
                    total += end - position
                    if progress:
                        progress(end - position)
                    position = end
                if pending is not None:
                    pending.result()
            except BaseException:
                self._memory = None
                raise
        memory.position = position
        return total


class _Pages:
    """The log's record events page by page, decoded, with the position and the number of
    record events read so far."""

    def __init__(self, projector: Projector, limit: int,
                 progress: Callable[[int], None] | None) -> None:
        self.projector, self.limit, self.progress = projector, limit, progress
        self.position = self.count = 0

    def __iter__(self) -> Iterator[list[tuple[int, Any]]]:
        while (read := self.projector._read(self.position, self.limit)) is not None:
            end, events = read
            yield events
            self.count += len(events)
            if self.progress:
                self.progress(end - self.position)
            self.position = end


__all__ = ["ConcurrentProjector", "Family", "Projector", "RECORD_TOPICS"]
