"""Running the projector: one active process (a lock), a polling loop, and rebuilds."""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Protocol

import psycopg
from sqlalchemy import Engine, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from eventsourcing.persistence import PersistenceError

from events.store import EventLog
from projections.families import FamilySet
from projections.parallel import SplitMismatch
from projections.projector import ConcurrentProjector, Projector, cyclic_gc_paused
from projections.status import clear_failure, record_failure
from projections.tables import (
    GENERATION_POINTER,
    generation_table,
    live_generation,
    ensure_extensions,
    read_model,
    read_model_current,
    secondary_indexes,
)

log = logging.getLogger("registry.projector")


class ProcessLock:
    """An exclusive lock held for the life of a process: a PostgreSQL advisory lock on its
    own connection, or an flock beside the SQLite file. Released when the process dies."""

    def __init__(self, database_url: str, schema: str, purpose: str) -> None:
        url = make_url(database_url)
        self.purpose = purpose
        self._pg_conninfo = None
        self._path = None
        if url.get_backend_name() == "postgresql":
            self._pg_conninfo = url.set(drivername="postgresql").render_as_string(
                hide_password=False)
            self._key = f"registry-{purpose}:{schema}"
        else:
            self._path = f"{url.database}.{purpose}.lock"
        self._handle = None

    def try_acquire(self) -> bool:
        if self._pg_conninfo is not None:
            conn = psycopg.connect(self._pg_conninfo, autocommit=True)
            got = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self._key,)).fetchone()[0]
            if got:
                self._handle = conn
            else:
                conn.close()
            return bool(got)
        handle = open(self._path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        return True

    def acquire(self, stop: threading.Event, poll: float = 2.0,
                on_wait: Callable[[], None] | None = None) -> bool:
        """Wait (as a standby) until the lock is ours or `stop` is set."""
        while not stop.is_set():
            if self.try_acquire():
                return True
            if on_wait:
                on_wait()
                on_wait = None
            stop.wait(poll)
        return False

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class Processor(Protocol):
    """Anything that follows the log a page at a time (the projector, the audit index,
    the ledger sealer, the webhook deliverer)."""

    def ensure_tracking(self) -> None: ...

    def process_page(self, limit: int) -> int:
        """Apply the next page of at most `limit` events; return how far it got, 0 when
        caught up. Each counts in its own unit (the projector and the webhook deliverer
        positions advanced, the audit index events read, the ledger events sealed), but in
        each a full page, which may have more behind it, is at least `limit`."""


HEARTBEAT_SECONDS = 2.0
# Idle (the log's head unchanged since every processor was last caught up), the processors
# still run this often, for what they do on time rather than on events: the ledger's signed
# checkpoints, webhook retries, following a rebuild's switch of generation.
IDLE_ROUND_SECONDS = 1.0
_DATABASE_DOWN = (OperationalError, DBAPIError, PersistenceError, psycopg.OperationalError)


def run_forever(processors: Processor | list[Processor], stop: threading.Event,
                poll: float = 0.1, page: int = 2000,
                heartbeat: Callable[[], None] | None = None,
                head: Callable[[], int] | None = None) -> None:
    """Apply pages until `stop` is set. While some processor has a backlog (it advanced a
    full page), the next round follows at once; otherwise the loop sleeps `poll` seconds, so
    that events arriving one by one are applied a poll's worth at a time: one transaction
    per processor for every event or two cost the projector process more CPU per posted
    event than the server's (issue 16). With `head` (the log's highest position), a round
    whose head has not moved since a round in which every processor caught up reads only
    the head, and the processors run once every IDLE_ROUND_SECONDS. Database outages are
    waited out with back-off; nothing is skipped. `heartbeat` is called every
    HEARTBEAT_SECONDS while the loop runs."""
    if not isinstance(processors, list):
        processors = [processors]
    for processor in processors:
        processor.ensure_tracking()
    backoff = 0.5
    stopped: dict[int, float] = {}  # processors halted on a poison event -> next retry time
    next_beat = 0.0
    caught_up_at, next_round = None, 0.0  # the head every processor last caught up with
    while not stop.is_set():
        if heartbeat is not None and time.monotonic() >= next_beat:
            try:
                heartbeat()
                next_beat = time.monotonic() + HEARTBEAT_SECONDS
            except (OperationalError, DBAPIError, psycopg.OperationalError) as exc:
                log.warning("heartbeat not written (database unavailable): %s", exc)
        try:
            at = head() if head is not None else None
        except _DATABASE_DOWN as exc:
            at = None  # the processors' own reads meet the outage and back off
            log.warning("the log's head not read (database unavailable): %s", exc)
        if at is not None and at == caught_up_at and time.monotonic() < next_round:
            stop.wait(poll)
            continue
        backlog, failed = False, False
        for processor in processors:
            if stopped.get(id(processor), 0) > time.monotonic():
                continue
            try:
                # the collector's full passes over the projector's memory come once in
                # many rounds instead of every few hundred allocations (issue 16)
                with cyclic_gc_paused():
                    backlog |= processor.process_page(page) >= page  # a full page
                backoff = 0.5
                if stopped.pop(id(processor), None) is not None:
                    clear_failure(_engine(processor), _name(processor))
                    log.warning("%s resumed", _name(processor))
            except ConcurrentProjector as exc:
                failed = True
                log.warning("%s", exc)
            except _DATABASE_DOWN as exc:
                failed = True
                log.warning("database unavailable, retrying in %.1fs: %s", backoff, exc)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10)
            except Exception as exc:  # a poison event: stop here and say so, never skip it
                _halt(processor, exc)
                stopped[id(processor)] = time.monotonic() + POISON_RETRY_SECONDS
        # Without a full page, each processor read up to a head it read after `at`: all of
        # them are caught up with `at` (a halted one waits for its retry time anyway).
        caught_up_at = at if not backlog and not failed else None
        next_round = time.monotonic() + IDLE_ROUND_SECONDS
        if not backlog:
            stop.wait(poll)


