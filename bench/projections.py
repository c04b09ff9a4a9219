"""Projection benchmark: catch-up rate, rebuild time, counts latency, read-model size.

Loads a realistic mix of events (bench/dataset.py) into a scratch PostgreSQL schema (dropped
at the end) and/or a SQLite file, then measures
- catch-up: the projector applying the whole log from position 0 (`Projector.catch_up`),
- rebuild: `projections.runner.rebuild` (a fresh generation, then the switch), and its
  ratio to the library's own read+decode of the same log, measured right before and after,
- GET /v1/tenants/{code}/counts through the real Flask app (test client) for the province,
  a city and a county, at a past date and today: p50/p95 over --requests after warm-ups,
- the size of the read-model tables.
Prints a human summary on stderr and one JSON line per backend on stdout.

    .venv/bin/python -m bench.projections --events 100000          # PostgreSQL, quick
    .venv/bin/python -m bench.projections --events 1000000 --sqlite  # and SQLite too
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from eventsourcing.utils import get_topic

from api import create_app
from api.services import Services
from api.settings import Settings
from bench.dataset import library_mapper, load
from events import RECORD_EVENT_CLASSES
from projections.runner import rebuild, rebuild_workers
from projections.tables import live_generation, read_model
from tenants import seed

PG_URL = os.environ.get("REGISTRY_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
TENANTS = ("330000", "330500", "330523")
PAST = "2021-06-30"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def counties_of(tree) -> list[str]:
    return [t.code for t in tree.all() if not tree.children(t.code)]


PROGRESS = (("330000", "zhejiang-14th-fyp"), ("330500", "huzhou-14th-fyp"),
            ("330326", "pingyang-14th-fyp"))


def measure_counts(settings: Settings, svc: Services, requests: int, warmup: int) -> dict:
    """p50/p95 of the counts endpoint, and of plan progress for a whole plan (issue 4)."""
    _, token = svc.directory.add_principal("bench admin", "admin", "330000")
    svc.plans.import_plans(seed.load("targets.json"), {"id": "bench", "name": "bench",
                                                       "role": "operator"})
    app = create_app(settings=settings)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    cases = [(f"{code}_{label}", f"/v1/tenants/{code}/counts", params)
             for code in TENANTS
             for label, params in (("past", {"as_of": PAST}), ("today", {}))]
    # bitemporal: what the registry knew on 1 March 2025 about 31 December 2024 (from the
    # intervals, not the series)
    cases += [(f"{code}_known_at", f"/v1/tenants/{code}/counts",
               {"as_of": "2024-12-31", "known_at": "2025-03-01T00:00:00+08:00"})
              for code in TENANTS]
    cases += [(f"progress_{code}_{label}", f"/v1/tenants/{code}/progress",
               {"plan": plan, **params})
              for code, plan in PROGRESS
              for label, params in (("midterm", {"as_of": "2023-06-30"}), ("today", {}))]
    result = {}
    try:
        for name, url, params in cases:
            for _ in range(warmup):
                assert client.get(url, query_string=params, headers=headers).status_code == 200
            times = []
            for _ in range(requests if "known_at" not in name else max(1, requests // 4)):
                start = time.perf_counter()
                response = client.get(url, query_string=params, headers=headers)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.json
            times.sort()
            result[name] = {"p50_ms": round(statistics.median(times), 2),
                            "p95_ms": round(times[int(len(times) * 0.95) - 1], 2)}
    finally:
        app.extensions["registry"].close()
    return result


def table_sizes(svc: Services, settings: Settings) -> dict:
    model = read_model(live_generation(svc.engine))
    names = [t.name for t in model.tables()]
    sizes = {}
    with svc.engine.connect() as conn:
        for name in names:
            rows = conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar()
            if settings.is_postgres:
                size = conn.exec_driver_sql(
                    "SELECT pg_total_relation_size(%s)", (name,)).scalar()
            else:
                try:
                    size = conn.exec_driver_sql(
                        "SELECT sum(pgsize) FROM dbstat WHERE name = ? OR tbl_name = ?",
                        (name, name)).scalar()
                except Exception:  # dbstat not compiled in
                    size = None
            sizes[name.rsplit("_g", 1)[0]] = {
                "rows": rows, "mb": round(size / 2**20, 1) if size else None}
    return sizes


def max_rss_mb() -> int:
    """The most memory this process has held so far (MB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def record_events(svc: Services) -> int:
    """How many record events the log holds (receipts and registry events left out)."""
    topics = sorted(get_topic(cls) for cls in RECORD_EVENT_CLASSES)
    recorder = svc.log.recorder
    count, after = 0, 0
    while True:
        page = recorder.select_notifications(start=after, limit=50_000, topics=topics,
                                             inclusive_of_start=False)
        if not page:
            return count
        count += len(page)
        after = page[-1].id


def decode_rate(svc: Services, page: int = 5000) -> float:
    """The library's ceiling for a rebuild: record events/s read and decoded from the same
    log, nothing of the registry in it (the recorder's pages, the library's own mapper's
    decoding: not the store's orjson reading)."""
    topics = sorted(get_topic(cls) for cls in RECORD_EVENT_CLASSES)
    recorder, decode = svc.log.recorder, library_mapper(svc.log).to_domain_event
    count, after = 0, 0
    started = time.perf_counter()
    while page_ := recorder.select_notifications(start=after, limit=page, topics=topics,
                                                 inclusive_of_start=False):
        count += sum(1 for n in page_ if decode(n) is not None)
        after = page_[-1].id
    return count / (time.perf_counter() - started)


def measure_rebuild(svc: Services, events: int, workers: int, backend: str) -> dict:
    """One rebuild folded by `workers` processes, and its ratio to the library's own
    read+decode of the same log measured right before and after."""
    before = decode_rate(svc)
    started, cpu = time.perf_counter(), time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    phases: dict[str, float] = {}
    rebuild(svc.log, svc.writer_engine(), svc.lineage, svc.families, grace_seconds=0,
            workers=workers, phases=phases)
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ceiling = (before + decode_rate(svc)) / 2
    run = {"workers": workers, "rebuild_s": round(took, 1),
           "rebuild_cpu_s": round(time.process_time() - cpu, 1),
           "rebuild_children_cpu_s": round(after.ru_utime + after.ru_stime
                                           - children.ru_utime - children.ru_stime, 1),
           "rebuild_events_per_s": round(events / took),
           "decode_events_per_s": round(ceiling),
           "rebuild_vs_decode": round(events / took / ceiling, 3),
           "max_rss_mb_after_rebuild": max_rss_mb(), "phases_s": phases}
    say(f"[{backend}] rebuild with {workers} process(es) {took:.1f}s ({run['rebuild_cpu_s']}s "
        f"CPU in this process, {run['rebuild_children_cpu_s']}s in its children): "
        f"{events / took:,.0f} record events/s; library read+decode {ceiling:,.0f} record "
        f"events/s; ratio {run['rebuild_vs_decode']:.3f} (aim 0.2); phases (s): {phases}")
    return run


def run(backend: str, settings: Settings, args) -> dict:
    svc = Services.open(settings, create_tables=True)
    try:
        load_s = None
        if svc.log.max_position() > 1000:  # a kept schema: reuse its events
            stored = svc.log.max_position()
            say(f"[{backend}] reusing the {stored} stored events; emptying the read models")
            model = read_model(live_generation(svc.engine))
            model.metadata.drop_all(svc.writer_engine())
            model.metadata.create_all(svc.writer_engine())
        else:
            svc.directory.register_tenants(seed.tenants())
            counties = counties_of(svc.directory.tree())
            say(f"[{backend}] loading {args.events} record events"
                f"{' + receipts' if args.receipts else ''} ...")
            started = time.perf_counter()
            stored = load(svc.log, counties, args.events, receipts=args.receipts,
                          progress=lambda n: n % 200_000 < 1000 and say(f"  {n} stored"))
            load_s = round(time.perf_counter() - started, 1)
            say(f"[{backend}] loaded {stored} events in {load_s:.0f}s")
        head = svc.log.max_position()
        rss_loaded = max_rss_mb()
        result = {"backend": backend, "record_events": args.events, "stored_events": stored,
                  "receipts": args.receipts, "page": args.page, "load_s": load_s,
                  "max_rss_mb_after_load": rss_loaded}
        events = record_events(svc)
        result["record_events"] = events
        if not args.skip_catch_up:
            projector = svc.projector()
            started, cpu = time.perf_counter(), time.process_time()
            projector.catch_up(limit=args.page)
            took = time.perf_counter() - started
            result["catch_up_cpu_s"] = round(time.process_time() - cpu, 1)
            assert projector.position() == head
            result["catch_up_s"] = round(took, 1)
            result["catch_up_events_per_s"] = round(events / took)
            del projector  # and its memory, before the rebuild builds its own
            result["max_rss_mb_after_catch_up"] = max_rss_mb()
            result["catch_up_positions_per_s"] = round(head / took)
            say(f"[{backend}] catch-up {took:.1f}s ({result['catch_up_cpu_s']}s CPU in this "
                f"process): {events / took:,.0f} record events/s "
                f"({head / took:,.0f} positions/s)")
        if not args.skip_rebuild:
            runs = []
            for workers in args.rebuild_workers:
                workers = workers or rebuild_workers(svc.writer_engine(), head)
                if workers > 1 and not settings.is_postgres:
                    continue  # SQLite has one writer: its rebuild folds in one process
                runs.append(measure_rebuild(svc, events, workers, backend))
            result.update(runs[-1] if len(runs) == 1 else {"rebuilds": runs})
            for key in ("decode_events_per_s", "max_rss_mb_after_rebuild"):
                result.setdefault(key, runs[-1][key])
            result.setdefault("rebuild_s", min(run["rebuild_s"] for run in runs))
        result["counts"] = measure_counts(settings, svc, args.requests, args.warmup)
        for name, value in result["counts"].items():
            say(f"[{backend}] counts {name}: p50 {value['p50_ms']} ms, p95 {value['p95_ms']} ms")
        result["max_rss_mb"] = max_rss_mb()
        result["load_average"] = [round(x, 1) for x in os.getloadavg()]
        result["tables"] = table_sizes(svc, settings)
        if not settings.is_postgres:
            path = Path(settings.database_url.split(":///", 1)[1])
            result["sqlite_file_mb"] = round(sum(
                p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20, 1)
            say(f"[{backend}] SQLite file (events and read models): "
                f"{result['sqlite_file_mb']} MB")
        for name, value in result["tables"].items():
            say(f"[{backend}] {name}: {value['rows']} rows, {value['mb']} MB")
        say(f"[{backend}] bench process max RSS {result['max_rss_mb']} MB; load average "
            f"{result['load_average']} (other processes share the 2 cores)")
        return result
    finally:
        svc.close()


def main(argv: list[str] | None = None) -> None:
    # one access-log line per measured request would drown the summary (its cost stays in)
    os.environ.setdefault("REGISTRY_LOG_LEVEL", "WARNING")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="record events to load (receipts come on top)")
    parser.add_argument("--page", type=int, default=5000, help="catch-up page size")
    parser.add_argument("--requests", type=int, default=200, help="counts requests per case")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--no-receipts", dest="receipts", action="store_false",
                        help="leave out the receipt stored with every record event")
    parser.add_argument("--no-postgres", dest="postgres", action="store_false")
    parser.add_argument("--sqlite", action="store_true", help="also run on a SQLite file")
    parser.add_argument("--sqlite-dir", help="where the SQLite file goes (default: a temp dir)")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--pg-schema", help="scratch schema (default: a new random name); "
                        "events already stored there are reused instead of loaded")
    parser.add_argument("--pg-keep", action="store_true",
                        help="keep the scratch schema (to rerun with --pg-schema)")
    parser.add_argument("--skip-catch-up", action="store_true")
    parser.add_argument("--skip-rebuild", action="store_true")
    parser.add_argument("--rebuild-workers", default="auto",
                        type=lambda text: [0 if n == "auto" else int(n)
                                           for n in text.split(",")],
                        help="processes folding the rebuild, e.g. 1,2,4 for one rebuild "
                             "each (default: auto, the registry's own choice; PostgreSQL; "
                             "SQLite always folds in one)")
    args = parser.parse_args(argv)
    args.events = max(1, min(args.events, 5_000_000))
    results = []
    if args.postgres:
        schema = args.pg_schema or f"bench_proj_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        try:
            results.append(run("postgres", Settings(database_url=args.pg_url,
                                                    database_schema=schema), args))
        finally:
            if not args.pg_keep:
                with psycopg.connect(args.pg_url, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    if args.sqlite:
        with tempfile.TemporaryDirectory(dir=args.sqlite_dir) as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            results.append(run("sqlite", Settings(database_url=url), args))
    for result in results:
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
