#!/usr/bin/env python3
"""Ingest benchmark: HTTP through gunicorn against the library's raw append rate, same run.

For each backend (PostgreSQL, SQLite):

  single   POST /v1/events from 1, 2, 4, 8 concurrent client processes (one new
           certification per request) against `registry serve --workers W`;
  batch    POST /v1/events/batch with 100 and with 1000 envelopes per request, one client;
  sweep    (PostgreSQL) 8 writers against 1, 2, 4, 8 gunicorn workers.

Right before and right after every HTTP run it measures the `eventsourcing` library alone,
in a scratch store of its own, saving the same shape (1 event per `app.save()`, or 100 /
1000 events per save; one new aggregate per event, library defaults), so that the ratio
compares the two under the same machine load. Each registry envelope stores two events (the
record's event and its receipt); the raw rate of 2-event saves is reported too.

During each HTTP run it also takes the CPU time spent by each part, in milliseconds an
envelope: the gunicorn workers, the projector process (which applies the posted events to
the read models meanwhile, on the same cores) and the client processes.

On PostgreSQL it also samples, during each HTTP run, how many sessions wait on a lock (every
insert takes the events-table lock) and how busy the CPUs are, and it measures how many
commits/s 4 plain psycopg writers reach when each commit takes a table lock (the lock's cap).

Everything runs in scratch PostgreSQL schemas (dropped at the end) and a temporary directory
(removed). Progress goes to stderr, then a table; one JSON document goes to stdout.

    .venv/bin/python bench/ingest.py > ingest.json         # both backends (~5 minutes)
    .venv/bin/python bench/ingest.py --quick > /dev/null   # a smoke run (~1 minute)
    .venv/bin/python bench/ingest.py --backends postgres --writers 1,8 --worker-sweep 2
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
import sqlite3
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
from tenants import seed  # noqa: E402

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
    """The library's application with nothing of the registry in it."""

    name = "BenchRaw"


def raw_payload(i: int) -> dict:
    """About the size of a registry certification event's state."""
    return {"holder": {"name": f"湖州企业{i}有限公司", "uscc": "91330523000000001X"},
            "product": "竹地板", "standards": ["T/ZZB 2310-2021"], "valid_until": "2029-05-09",
            "tenant": "330523", "occurred_on": "2023-05-10",
            "actor": {"id": "p", "name": "bench", "role": "certification-body"}}


