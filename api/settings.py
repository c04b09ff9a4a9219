"""Configuration, read from the environment in factories (never at import time)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

DEFAULT_DATABASE_URL = "sqlite:///registry.db"
SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


@dataclass(frozen=True)
class Settings:
    """Every knob of the service; `REGISTRY_*` environment variables override the defaults."""

    database_url: str = DEFAULT_DATABASE_URL
    database_schema: str = "public"
    # A PostgreSQL hot standby of database_url: read-model queries (counts, search,
    # progress, the audit feed) go there; writes, the event log and the projector use the
    # primary, and min_position waits for the standby to replay the projection's position.
    read_database_url: str | None = None
    max_body_bytes: int = 2 * 1024 * 1024
    read_wait_seconds: float = 5.0
    rate_limit: float = 200.0      # requests per second per principal and worker (0: off)
    rate_burst: int = 400
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not SCHEMA_NAME.fullmatch(self.database_schema or ""):
            raise ValueError(f"REGISTRY_DATABASE_SCHEMA {self.database_schema!r} is not a plain "
                             "schema name (letters, digits and _, at most 63, not starting "
                             "with a digit)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        settings = cls()
        if env.get("REGISTRY_DATABASE_URL"):
            settings = replace(settings, database_url=env["REGISTRY_DATABASE_URL"])
        if env.get("REGISTRY_READ_DATABASE_URL"):
            settings = replace(settings, read_database_url=env["REGISTRY_READ_DATABASE_URL"])
        if env.get("REGISTRY_DATABASE_SCHEMA"):
            settings = replace(settings, database_schema=env["REGISTRY_DATABASE_SCHEMA"])
        if env.get("REGISTRY_RATE_LIMIT"):
            settings = replace(settings, rate_limit=float(env["REGISTRY_RATE_LIMIT"]))
        if env.get("REGISTRY_RATE_BURST"):
            settings = replace(settings, rate_burst=int(env["REGISTRY_RATE_BURST"]))
        if env.get("REGISTRY_MAX_BODY_BYTES"):
            settings = replace(settings, max_body_bytes=int(env["REGISTRY_MAX_BODY_BYTES"]))
        return settings

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> "Settings":
        return replace(self, **dict(overrides or {}))

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql", "postgres"))
