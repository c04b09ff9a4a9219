"""Domain fixtures on the event store kept in memory (the library's POPO recorder): no
database, so these tests run in milliseconds."""

from __future__ import annotations

import pytest

from events.store import EventLog
from registry.service import Registry
from tenants import seed
from tenants.directory import Directory
from tenants.scope import Scope


@pytest.fixture
def memory():
    """(log, directory, registry) on an in-memory log with the 102 seed tenants."""
    log = EventLog.memory()
    directory = Directory(log)
    directory.register_tenants(seed.tenants())
    yield log, directory, Registry(log, directory)
    log.close()


@pytest.fixture
def scope_of(memory):
    """scope_of(role, tenant, kinds=()) -> a Scope of a new principal."""
    _, directory, _ = memory

    def make(role: str, tenant: str, kinds: tuple[str, ...] = ()) -> Scope:
        principal, _ = directory.add_principal(f"{role}@{tenant}", role, tenant, kinds)
        return Scope(principal, directory.tree())

    return make