class Raw:
    """The library alone, in its own scratch store: events/s of one save shape, measured
    right before and right after each HTTP run so that both see the same machine load."""

    SHAPES = {"single": 1, "pair": 2, "batch_100": 100, "batch_1000": 1000}

    def __init__(self, env: dict[str, str], events: int) -> None:
        self.app = RawApp(env=env)
        self.events = events
        self.serial = 0

    def rate(self, shape: str) -> float:
        """Events/s saving `SHAPES[shape]` new aggregates (one event each) per `app.save()`."""
        size = self.SHAPES[shape]
        saves = max(2, self.events // size)
        start = time.perf_counter()
        for _ in range(saves):
            self.serial += 1
            self.app.save(*[BenchEntry(f"{self.serial}-{i}", raw_payload(i))
                            for i in range(size)])
        return saves * size / (time.perf_counter() - start)

    def around(self, shape: str, run: Any) -> tuple[dict[str, Any], dict[str, float]]:
        """Run `run()` between two raw measurements of `shape`."""
        before = self.rate(shape)
        result = run()
        after = self.rate(shape)
        return result, {"before": round(before, 1), "after": round(after, 1),
                        "mean": round((before + after) / 2, 1)}

    def close(self) -> None:
        self.app.close()


def _locked_committer(conninfo: str, table: str, n: int, barrier: Any, results: Any) -> None:
    with psycopg.connect(conninfo, autocommit=True) as connection:
        barrier.wait()
        start = time.time()
        for i in range(n):
            with connection.transaction():
                connection.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
                connection.execute(f"INSERT INTO {table} (n) VALUES (%s)", (i,))
        results.put((start, time.time()))


def lock_cap(conninfo: str, schema: str, processes: int, commits: int) -> float:
    """Commits/s that `processes` writers reach when each commit takes the table lock, as
    every event insert does: the ceiling the lock puts on single posts on this machine."""
    table = f'"{schema}".lock_cap'
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, n int)")
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=_locked_committer,
                               args=(conninfo, table, commits // processes, barrier, results))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    spans = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    return commits // processes * processes / (max(e for _, e in spans) - min(s for s, _ in spans))


# HTTP clients ----------------------------------------------------------------------------------


def issued(client: int, i: int, run: str) -> dict:
    """A wire envelope issuing a new certification (distinct per client, index and run)."""
    n = client * 10_000_000 + i
    return {"id": str(uuid.uuid4()), "type": "certification.issued",
            "record": f"BENCH-{run}-{client}-{i}", "tenant": "330523",
            "occurred_on": "2023-05-10",
            "data": {"holder": {"name": f"湖州企业{n}有限公司",
                                "uscc": make_uscc(f"91330523{n % 10**9:09d}")},
                     "product": "竹地板", "standards": ["T/ZZB 2310-2021"],
                     "valid_until": "2029-05-09"}}


def _client(port: int, token: str, client: int, envelopes: int, batch: int, run: str,
            barrier: Any, results: Any, keep_alive: bool = False) -> None:
    """Post `envelopes` new certifications, `batch` per request (0: POST /v1/events): a new
    connection per request, or with `keep_alive` one connection for all of them (as
    `requests.Session` and most HTTP clients do)."""
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
    start, cpu = time.time(), time.process_time()
    connection = None
    for body in bodies:
        if connection is None or not keep_alive:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 201:
            errors.append(f"{response.status} {answer[:200]!r}")
        if not keep_alive:
            connection.close()
    if connection is not None:
        connection.close()
    results.put((client, start, time.time(), errors, time.process_time() - cpu))


def http_rate(port: int, token: str, writers: int, envelopes: int, batch: int,
              probe: "Probe", keep_alive: bool = False) -> dict[str, Any]:
    """Envelopes/s of `writers` client processes posting `envelopes` in total."""
    run = uuid.uuid4().hex[:8]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(writers)
    results = context.Queue()
    each = max(batch or 1, envelopes // writers)
    processes = [context.Process(target=_client, args=(port, token, c, each, batch, run,
                                                       barrier, results, keep_alive))
                 for c in range(writers)]
    for process in processes:
        process.start()
    with probe.sampling() as samples:
        answers = [results.get(timeout=900) for _ in processes]
    for process in processes:
        process.join()
    errors = [e for _, _, _, errs, _ in answers for e in errs]
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[:3]}")
    elapsed = (max(end for _, _, end, _, _ in answers)
               - min(start for _, start, _, _, _ in answers))
    envelopes = each * writers
    result = {"writers": writers, "batch": batch, "keep_alive": keep_alive,
              "envelopes": envelopes,
              "seconds": round(elapsed, 2),
              "envelopes_per_s": round(envelopes / elapsed, 1)}
    cpu = samples.pop("cpu_s", {})
    cpu["clients"] = sum(spent for *_, spent in answers)
    result.update(samples)
    result["cpu_ms_per_envelope"] = {role: round(seconds / envelopes * 1000, 3)
                                     for role, seconds in cpu.items()}
    return result


# Lock and CPU sampling -----------------------------------------------------------------------


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


TICKS = os.sysconf("SC_CLK_TCK")


def server_cpu(root: int) -> dict[str, float]:
    """CPU seconds (user + system) so far of `registry serve` (pid `root`) and everything it
    started, by role: the gunicorn workers, the projector process, the rest (the gunicorn
    master and `registry serve` itself)."""
    parents: dict[int, int] = {}
    spent: dict[int, float] = {}
    commands: dict[int, bytes] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
        spent[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    roles = {"server_workers": 0.0, "projector": 0.0, "server_other": 0.0}
    for pid, seconds in spent.items():
        ancestor = pid
        while ancestor not in (root, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor != root:
            continue
        command, parent = commands.get(pid, b""), commands.get(parents.get(pid, 0), b"")
        if b"projector" in command:
            roles["projector"] += seconds
        elif b"api.server" in command and b"api.server" in parent:
            roles["server_workers"] += seconds
        else:
            roles["server_other"] += seconds
    return roles


class Probe:
    """Samples PostgreSQL sessions waiting on a lock, and CPU busy time, during a run; and
    the CPU the server's processes spent, by role, when the server's pid is known."""

    def __init__(self, conninfo: str | None, server: int | None = None) -> None:
        self.conninfo = conninfo
        self.server = server

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
        roles0 = server_cpu(self.server) if self.server else {}
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
            if self.server:
                roles1 = server_cpu(self.server)
                samples["cpu_s"] = {role: roles1[role] - roles0[role] for role in roles1}
            if counts["samples"]:
                n = counts["samples"]
                samples["lock_waiting_sessions"] = round(counts["waiting"] / n, 2)
                samples["active_sessions"] = round(counts["active"] / n, 2)
                samples["share_of_time_with_a_lock_wait"] = round(counts["any_waiting"] / n, 2)


# The server --------------------------------------------------------------------------------


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(settings: Settings, workers: int, workdir: Path) -> Iterator[tuple[int, int]]:
    """`registry serve --workers N` on a free port until the block ends; yields the port and
    the pid of `registry serve` (whose descendants are the server and the projector)."""
    # the per-principal rate limit (200/s) would measure the limiter, not the ingest path
    env = {**os.environ, "REGISTRY_DATABASE_URL": settings.database_url,
           "REGISTRY_DATABASE_SCHEMA": settings.database_schema, "REGISTRY_RATE_LIMIT": "0",
           "REGISTRY_LOG_LEVEL": os.environ.get("REGISTRY_LOG_LEVEL", "WARNING")}
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
            yield port, process.pid
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


def pg_info(conninfo: str) -> dict[str, str]:
    """The PostgreSQL settings that matter for commit rates."""
    with psycopg.connect(conninfo, autocommit=True) as connection:
        return {name: connection.execute(f"SHOW {name}").fetchone()[0]
                for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers")}


def bench_backend(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every measurement on one backend, in a scratch store removed afterwards."""
    with scratch(backend, args.pg_url, workdir) as (settings, raw_env, conninfo):
        svc = Services.open(settings, create_tables=True)
        svc.directory.register_tenants(seed.tenants())
        _, token = svc.directory.add_principal("bench", "certification-body", "330500")
        svc.close()
        results_phases = phases(settings, token, args.phase_singles, args.phase_batches)
        log(f"{backend}: in-process phases, ms: {results_phases}")
        probe = Probe(conninfo or None)
        raw = Raw(raw_env, args.raw_events)
        results: dict[str, Any] = {
            "server": pg_info(conninfo) if conninfo else {"sqlite": sqlite3.sqlite_version},
            "in_process_ms": results_phases,
            "http_single": [], "http_batch": [], "worker_sweep": []}
        try:
            if conninfo:
                cap = lock_cap(conninfo, raw_env["POSTGRES_SCHEMA"], 4, 2000)
                results["table_lock_commits_per_s_4_writers"] = round(cap, 1)
                log(f"{backend}: 4 writers committing under the table lock: {cap:.0f}/s")
            with serving(settings, args.workers, workdir) as (port, pid):
                probe.server = pid
                warm_up(port, token, args.workers)
                for writers in args.writers:
                    for keep in (False, True) if args.keep_alive else (False,):
                        results["http_single"].append(measure(
                            f"{backend}: single posts, {writers} writer(s)"
                            f"{', keep-alive' if keep else ''}", raw, "single", lambda: (
                                http_rate(port, token, writers, args.singles, 0, probe,
                                          keep))))
                for size in (100, 1000):
                    results["http_batch"].append(measure(
                        f"{backend}: batches of {size}, 1 writer", raw, f"batch_{size}",
                        lambda: http_rate(port, token, 1, args.batched, size, probe)))
                results["raw_pair_events_per_s"] = round(raw.rate("pair"), 1)
            for workers in args.worker_sweep if conninfo else ():
                with serving(settings, workers, workdir) as (port, pid):
                    probe.server = pid
                    warm_up(port, token, workers)
                    result = measure(f"{backend}: 8 writers, {workers} gunicorn worker(s)", raw,
                                     "single", lambda: http_rate(port, token, 8, args.singles,
                                                                 0, probe))
                    results["worker_sweep"].append({"workers": workers, **result})
        finally:
            raw.close()
        return results


def phases(settings: Settings, token: str, singles: int, batches: int) -> dict[str, Any]:
    """In one process, no HTTP: milliseconds per single post and per batch of 1000 spent
    parsing, reading state and receipts, deciding, appending, and in the rest of the use case."""
    from api.batch import parse_batch
    from events import EVENT_TYPES
    from events.envelope import parse_envelope
    from tenants.scope import Scope
    import registry.service as service

    svc = Services.open(settings)
    spent: dict[str, float] = {}

    def timed(name: str, function: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
        return call

    originals = (svc.log.histories, svc.log.append, service.decide_all)
    svc.log.histories = timed("read", svc.log.histories)
    svc.log.append = timed("append", svc.log.append)
    service.decide_all = timed("decide", service.decide_all)
    try:
        scope = Scope(svc.directory.authenticate(token), svc.directory.tree())
        today = svc.registry.clock.today()
        run = uuid.uuid4().hex[:8]
        shapes = {}
        for shape, count, size in (("single", singles, 1), ("batch_1000", batches, 1000)):
            raws = [json.dumps({"events": [issued(7, n * size + i, run + shape)
                                           for i in range(size)]}) for n in range(count)]
            spent.clear()
            start = time.perf_counter()
            for raw in raws:
                body = timed("json", json.loads)(raw)
                if size == 1:
                    envelope = timed("parse", parse_envelope)(body["events"][0], EVENT_TYPES,
                                                              today)
                    timed("use case", svc.registry.record)(scope, envelope).as_json()
                else:
                    envelopes = timed("parse", parse_batch)(body, today)
                    timed("use case", svc.registry.record_batch)(scope, envelopes).as_json()
            total = time.perf_counter() - start
            rest = spent["use case"] - sum(spent.get(name, 0.0)
                                           for name in ("read", "decide", "append"))
            shapes[shape] = {name: round(value / count * 1000, 3) for name, value in
                             {**spent, "use case, rest": rest, "total": total}.items()
                             if name != "use case"}
        return shapes
    finally:
        svc.log.histories, svc.log.append, service.decide_all = originals
        svc.close()


def measure(label: str, raw: Raw, shape: str, run: Any) -> dict[str, Any]:
    """An HTTP run with the raw rate of the same shape around it, and their ratio."""
    result, raw_rate = raw.around(shape, run)
    result["raw_events_per_s"] = raw_rate
    result["ratio"] = round(result["envelopes_per_s"] / raw_rate["mean"], 2)
    log(f"{label}: {result}")
    return result


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "cpu_model": _cpu_model(), "memory_gib": _memory_gib(),
            "platform": platform.platform(), "load_avg_at_start": os.getloadavg()}


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def _memory_gib() -> float:
    kib = int(Path("/proc/meminfo").read_text().split()[1])
    return round(kib / 1024 / 1024, 1)


def table(results: dict[str, Any]) -> str:
    """The runs as a Markdown table."""
    lines = ["| backend | HTTP run | envelopes/s | raw events/s (before/after) | ratio | CPU busy "
             "| share of time with a lock wait | CPU ms an envelope: workers / projector / "
             "clients |", "|---|---|---|---|---|---|---|---|"]
    for backend, r in results["backends"].items():
        runs = [(f"single posts, {s['writers']} writer(s)"
                 f"{', keep-alive' if s.get('keep_alive') else ''}", s)
                for s in r["http_single"]]
        runs += [(f"batches of {b['batch']}, 1 writer", b) for b in r["http_batch"]]
        runs += [(f"single posts, 8 writers, {w['workers']} worker(s)", w)
                 for w in r["worker_sweep"]]
        for label, run in runs:
            raw = run["raw_events_per_s"]
            lines.append(f"| {backend} | {label} | {run['envelopes_per_s']:.0f} | "
                         f"{raw['mean']:.0f} ({raw['before']:.0f}/{raw['after']:.0f}) | "
                         f"{run['ratio']:.2f} | {run['cpu_busy']:.2f} | "
                         f"{run.get('share_of_time_with_a_lock_wait', '-')} | "
                         f"{_cpu_cell(run.get('cpu_ms_per_envelope'))} |")
    return "\n".join(lines)


def _cpu_cell(cpu: dict[str, float] | None) -> str:
    if not cpu:
        return "-"
    return " / ".join(f"{cpu[role]:.2f}" for role in ("server_workers", "projector", "clients"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Sizes and targets of the run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--pg-url", default=os.environ.get(
        "REGISTRY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn workers (the `registry serve` default)")
    parser.add_argument("--worker-sweep", default="1,2,4,8",
                        help="PostgreSQL: gunicorn worker counts tried with 8 writers")
    parser.add_argument("--writers", default="1,2,4,8", help="client counts for single posts")
    parser.add_argument("--singles", type=int, default=3000,
                        help="envelopes per single-post run (split over the writers)")
    parser.add_argument("--batched", type=int, default=20000,
                        help="envelopes per batch run")
    parser.add_argument("--raw-events", type=int, default=2000,
                        help="events per raw measurement (one before, one after each run)")
    parser.add_argument("--phase-singles", type=int, default=1000,
                        help="single posts timed in process, phase by phase")
    parser.add_argument("--phase-batches", type=int, default=5,
                        help="batches of 1000 timed in process, phase by phase")
    parser.add_argument("--keep-alive", action="store_true",
                        help="also time single posts over kept-alive connections")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args(argv)
    args.writers = [int(w) for w in args.writers.split(",")]
    args.worker_sweep = [int(w) for w in args.worker_sweep.split(",") if w]
    if args.quick:
        args.singles, args.batched, args.raw_events = 400, 2000, 400
        args.phase_singles, args.phase_batches = 200, 2
    return args


def main(argv: list[str] | None = None) -> int:
    """Run every backend, print the JSON document and the table."""
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
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(results, ensure_ascii=False))
    print(table(results), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
