"""Server time of the dashboard's pages on a loaded database (a benchmark, not a test).

    python bench/dashboard.py --events 100000                  # a temporary SQLite file
    python bench/dashboard.py --events 1000000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/test --schema bench_ui
    python bench/dashboard.py --reuse ...                      # measure an already loaded one

Loads `--events` events with bench/dataset.py (straight into the event store), runs the
projector and the audit index to the head, signs an admin of 330000 in through the real
sign-in form, then times each page in-process with Flask's test client (so the figures are
server time: routing, queries, templates; no network) and prints median and worst.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import create_app  # noqa: E402
from api.services import Services  # noqa: E402
from api.settings import Settings  # noqa: E402
from bench.dataset import load  # noqa: E402
from tenants import seed  # noqa: E402
from tenants.principals import OPERATOR  # noqa: E402


def prepare(settings: Settings, events: int, reuse: bool) -> None:
    svc = Services.open(settings, create_tables=True)
    try:
        svc.directory.register_tenants(seed.tenants())
        svc.plans.import_plans(seed.load("targets.json"), OPERATOR.actor())
        have = svc.log.max_position()
        if not (reuse and have > events // 2):
            counties = [t.code for t in svc.directory.tree().all() if t.level == "county"]
            started = time.perf_counter()
            stored = load(svc.log, counties, events,
                          progress=lambda n: print(f"\r  loaded {n:,}", end="", flush=True))
            print(f"\rloaded {stored:,} events in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        projected = svc.projector().catch_up(limit=5000)
        index = svc.audit_index()
        index.ensure_tracking()
        while index.process_page(5000):
            pass
        print(f"projected {projected:,} positions (and the audit index) in "
              f"{time.perf_counter() - started:.0f} s; head {svc.log.max_position():,}")
    finally:
        svc.close()


def signed_in_client(app, svc_settings: Settings):
    svc = Services.open(svc_settings)
    try:
        _, token = svc.directory.add_principal("bench dashboard admin", "admin", "330000")
    finally:
        svc.close()
    client = app.test_client()
    page = client.get("/ui/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/ui/sign-in", data={"token": token, "csrf_token": csrf}).status_code == 302
    return client


def pages(client) -> dict[str, str]:
    """The pages measured; a record key is taken from the first search page."""
    listing = client.get("/ui/records?kind=certification&tenant=330523").get_data(as_text=True)
    record = re.search(r'class="record-link" href="([^"]+)"', listing).group(1)
    review = "plan=zhejiang-14th-fyp&as_of=2025-06-30"
    return {
        "overview 330000 (province, 11 cities)": f"/ui/tenants/330000?{review}",
        "overview 330500 (Huzhou, 5 counties)": "/ui/tenants/330500?plan=huzhou-14th-fyp"
                                                "&as_of=2025-06-30",
        "overview 330523 (a county)": "/ui/tenants/330523?plan=huzhou-14th-fyp",
        "trends 330000": f"/ui/tenants/330000/trends?{review}",
        "record page": record,
        "records search (suspended, 330500)": "/ui/records?status=suspended&tenant=330500",
        "records search (text)": "/ui/records?q=ZJM-0000",
        "audit 330000 first page": "/ui/tenants/330000/audit",
        "audit 330523 certification.suspended": "/ui/tenants/330523/audit?type="
                                                "certification.suspended",
    }


def measure(client, path: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        response = client.get(path)
        response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return times[1:]  # the first call warms caches (plans, tree, templates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--schema", default="public")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true",
                        help="Do not load again when the database already holds the events.")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    settings = Settings(database_url=url, database_schema=args.schema)
    print(f"database {url} (schema {args.schema})")
    prepare(settings, args.events, args.reuse)
    app = create_app(settings=settings.with_overrides({"extra": {"secret_key": "bench"}}))
    client = signed_in_client(app, settings)
    print(f"\n{'page':<42} {'median ms':>10} {'worst ms':>10}")
    for name, path in pages(client).items():
        times = measure(client, path, args.repeat)
        print(f"{name:<42} {statistics.median(times):>10.1f} {max(times):>10.1f}")
    app.extensions["registry"].close()


if __name__ == "__main__":
    main()
