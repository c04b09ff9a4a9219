"""SQLAlchemy engines for the read models, on the same database as the events."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


def make_engine(database_url: str, schema: str = "public", *, writer: bool = False,
                pool_size: int = 3) -> Engine:
    """An engine for the read models. On SQLite a writer engine begins IMMEDIATE
    transactions (a read that later writes cannot then fail on a lock upgrade)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "isolation_level": None,
                                                  "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

        return engine
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
        return create_engine(
            url, pool_size=pool_size, max_overflow=5, pool_pre_ping=True,
            # The registry's own schema and nothing else: a table missing there must never
            # resolve to another registry's in `public` (the pg_trgm operator classes of the
            # search indexes are named with their schema instead, see projections.tables).
            connect_args={"options": f"-csearch_path={quoted_schema(schema)}",
                          "prepare_threshold": None,
                          "connect_timeout": 5})
    raise ValueError(f"Unsupported database for read models: {url.get_backend_name()}")


def ensure_schema(database_url: str, schema: str) -> None:
    """PostgreSQL: create the registry's schema when absent (`registry init`)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return
    engine = create_engine(url.set(drivername="postgresql+psycopg"), poolclass=NullPool,
                           connect_args={"connect_timeout": 5})
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quoted_schema(schema)}")
    finally:
        engine.dispose()


def quoted_schema(schema: str) -> str:
    """A schema name as a quoted SQL identifier (names are checked by Settings)."""
    return '"' + schema.replace('"', '""') + '"'


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
              types: Sequence[str] | None = None) -> None:
    """COPY rows into a PostgreSQL table within the connection's transaction (the table is
    found on the connection's search path: the registry's schema). In the binary format
    when `types` are given: nothing for PostgreSQL to parse (a rebuild's millions of
    interval rows cost the server and Python half as much as text)."""
    binary = " (FORMAT BINARY)" if types else ""
    with conn.connection.dbapi_connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN{binary}") as copy:
            if types:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)
