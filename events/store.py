"""The event store: one eventsourcing Application holding every event, read by position.

The native recorders are used (`eventsourcing.sqlite`, `eventsourcing.postgres`): they are
the fastest (../shared/notes/eventsourcing-9.5.md section 15) and the PostgreSQL one takes a
table lock per insert, so positions become visible in commit order (gap-safe tailing).
"""

from __future__ import annotations

import os
from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Iterable, Sequence
from urllib.parse import unquote, urlsplit
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    JSONTranscoder,
    OperationalError,
    StoredEvent,
)
from eventsourcing.utils import retry

from events.base import DateAsISO

__all__ = ["EventLog", "IntegrityError", "Positioned", "StoredRow", "store_environment"]

# A stored event as `EventLog.stored_rows` reads it, named (the mapper reads the names).
StoredRow = namedtuple("StoredRow", "id originator_id originator_version topic state")


@dataclass(frozen=True)
class Positioned:
    """A stored event with its global position."""

    position: int
    event: Any


class _Store(Application):
    name = "Registry"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())


def store_environment(database_url: str, schema: str = "public", *, create_tables: bool = False,
                      pool_size: int = 2, max_overflow: int = 8) -> dict[str, str]:
    """The eventsourcing settings for a SQLAlchemy-style database URL."""
    parts = urlsplit(database_url)
    scheme = parts.scheme.split("+")[0]
    create = "y" if create_tables else "n"
    if scheme == "sqlite":
        path = database_url.split(":///", 1)[1] if ":///" in database_url else ""
        if not path or path == ":memory:":
            raise ValueError("The registry needs a SQLite file, e.g. sqlite:///registry.db")
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path,
                "SQLITE_LOCK_TIMEOUT": "30", "CREATE_TABLE": create}
    if scheme in ("postgresql", "postgres"):
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": str(max_overflow),
            "POSTGRES_LOCK_TIMEOUT": "10",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_PRE_PING": "y",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
            "CREATE_TABLE": create,
        }
    raise ValueError(f"Unsupported database URL scheme '{parts.scheme}'")


# Ids per statement when SQLite reads several histories (its variable limit is 32766).
_SQLITE_CHUNK = 500

# Keys of os.environ that would otherwise override our explicit settings.
# POSTGRES_ENABLE_DB_FUNCTIONS drops the table lock, so positions would no longer become
# visible in commit order (../shared/notes/eventsourcing-9.5.md section 4).
_LIBRARY_KEYS = ("PERSISTENCE_MODULE", "INFRASTRUCTURE_FACTORY", "FACTORY_TOPIC",
                 "CIPHER_KEY", "CIPHER_TOPIC", "COMPRESSOR_TOPIC", "TRANSCODER_TOPIC",
                 "POSTGRES_ENABLE_DB_FUNCTIONS")
# The library's JSONTranscoder, reading with orjson (the same values from the same bytes,
# written unchanged): the library's documented way to choose a transcoder.
TRANSCODER_TOPIC = "events.transcoder:OrjsonReading"


