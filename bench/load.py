#!/usr/bin/env python3
"""Load test: a realistic mix (90 % reads, 10 % writes) against a real server, for a while.

Starts `registry init`, `registry demo` and `registry serve` (gunicorn + projector) on a
free loopback port, on PostgreSQL (a scratch schema, dropped afterwards) or a SQLite file,
then runs N client threads for the given duration. Reads: counts (province, a city, a
county, past dates), plan progress, record search, one record, its history, the audit feed;
writes: new certificates and suspensions. Reports throughput, p50/p95/p99 latency per kind
and overall, and every non-2xx answer. Loopback only; bounded by --seconds.

    .venv/bin/python bench/load.py --seconds 180 --clients 8          # the README figures
    .venv/bin/python bench/load.py --seconds 20 --clients 4 --backend sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG = "postgresql://postgres@127.0.0.1:5432/test"
COUNTIES = ["330523", "330522", "330521", "330502", "330326", "330106", "330212"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def uscc(n: int) -> str:
    sys.path.insert(0, str(ROOT))
    from events.text import make_uscc

    return make_uscc(f"91330523{n:09d}")


class Client(threading.Thread):
    def __init__(self, base: str, tokens: dict, deadline: float, seed: int, keys: list[str]):
        super().__init__(daemon=True)
        self.base, self.tokens, self.deadline = base, tokens, deadline
        self.rng = random.Random(seed)
        self.keys = keys
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()
        self.mine: list[str] = []
        self.session = requests.Session()

    def call(self, kind: str, method: str, path: str, token: str, **kwargs) -> None:
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.base + path, timeout=30,
                                            headers={"Authorization": f"Bearer {token}"},
                                            **kwargs)
            status = response.status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        self.latencies[kind].append(time.perf_counter() - started)
        if not (isinstance(status, int) and 200 <= status < 300):
            self.errors[f"{kind} {status}"] += 1

    def run(self) -> None:
        admin, cb = self.tokens["admin"], self.tokens["cb"]
        while time.monotonic() < self.deadline:
            roll = self.rng.random()
            day = f"{self.rng.randint(2021, 2025)}-{self.rng.randint(1, 12):02d}-28"
            code = self.rng.choice(["330000", "330500", "330523", "330300", "330326"])
            if roll < 0.25:
                self.call("counts", "GET", f"/v1/tenants/{code}/counts?as_of={day}", admin)
            elif roll < 0.40:
                self.call("progress", "GET", f"/v1/tenants/{code}/progress?plan="
                          f"zhejiang-14th-fyp&as_of={day}", admin)
            elif roll < 0.55:
                self.call("search", "GET", f"/v1/records?kind=certification&tenant={code}"
                          "&limit=50", admin)
            elif roll < 0.75:
                key = self.rng.choice(self.keys)
                self.call("record", "GET", f"/v1/records/certification/{key}", admin)
            elif roll < 0.82:
                key = self.rng.choice(self.keys)
                self.call("history", "GET", f"/v1/records/certification/{key}/events", admin)
            elif roll < 0.90:
                self.call("audit", "GET", f"/v1/tenants/{code}/events?limit=100", admin)
            elif roll < 0.97 or not self.mine:
                key = f"LOAD-{uuid.uuid4().hex[:12]}"
                body = {"id": str(uuid.uuid4()), "type": "certification.issued", "record": key,
                        "tenant": self.rng.choice(COUNTIES), "occurred_on": "2025-03-01",
                        "data": {"holder": {"name": "压测企业", "uscc": uscc(
                            self.rng.randrange(10**6))}, "product": "压测产品",
                            "standards": [], "valid_until": "2029-01-01"}}
                self.call("write", "POST", "/v1/events", cb, json=body)
                self.mine.append(key)
            else:
                key = self.mine.pop()
                body = {"id": str(uuid.uuid4()), "type": "certification.suspended",
                        "record": key, "occurred_on": "2025-04-01", "data": {"reason": "压测"}}
                self.call("write", "POST", "/v1/events", cb, json=body)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(p * len(ordered)), len(ordered) - 1)] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="registry-load-"))
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
               REGISTRY_RATE_LIMIT="0")
    schema = f"load_{uuid.uuid4().hex[:8]}"
    if args.backend == "postgres":
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        env.update(REGISTRY_DATABASE_URL=PG, REGISTRY_DATABASE_SCHEMA=schema)
    else:
        env.update(REGISTRY_DATABASE_URL=f"sqlite:///{workdir / 'load.db'}")
    server = None
    try:
        run = lambda *a: subprocess.run(["registry", *a], env=env, cwd=workdir,  # noqa: E731
                                        check=True, capture_output=True, text=True).stdout
        print("init + demo ...", file=sys.stderr)
        run("init")
        run("demo")
        tokens = {"admin": json.loads(run("principals", "add", "--name", "load admin", "--role",
                                          "admin", "--tenant", "330000"))["token"],
                  "cb": json.loads(run("principals", "add", "--name", "load body", "--role",
                                       "certification-body", "--tenant", "330000"))["token"]}
        port = free_port()
        server = subprocess.Popen(["registry", "serve", "--port", str(port), "--workers",
                                   str(args.workers)], env=env, cwd=workdir,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                ready = requests.get(base + "/v1/ready", timeout=1).json()
                if ready["projection"]["lag_events"] == 0:
                    break
            except (requests.RequestException, ValueError, KeyError):
                pass
            time.sleep(0.2)
        search = requests.get(base + "/v1/records?kind=certification&limit=500",
                              headers={"Authorization": f"Bearer {tokens['admin']}"},
                              timeout=30).json()
        keys = [r["record"] for r in search["records"]]
        print(f"running {args.clients} clients for {args.seconds:.0f} s ...", file=sys.stderr)
        started = time.monotonic()
        clients = [Client(base, tokens, started + args.seconds, n, keys)
                   for n in range(args.clients)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        elapsed = time.monotonic() - started
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if args.backend == "postgres":
            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: Counter = Counter()
    for client in clients:
        for kind, values in client.latencies.items():
            latencies[kind] += values
        errors.update(client.errors)
    every = [v for values in latencies.values() for v in values]
    report = {
        "backend": args.backend, "clients": args.clients, "workers": args.workers,
        "seconds": round(elapsed, 1), "requests": len(every),
        "throughput_rps": round(len(every) / elapsed, 1),
        "p50_ms": round(percentile(every, 0.50), 1), "p95_ms": round(percentile(every, 0.95), 1),
        "p99_ms": round(percentile(every, 0.99), 1),
        "reads_share": round(1 - len(latencies["write"]) / max(len(every), 1), 3),
        "errors": dict(errors), "error_rate": round(sum(errors.values()) / len(every), 5),
        "by_kind": {kind: {"n": len(v), "p50_ms": round(statistics.median(v) * 1000, 1),
                           "p95_ms": round(percentile(v, 0.95), 1),
                           "p99_ms": round(percentile(v, 0.99), 1)}
                    for kind, v in sorted(latencies.items())},
        "machine": f"{os.cpu_count()} cores",
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
