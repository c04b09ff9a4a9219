"""A rebuild folded by several processes (projections.parallel, PostgreSQL) writes the same
rows as the serial rebuild and as the projector page by page: for random histories in which
records share holders, change holders and move between tenants; when the split misses a
holder it says so and folds serially; and `registry projections rebuild --workers N`."""

from __future__ import annotations

import gc
import itertools
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from eventsourcing.persistence import OperationalError
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from events.store import StoredRow
from projections import parallel, runner, sqlwrite
from projections.fold import Fold
from projections.projector import TOPIC_LIST, Projector
from projections.runner import rebuild, rebuild_workers
from projections.tables import live_generation, read_model, secondary_indexes
from projections.tracking import next_rows, next_window
from tests.consistency import read_model_snapshot as snapshot
from tests.helpers import holder
from tests.integration import test_counts_property as histories

EXAMPLES = itertools.count()
# More enterprises than the counts property uses, so that the records fall into several
# groups (records sharing a holder stay in one).
HOLDERS = [holder(f"企业{i}", "330523", 930 + i) for i in range(12)]


@pytest.fixture
def settings(pg_settings):
    """PostgreSQL only: SQLite rebuilds fold in one process."""
    return pg_settings


@pytest.fixture
def tokens(token_for):
    return {"cb": token_for("certification-body", "330000"), "admin": token_for("admin", "330000")}


def fresh(services, workers: int) -> dict:
    engine = services.writer_engine()
    return snapshot(engine, rebuild(services.log, engine, services.lineage, services.families,
                                    grace_seconds=0, workers=workers))


