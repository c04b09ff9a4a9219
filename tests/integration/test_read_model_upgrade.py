"""Read models built by an older version (another table shape) are never served: reads
answer 503 until the projector, on start, has rebuilt them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from projections.runner import rebuild_if_outdated
from projections.tables import live_generation, read_model
from tests.helpers import auth, issued, post

OLD_SERIES = ("CREATE TABLE {name} (tenant VARCHAR(6) NOT NULL, metric VARCHAR(80) NOT NULL, "
              "year INTEGER NOT NULL, total BIGINT NOT NULL, days {json} NOT NULL, "
              "PRIMARY KEY (tenant, metric, year))")


def as_left_by_the_previous_version(services, table: str = "series") -> int:
    """Give a live table an older shape: the series by year only, or the intervals of a
    holder one row per ancestor tenant, without `up_to`; returns the live generation."""
    engine = services.writer_engine()
    generation = live_generation(engine)
    model = read_model(generation)
    json_type = "JSONB" if engine.dialect.name == "postgresql" else "JSON"
    with engine.begin() as conn:
        if table == "series":
            conn.execute(text(f"DROP TABLE {model.series.name}"))
            conn.execute(text(OLD_SERIES.format(name=model.series.name, json=json_type)))
        else:
            conn.execute(text(f"ALTER TABLE {model.intervals.name} DROP COLUMN up_to"))
    return generation


# the series answer counts; the intervals, counts as known at a past moment
@pytest.mark.parametrize("table, query", [("series", ""),
                                          ("intervals", "&known_at=2099-01-01T00:00:00Z")])
def test_tables_of_an_older_shape_are_refused_then_rebuilt(client, services, token_for,
                                                           project, table, query):
    cb, admin = token_for("certification-body", "330000"), token_for("admin", "330000")
    assert post(client, cb, issued("UP-1")).status_code == 201
    project()
    engine = services.writer_engine()
    generation = as_left_by_the_previous_version(services, table)
    url = "/v1/tenants/330000/counts?as_of=2024-01-01" + query

    refused = client.get(url, headers=auth(admin))
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert refused.mimetype == "application/problem+json"
    assert "rebuilt" in refused.json["detail"]

    said = []
    assert rebuild_if_outdated(services.log, engine, services.lineage, services.families,
                               say=said.append)
    assert "older version" in said[0]
    assert live_generation(engine) == generation + 1
    counts = client.get(url, headers=auth(admin)).json["counts"]["certification"]
    assert (counts["valid"], counts["holders_valid"]) == (1, 1)
    assert not rebuild_if_outdated(services.log, engine, services.lineage, services.families,
                                   say=said.append)


def test_registry_init_rebuilds_read_models_of_the_older_shape(settings, client, services,
                                                               token_for, project, tmp_path,
                                                               monkeypatch):
    from click.testing import CliRunner

    from api.cli import main

    cb, admin = token_for("certification-body", "330000"), token_for("admin", "330000")
    assert post(client, cb, issued("UP-2")).status_code == 201
    project()
    engine = services.writer_engine()
    generation = as_left_by_the_previous_version(services)
    monkeypatch.chdir(tmp_path)  # init writes its key files into the working directory

    result = CliRunner().invoke(main, ["init"], env={
        "REGISTRY_DATABASE_URL": settings.database_url,
        "REGISTRY_DATABASE_SCHEMA": settings.database_schema}, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "older version" in result.output
    assert live_generation(engine) == generation + 1
    body = client.get("/v1/tenants/330000/counts?as_of=2024-01-01", headers=auth(admin)).json
    assert body["counts"]["certification"]["valid"] == 1

