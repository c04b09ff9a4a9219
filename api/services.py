"""The service objects one process uses, built lazily (after gunicorn forks its workers)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from api.settings import Settings
from events.store import EventLog
from registry.clock import Clock
from registry.service import Registry
from tenants.directory import Directory


@dataclass
class Services:
    """The event log, the tenant/principal directory and the record use cases."""

    settings: Settings
    log: EventLog
    directory: Directory
    registry: Registry

    @classmethod
    def open(cls, settings: Settings, *, create_tables: bool = False,
             clock: Clock | None = None) -> "Services":
        log = EventLog(settings.database_url, settings.database_schema,
                       create_tables=create_tables)
        directory = Directory(log)
        return cls(settings, log, directory, Registry(log, directory, clock))

    def close(self) -> None:
        self.log.close()


class LazyServices:
    """Opens the services on first use, once per process."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self._services: Services | None = None
        self._lock = threading.Lock()

    def get(self) -> Services:
        if self._services is None:
            with self._lock:
                if self._services is None:
                    self._services = Services.open(self.settings, clock=self.clock)
        return self._services

    def close(self) -> None:
        if self._services is not None:
            self._services.close()
            self._services = None