POISON_RETRY_SECONDS = 60.0


def _name(processor) -> str:
    return getattr(processor, "name", None) or type(processor).__name__


def _engine(processor) -> Engine:
    return processor.engine


def _halt(processor, exc: Exception) -> None:
    """Record and log that a processor stopped on an event it cannot apply."""
    try:
        position = processor.position()
    except Exception:  # noqa: BLE001 - the position is a courtesy in the message
        position = None
    error = f"{type(exc).__name__}: {exc}"
    log.error("%s STOPPED after position %s on an event it cannot apply (it will not skip "
              "it; fix the cause and it resumes): %s", _name(processor), position, error,
              exc_info=exc)
    record_failure(_engine(processor), _name(processor), position, error)


def rebuild_if_outdated(log_: EventLog, engine: Engine, lineage: Callable[[str], list[str]],
                        families: FamilySet, say: Callable[[str], None]) -> bool:
    """Rebuild the read models when the live generation was built by an older version of
    the registry with tables of another shape (an upgrade); True if it did."""
    generation = live_generation(engine)
    if not generation or read_model_current(engine, generation):
        return False
    say(f"the live read models (generation {generation}) have the shape of an older "
        "version: rebuilding them (reads answer 503 until the switch)")
    rebuild(log_, engine, lineage, families)
    return True


def _bulk_load(projector: Projector, indexes, workers: int,
               progress: Callable[[int], None] | None,
               finishing: "_Finishing") -> None:
    """Empty tables for the projector's generation, without their secondary indexes (and on
    PostgreSQL without their primary keys, but the tracking's), and bulk-load them; hand
    `finishing` what adds the keys and indexes back, table by table, and start the tables
    the fold wrote once it has committed them (while the series are summed and written)."""
    model, engine = projector.model, projector.engine
    model.metadata.drop_all(engine)
    model.metadata.create_all(engine)
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
            finishing.add(index.table, functools.partial(_create_index, engine, index))
        if engine.dialect.name == "postgresql":
            for table in (model.records, model.holders, model.intervals, model.series):
                finishing.add(table, functools.partial(
                    _add_primary_key, engine, table, _drop_primary_key(conn, table)),
                    first=True)
    projector._tracking_ready = False
    projector.ensure_tracking()
    projector.bulk_load(progress=progress, workers=workers, folded=functools.partial(
        finishing.start, [model.intervals, model.records, model.holders]))


def _drop_primary_key(conn, table) -> str:
    """PostgreSQL: drop a table's primary key (checking each row of a bulk load against it
    cost more than building it afterwards); return its name."""
    name = conn.exec_driver_sql(
        "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s) "
        "AND contype = 'p'", (table.name,)).scalar_one()
    conn.exec_driver_sql(f'ALTER TABLE {table.name} DROP CONSTRAINT "{name}"')
    return name