class EventLog:
    """Appends events atomically and reads them back by record or by global position."""

    def __init__(self, database_url: str, schema: str = "public", *,
                 create_tables: bool = False, env: dict[str, str] | None = None,
                 **pool: int) -> None:
        env = env or store_environment(database_url, schema, create_tables=create_tables,
                                       **pool)
        for key in _LIBRARY_KEYS:
            if key not in env and (key in os.environ or f"REGISTRY_{key}" in os.environ):
                raise RuntimeError(f"Unset {key}: the registry configures its store itself")
        env = {"TRANSCODER_TOPIC": TRANSCODER_TOPIC, **env}
        self.is_postgres = env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
        self.in_memory = env["PERSISTENCE_MODULE"] == "eventsourcing.popo"
        self.schema = schema
        self._app = _Store(env=env)
        self.recorder = self._app.recorder
        self.mapper = self._app.mapper
        if self.is_postgres:
            from psycopg.sql import SQL, Identifier

            table = SQL("{}.{}").format(Identifier(schema), Identifier(self.recorder.events_table_name))
            self._histories_sql = SQL(
                "SELECT notification_id AS position, originator_id, originator_version, topic, state "
                "FROM {} WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
            ).format(table)
            self._analyze_sql = SQL("ANALYZE {}").format(table)
            self._rows_sql = SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {} WHERE notification_id > %s AND notification_id <= %s "
                "AND topic = ANY(%s) ORDER BY notification_id LIMIT %s").format(table)

    @classmethod
    def memory(cls) -> "EventLog":
        """A log kept in this process's memory (the library's POPO recorder), for domain
        tests that need no database; never a deployment's store."""
        return cls("memory:", env={"PERSISTENCE_MODULE": "eventsourcing.popo"})

    def append(self, *events: DomainEvent) -> list[int]:
        """Store the events in one transaction; return their positions in the same order.

        Straight to the recorder, as the library's Application.save does after collecting
        aggregates' pending events, which the registry never has (it decides events, it does
        not mutate aggregates): the same stored format, the same insert (with PostgreSQL's
        table lock and the unique version constraint), without the per-save machinery that
        cost a tenth of a batch (issue 16)."""
        stored = [self.mapper.to_stored_event(event) for event in events]
        positions = self.recorder.insert_events(stored)
        return list(positions or ())

    def analyze(self) -> None:
        """Refresh the planner's statistics of the events table. The histories of plans and
        openings are read by id on every progress request; without statistics (a server
        without autovacuum, right after a bulk load) PostgreSQL plans those reads as
        parallel scans of the whole table (20-45 ms each at 2M events instead of 0.1)."""
        if self.in_memory:
            return
        if self.is_postgres:
            with self.recorder.datastore.get_connection() as connection:
                connection.execute(self._analyze_sql)
                connection.commit()
        else:
            with self.recorder.datastore.transaction(commit=True) as cursor:
                cursor.execute(f"ANALYZE {self.recorder.events_table_name}")

    def history(self, originator_id: UUID) -> list[Positioned]:
        """Every event of one aggregate, in version order, with positions."""
        return self.histories([originator_id])[originator_id]

    def histories(self, originator_ids: Iterable[UUID]) -> dict[UUID, list[Positioned]]:
        """The histories of several aggregates, read from one consistent snapshot.

        Every id asked for is a key of the answer (an empty list when nothing is stored).
        PostgreSQL answers in one statement; SQLite reads in chunks inside one read
        transaction, which in WAL mode sees a single snapshot too.
        """
        ids = list(dict.fromkeys(originator_ids))
        found: dict[UUID, list[Positioned]] = {originator_id: [] for originator_id in ids}
        if self.in_memory:
            wanted = set(ids)
            for positioned in self.read_all():
                if positioned.event.originator_id in wanted:
                    found[positioned.event.originator_id].append(positioned)
            for history in found.values():
                history.sort(key=lambda p: p.event.originator_version)
            return found
        if self.is_postgres:
            # One statement on an autocommit connection: one snapshot, and no BEGIN/ROLLBACK
            # round trips around it.
            with self.recorder.datastore.get_connection() as connection:
                rows = connection.execute(self._histories_sql, (ids,), prepare=True).fetchall()
        else:
            with self.recorder.datastore.transaction(commit=False) as cursor:
                rows = []
                for start in range(0, len(ids), _SQLITE_CHUNK):
                    chunk = ids[start:start + _SQLITE_CHUNK]
                    cursor.execute(
                        "SELECT rowid AS position, originator_id, originator_version, topic, "
                        f"state FROM stored_events WHERE originator_id IN "
                        f"({','.join('?' * len(chunk))}) ORDER BY originator_id, "
                        "originator_version", [i.hex for i in chunk])
                    rows.extend(cursor.fetchall())
        for row in rows:
            event = self._decode(row)
            found[event.originator_id].append(Positioned(row["position"], event))
        return found

    def read(self, after: int, limit: int, topics: Sequence[str] = (),
             stop: int | None = None) -> list[Positioned]:
        """Up to `limit` events with positions greater than `after`, in position order."""
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, stop=stop, topics=topics, inclusive_of_start=False)
        return [Positioned(n.id, self.mapper.to_domain_event(n)) for n in notifications]

    def read_all(self, topics: Sequence[str] = (), page: int = 1000) -> Iterable[Positioned]:
        """Every event (optionally of some topics) in position order, page by page."""
        after = 0
        while True:
            batch = self.read(after, page, topics)
            if not batch:
                return
            yield from batch
            after = batch[-1].position

    def stored_rows(self, after: int, stop: int, topics: Sequence[str],
                    limit: int) -> list[tuple]:
        """Up to `limit` stored events of `topics` at positions in (after, stop], in
        position order, as plain tuples (position, originator_id, originator_version,
        topic, state). On PostgreSQL the library's `select_notifications` without its dict
        rows and Notification objects, in PostgreSQL's binary format (the 1M log's record
        events read in 1.3 CPU-seconds this way, against 6.5). `decode_row` decodes one."""
        if not self.is_postgres:
            return [(n.id, n.originator_id, n.originator_version, n.topic, n.state)
                    for n in self.recorder.select_notifications(
                        start=after, limit=limit, stop=stop, topics=topics,
                        inclusive_of_start=False)]
        return self._postgres_rows(after, stop, list(topics), limit)

    # the library's retries for its select_notifications: a dropped connection is retried
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _postgres_rows(self, after: int, stop: int, topics: list[str],
                       limit: int) -> list[tuple]:
        from psycopg.rows import tuple_row

        # binary results: the state's bytes as stored, not hex text the server encodes and
        # the client decodes (the 1M log's record events: 4.2 -> 2.6 s, 2.4 -> 1.3 CPU-s)
        with self.recorder.datastore.get_connection() as connection:
            with connection.cursor(row_factory=tuple_row, binary=True) as cursor:
                cursor.execute(self._rows_sql, (after, stop, topics, limit), prepare=True)
                return cursor.fetchall()

    def decode_row(self, row: tuple) -> Any:
        """The domain event of a row of `stored_rows` (the mapper reads it by name)."""
        return self.mapper.to_domain_event(StoredRow._make(row))

    def max_position(self) -> int:
        """The highest position stored (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    def close(self) -> None:
        """Release the store's connections."""
        self._app.close()

    def _decode(self, row: Any) -> Any:
        originator_id = row["originator_id"]
        if not isinstance(originator_id, UUID):
            originator_id = UUID(originator_id)
        return self.mapper.to_domain_event(StoredEvent(
            originator_id=originator_id,
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=bytes(row["state"]),
        ))
