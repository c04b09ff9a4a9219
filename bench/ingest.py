#!/usr/bin/env python3
"""Ingest benchmark: HTTP through gunicorn against the library's raw append rate, same run.

For each backend (PostgreSQL, SQLite) it measures, in this order:

  raw      the `eventsourcing` library alone in this process, in a scratch store of its own:
           1 event per `app.save()`, and 100 / 1000 events per `app.save()` (one new
           aggregate per event, library default settings);
  single   POST /v1/events from 1, 2, 4, 8 concurrent client processes (one new
           certification per request) against `registry serve --workers W`;
  batch    POST /v1/events/batch with 100 and with 1000 envelopes per request, one client.

Each registry envelope stores two events (the record's event and its receipt), so the ratio
that matters is envelopes/s over HTTP divided by the raw events/s of the same save shape.
During the PostgreSQL HTTP runs it samples how many database sessions wait on a lock
(the events-table lock every insert takes) and how busy the machine's CPUs are.

Everything runs in a scratch PostgreSQL schema (dropped at the end) and a temporary
directory (removed). Progress goes to stderr; one JSON document to stdout; a readable table
to stderr at the end.

    .venv/bin/python bench/ingest.py                       # both backends, default sizes
    .venv/bin/python bench/ingest.py --quick               # a smoke run (~1 minute)
    .venv/bin/python bench/ingest.py --backends postgres --writers 1,2,4,8
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.services import Services  # noqa: E402
from api.settings import Settings  # noqa: E402
from events.text import make_uscc  # noqa: E402
from registry import seed  # noqa: E402

BIN = Path(sys.executable).parent


def log(message: str) -> None:
    print(f"[ingest {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Raw library rates -----------------------------------------------------------------------------


class BenchEntry(Aggregate):
    """A registry-sized aggregate: one event of ~300 bytes per entry."""

    @event("Registered")
    def __init__(self, key: str, payload: dict) -> None:
        self.key = key
        self.payload = payload


class RawApp(Application):
    name = "BenchRaw"


def raw_payload(i: int) -> dict:
    return {"holder": {"name": f"湖州企业{i}有限公司", "uscc": "91330523000000001X"},
            "product": "竹地板", "standards": ["T/ZZB 2310-2021"], "valid_until": "2029-05-09",
            "tenant": "330523", "occurred_on": "2023-05-10",
            "actor": {"id": "p", "name": "bench", "role": "certification-body"}}


def raw_rates(env: dict[str, str], singles: int, batched: int) -> dict[str, float]:
    """Events/s of the library alone: 1 event per save, and 100 / 1000 events per save."""
    app = RawApp(env=env)
    try:
        rates = {}
        start = time.perf_counter()
        for i in range(singles):
            app.save(BenchEntry(f"s{i}", raw_payload(i)))
        rates["single"] = singles / (time.perf_counter() - start)
        for size in (100, 1000):
            saves = max(1, batched // size)
            start = time.perf_counter()
            for s in range(saves):
                app.save(*[BenchEntry(f"b{size}-{s}-{i}", raw_payload(i)) for i in range(size)])
            rates[f"batch_{size}"] = saves * size / (time.perf_counter() - start)
        return rates
    finally:
        app.close()


# HTTP clients ----------------------------------------------------------------------------------


def issued(client: int, i: int, run: str) -> dict:
    n = client * 10_000_000 + i
    return {"id": str(uuid.uuid4()), "type": "certification.issued",
            "record": f"BENCH-{run}-{client}-{i}", "tenant": "330523",
            "occurred_on": "2023-05-10",
            "data": {"holder": {"name": f"湖州企业{n}有限公司",
                                "uscc": make_uscc(f"91330523{n % 10**9:09d}")},
                     "product": "竹地板", "standards": ["T/ZZB 2310-2021"],
                     "valid_until": "2029-05-09"}}


def _client(port: int, token: str, client: int, envelopes: int, batch: int, run: str,
            barrier: Any, results: Any) -> None:
    """Post `envelopes` new certifications, `batch` per request (0: POST /v1/events)."""
    if batch:
        path = "/v1/events/batch"
        bodies = [json.dumps({"events": [issued(client, i + j, run) for j in range(batch)]},
                             ensure_ascii=False).encode()
                  for i in range(0, envelopes, batch)]
    else:
        path = "/v1/events"
        bodies = [json.dumps(issued(client, i, run), ensure_ascii=False).encode()
                  for i in range(envelopes)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    errors: list[str] = []
    barrier.wait()
    start = time.time()
    for body in bodies:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 201:
            errors.append(f"{response.status} {answer[:200]!r}")
        connection.close()
    results.put((client, start, time.time(), errors))


def http_rate(port: int, token: str, writers: int, envelopes: int, batch: int, run: str,
              probe: "Probe | None") -> dict[str, Any]:
    """Envelopes/s of `writers` client processes posting `envelopes` in total."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(writers)
    results = context.Queue()
    each = max(batch or 1, envelopes // writers)
    processes = [context.Process(target=_client, args=(port, token, c, each, batch, run,
                                                       barrier, results))
                 for c in range(writers)]
    for process in processes:
        process.start()
    with probe.sampling() if probe else contextlib.nullcontext() as samples:
        answers = [results.get(timeout=900) for _ in processes]
    for process in processes:
        process.join()
    errors = [e for *_, errs in answers for e in errs]
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[:3]}")
    elapsed = max(end for _, _, end, _ in answers) - min(start for _, start, _, _ in answers)
    result = {"writers": writers, "envelopes": each * writers, "seconds": round(elapsed, 2),
              "envelopes_per_s": round(each * writers / elapsed, 1)}
    if samples is not None:
        result.update(samples)
    return result