def _add_primary_key(engine: Engine, table, name: str) -> None:
    """Build the key's index first (beside the table's other index builds, which a plain
    ADD PRIMARY KEY would lock out), then make it the primary key."""
    columns = ", ".join(column.name for column in table.primary_key.columns)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE UNIQUE INDEX "{name}" ON {table.name} ({columns})')
        conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD CONSTRAINT "{name}" '
                             f'PRIMARY KEY USING INDEX "{name}"')


def _create_index(engine: Engine, index) -> None:
    with engine.begin() as conn:
        index.create(conn)


def _vacuum(engine: Engine, name: str) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {name}")


def _in_parallel(engine: Engine, workers: int, tasks: list[Callable[[], None]]) -> None:
    """Run database tasks in up to `workers` connections at once (SQLite has one writer:
    one after another)."""
    if engine.dialect.name != "postgresql" or workers <= 1:
        for task in tasks:
            task()
        return
    with ThreadPoolExecutor(min(workers, len(tasks), MAX_WORKERS) or 1,
                            thread_name_prefix="rebuild-ddl") as pool:
        for future in [pool.submit(task) for task in tasks]:
            future.result()


class _Finishing:
    """The keys, indexes and statistics of a bulk-loaded generation, added table by table
    while the rebuild goes on.

    On PostgreSQL each table's key, then its other indexes, then its `VACUUM (ANALYZE)` run
    one after another in a connection of their own, beside the rebuild's own thread: the
    tables the fold wrote start as soon as it has committed them, while the parent sums
    and writes the series, which start last. Measured at 1M record events: the key and
    index builds took 11.7-14.1 s after the series' 5.2-6.1 s. Up to one table per
    folding process or per core, whichever is more, at once (the fold is over: a rebuild
    folded by one process still builds its indexes on every core). The largest tables go
    first, so that no connection is left with a long one at the end. On SQLite (one
    writer) each table's tasks run when it is started, in the caller's thread."""

    def __init__(self, engine: Engine, workers: int) -> None:
        self.engine = engine
        self.tasks: dict[str, list[Callable[[], None]]] = {}
        self.futures: list = []
        connections = min(max(workers, os.cpu_count() or 1), MAX_WORKERS)
        self.pool = (ThreadPoolExecutor(connections, thread_name_prefix="rebuild-ddl")
                     if engine.dialect.name == "postgresql" else None)

    def add(self, table, task: Callable[[], None], first: bool = False) -> None:
        tasks = self.tasks.setdefault(table.name, [])
        if first:
            tasks.insert(0, task)
        else:
            tasks.append(task)

    def start(self, tables) -> None:
        self._start([table.name for table in tables])

    def _start(self, names: list[str]) -> None:
        for name in names:
            tasks = self.tasks.pop(name, [])
            if self.pool is None:
                for task in tasks:
                    task()
            else:
                self.futures.append(self.pool.submit(self._table, name, tasks))

    def _table(self, name: str, tasks: list[Callable[[], None]]) -> None:
        for task in tasks:
            task()
        _vacuum(self.engine, name)  # its statistics, before readers arrive

    def wait(self) -> None:
        """Start the tables not started yet, then wait for all of them; the first failure
        is raised."""
        try:
            self._start(list(self.tasks))
            for future in self.futures:
                future.result()
        finally:
            self.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def vacuum_analyze(engine: Engine, generation: int, workers: int = 1) -> list[str]:
    """Reclaim the rows the projector's updates left behind and refresh the planner's
    statistics of one generation's tables (PostgreSQL: `VACUUM (ANALYZE)`, which blocks
    neither readers nor the projector, in up to `workers` connections at once; SQLite:
    `ANALYZE`). Returns the table names."""
    names = [table.name for table in read_model(generation).tables()]
    if engine.dialect.name == "postgresql":  # VACUUM cannot run inside a transaction
        _in_parallel(engine, workers, [functools.partial(_vacuum, engine, name)
                                       for name in names])
    else:  # the SQLite engines begin their own transactions (see projections.db)
        with engine.begin() as conn:
            for name in names:
                conn.exec_driver_sql(f"ANALYZE {name}")
    return names