@examples(max_examples=6, deadline=None, derandomize=True, phases=histories.NO_SHRINK,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(plans=st.lists(histories.record_plan, min_size=2, max_size=8))
def test_a_parallel_rebuild_equals_the_serial_one_and_the_projector(
        client, tokens, services, monkeypatch, caplog, plans):
    monkeypatch.setattr(histories, "HOLDERS", HOLDERS)
    histories.play(client, tokens, services, plans, prefix=f"R{next(EXAMPLES)}")
    services.projector().catch_up()
    engine = services.writer_engine()
    live = snapshot(engine, live_generation(engine))
    assert fresh(services, 1) == live
    with caplog.at_level(logging.WARNING, logger="registry.projector"):
        assert fresh(services, 3) == live
    # folded in parallel, not by the serial fallback (which gives the same tables)
    assert "folding serially" not in caplog.text


def test_a_holder_counted_apart_in_a_city_no_event_names_is_folded_in_parallel(
        client, tokens, services, monkeypatch, caplog):
    """One holder in two counties of one city, at different dates: the city counts it its
    own way, so a row of the holder starts at the city, which no event names. Its lineage
    is prepared for the processes like those of the tenants the events name."""
    plans = [("certification", "330523", [(0, 10, 1)]),
             ("certification", "330522", [(0, 40, 13)]),
             ("certification", "330106", [(0, 20, 2)])]
    monkeypatch.setattr(histories, "HOLDERS", HOLDERS)
    histories.play(client, tokens, services, plans, prefix="C")
    expected = fresh(services, 1)
    # (owner, seq, tenant, …, up_to): from the city up to the province, the union
    assert ("330500", "330000") in {(row[2], row[8]) for row in expected["rm_intervals"]}
    with caplog.at_level(logging.WARNING, logger="registry.projector"):
        assert fresh(services, 2) == expected
    assert "folding serially" not in caplog.text


def test_a_split_that_misses_a_holder_is_caught_and_the_rebuild_folds_serially(
        client, tokens, services, monkeypatch, caplog):
    plans = [("certification", "330523", [(0, 10, 1), (5, 30, 7)]),
             ("certification", "330106", [(0, 20, 1)]),
             ("award", "330326", [(0, 40, 3)]), ("gi", "330106", [(1, 50, 5)])]
    monkeypatch.setattr(histories, "HOLDERS", HOLDERS)
    histories.play(client, tokens, services, plans, prefix="M")
    expected = fresh(services, 1)
    real_assign = parallel.Split.assign

    def wrong_assign(self, workers):  # records alternate between parts; holders: none
        _, _, tenants = real_assign(self, workers)
        order = {}
        for record in self.ids:
            order.setdefault(record, len(order) % workers)
        return bytearray(order[record] for record in self.ids), {}, tenants

    monkeypatch.setattr(parallel.Split, "assign", wrong_assign)
    with caplog.at_level(logging.WARNING, logger="registry.projector"):
        assert fresh(services, 2) == expected
    assert "folding serially" in caplog.text and "folded holders of other parts" in caplog.text


def test_the_default_is_one_process_per_core_on_a_large_postgresql_log_only(services):
    engine = services.writer_engine()
    assert rebuild_workers(engine, 10) == 1
    assert rebuild_workers(engine, 10**6) == min(os.cpu_count() or 1, 8)


def test_the_rebuild_command_takes_a_number_of_processes(settings, client, tokens, services):
    plans = [("certification", "330523", [(0, 10, 1), (3, 30, 4)]),
             ("standard", "330106", [(0, 20, 2)])]
    histories.play(client, tokens, services, plans, prefix="C")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(REGISTRY_DATABASE_URL=settings.database_url,
               REGISTRY_DATABASE_SCHEMA=settings.database_schema)
    engine = services.writer_engine()
    before = live_generation(engine)
    done = subprocess.run([str(Path(sys.executable).parent / "registry"), "projections",
                           "rebuild", "--workers", "2"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 processes" in done.stderr
    after = live_generation(engine)
    assert after == before + 1
    assert snapshot(engine, after) == fresh(services, 1)


def test_events_stored_after_a_parallel_load_are_caught_up_from_the_tables(
        client, tokens, services):
    """The parallel load keeps no memory in the parent: the catch-up that follows it (events
    stored during a rebuild) reads the records and holders it touches back from the tables."""
    first = [("certification", "330523", [(0, 10, 1), (5, 30, 7)]),
             ("award", "330106", [(0, 20, 1)]), ("gi", "330326", [(1, 50, 5)])]
    later = [("certification", "330106", [(0, 60, 1), (4, 30, 7)]),
             ("standard", "330523", [(0, 70, 1)])]
    histories.play(client, tokens, services, first, prefix="L")
    engine = services.writer_engine()
    generation = live_generation(engine) + 7
    model = read_model(generation)
    model.metadata.create_all(engine)
    projector = Projector(services.log, engine, services.lineage, services.families,
                          generation=generation)
    projector.ensure_tracking()
    assert projector.bulk_load(workers=2) == services.log.max_position()
    histories.play(client, tokens, services, later, prefix="L2")
    projector.catch_up()
    assert snapshot(engine, generation) == fresh(services, 1)


def test_the_bulk_load_fills_tables_without_primary_keys_and_the_rebuild_adds_them_back(
        client, tokens, services, monkeypatch):
    """Inserting 4.2M interval rows under their primary key took PostgreSQL 28.6 s, on the
    same two cores as the fold; without it 3.9 s, and the key built afterwards 8.3 s
    (measured): a rebuild loads the tables without their keys and adds them after, so the
    keys still hold (a duplicate is refused) once readers see the generation."""
    plans = [("certification", "330523", [(0, 10, 1), (3, 30, 4)]),
             ("award", "330326", [(0, 40, 3)])]
    histories.play(client, tokens, services, plans, prefix="K")
    engine = services.writer_engine()
    new = live_generation(engine) + 1
    keyed = {}

    def primary_keys(generation: int) -> dict[str, list[str]]:
        inspector = inspect(engine)
        return {table.name: inspector.get_pk_constraint(table.name)["constrained_columns"]
                for table in read_model(generation).tables()}

    real_bulk_load = Projector.bulk_load

    def bulk_load(self, *args, **kwargs):
        keyed.update(primary_keys(self.model.generation))
        return real_bulk_load(self, *args, **kwargs)

    monkeypatch.setattr(Projector, "bulk_load", bulk_load)
    assert rebuild(services.log, engine, services.lineage, services.families,
                   grace_seconds=0, workers=2) == new
    model = read_model(new)
    assert {name: columns for name, columns in keyed.items() if columns} == {
        model.tracking.name: ["name"]}
    assert primary_keys(new) == {table.name: [c.name for c in table.primary_key.columns]
                                 for table in model.tables()}
    with engine.connect() as conn:
        row = conn.execute(model.intervals.select().limit(1)).mappings().one()
        with pytest.raises(IntegrityError):
            conn.execute(model.intervals.insert().values(**row))


@pytest.mark.parametrize("workers", [1, 2])
def test_the_series_are_summed_with_the_cycle_collector_paused(
        client, tokens, services, monkeypatch, workers):
    """Summing the series after the fold allocates millions of keys; with the collector back
    on, they set off full passes over everything the fold holds: a fifth of each process's
    time in a 1M rebuild (py-spy). The sums run while it is still paused, in every process
    (a spy that raises in a forked process fails the rebuild)."""
    plans = [("certification", "330523", [(0, 10, 1), (3, 30, 4)])]
    histories.play(client, tokens, services, plans, prefix=f"G{workers}")
    expected = fresh(services, 1)
    real_months, real_merge, real_rows = (
        Fold.open_row_months, sqlwrite.merge_months, sqlwrite.month_rows)

    def open_row_months(fold, memory):
        assert not gc.isenabled(), "series deltas summed with the collector on"
        return real_months(fold, memory)

    def merge_months(into, more):
        assert not gc.isenabled(), "series months merged with the collector on"
        return real_merge(into, more)

    def month_rows(months):
        assert not gc.isenabled(), "series rows built with the collector on"
        return real_rows(months)

    monkeypatch.setattr(Fold, "open_row_months", open_row_months)
    monkeypatch.setattr(sqlwrite, "merge_months", merge_months)
    monkeypatch.setattr(sqlwrite, "month_rows", month_rows)
    assert fresh(services, workers) == expected
    assert gc.isenabled()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_folded_tables_get_their_keys_and_indexes_while_the_series_are_written(
        client, tokens, services, monkeypatch, workers):
    """The key and index builds (11.7-14.1 s of a 1M rebuild) used to wait for the series
    (5.2-6.1 s, the parent's Python): the tables the fold wrote now start as soon as it has
    committed them. A series write that waits for a build to start fails otherwise."""
    plans = [("certification", "330523", [(0, 10, 1), (3, 30, 4)]),
             ("award", "330326", [(0, 40, 3)])]
    histories.play(client, tokens, services, plans, prefix=f"O{workers}")
    expected = fresh(services, 1)
    engine = services.writer_engine()
    model = read_model(live_generation(engine) + 1)
    building = threading.Event()
    built: list[str] = []
    real_key, real_index, real_rows = runner._add_primary_key, runner._create_index, \
        sqlwrite.month_rows

    def add_primary_key(engine, table, name):
        built.append(table.name)
        if table.name != model.series.name:
            building.set()
        return real_key(engine, table, name)

    def create_index(engine, index):
        built.append(index.name)
        return real_index(engine, index)

    def month_rows(months):
        if months:  # the parent's series, not a forked process's empty ones
            assert building.wait(20), "the series were written before any index build began"
        return real_rows(months)

    monkeypatch.setattr(runner, "_add_primary_key", add_primary_key)
    monkeypatch.setattr(runner, "_create_index", create_index)
    monkeypatch.setattr(sqlwrite, "month_rows", month_rows)
    assert fresh(services, workers) == expected
    # every key and index was built, each table's key before its other indexes
    assert sorted(built) == sorted([t.name for t in model.tables() if t is not model.tracking]
                                   + [index.name for index in secondary_indexes(model)])
    for table in model.tables():
        if table is not model.tracking:
            assert all(built.index(i.name) > built.index(table.name) for i in table.indexes)


def test_a_rebuild_folded_by_one_process_builds_its_tables_keys_on_every_core(
        client, tokens, services, monkeypatch):
    """Folded by one process (`--workers 1`, or a log under 100,000 positions), a 1M rebuild
    built its keys and indexes in one connection, 11 s on a two-core machine: the fold is
    over by then, so they are built in a connection per core. Two keys must be built at
    once here, or the barrier breaks and the rebuild fails."""
    histories.play(client, tokens, services, [("certification", "330523", [(0, 10, 1)])],
                   prefix="E")
    expected = fresh(services, 1)
    engine = services.writer_engine()
    model = read_model(live_generation(engine) + 1)
    both = threading.Barrier(2, timeout=20)
    real_key = runner._add_primary_key

    def add_primary_key(engine, table, name):
        if table.name in (model.records.name, model.intervals.name):
            both.wait()
        return real_key(engine, table, name)

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(runner, "_add_primary_key", add_primary_key)
    assert fresh(services, 1) == expected


def test_the_processes_group_their_series_by_month_and_the_parent_only_merges_them(
        client, tokens, services, monkeypatch, tmp_path):
    """Grouping 2.7M series changes by month took the parent 2.9 s of a 1M rebuild, while
    the processes were done: each process now groups its own, and the parent merges."""
    plans = [("certification", "330523", [(0, 10, 1), (3, 30, 4)]),
             ("award", "330326", [(0, 40, 3)]), ("gi", "330106", [(1, 50, 5)])]
    histories.play(client, tokens, services, plans, prefix="P")
    expected = fresh(services, 1)
    calls = tmp_path / "grouped"
    real_months = Fold.open_row_months

    def open_row_months(fold, memory):
        months = real_months(fold, memory)
        with calls.open("a") as out:  # from whichever process groups them
            out.write(f"{os.getpid()} {len(months)}\n")
        return months

    monkeypatch.setattr(Fold, "open_row_months", open_row_months)
    assert fresh(services, 2) == expected
    grouped = [line.split() for line in calls.read_text().splitlines()]
    assert len(grouped) == 2 and str(os.getpid()) not in {pid for pid, _ in grouped}
    assert all(int(count) > 0 for _, count in grouped)


def test_the_parallel_load_reads_the_rows_the_library_reads(client, tokens, services):
    """The parent reads the log as plain rows (`EventLog.stored_rows`, half the CPU of the
    library's dict rows and Notification objects): window by window, the same stored
    events, decoded to the same events, receipts and other topics left out alike."""
    plans = [("certification", "330523", [(0, 10, 1), (3, 30, 4)]),
             ("award", "330326", [(0, 40, 3)]), ("gi", "330106", [(1, 50, 5)])]
    histories.play(client, tokens, services, plans, prefix="W")
    log, position, windows = services.log, 0, 0
    decode = log.mapper.to_domain_event
    while (window := next_window(log, position, 3, TOPIC_LIST)) is not None:
        end, rows = next_rows(log, position, 3, TOPIC_LIST)
        assert end == window[0]
        assert [StoredRow._make(row) for row in rows] == [
            StoredRow(n.id, n.originator_id, n.originator_version, n.topic, n.state)
            for n in window[1]]
        assert [vars(decode(StoredRow._make(row))) for row in rows] == [
            vars(decode(n)) for n in window[1]]
        position, windows = end, windows + 1
    assert windows > 3 and position == log.max_position()


def test_plain_rows_retry_a_dropped_connection_as_the_library_does(
        client, tokens, services, monkeypatch):
    """The library retries its reads of notifications when a connection fails
    (InterfaceError, OperationalError: up to 10 attempts); the plain rows that replaced
    them for the projector and the rebuild do the same."""
    histories.play(client, tokens, services, [("certification", "330523", [(0, 10, 1)])],
                   prefix="D")
    log = services.log
    head = log.max_position()
    expected = log.stored_rows(0, head, TOPIC_LIST, 100)
    datastore = log.recorder.datastore
    real = datastore.get_connection
    failures = [OperationalError("server closed the connection unexpectedly")]

    def get_connection():
        if failures:
            raise failures.pop()
        return real()

    monkeypatch.setattr(datastore, "get_connection", get_connection)
    assert log.stored_rows(0, head, TOPIC_LIST, 100) == expected and not failures
    assert expected


def test_codes_compare_byte_by_byte_on_postgresql(client, tokens, services):
    """Record ids, tenant codes, USCCs, metric and owner names are ASCII codes: compared in
    the database's collation (strcoll), the key of 500,000 record ids took 1.40 s to build,
    in "C" 0.25 s. Names and labels keep the database's collation."""
    histories.play(client, tokens, services, [("certification", "330523", [(0, 10, 1)])],
                   prefix="B")
    engine = services.writer_engine()
    generation = rebuild(services.log, engine, services.lineage, services.families,
                         grace_seconds=0, workers=2)
    model = read_model(generation)
    with engine.connect() as conn:
        found = dict(conn.exec_driver_sql(
            "SELECT table_name || '.' || column_name, coalesce(collation_name, '') "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name LIKE %s AND data_type = 'character varying'",
            (f"rm_%_g{generation}",)).all())
    codes = {f"{model.records.name}.{c}" for c in
             ("record_id", "kind", "tenant", "status", "holder_uscc")}
    codes |= {f"{model.holders.name}.owner"}
    codes |= {f"{model.intervals.name}.{c}" for c in ("owner", "tenant", "metric", "up_to")}
    codes |= {f"{model.series.name}.{c}" for c in ("tenant", "metric")}
    assert {name for name, collation in found.items() if collation == "C"} == codes
    assert found[f"{model.records.name}.label"] == ""


def test_plain_rows_come_from_postgresql_in_binary(client, tokens, services, monkeypatch):
    """The stored events are read in PostgreSQL's binary format: the state's bytes as they
    are, not hex text that the server encodes and the client decodes (the 1M log's record
    events in 2.6 s and 1.3 CPU-seconds, against 4.2 s and 2.4)."""
    from contextlib import contextmanager

    from psycopg import pq

    histories.play(client, tokens, services, [("certification", "330523", [(0, 10, 1)])],
                   prefix="B")
    log = services.log
    head, datastore = log.max_position(), log.recorder.datastore
    real, formats = datastore.get_connection, []

    @contextmanager
    def get_connection():
        with real() as connection:
            cursor = connection.cursor

            def spied(*args, **kwargs):
                made = cursor(*args, **kwargs)
                formats.append(made)
                return made

            connection.cursor = spied
            try:
                yield connection
            finally:
                del connection.cursor

    monkeypatch.setattr(datastore, "get_connection", get_connection)
    rows = log.stored_rows(0, head, TOPIC_LIST, 100)
    assert rows and all(type(row[4]) is bytes for row in rows)
    assert [made.format for made in formats] == [pq.Format.BINARY]


def test_a_bulk_load_sends_records_and_holders_in_the_binary_copy_format(
        client, tokens, services, monkeypatch, tmp_path):
    """Like the intervals, the records and holders of a rebuild go by binary COPY: dates,
    timestamps and numbers as they are, nothing formatted as text in Python nor parsed by
    the server; the JSON columns as their text. (In the forked processes: the calls are
    written to a file.)"""
    plans = [("certification", "330523", [(0, 10, 1), (3, 30, 4)]),
             ("award", "330326", [(0, 40, 3)])]
    histories.play(client, tokens, services, plans, prefix="Y")
    services.projector().catch_up()
    engine = services.writer_engine()
    live = snapshot(engine, live_generation(engine))
    calls = tmp_path / "copies"
    real = sqlwrite.copy_rows

    def copy_rows(conn, table, columns, rows, types=None):
        rows = list(rows)
        with calls.open("a") as out:
            out.write(f"{table.rsplit('_g', 1)[0]} {bool(types)} {len(rows)}\n")
        return real(conn, table, columns, rows, types)

    monkeypatch.setattr(sqlwrite, "copy_rows", copy_rows)
    for workers in (1, 2):
        calls.unlink(missing_ok=True)
        assert fresh(services, workers) == live
        sent = [line.split() for line in calls.read_text().splitlines()]
        by_table = {(table, binary) for table, binary, count in sent if int(count)}
        assert {("rm_records", "True"), ("rm_holders", "True"),
                ("rm_intervals", "True")} <= by_table, sent
        assert not {table for table, binary in by_table if binary == "False"} & {
            "rm_records", "rm_holders", "rm_intervals"}, sent


def test_the_folds_interval_rows_go_to_copy_as_the_fold_made_them(
        client, tokens, services, monkeypatch, tmp_path):
    """The fold makes each interval row with its dates as date objects, so the writer
    sends it to the binary COPY as it is, without a second tuple per row (4.2M of them in
    a 1M rebuild)."""
    import datetime as dt

    plans = [("certification", "330523", [(0, 10, 1), (3, 30, 4)])]
    histories.play(client, tokens, services, plans, prefix="Z")
    calls = tmp_path / "rows"
    real = sqlwrite.copy_rows

    def copy_rows(conn, table, columns, rows, types=None):
        rows = list(rows)
        if table.startswith("rm_intervals"):
            with calls.open("a") as out:
                out.write("".join(f"{type(row).__name__} {type(row[4]).__name__}\n"
                                  for row in rows))
        return real(conn, table, columns, rows, types)

    monkeypatch.setattr(sqlwrite, "copy_rows", copy_rows)
    for workers in (1, 2):
        calls.unlink(missing_ok=True)
        fresh(services, workers)
        sent = calls.read_text().splitlines()
        assert sent and set(sent) == {f"list {dt.date.__name__}"}, set(sent)
