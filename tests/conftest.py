"""Fixtures: every storage-touching test runs on SQLite and on PostgreSQL.

PostgreSQL is at 127.0.0.1:5432 (database `test`, user postgres, trust auth) on every
development and CI machine. Without it the PostgreSQL cases are skipped visibly, except
when `CI` is set: then they fail, so CI can never pass without PostgreSQL.
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest

from api import create_app
from api.services import Services
from api.settings import Settings
from tenants import seed

PG_URL = os.environ.get("REGISTRY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


def _pg_conninfo() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


def postgres_available() -> bool:
    try:
        with psycopg.connect(_pg_conninfo(), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def require_postgres() -> None:
    if postgres_available():
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but PostgreSQL is unreachable at {PG_URL}")
    pytest.skip(f"PostgreSQL unreachable at {PG_URL} (set CI=1 to make this a failure)")


def pg_schema(name: str, *, drop: bool = False) -> None:
    with psycopg.connect(_pg_conninfo(), autocommit=True) as conn:
        if drop:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        else:
            conn.execute(f'CREATE SCHEMA "{name}"')


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    if request.param == "postgres":
        require_postgres()
    return request.param


def fresh_settings(backend: str, tmp_path):
    """Settings pointing at a fresh, empty database of the backend (a generator)."""
    if backend == "sqlite":
        yield Settings(database_url=f"sqlite:///{tmp_path / 'registry.db'}")
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    pg_schema(schema)
    try:
        yield Settings(database_url=PG_URL, database_schema=schema)
    finally:
        pg_schema(schema, drop=True)


@pytest.fixture
def settings(backend, tmp_path):
    yield from fresh_settings(backend, tmp_path)


@pytest.fixture
def pg_settings(tmp_path):
    """PostgreSQL only: for tests of concurrent writers, which SQLite serialises anyway."""
    require_postgres()
    yield from fresh_settings("postgres", tmp_path)


@pytest.fixture
def services(settings):
    """Storage created and the 102 seed tenants registered, as `registry init` does."""
    svc = Services.open(settings, create_tables=True)
    svc.directory.register_tenants(seed.tenants())
    yield svc
    svc.close()


@pytest.fixture
def app(settings, services):
    application = create_app(settings=settings)
    yield application
    application.extensions["registry"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token_for(services):
    """Create a principal and return its bearer token: token_for("admin", "330500")."""

    def make(role: str, tenant: str, kinds: tuple[str, ...] = (), name: str | None = None) -> str:
        _, token = services.directory.add_principal(name or f"{role}@{tenant}", role, tenant,
                                                    kinds)
        return token

    return make


@pytest.fixture
def project(services):
    """Run the projector until it has applied every stored event (in this process)."""

    def run() -> int:
        index = services.audit_index()
        index.ensure_tracking()
        while index.process_page(5000):
            pass
        return services.projector().catch_up()

    return run


@pytest.fixture
def plans_loaded(services):
    """The bundled seed plans imported, as `registry init` does."""
    from tenants.principals import OPERATOR

    services.plans.import_plans(seed.load("targets.json"), OPERATOR.actor())
    return services.plans
