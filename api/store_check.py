"""Commands other than `registry init` refuse a missing or uninitialised store in one line
(exit 2), before anything could create an empty one (issue 14, finding 7)."""

from __future__ import annotations

import os
import sqlite3

import psycopg
from sqlalchemy.engine import make_url

from api.settings import Settings

EXIT_NO_STORE = 2
# The event table of the eventsourcing application named "Registry" (events.store._Store).
SQLITE_TABLE = "stored_events"
POSTGRES_TABLE = "registry_events"


class StoreMissing(Exception):
    """There is no registry where the configuration points; the message says what to run."""


def require_store(settings: Settings) -> None:
    """Raise StoreMissing unless an initialised registry is where the settings point."""
    url = make_url(settings.database_url)
    hint = ("run `registry init` first (in this directory), or point REGISTRY_DATABASE_URL "
            "at an initialised registry")
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if not path or not os.path.exists(path):
            raise StoreMissing(f"no registry at {path or settings.database_url}: {hint}")
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
                found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                     "name = ?", (SQLITE_TABLE,)).fetchone()
        except sqlite3.Error as exc:
            raise StoreMissing(f"{path} is not a registry database ({exc}): {hint}") from None
        if found is None:
            raise StoreMissing(f"{path} holds no registry: {hint}")
        return
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    where = f"{url.host}:{url.port or 5432}/{url.database}"
    try:
        with psycopg.connect(conninfo, connect_timeout=5, autocommit=True) as conn:
            found = conn.execute("SELECT to_regclass(%s)", (
                f'"{settings.database_schema}".{POSTGRES_TABLE}',)).fetchone()[0]
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreMissing(f"cannot reach PostgreSQL at {where}: {first}") from None
    if found is None:
        raise StoreMissing(f"schema {settings.database_schema} of {where} holds no registry: "
                           f"{hint}")
