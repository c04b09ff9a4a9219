"""Two registries in two schemas of one PostgreSQL database — one of them in `public` — see
nothing of each other on any read path (issue 14, finding 8).

The registry used to connect its read models with `search_path={schema},public` and to name
its tables unqualified, so a table not (yet) in its own schema resolved to public's: a
registry in `s1` served the audit feed of the registry in `public`.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy.engine import make_url

from api import create_app
from api.services import Services
from api.settings import Settings
from tenants import seed
from tenants.principals import OPERATOR
from tests.conftest import PG_URL, require_postgres
from tests.helpers import auth, holder, issued, post

pytestmark = pytest.mark.postgres


@pytest.fixture
def database():
    """A database of its own, so that its `public` schema can hold a registry."""
    require_postgres()
    name = f"iso_{uuid.uuid4().hex[:10]}"
    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _registry(url: str, schema: str, record: str, holder_name: str):
    """An initialised registry with one certificate and its projections, and its client
    (initialising creates the schema when it is absent)."""
    settings = Settings(database_url=url, database_schema=schema, rate_limit=0)
    svc = Services.open(settings, create_tables=True)
    svc.directory.register_tenants(seed.tenants())
    svc.plans.import_plans(seed.load("targets.json"), OPERATOR.actor())
    _, writer = svc.directory.add_principal(f"writer {schema}", "certification-body", "330000",
                                            ("certification",))
    _, admin = svc.directory.add_principal(f"审计员 {schema}", "admin", "330000", ())
    app = create_app(settings=settings)
    client = app.test_client()
    body = issued(record, tenant="330523", holder_=holder(holder_name, n=abs(hash(schema)) % 10**6))
    assert post(client, writer, body).status_code == 201
    for processor in svc.processors():
        if hasattr(processor, "ensure_tracking"):
            processor.ensure_tracking()
    index = svc.audit_index()
    while index.process_page(5000):
        pass
    svc.projector().catch_up()
    return svc, app, client, admin


READS = [
    "/v1/records/certification/{record}",
    "/v1/records/certification/{record}/events",
    "/v1/records?kind=certification",
    "/v1/records.csv?kind=certification",
    "/v1/tenants/330000/counts",
    "/v1/tenants/330000/events",
    "/v1/tenants/330000/events.jsonl",
    "/v1/tenants/330000/progress?plan=zhejiang-14th-fyp",
    "/v1/tenants/330000/progress.csv?plan=zhejiang-14th-fyp",
    "/v1/plans/zhejiang-14th-fyp",
    "/v1/public/records/certification/{record}",
    "/v1/ready",
]


def test_two_registries_in_two_schemas_of_one_database_see_nothing_of_each_other(database):
    public = _registry(database, "public", "PUB-1", "公共模式企业")
    other = _registry(database, "s1", "S1-1", "第二模式企业")
    try:
        for (svc, app, client, token), mine, theirs in (
                (public, ("PUB-1", "公共模式企业"), ("S1-1", "第二模式企业")),
                (other, ("S1-1", "第二模式企业"), ("PUB-1", "公共模式企业"))):
            for path in READS:
                response = client.get(path.format(record=mine[0]), headers=auth(token))
                assert response.status_code == 200, (path, response.get_data(as_text=True))
                text = response.get_data(as_text=True)
                for foreign in theirs:
                    assert foreign not in text, (svc.settings.database_schema, path)
            counts = client.get("/v1/tenants/330000/counts", headers=auth(token)).json
            assert counts["counts"]["certification"]["valid"] == 1
            feed = client.get("/v1/tenants/330000/events", headers=auth(token)).json
            assert [e["record"] for e in feed["events"] if e.get("record")] == [mine[0]]
            for path in ("/v1/records/certification/{record}",
                         "/v1/public/records/certification/{record}"):
                assert client.get(path.format(record=theirs[0]),
                                  headers=auth(token)).status_code == 404
    finally:
        for svc, app, _, _ in (public, other):
            app.extensions["registry"].close()
            svc.close()


def test_a_registry_whose_schema_lacks_a_table_never_reads_publics(database):
    """A table missing in s1 (an older version, or before `registry init`) is an error of
    s1's own, never another registry's rows served as s1's."""
    public = _registry(database, "public", "PUB-2", "公共模式企业")
    other = _registry(database, "s1", "S1-2", "第二模式企业")
    svc, app, client, token = other
    try:
        with psycopg.connect(database, autocommit=True) as conn:
            for table in ("audit_events", "processor_status", "ledger_entries"):
                conn.execute(f's1."{table}"'.join(("DROP TABLE ", " CASCADE")))
        response = client.get("/v1/tenants/330000/events", headers=auth(token))
        assert "公共模式企业" not in response.get_data(as_text=True)
        assert "PUB-2" not in response.get_data(as_text=True)
        assert response.status_code >= 500 or response.json["events"] == []
        ready = client.get("/v1/ready").get_data(as_text=True)
        assert "PUB-2" not in ready
    finally:
        for svc_, app_, _, _ in (public, other):
            app_.extensions["registry"].close()
            svc_.close()