# Lock and CPU sampling -----------------------------------------------------------------------


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class Probe:
    """Samples PostgreSQL sessions waiting on a lock, and CPU busy time, during a run."""

    def __init__(self, conninfo: str | None) -> None:
        self.conninfo = conninfo

    @contextlib.contextmanager
    def sampling(self) -> Iterator[dict[str, float]]:
        samples: dict[str, float] = {}
        stop = threading.Event()
        counts = {"samples": 0, "waiting": 0, "active": 0, "any_waiting": 0}

        def sample() -> None:
            with psycopg.connect(self.conninfo, autocommit=True) as connection:
                while not stop.is_set():
                    waiting, active = connection.execute(
                        "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), "
                        "count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    ).fetchone()
                    counts["samples"] += 1
                    counts["waiting"] += waiting
                    counts["active"] += active
                    counts["any_waiting"] += waiting > 0
                    stop.wait(0.02)

        busy0, total0 = cpu_times()
        thread = threading.Thread(target=sample, daemon=True) if self.conninfo else None
        if thread:
            thread.start()
        try:
            yield samples
        finally:
            stop.set()
            if thread:
                thread.join()
            busy1, total1 = cpu_times()
            samples["cpu_busy"] = round((busy1 - busy0) / max(1, total1 - total0), 2)
            if counts["samples"]:
                n = counts["samples"]
                samples["lock_waiting_sessions"] = round(counts["waiting"] / n, 2)
                samples["active_sessions"] = round(counts["active"] / n, 2)
                samples["share_of_time_with_a_lock_wait"] = round(counts["any_waiting"] / n, 2)


# The server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(settings: Settings, workers: int, workdir: Path) -> Iterator[int]:
    env = {**os.environ, "REGISTRY_DATABASE_URL": settings.database_url,
           "REGISTRY_DATABASE_SCHEMA": settings.database_schema}
    port = free_port()
    with open(workdir / "serve.log", "ab") as output:
        process = subprocess.Popen([str(BIN / "registry"), "serve", "--port", str(port),
                                    "--workers", str(workers)], env=env, cwd=workdir,
                                   stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(OSError):
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    connection.request("GET", "/v1/health")
                    if connection.getresponse().status == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start; see serve.log")
                time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=30)


def warm_up(port: int, token: str, workers: int) -> None:
    """Make every gunicorn worker open its services before timing."""
    def post(i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/v1/events", json.dumps(issued(99, i, "warm")).encode(),
                           {"Authorization": f"Bearer {token}",
                            "Content-Type": "application/json"})
        connection.getresponse().read()
        connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8 * workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# Backends ----------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch(backend: str, pg_url: str, workdir: Path) -> Iterator[tuple[Settings, dict, str]]:
    """(registry settings, raw-library env, conninfo or '') on an empty store; removed after."""
    if backend == "sqlite":
        yield (Settings(database_url=f"sqlite:///{workdir / 'registry.db'}"),
               {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(workdir / "raw.db")}, "")
        return
    conninfo = pg_url.replace("postgresql+psycopg://", "postgresql://")
    schema, raw_schema = (f"bench_ingest_{uuid.uuid4().hex[:8]}" for _ in range(2))
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        connection.execute(f'CREATE SCHEMA "{raw_schema}"')
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    raw_env = {"PERSISTENCE_MODULE": "eventsourcing.postgres",
               "POSTGRES_DBNAME": info.get("dbname", "postgres"),
               "POSTGRES_HOST": info.get("host", "127.0.0.1"),
               "POSTGRES_PORT": str(info.get("port", 5432)),
               "POSTGRES_USER": info.get("user", "postgres"),
               "POSTGRES_PASSWORD": info.get("password", ""), "POSTGRES_SCHEMA": raw_schema}
    try:
        yield Settings(database_url=pg_url, database_schema=schema), raw_env, conninfo
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            connection.execute(f'DROP SCHEMA IF EXISTS "{raw_schema}" CASCADE')
        log(f"dropped schemas {schema}, {raw_schema}")


def bench_backend(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with scratch(backend, args.pg_url, workdir) as (settings, raw_env, conninfo):
        log(f"{backend}: raw library rates")
        raw = raw_rates(raw_env, args.raw_singles, args.raw_batched)
        log(f"{backend}: raw {json.dumps({k: round(v) for k, v in raw.items()})}")
        svc = Services.open(settings, create_tables=True)
        svc.directory.register_tenants(seed.tenants())
        _, token = svc.directory.add_principal("bench", "certification-body", "330500")
        svc.close()
        probe = Probe(conninfo) if conninfo else Probe(None)
        single, batches = [], {}
        with serving(settings, args.workers, workdir) as port:
            warm_up(port, token, args.workers)
            for writers in args.writers:
                run = uuid.uuid4().hex[:6]
                result = http_rate(port, token, writers, args.singles, 0, run, probe)
                log(f"{backend}: single posts, {writers} writer(s): {result}")
                single.append(result)
            for size in (100, 1000):
                run = uuid.uuid4().hex[:6]
                result = http_rate(port, token, 1, args.batched, size, run, probe)
                log(f"{backend}: batches of {size}, 1 writer: {result}")
                batches[str(size)] = result
        best_single = max(r["envelopes_per_s"] for r in single)
        return {
            "raw_events_per_s": {k: round(v, 1) for k, v in raw.items()},
            "http_single": single,
            "http_batch": batches,
            "ratios": {
                "single_1_writer": round(single[0]["envelopes_per_s"] / raw["single"], 2),
                "single_best": round(best_single / raw["single"], 2),
                "batch_100": round(batches["100"]["envelopes_per_s"] / raw["batch_100"], 2),
                "batch_1000": round(batches["1000"]["envelopes_per_s"] / raw["batch_1000"], 2),
            },
        }


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_avg_at_start": os.getloadavg()}


def table(results: dict[str, Any]) -> str:
    lines = ["| backend | measure | envelopes/s | raw events/s | ratio |", "|---|---|---|---|---|"]
    for backend, r in results["backends"].items():
        raw = r["raw_events_per_s"]
        for s in r["http_single"]:
            lines.append(f"| {backend} | single posts, {s['writers']} writer(s) | "
                         f"{s['envelopes_per_s']:.0f} | {raw['single']:.0f} | "
                         f"{s['envelopes_per_s'] / raw['single']:.2f} |")
        for size, b in r["http_batch"].items():
            lines.append(f"| {backend} | batches of {size}, 1 writer | "
                         f"{b['envelopes_per_s']:.0f} | {raw[f'batch_{size}']:.0f} | "
                         f"{b['envelopes_per_s'] / raw[f'batch_{size}']:.2f} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--pg-url", default=os.environ.get(
        "REGISTRY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--writers", default="1,2,4,8", help="client counts for single posts")
    parser.add_argument("--singles", type=int, default=3000,
                        help="envelopes per single-post run (split over the writers)")
    parser.add_argument("--batched", type=int, default=20000,
                        help="envelopes per batch run")
    parser.add_argument("--raw-singles", type=int, default=3000)
    parser.add_argument("--raw-batched", type=int, default=20000)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args(argv)
    args.writers = [int(w) for w in args.writers.split(",")]
    if args.quick:
        args.singles, args.batched, args.raw_singles, args.raw_batched = 400, 2000, 400, 2000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, Any] = {"command": " ".join(sys.argv), "machine": machine(),
                               "settings": {k: v for k, v in vars(args).items()},
                               "backends": {}}
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        for backend in args.backends.split(","):
            backend_dir = workdir / backend
            backend_dir.mkdir()
            results["backends"][backend] = bench_backend(backend, args, backend_dir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results, ensure_ascii=False))
    print(table(results), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