class _Phases:
    """Seconds per phase of a rebuild, each from the end of the one before."""

    def __init__(self, into: dict[str, float] | None) -> None:
        self.phases = into if into is not None else {}
        self.mark = time.perf_counter()

    def add(self, name: str, parts: dict[str, float] | None = None) -> None:
        now = time.perf_counter()
        self.phases[name] = round(now - self.mark, 2)
        for part, seconds in (parts or {}).items():
            self.phases[f"{name}.{part}"] = round(seconds, 2)
        self.mark = now

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.phases.items())


def rebuild_workers(engine: Engine, positions: int, requested: int | None = None) -> int:
    """How many processes fold a rebuild: on SQLite always one (one writer); on PostgreSQL
    those `requested`, else one per core once the log is large enough to repay the forks."""
    if engine.dialect.name != "postgresql":
        return 1
    if requested is not None:
        return requested
    if positions < PARALLEL_FROM:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


PARALLEL_FROM = 100_000  # positions
# Also the most connections the index builds take at once (one per table, five tables, beside
# the rebuild's own): within the writer engine's pool (3 + 5).
MAX_WORKERS = 8


def _fill_and_switch(projector: Projector, indexes, workers: int,
                     progress: Callable[[int], None] | None, timer: "_Phases") -> None:
    """Bulk-load the projector's generation, add its keys and indexes, analyse it, catch
    it up with what was stored meanwhile, and make it the live one."""
    engine, log_ = projector.engine, projector.log
    finishing = _Finishing(engine, workers)
    try:
        try:
            _bulk_load(projector, indexes, workers, progress, finishing)
        except SplitMismatch as exc:  # never expected; the serial fold needs no split
            log.warning("the parallel rebuild's split missed a holder (%s): folding "
                        "serially", exc)
            finishing.close()  # the split is found out before any table is started
            finishing = _Finishing(engine, workers)
            _bulk_load(projector, indexes, 1, progress, finishing)
        timer.add("bulk_load", projector.load_phases)
        finishing.start([projector.model.series, projector.model.tracking])
        finishing.wait()
    finally:
        finishing.close()
    timer.add("indexes")
    if engine.dialect.name != "postgresql":  # PostgreSQL analysed each table above
        vacuum_analyze(engine, projector.model.generation)
    log_.analyze()  # and of the events table, which progress reads plans and openings from
    timer.add("analyze")
    while projector.catch_up(limit=5000, progress=progress):
        pass
    timer.add("catch_up")
    with engine.begin() as conn:
        conn.execute(update(generation_table)
                     .where(generation_table.c.name == GENERATION_POINTER)
                     .values(generation=projector.model.generation))
    timer.add("switch")


def rebuild(log_: EventLog, engine: Engine, lineage: Callable[[str], list[str]],
            families: FamilySet, progress: Callable[[int], None] | None = None,
            grace_seconds: float = 2.0, workers: int | None = None,
            phases: dict[str, float] | None = None) -> int:
    """Replay the whole log into a fresh generation, switch readers to it in one
    transaction, then drop the old generation. Returns the new generation.

    The new generation is bulk-loaded (everything in memory, each table written once, the
    secondary indexes created afterwards), folded by `workers` processes on PostgreSQL
    (default: `rebuild_workers`); events stored meanwhile are then applied page by page as
    usual. A crash before the switch leaves an unused generation that the next rebuild
    drops and refills. The tables are ordinary (logged) tables throughout. How long each
    phase took is logged and, when given, put in `phases` (seconds by name)."""
    timer = _Phases(phases)
    current = live_generation(engine)
    new = current + 1
    model = read_model(new)
    ensure_extensions(engine)
    workers = rebuild_workers(engine, log_.max_position(), workers)
    indexes = secondary_indexes(model)
    projector = Projector(log_, engine, lineage, families, generation=new)
    # The collector stays paused until the bulk-loaded memory (millions of objects) is
    # dropped with this projector: resumed while it was alive, its first pass traversed
    # all of it for nothing (5 s of a 300,000-event SQLite rebuild's 52, gc.callbacks).
    with cyclic_gc_paused():
        try:
            _fill_and_switch(projector, indexes, workers, progress, timer)
        finally:
            projector.forget_memory()
    log.info("rebuilt generation %s with %s process(es): %s", new, workers, timer)
    if current:
        time.sleep(grace_seconds)
        read_model(current).metadata.drop_all(engine)
    return new
