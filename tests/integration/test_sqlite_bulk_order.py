"""A rebuild's bulk load on SQLite hands every keyed table its rows in key order: SQLite
keeps the keys while the tables are loaded (PostgreSQL's are dropped and built afterwards,
see test_parallel_rebuild), and rows in the fold's order, whose record ids and owners are
random, land all over each key's B-tree."""

from __future__ import annotations

import pytest

from projections.runner import rebuild
from projections.sqlwrite import SqliteWriter
from tests.consistency import read_model_snapshot as snapshot
from tests.helpers import holder, issued, post


@pytest.fixture
def settings(tmp_path):
    """SQLite only: the order is what SQLite's loaded keys need."""
    from tests.conftest import fresh_settings

    yield from fresh_settings("sqlite", tmp_path)


def test_a_bulk_load_inserts_each_tables_rows_in_key_order(client, token_for, services,
                                                          project, monkeypatch):
    cb = token_for("certification-body", "330000")
    for n in range(40):
        body = issued(f"KO-{n}", tenant="330523", holder_=holder(f"企业{n % 7}", n=8200 + n % 7))
        assert post(client, cb, body).status_code == 201
    project()
    engine = services.writer_engine()
    expected = snapshot(engine, 1)
    sent: dict[str, list[tuple]] = {}
    real_rows, real_intervals = SqliteWriter.insert_rows, SqliteWriter.insert_intervals

    def insert_rows(self, conn, table, columns, rows):
        sent.setdefault(table.rsplit("_g", 1)[0], []).append(list(rows))
        return real_rows(self, conn, table, columns, rows)

    def insert_intervals(self, conn, rows):
        sent.setdefault("rm_intervals", []).append(list(rows))
        return real_intervals(self, conn, rows)

    monkeypatch.setattr(SqliteWriter, "insert_rows", insert_rows)
    monkeypatch.setattr(SqliteWriter, "insert_intervals", insert_intervals)
    generation = rebuild(services.log, engine, services.lineage, services.families,
                         grace_seconds=0)
    assert snapshot(engine, generation) == expected
    keys = {"rm_records": 1, "rm_holders": 1, "rm_intervals": 2}
    for table, width in keys.items():
        batches = sent[table]
        assert batches and all(len(rows) > 1 for rows in batches), table
        for rows in batches:
            assert rows == sorted(rows, key=lambda row: row[:width]), table
