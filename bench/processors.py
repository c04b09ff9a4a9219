"""The projector process's followers, each on its own: CPU per posted envelope.

`registry projector` runs four followers of the log in one process: the projector (the read
models), the audit index, the ledger sealer and the webhook deliverer. While posts come in,
that process shares the machine's cores with the gunicorn workers, so what it spends per
envelope comes out of the write rate (issue 16). This script posts --batches batches of
--size new certifications in process (Flask's test client; no HTTP server), then lets each
follower catch up alone, in pages of --page (about what a 0.1 s poll gathers during
ingest), and prints the CPU microseconds each spent per envelope. The baseline, measured in
the same process right before and after the followers: the library's own read and decode of
the same positions (`select_notifications` + `Mapper.to_domain_event`, pages of --page); a
follower's ratio is that baseline's CPU over its own.

With --catch-up, it instead times the live projector catching up alone on a backlog, page
after page of --page events through `process_page` as `registry projector` applies them,
and reports record events per second, the share of that time the cycle collector took
(`gc.callbacks`), and the ratio to the library's read+decode rate of the same record
events (CPU time, before and after).

    .venv/bin/python -m bench.processors                        # SQLite and PostgreSQL
    .venv/bin/python -m bench.processors --backends sqlite --batches 4
    .venv/bin/python -m bench.processors --catch-up --batches 40 --size 1000 --page 2000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Sequence

from bench.dataset import library_mapper
from bench.ingest import issued, machine


def library_read_decode(log: Any, page: int, topics: Sequence[str] = ()) -> float:
    """CPU seconds of the library reading and decoding every stored event (of `topics`),
    page by page, with the library's own mapper (not the store's orjson reading)."""
    decode, after = library_mapper(log).to_domain_event, 0
    started = time.process_time()
    while True:
        notifications = log.recorder.select_notifications(
            start=after, limit=page, topics=topics, inclusive_of_start=False)
        if not notifications:
            return time.process_time() - started
        for notification in notifications:
            decode(notification)
        after = notifications[-1].id


def run(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from api import create_app
    from api.services import Services
    from api.settings import Settings
    from tenants import seed

    schema = f"bench_processors_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        settings = Settings(database_url=f"sqlite:///{workdir}/registry.db")
    else:
        settings = Settings(database_url=args.pg_url, database_schema=schema)
    services = Services.open(settings, create_tables=True)
    try:
        services.directory.register_tenants(seed.tenants())
        _, token = services.directory.add_principal("bench", "certification-body", "330000",
                                                    ())
        app = create_app(settings=settings)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        for b in range(args.batches):
            body = {"events": [issued(0, b * args.size + j, "proc") for j in range(args.size)]}
            answer = client.post("/v1/events/batch", json=body, headers=headers)
            if answer.status_code != 201:
                raise RuntimeError(f"batch refused: {answer.status_code} {answer.data[:300]!r}")
        envelopes = args.batches * args.size
        if args.catch_up:
            return catch_up(services, envelopes, args.page)
        before = library_read_decode(services.log, args.page)
        followers = {}
        for follower in services.processors():
            follower.ensure_tracking()
            started = time.process_time()
            while follower.process_page(args.page):
                pass
            followers[type(follower).__name__] = time.process_time() - started
        after = library_read_decode(services.log, args.page)
        library = (before + after) / 2
        app.extensions["registry"].close()
        return {
            "envelopes": envelopes, "page": args.page,
            "library_read_decode_us_per_envelope": round(library / envelopes * 1e6, 1),
            "library_before_after_us": [round(before / envelopes * 1e6, 1),
                                        round(after / envelopes * 1e6, 1)],
            "followers_us_per_envelope": {name: round(seconds / envelopes * 1e6, 1)
                                          for name, seconds in followers.items()},
            "total_us_per_envelope": round(sum(followers.values()) / envelopes * 1e6, 1),
            "ratio_to_library": {name: round(library / seconds, 3)
                                 for name, seconds in followers.items() if seconds},
        }
    finally:
        services.close()
        if backend != "sqlite":
            import psycopg

            with psycopg.connect(args.pg_url, autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def catch_up(services: Any, envelopes: int, page: int) -> dict[str, Any]:
    """The live projector on a backlog of `envelopes` record events, page by page."""
    collecting: list[float] = []
    started_at = [0.0]

    def timer(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started_at[0] = time.perf_counter()
        else:
            collecting.append(time.perf_counter() - started_at[0])

    from projections.projector import TOPIC_LIST  # the record events, as the projector reads

    before = library_read_decode(services.log, page, TOPIC_LIST)
    projector = services.projector()
    projector.ensure_tracking()
    gc.callbacks.append(timer)
    try:
        started = time.perf_counter()
        while projector.process_page(page):
            pass
        seconds = time.perf_counter() - started
    finally:
        gc.callbacks.remove(timer)
    after = library_read_decode(services.log, page, TOPIC_LIST)
    library_rate = envelopes / ((before + after) / 2)
    return {"envelopes": envelopes, "page": page, "seconds": round(seconds, 2),
            "record_events_per_s": round(envelopes / seconds, 1),
            "collector_share": round(sum(collecting) / seconds, 3),
            "collections": len(collecting),
            "library_read_decode_per_s": round(library_rate, 1),
            "ratio": round(envelopes / seconds / library_rate, 3)}


def table(results: dict[str, Any]) -> str:
    if results["catch_up"]:
        lines = ["| backend | record events/s | collector's share | library read+decode /s "
                 "| ratio |", "|---|---|---|---|---|"]
        lines += [f"| {backend} | {r['record_events_per_s']} | {r['collector_share']} | "
                  f"{r['library_read_decode_per_s']} | {r['ratio']} |"
                  for backend, r in results["backends"].items()]
        return "\n".join(lines)
    lines = ["| backend | library read+decode | projector | audit index | ledger | webhooks "
             "| all four |", "|---|---|---|---|---|---|---|"]
    for backend, r in results["backends"].items():
        f = r["followers_us_per_envelope"]
        lines.append(f"| {backend} | {r['library_read_decode_us_per_envelope']} | "
                     f"{f['Projector']} | {f['AuditIndex']} | {f['LedgerSealer']} | "
                     f"{f['WebhookDeliverer']} | {r['total_us_per_envelope']} |")
    return "\n".join(lines) + "\n(CPU µs per posted envelope)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg-url", default=os.environ.get(
        "REGISTRY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--size", type=int, default=500, help="envelopes per batch")
    parser.add_argument("--page", type=int, default=200, help="events per follower page")
    parser.add_argument("--catch-up", action="store_true",
                        help="time the live projector on a backlog instead")
    args = parser.parse_args(argv)
    os.environ.setdefault("REGISTRY_LOG_LEVEL", "WARNING")
    results: dict[str, Any] = {"command": " ".join(sys.argv), "machine": machine(),
                               "catch_up": args.catch_up, "backends": {}}
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="bench-processors-") as workdir:
            results["backends"][backend] = run(backend, args, Path(workdir))
    print(json.dumps(results, ensure_ascii=False))
    print(table(results), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
