"""`registry projections vacuum`: maintenance of the live read models, on both databases."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import text

from api.cli import main
from projections.tables import live_generation, read_model
from tests.helpers import auth, envelope, issued, post


def test_vacuum_keeps_the_numbers_and_reclaims_dead_rows(settings, services, client,
                                                         token_for, project):
    cb, admin = token_for("certification-body", "330000"), token_for("admin", "330000")
    for n in range(5):
        assert post(client, cb, issued(f"VAC-{n}")).status_code == 201
        project()  # page by page: the series rows are updated in place each time
    assert post(client, cb, envelope("certification.suspended", "VAC-0", "2024-02-01",
                                     {"reason": "r"}, kind="certification")).status_code == 201
    project()
    url = "/v1/tenants/330000/counts?as_of=2024-06-01"
    before = client.get(url, headers=auth(admin)).json["counts"]
    engine = services.writer_engine()
    generation = live_generation(engine)
    series = read_model(generation).series.name
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))

    result = CliRunner().invoke(main, ["projections", "vacuum"], env={
        "REGISTRY_DATABASE_URL": settings.database_url,
        "REGISTRY_DATABASE_SCHEMA": settings.database_schema}, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert f"generation {generation}" in result.output and series in result.output
    assert client.get(url, headers=auth(admin)).json["counts"] == before
    assert before["certification"]["valid"] == 4
    with engine.connect() as conn:
        if postgres:  # VACUUM ran on the series table and left no dead rows behind
            row = conn.execute(text(
                "SELECT vacuum_count + autovacuum_count, n_dead_tup FROM pg_stat_user_tables "
                "WHERE relid = to_regclass(:t)"), {"t": series}).one()
            assert row[0] >= 1 and row[1] == 0
        else:  # ANALYZE wrote the planner's statistics
            assert conn.execute(text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = :t"),
                                {"t": series}).scalar() >= 1
