"""The projector across pages: state carried from one page to the next."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import pytest

from events import EVENT_TYPES
from events.envelope import parse_envelope
from projections import sqlwrite
from projections.projector import Projector
from projections.runner import rebuild
from projections.tables import live_generation, read_model
from projections.tracking import READ_WINDOW
from tests.helpers import auth, envelope, holder, issued, post
from tests.consistency import read_model_snapshot as snapshot


def test_a_holder_that_lost_its_records_can_hold_again_in_a_later_page(client, token_for,
                                                                       project):
    cb, admin = token_for("certification-body", "330000"), token_for("admin", "330000")
    first, second = holder("甲", n=7101), holder("乙", n=7102)
    assert post(client, cb, issued("HA", holder_=first)).status_code == 201
    project()
    assert post(client, admin, envelope("record.amended", "HA", "2023-06-01",
                                        {"changes": {"holder": second}, "reason": "r"},
                                        kind="certification")).status_code == 201
    project()
    assert post(client, cb, issued("HB", holder_=first, occurred_on="2023-07-01")
                ).status_code == 201
    project()
    body = client.get("/v1/tenants/330000/counts?as_of=2024-01-01", headers=auth(admin)).json
    assert body["counts"]["certification"]["holders_valid"] == 2


def test_small_pages_a_cold_memory_and_a_bulk_rebuild_project_the_same(services):
    """Page by page (the memory kept), page by page reading every row back (no memory),
    and the bulk load of a rebuild: one result, interval for interval."""
    scope = services.directory.operator_scope()
    today = dt.date.today()
    tenants = ["330523", "330522", "330106"]
    for n in range(45):
        key = f"PG-{n}"
        bodies = [issued(key, tenant=tenants[n % 3], holder_=holder(n=8000 + n % 7),
                         occurred_on="2021-01-01", valid_until=f"20{23 + n % 4}-06-30")]
        if n % 4 == 0:
            bodies.append(envelope("certification.international_issued", key, "2021-03-01",
                                   {"certificate_no": f"I{n}", "partner": "IQNet",
                                    "country": "DE"}))
        if n % 5 == 0:
            bodies.append(envelope("record.amended", key, "2021-06-01",
                                   {"changes": {"holder": holder(n=8000 + (n + 1) % 7)},
                                    "reason": "r"}, kind="certification"))
        if n % 6 == 0:
            bodies.append(envelope("record.transferred", key, "2022-02-01",
                                   {"to_tenant": tenants[(n + 1) % 3]}, kind="certification"))
        for body in bodies:
            services.registry.record(scope, parse_envelope(body, EVENT_TYPES, today))
    engine = services.writer_engine()
    services.projector().catch_up(limit=7)
    live = live_generation(engine)
    cold = live + 5
    read_model(cold).metadata.create_all(engine)
    projector = Projector(services.log, engine, services.lineage, services.families,
                          generation=cold, memory_records=0)
    projector.ensure_tracking()
    projector.catch_up(limit=5)
    expected = snapshot(engine, live)
    assert expected["rm_intervals"] and expected["rm_series"]
    assert snapshot(engine, cold) == expected
    rebuilt = rebuild(services.log, engine, services.lineage, services.families,
                      grace_seconds=0)
    assert snapshot(engine, rebuilt) == expected


def test_the_open_rows_are_kept_as_plain_tuples_and_written_without_a_default(services):
    """orjson writes a tuple as an array by itself; a named tuple went through its `default`
    (three times slower, on every record's and holder's rows of a rebuild). The rows kept
    page by page and those bulk-loaded are all plain tuples."""
    scope = services.directory.operator_scope()
    today = dt.date.today()
    for n in range(6):
        for body in (issued(f"TU-{n}", holder_=holder(n=8100 + n % 2), occurred_on="2021-01-01"),
                     envelope("record.amended", f"TU-{n}", "2021-06-01",
                              {"changes": {"holder": holder(n=8102)}, "reason": "r"},
                              kind="certification")):
            services.registry.record(scope, parse_envelope(body, EVENT_TYPES, today))
    engine = services.writer_engine()
    generation = live_generation(engine) + 7
    read_model(generation).metadata.create_all(engine)
    paged = Projector(services.log, engine, services.lineage, services.families,
                      generation=generation)
    paged.ensure_tracking()
    paged.catch_up(limit=3)
    bulk = read_model(generation + 1)
    bulk.metadata.create_all(engine)
    loaded = Projector(services.log, engine, services.lineage, services.families,
                       generation=generation + 1)
    loaded.ensure_tracking()
    loaded.bulk_load()
    for projector in (paged, loaded):
        memory = projector._memory
        owners = [*memory.states.values(), *memory.holders.values()]
        rows = [row for owner in owners for row in owner.rows]
        assert rows and {type(row) for row in rows} == {tuple}
    with pytest.raises(TypeError):
        sqlwrite.dumps([OpenRowLike(1, "330523", "m", 2, None)])


class OpenRowLike(NamedTuple):
    seq: int
    tenant: str
    metric: str
    start: int
    end: int | None


def test_each_page_reads_a_bounded_range_of_positions(services, monkeypatch):
    """Without planner statistics (a server without autovacuum, a restored dump) PostgreSQL
    read every page of a rebuild as a scan and sort of the whole rest of the log, so a 1M
    rebuild read quadratically (29 s instead of 1.9 s for the first 400,000 positions,
    measured): each page now asks for at most a window of positions past its start, and the
    pages still reach the head with every event applied once."""
    scope = services.directory.operator_scope()
    today = dt.date.today()
    for n in range(30):
        body = issued(f"RW-{n}", tenant="330523", holder_=holder(n=8100 + n % 4),
                      occurred_on="2021-01-01", valid_until="2025-06-30")
        services.registry.record(scope, parse_envelope(body, EVENT_TYPES, today))
    head = services.log.max_position()
    original = services.log.stored_rows
    ranges = []

    def spy(after, stop, topics, limit):
        ranges.append((after, stop, limit))
        return original(after, stop, topics, limit)

    monkeypatch.setattr(services.log, "stored_rows", spy)
    projector = services.projector()
    projector.catch_up(limit=4)
    assert projector.position() == head
    assert ranges and all(stop is not None and stop - start <= READ_WINDOW * limit
                          for start, stop, limit in ranges), ranges
    monkeypatch.undo()
    engine = services.writer_engine()
    expected = snapshot(engine, live_generation(engine))
    assert len(expected["rm_records"]) == 30
    rebuilt = rebuild(services.log, engine, services.lineage, services.families,
                      grace_seconds=0)
    assert snapshot(engine, rebuilt) == expected


def test_pages_are_folded_and_written_with_the_cycle_collector_paused(client, token_for,
                                                                      services, monkeypatch):
    """The live projector's memory holds every record's state; with the collector on, its
    full passes walked all of it again and again: 38 % of a catch-up's time at 40,000
    records (gc.callbacks), which then ran at half the speed. A page is folded and written
    with it paused, as a rebuild is; it is back on afterwards."""
    import gc

    from projections.fold import Fold

    cb = token_for("certification-body", "330500")
    for n in range(5):
        assert post(client, cb, issued(f"GC-{n}", tenant="330523")).status_code == 201
    projector = services.projector()
    real_apply, real_write = Fold.apply, Projector._write
    seen: list[bool] = []

    def apply(self, *args, **kwargs):
        seen.append(gc.isenabled())
        return real_apply(self, *args, **kwargs)

    def write(self, *args, **kwargs):
        seen.append(gc.isenabled())
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Fold, "apply", apply)
    monkeypatch.setattr(Projector, "_write", write)
    assert gc.isenabled()
    while projector.process_page(limit=2):
        pass
    assert seen and not any(seen), seen
    assert gc.isenabled()


def test_a_rebuild_drops_its_bulk_loaded_memory_before_the_collector_resumes(
        client, token_for, services, monkeypatch):
    """A bulk load folds with the collector paused; resumed while the loaded memory was
    still alive, the collector's first pass traversed all of it (one collection of 5 s in a
    300,000-event SQLite rebuild of 52, gc.callbacks), only for the memory to be dropped with
    the rebuild's projector. No collection runs while that memory is alive, and the
    collector is back on afterwards."""
    import gc
    import weakref

    from projections.fold import Fold

    cb = token_for("certification-body", "330500")
    for n in range(30):
        assert post(client, cb, issued(f"BM-{n}", tenant="330523")).status_code == 201
    loaded: list[weakref.ref] = []
    real_apply = Fold.apply

    def apply(self, events, memory, changes):
        if not any(ref() is memory for ref in loaded):
            loaded.append(weakref.ref(memory))
        return real_apply(self, events, memory, changes)

    collected_with_memory: list[str] = []

    def watch(phase, info):
        if phase == "start" and any(ref() is not None for ref in loaded):
            collected_with_memory.append(f"generation {info['generation']}")

    monkeypatch.setattr(Fold, "apply", apply)
    gc.callbacks.append(watch)
    try:
        engine = services.writer_engine()
        rebuild(services.log, engine, services.lineage, services.families, grace_seconds=0,
                workers=1)
    finally:
        gc.callbacks.remove(watch)
    assert loaded and all(ref() is None for ref in loaded)
    assert collected_with_memory == []
    assert gc.isenabled()


def test_a_holder_is_one_interval_row_for_each_run_of_tenants_that_count_it_alike(
        client, services, token_for, project):
    """A holder counts in a tenant while any of its records counts in the tenant's subtree.
    Up a lineage where nothing else joins, every ancestor counts it alike: one row, from the
    tenant up to the last such ancestor (`up_to`), not one row per ancestor. Counts as known
    now and as known at a past moment stay those of a row per ancestor."""
    cb, admin = token_for("certification-body", "330000"), token_for("admin", "330000")
    firm = holder("丙", n=7301)
    assert post(client, cb, issued("UP-A", tenant="330523", occurred_on="2022-03-01",
                                   holder_=firm)).status_code == 201
    project()
    engine = services.writer_engine()
    model = read_model(live_generation(engine))
    iv = model.intervals

    def open_rows() -> set[tuple]:
        with engine.connect() as conn:
            return {(row.tenant, row.up_to, row.valid_from.isoformat()) for row in conn.execute(
                iv.select().where(iv.c.owner == f"certification.holders_valid|{firm['uscc']}",
                                  iv.c.known_to.is_(None)))}

    assert open_rows() == {("330523", "330000", "2022-03-01")}
    before_second = dt.datetime.now(dt.timezone.utc)
    assert post(client, cb, issued("UP-B", tenant="330106", occurred_on="2021-05-01",
                                   valid_until="2022-06-30", holder_=firm)).status_code == 201
    project()
    # two cities count it apart, each its own way; the province counts the union
    assert open_rows() == {("330523", "330500", "2022-03-01"),
                           ("330106", "330100", "2021-05-01"),
                           ("330000", "330000", "2021-05-01")}

    def holders(code: str, as_of: str, known_at: dt.datetime | None = None) -> int:
        query = f"as_of={as_of}" + (f"&known_at={known_at.isoformat()}" if known_at else "")
        body = client.get(f"/v1/tenants/{code}/counts?{query}", headers=auth(admin)).json
        return body["counts"]["certification"]["holders_valid"]

    now = dt.datetime.now(dt.timezone.utc)
    for known_at in (None, now):
        assert [holders(code, "2021-06-01", known_at) for code in
                ("330000", "330100", "330106", "330500", "330523")] == [1, 1, 1, 0, 0]
        assert [holders(code, "2023-01-01", known_at) for code in
                ("330000", "330100", "330106", "330500", "330523")] == [1, 0, 0, 1, 1]
    assert [holders(code, "2021-06-01", before_second) for code in
            ("330000", "330100", "330106", "330500", "330523")] == [0, 0, 0, 0, 0]
    assert [holders(code, "2023-01-01", before_second) for code in
            ("330000", "330100", "330106", "330500", "330523")] == [1, 0, 0, 1, 1]
