"""Limits per client address that hold across gunicorn workers and app nodes (issue 14,
finding 6): failed authentications (bearer tokens, dashboard sign-ins) and requests to the
public endpoints, counted per address in fixed one-minute windows.

The counts live in the database every node shares (one row per address, purpose and minute,
incremented with an atomic upsert), not in a worker's memory: a limiter per worker would let
N workers grant N times the limit, and the registry's deployments have no other shared store
(PostgreSQL is the one store; Redis would be a new service to run for this alone). A worker
remembers an address it saw over a limit until its window ends, so a flood of refused
requests costs no database work. The client address is the TCP peer, or the address
X-Forwarded-For names when REGISTRY_TRUSTED_PROXIES says how many proxies stand in front
(werkzeug's ProxyFix, applied in api.create_app).

The check before authentication reads the count at most once a second per address and
worker (CLEAR_SECONDS): an address found under its limit is not read again meanwhile, and the
failure that takes an address over its limit is itself answered 429 (it was counted in the
database), so the limit holds across workers while a busy client's requests cost no
database read each (issue 16: it was a sixth of a single post).
"""

from __future__ import annotations

import math
import os
import threading
import time

from flask import current_app, request
from sqlalchemy import BigInteger, Column, Engine, Integer, MetaData, String, Table, delete, text
from sqlalchemy.exc import SQLAlchemyError

from api.context import services
from api.ratelimit import RateLimited

WINDOW = 60
CLEAR_SECONDS = 1.0
metadata = MetaData()
throttle = Table(
    "throttle_counts", metadata,
    Column("purpose", String(16), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("minute", BigInteger, primary_key=True),
    Column("hits", Integer, nullable=False),
)
LIMITS = {"auth": ("REGISTRY_AUTH_FAILURES_PER_MINUTE", 20),
          "public": ("REGISTRY_PUBLIC_REQUESTS_PER_MINUTE", 120)}


def create_throttle_table(engine: Engine) -> None:
    metadata.create_all(engine)


def limit(purpose: str) -> int:
    name, default = LIMITS[purpose]
    return int(os.environ.get(name) or default)


class AddressLimiter:
    """Counts per (purpose, client address, minute) in the shared database."""

    def __init__(self) -> None:
        self._over: dict[tuple[str, str], float] = {}   # remembered until the window ends
        self._clear: dict[tuple[str, str], float] = {}  # found under the limit, until
        self._lock = threading.Lock()
        self._ready: set[int] = set()

    def _engine(self) -> Engine:
        engine = services().writer_engine()
        if id(engine) not in self._ready:
            create_throttle_table(engine)  # databases initialised by an older version
            self._ready.add(id(engine))
        return engine

    def refuse_if_over(self, purpose: str, address: str) -> None:
        """429 when the address already used up its window (no database work when this
        worker knows it)."""
        allowed = limit(purpose)
        if allowed <= 0:
            return
        now = time.time()
        key = (purpose, address)
        with self._lock:
            until, clear = self._over.get(key), self._clear.get(key, 0.0)
        if until is not None and until > now:
            raise _throttled(purpose, allowed, until - now)
        if clear > now:
            return
        window = int(now // WINDOW)
        with self._engine().connect() as conn:
            hits = conn.execute(text(
                "SELECT hits FROM throttle_counts WHERE purpose = :p AND address = :a AND "
                "minute = :w"), {"p": purpose, "a": address, "w": window}).scalar() or 0
        if hits >= allowed:
            self._remember(purpose, address, window)
            raise _throttled(purpose, allowed, (window + 1) * WINDOW - now)
        with self._lock:
            if len(self._clear) > 10_000:
                self._clear.clear()
            self._clear[key] = min(now + CLEAR_SECONDS, (window + 1) * WINDOW)

    def count(self, purpose: str, address: str) -> int:
        """One more hit of the address in the current window; its total (429 when it goes
        beyond the limit: the hit is counted, the request refused)."""
        if limit(purpose) <= 0:
            return 0
        window = int(time.time() // WINDOW)
        with self._engine().begin() as conn:
            hits = conn.execute(text(
                "INSERT INTO throttle_counts (purpose, address, minute, hits) "
                "VALUES (:p, :a, :w, 1) ON CONFLICT (purpose, address, minute) "
                "DO UPDATE SET hits = throttle_counts.hits + 1 RETURNING hits"),
                {"p": purpose, "a": address, "w": window}).scalar()
            if hits == 1:  # a new window: forget the windows before the last one
                conn.execute(delete(throttle).where(throttle.c.minute < window - 1))
        if hits >= limit(purpose):
            self._remember(purpose, address, window)
        if hits > limit(purpose):
            raise _throttled(purpose, limit(purpose), (window + 1) * WINDOW - time.time())
        return hits

    def _remember(self, purpose: str, address: str, window: int) -> None:
        with self._lock:
            if len(self._over) > 10_000:
                self._over.clear()
            self._over[(purpose, address)] = (window + 1) * WINDOW


def _throttled(purpose: str, allowed: int, seconds: float) -> RateLimited:
    what = ("failed authentications" if purpose == "auth" else "requests to the public "
            "endpoints")
    return RateLimited(f"More than {allowed} {what} a minute from your address; retry later.",
                     retry_after=max(math.ceil(seconds), 1))


def client_address() -> str:
    return (request.remote_addr or "unknown")[:64]


def limiter() -> AddressLimiter:
    return current_app.extensions["registry_address_limiter"]


def before_authentication() -> None:
    """Refuse an address that failed to authenticate too often this minute."""
    try:
        limiter().refuse_if_over("auth", client_address())
    except SQLAlchemyError:
        pass  # the limit is a guard, never a reason to refuse a good request


def failed_authentication() -> None:
    """Count a failed authentication of the caller's address."""
    try:
        limiter().count("auth", client_address())
    except SQLAlchemyError:
        pass


def public_request() -> None:
    """Count a public request of the caller's address; 429 beyond the limit."""
    address = client_address()
    try:
        limiter().refuse_if_over("public", address)  # known over: no database work
        limiter().count("public", address)
    except SQLAlchemyError:
        pass
